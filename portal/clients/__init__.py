"""Clients' read-only reports at /r/<token>: no sign-in, only what the report link shows."""

from flask import Blueprint

bp = Blueprint("clients", __name__)


@bp.record_once
def keep_rendered_reports(state):
    """Give the app its store of rendered report pages (one per process: portal/reports/rendered.py)."""
    from portal.reports.rendered import RenderedPages

    state.app.extensions["rendered_reports"] = RenderedPages()


from portal.clients import views  # noqa: E402,F401  (routes register on bp)
