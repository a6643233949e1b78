"""Meta's server-to-server callbacks: deauthorize, data deletion and its status page, webhooks."""

from flask import Blueprint

bp = Blueprint("meta", __name__)

from portal.meta import views  # noqa: E402,F401  (routes register on bp)
