"""Staff area: sign-in, creators, their social accounts, invitations and settings."""

from flask import Blueprint

bp = Blueprint("staff", __name__)


@bp.record_once
def keep_answers(state):
    """Give the app its store of kept answers: rosters' totals, the funnel's counts (portal/kept.py)."""
    from portal.kept import Kept

    state.app.extensions["kept"] = Kept()


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
