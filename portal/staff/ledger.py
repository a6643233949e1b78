"""The consent ledger for staff: every entry, newest first, filtered by action, creator and dates."""

from flask import request, url_for
from flask_login import login_required

from portal import ledger
from portal.htmx import render_page_or_fragment
from portal.models import AuditEvent
from portal.staff import bp

bp.add_app_template_filter(ledger.action_words, "action_words")
bp.add_app_template_filter(ledger.actor_words, "actor_words")
bp.add_app_template_global(ledger.details_words, "details_words")


@bp.get("/audit")
@login_required
def audit_log():
    wanted = ledger.LedgerFilter.from_args(request.args)
    page = AuditEvent.search(**wanted.criteria(), page=wanted.page, per_page=ledger.PER_PAGE)
    response = render_page_or_fragment(
        "staff/audit_log.html",
        "staff/partials/audit_results.html",
        page=page,
        wanted=wanted,
        actions=ledger.ACTIONS,
    )
    # A swap puts the filter in the address bar without the empty fields a form sends.
    response.headers["HX-Push-Url"] = url_for("staff.audit_log", **wanted.query_args(wanted.page))
    return response
