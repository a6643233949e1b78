"""Staff area: sign-in, creators, their social accounts, invitations and settings."""

from flask import Blueprint

bp = Blueprint("staff", __name__)


@bp.record_once
def keep_roster_totals(state):
    """Give the app its store of rosters' totals (one per process: portal/campaigns/kept_totals.py)."""
    from portal.campaigns.kept_totals import KeptTotals

    state.app.extensions["roster_totals"] = KeptTotals()


from portal.staff import (  # noqa: E402,F401  (routes register on bp)
    accounts,
    auth,
    campaigns,
    creator_import,
    creators,
    ledger,
    mail,
    reminders,
    reports,
    settings,
)
