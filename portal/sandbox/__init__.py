"""The sandbox: a simulated Facebook and Instagram served under /sandbox (DESIGN.md §8).

With PORTAL_SANDBOX=1 the portal's Meta URL settings point here, so the portal talks to it over
real HTTP exactly as it would to Meta: the login dialogs, the token endpoints and the Graph API.
"""

import os

from flask import Blueprint

from portal import db
from portal.extensions import csrf
from portal.sandbox import people
from portal.sandbox.state import StateFile

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
SANDBOX_URLS = {
    "FACEBOOK_WWW_URL": "/sandbox/facebook",
    "FACEBOOK_GRAPH_URL": "/sandbox/graph",
    "INSTAGRAM_WWW_URL": "/sandbox/instagram",
    "INSTAGRAM_API_URL": "/sandbox/instagram-api",
    "INSTAGRAM_GRAPH_URL": "/sandbox/instagram-graph",
}
SANDBOX_APPS = {
    "FACEBOOK_CLIENT_ID": "sandbox-facebook-app",
    "FACEBOOK_CLIENT_SECRET": "sandbox-facebook-secret",
    "INSTAGRAM_CLIENT_ID": "sandbox-instagram-app",
    "INSTAGRAM_CLIENT_SECRET": "sandbox-instagram-secret",
}
APP_NAME = "Sandbox Portal App"


def apply_sandbox_settings(app):
    """Point the Meta URLs and app credentials the operator left unset at the sandbox."""
    config = app.config
    if not config.get("SANDBOX"):
        return
    base = (config.get("BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    explicit = config.get("META_URLS_SET") or set()
    for name, path in SANDBOX_URLS.items():
        if name not in explicit:
            config[name] = base + path
    for name, value in SANDBOX_APPS.items():
        if not config.get(name):
            config[name] = value


def init_sandbox(app, spent_codes):
    """Serve the simulated Meta under /sandbox; its dialogs use OAuth state, not the portal's CSRF.

    Its state file also sets the portal's clock: `flask --app wsgi sandbox-clock +61d` moves the
    simulated Meta and the portal in front of it 61 days on together, in every process.
    spent_codes remembers the codes used, for every process: spend(code, expires_at, now) -> bool.
    """
    app.extensions["sandbox_spent_codes"] = spent_codes
    if app.config.get("SANDBOX_BENCH_ACCOUNTS"):
        people.add_bench_agency(int(app.config["SANDBOX_BENCH_ACCOUNTS"]))
    path = app.config.get("SANDBOX_STATE_FILE") or os.path.join(app.instance_path, "sandbox-state.json")
    state = app.extensions["sandbox_state"] = StateFile(path)
    db.move_clock(state.clock_offset)
    commands.register(app)
    csrf.exempt(bp)
    app.register_blueprint(bp)


# Routes register on bp.
from portal.sandbox import (  # noqa: E402,F401
    avatars,
    commands,
    dialogs,
    exchange,
    graph_api,
    instagram_graph,
    media_files,
)
