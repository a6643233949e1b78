"""Connections: from a Meta login to linked accounts, and how healthy each link stays. No Flask.

linking (link, choose, verify, unlink), discovery (what a Facebook grant reaches), link_health,
handles (Instagram usernames as staff type them).
"""
