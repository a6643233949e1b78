"""Clients' read-only reports at /r/<token>: no sign-in, only what the report link shows."""

from flask import Blueprint

bp = Blueprint("clients", __name__)

from portal.clients import views  # noqa: E402,F401  (routes register on bp)
