"""The portal: create_app builds a Flask app from small register_* steps."""

import logging
import os

from flask import Flask, abort, jsonify, render_template, request
from flask.globals import request_ctx

from config import config_name_from_env, configs
from portal import crypto, db, redaction
from portal.extensions import csrf, limiter, login_manager
from portal.graph.oauth import provider_settings
from portal.security import HTMX_INTEGRITY, HTMX_URL, add_security_headers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    """A required setting is missing or wrong; the message names it."""


def create_app(config_name=None, **overrides):
    """Create the portal app; overrides replace single settings (tests use this)."""
    name = config_name or config_name_from_env()
    if name not in configs:
        raise ConfigurationError(f"PORTAL_CONFIG must be one of {', '.join(configs)}, not {name!r}.")
    app = Flask(
        __name__,
        instance_path=os.path.join(ROOT, "instance"),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    app.config.from_object(configs[name])
    app.config["CONFIG_NAME"] = name
    app.config.update(overrides)
    check_config(app)
    use_instance_folder(app)
    redaction.install()
    register_database(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    register_proxy(app)
    return app


def register_proxy(app):
    """Trust X-Forwarded-* from exactly PORTAL_PROXY_HOPS proxies, and none when it is 0."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def check_config(app):
    """Refuse to start with settings that would be unsafe or cannot work."""
    if app.config["SANDBOX"]:
        from portal.sandbox import apply_sandbox_settings

        apply_sandbox_settings(app)
    if app.config["CONFIG_NAME"] == "production":
        if not app.config.get("SECRET_KEY"):
            raise ConfigurationError("PORTAL_SECRET_KEY must be set in production.")
        if not app.config.get("TOKEN_KEYS"):
            raise ConfigurationError("PORTAL_TOKEN_KEYS must be set in production.")
        if app.debug:
            raise ConfigurationError("DEBUG must be off in production.")
        if app.config["SANDBOX"]:
            raise ConfigurationError("PORTAL_SANDBOX simulates Meta; it must be off in production.")
    if not app.config.get("SECRET_KEY"):
        raise ConfigurationError(
            "PORTAL_SECRET_KEY is not set. scripts/run sets one for local use; see the README for production."
        )
    try:
        crypto.cipher.configure(app.config.get("TOKEN_KEYS"))
    except crypto.TokenKeyError as exc:
        raise ConfigurationError(str(exc)) from exc


def use_instance_folder(app):
    """Keep the database and archived story files under instance/ unless settings name other places."""
    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "portal.sqlite3")
    if not app.config.get("STORY_ARCHIVE"):  # made when the first story file is saved
        app.config["STORY_ARCHIVE"] = os.path.join(app.instance_path, "stories")


def register_database(app):
    """Bind the deferred database and open one connection per request."""
    app.extensions["database"] = db.bind_database(app.config["DATABASE_URL"])

    @app.before_request
    def open_connection():
        db.database.connect(reuse_if_open=True)

    @app.teardown_request
    def close_connection(exc):
        if not db.database.is_closed():
            db.database.close()


def register_extensions(app):
    """Bind CSRF protection, the rate limiter and the login manager."""
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    register_oauth(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"

    from portal.staff.auth import load_staff, unauthorized

    login_manager.user_loader(load_staff)
    login_manager.unauthorized_handler(unauthorized)


def register_oauth(app):
    """Register Facebook Login and Instagram Login on an Authlib registry of this app's own."""
    from authlib.integrations.flask_client import OAuth

    registry = OAuth(app)
    for name, settings in provider_settings(app.config).items():
        registry.register(name, **settings)


def register_blueprints(app):
    """Attach the staff area and the public Link Accounts Pages."""
    from portal.linking import bp as linking_bp
    from portal.meta import bp as meta_bp
    from portal.staff import bp as staff_bp

    app.register_blueprint(staff_bp)
    app.register_blueprint(linking_bp)
    app.register_blueprint(meta_bp)
    if app.config["SANDBOX"]:
        from portal.sandbox import init_sandbox

        init_sandbox(app)
    else:
        db.move_clock(None)  # only the sandbox moves time; an app made after one runs on real time

    @app.get("/healthz")
    def healthz():
        db.database.execute_sql("SELECT 1")
        return jsonify(status="ok")


def register_error_handlers(app):
    """Give every error a plain page of ours, never a stack trace."""
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        response = app.make_response((render_template("errors/error.html", error=error, csrf=True), 400))
        # htmx does not swap a 400; ask it to reload so the page gets a fresh token.
        response.headers["HX-Refresh"] = "true"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error):
        if request_ctx.url_adapter is None:
            # The Host header was refused (TRUSTED_HOSTS): no URL can be built for a page.
            return f"{error.code} {error.name}", error.code, {"Content-Type": "text/plain; charset=utf-8"}
        if error.response is not None:  # an answer made for this error (a rate limit's on_breach)
            return error.response
        return render_template("errors/error.html", error=error), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return render_template("errors/error.html", error=None), 500


def register_hooks(app):
    """Add security headers and the values every template needs."""
    https = app.config["HTTPS"]

    @app.before_request
    def refuse_nul_characters():
        # No text field can hold a NUL (PostgreSQL refuses one outright): a clear 400, not a 500.
        fields = [*request.args.values()]
        if request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            fields += request.form.values()
        if any("\x00" in value for value in fields):
            abort(400, description="nul-character")

    @app.after_request
    def secure_headers(response):
        return add_security_headers(response, https=https)


def register_template_helpers(app):
    """Give every template the values, chart drawers and words in plain language it uses."""
    from portal.compliance import ledger
    from portal.insights import charts, figures

    @app.context_processor
    def template_globals():
        return {
            "company_name": app.config["COMPANY_NAME"],
            "htmx_url": HTMX_URL,
            "htmx_integrity": HTMX_INTEGRITY,
            "sandbox": app.config["SANDBOX"],
        }

    app.add_template_global(charts.time_series, "time_series_chart")
    app.add_template_global(charts.bars, "bar_chart")
    app.add_template_global(db.utcnow, "utcnow")
    app.add_template_global(ledger.details_words, "details_words")
    app.add_template_filter(figures.format_seconds, "watch_seconds")
    app.add_template_filter(figures.format_duration, "watch_duration")
    app.add_template_filter(figures.metric_day, "metric_day")
    app.add_template_filter(ledger.action_words, "action_words")
    app.add_template_filter(ledger.actor_words, "actor_words")


def register_commands(app):
    """Add the flask CLI commands (create-staff, init-db, seed-demo, scheduler)."""
    from portal.cli import register

    register(app)
