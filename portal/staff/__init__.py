"""Staff area: sign-in, creators, their social accounts, invitations and settings."""

from flask import Blueprint

bp = Blueprint("staff", __name__)

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
