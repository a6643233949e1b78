"""The consent ledger for staff: every entry, newest first, filtered by action, creator and dates."""

from flask import request, url_for
from flask_login import login_required

from portal.compliance.ledger import ACTIONS, PER_PAGE, LedgerFilter
from portal.htmx import render_page_or_fragment
from portal.models import LedgerEntry
from portal.staff import bp


# The address predates the name "ledger"; it stays, so bookmarks and shared filters keep working.
@bp.get("/audit")
@login_required
def ledger():
    wanted = LedgerFilter.from_args(request.args)
    page = LedgerEntry.search(**wanted.criteria(), page=wanted.page, per_page=PER_PAGE)
    response = render_page_or_fragment(
        "staff/ledger.html",
        "staff/partials/ledger_entries.html",
        page=page,
        wanted=wanted,
        actions=ACTIONS,
    )
    # A swap puts the filter in the address bar without the empty fields a form sends.
    response.headers["HX-Push-Url"] = url_for("staff.ledger", **wanted.query_args(wanted.page))
    return response
