"""Absolute addresses the portal writes: built on PORTAL_BASE_URL, never on the Host header.

A link page address goes to staff, who send it to a creator; an OAuth redirect goes to Meta;
a deletion status address goes to Meta, who shows it to the person. Anyone can send a request
with `Host: evil.example`, so an address built from the request could point all of these at
someone else's server. Production requires PORTAL_BASE_URL; only a local run without one falls
back on the address the browser used.
"""

from urllib.parse import quote

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


class AddressPattern:
    """An endpoint's address built once with holes, filled in for each row of a table.

    url_for costs about 9 µs a call: a roster page of 50 rows called it 150 times (a link to each
    creator, to each account and each creator's link page), and 15 more for its sort headings and
    pager. The holes are integer or string route values, filled as werkzeug's converters write them
    (digits as they are, text quoted), or query values that are numbers or plain words (a sort key),
    which werkzeug writes the same way. `fixed` values are the same for every row (one a pattern for
    a route value of few choices); in the query they follow the holes, as in url_for(endpoint,
    hole=..., **fixed).
    """

    def __init__(self, endpoint, *holes, absolute=False, **fixed):
        # Numbers stand in for the holes: an integer converter accepts them, a string one too.
        stand_ins = {hole: 987654301 + n for n, hole in enumerate(holes)}
        built = (absolute_url if absolute else url_for)(endpoint, **stand_ins, **fixed)
        pieces = []
        for hole in holes:
            before, built = built.split(str(stand_ins[hole]), 1)
            pieces.append(before)
        pieces.append(built)
        # The pieces joined by %s: one formatting fills every hole, 2.4 times as fast as joining them.
        self._format = "%s".join(piece.replace("%", "%%") for piece in pieces)

    def fill(self, *values):
        """The address with these values in its holes, in order; templates write pattern|fill(...)
        (a filter is called directly, where a call in a template goes through Jinja's Context.call:
        1.5 µs more, three times a row). Too few or too many values raise TypeError."""
        return self._format % tuple(
            [value if type(value) is int else quote(str(value), safe=_PATH_SAFE) for value in values]
        )

    __call__ = fill


_PATH_SAFE = "!$&'()*+,/:;=@"  # what werkzeug leaves unquoted in a path segment
