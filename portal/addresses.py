"""Absolute addresses the portal writes: built on PORTAL_BASE_URL, never on the Host header.

A link page address goes to staff, who send it to a creator; an OAuth redirect goes to Meta;
a deletion status address goes to Meta, who shows it to the person. Anyone can send a request
with `Host: evil.example`, so an address built from the request could point all of these at
someone else's server. Production requires PORTAL_BASE_URL; only a local run without one falls
back on the address the browser used.
"""

from flask import current_app, url_for

from portal.db import utcnow


def absolute_url(endpoint, **values):
    """Return the full address of an endpoint, on PORTAL_BASE_URL when it is set."""
    base = current_app.config.get("BASE_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    return base.rstrip("/") + url_for(endpoint, **values)


def link_page_address(creator):
    """Return a creator's Link Accounts Page address, or None when there is none to send: no readable
    link, or one issued for a time that is over (it opens only the expired-link page)."""
    token = creator.working_link_token(utcnow())
    return absolute_url("linking.link_page", token=token) if token else None
