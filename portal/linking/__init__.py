"""Public Link Accounts Pages, opened by anyone holding a creator's link."""

from flask import Blueprint

bp = Blueprint("linking", __name__)

from portal.linking import login, views  # noqa: E402,F401  (routes register on bp)
