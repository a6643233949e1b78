"""Campaigns: the roster of creators' figures over a campaign's dates (campaign page, overview)."""
