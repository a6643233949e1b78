"""The portal: create_app builds a Flask app from small register_* steps."""

import logging
import os
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, render_template, request
from flask.globals import request_ctx

from config import config_name_from_env, configs
from portal import crypto, db, ratelimits, redaction
from portal.creator_import.reading import MAX_FILE_BYTES
from portal.extensions import csrf, limiter, login_manager
from portal.graph.oauth import provider_settings
from portal.ids import RowId
from portal.security import HTMX_INTEGRITY, HTMX_URL, add_security_headers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
log = logging.getLogger(__name__)
# What carries a form: the methods Flask-WTF reads one from, and the bodies that hold one.
FORM_METHODS = ("POST", "PUT", "PATCH", "DELETE")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Meta's callbacks and the simulated Meta read bodies of their own (signed JSON, Graph calls);
# everywhere else a body is a form, read by Flask-WTF.
OWN_BODY_BLUEPRINTS = ("meta", "sandbox")
# The endpoints that take a file, and the most each may receive: the file's own limit and room for
# the CSRF field and multipart framing. Every other form takes text only, under MAX_CONTENT_LENGTH.
UPLOAD_LIMITS = {"staff.creator_import": MAX_FILE_BYTES + 64 * 1024}


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
    app.url_map.converters["int"] = RowId  # before any route is added: every <int:> is a row id
    check_config(app)
    use_instance_folder(app)
    redaction.install()
    register_database(app)
    register_upload_limits(app)  # before CSRF protection, which reads the body first
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
        check_hosts(app)
    if not app.config.get("SECRET_KEY"):
        raise ConfigurationError(
            "PORTAL_SECRET_KEY is not set. scripts/run sets one for local use; see the README for production."
        )
    try:
        crypto.cipher.configure(app.config.get("TOKEN_KEYS"))
    except crypto.TokenKeyError as exc:
        raise ConfigurationError(str(exc)) from exc
    check_mail(app)


def check_mail(app):
    """Refuse a PORTAL_SMTP_URL or PORTAL_MAIL_FROM that cannot work, before any message waits on it."""
    from portal.mail.settings import MailSettingsError, mail_settings, parse_smtp_url

    try:
        if app.config.get("SMTP_URL"):  # checked in sandbox mode too, where mail stays in the outbox
            parse_smtp_url(app.config["SMTP_URL"])
        mail_settings(app.config)
    except MailSettingsError as exc:
        raise ConfigurationError(str(exc)) from exc


def check_hosts(app):
    """In production every absolute address comes from PORTAL_BASE_URL, and a forged Host gets a 400.

    Without PORTAL_TRUSTED_HOSTS the portal answers only to the base URL's own host, and says so.
    """
    base = app.config.get("BASE_URL")
    if not base:
        raise ConfigurationError(
            "PORTAL_BASE_URL must be set in production (e.g. https://portal.agency.example): the links "
            "staff send and the addresses Meta calls are built from it, never from the Host header."
        )
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"PORTAL_BASE_URL must be an address like https://portal.agency.example, not {base!r}."
        )
    if not app.config.get("TRUSTED_HOSTS"):
        app.config["TRUSTED_HOSTS"] = [parts.hostname]
        log.warning(
            "PORTAL_TRUSTED_HOSTS is not set: answering only to %s, the host of PORTAL_BASE_URL.",
            parts.hostname,
        )


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


def register_upload_limits(app):
    """Let the endpoints that take a file receive up to their own limit (UPLOAD_LIMITS)."""

    @app.before_request
    def upload_limit():
        limit = UPLOAD_LIMITS.get(request.endpoint)
        if limit:
            request.max_content_length = limit


def register_extensions(app):
    """Bind CSRF protection, the rate limiter and the login manager."""
    csrf.init_app(app)
    register_rate_limits(app)
    login_manager.init_app(app)
    register_oauth(app)
    login_manager.login_view = "staff.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"

    from portal.staff.auth import load_staff, unauthorized

    login_manager.user_loader(load_staff)
    login_manager.unauthorized_handler(unauthorized)


def register_rate_limits(app):
    """Count rate limits in PORTAL_REDIS_URL's Redis when one is named, else in this process's memory."""
    redis_url = app.config.get("REDIS_URL")
    app.config["RATELIMIT_STORAGE_URI"] = ratelimits.storage_uri(redis_url)
    limiter.init_app(app)
    ratelimits.report_limiter_problems(redis_url)
    if redis_url:
        log.info("Rate limits are counted in Redis at %s.", ratelimits.redis_address(redis_url))


def register_oauth(app):
    """Register Facebook Login and Instagram Login on an Authlib registry of this app's own."""
    from authlib.integrations.flask_client import OAuth

    registry = OAuth(app)
    for name, settings in provider_settings(app.config).items():
        registry.register(name, **settings)


def register_blueprints(app):
    """Attach the staff area and the public Link Accounts Pages."""
    from portal.clients import bp as clients_bp
    from portal.linking import bp as linking_bp
    from portal.meta import bp as meta_bp
    from portal.staff import bp as staff_bp

    app.register_blueprint(staff_bp)
    app.register_blueprint(linking_bp)
    app.register_blueprint(meta_bp)
    app.register_blueprint(clients_bp)
    if app.config["SANDBOX"]:
        from portal.models import SandboxSpentCode
        from portal.sandbox import init_sandbox

        # The sandbox imports none of the portal's code: its table of used codes is handed to it.
        init_sandbox(app, spent_codes=SandboxSpentCode)
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
    def refuse_unusable_input():
        """Stop, with a clear 400, what no form of the portal can take, before a view sees it."""
        values = [value for _name, value in request.args.items(multi=True)]  # every value of a key
        if request.method in FORM_METHODS and request.blueprint not in OWN_BODY_BLUEPRINTS:
            # Flask-WTF would read a JSON body as the form, numbers and lists and all.
            if request.mimetype and request.mimetype not in FORM_TYPES:
                abort(415, description="not-a-form")
        if request.method in FORM_METHODS and request.mimetype in FORM_TYPES:
            values += [value for _name, value in request.form.items(multi=True)]
            # Flask-WTF hands a file to a text field's validators, which cannot measure it.
            if request.files and request.endpoint not in UPLOAD_LIMITS:
                abort(400, description="unexpected-file")
        # No text field can hold a NUL (PostgreSQL refuses one outright).
        if any("\x00" in value for value in values):
            abort(400, description="nul-character")

    @app.after_request
    def secure_headers(response):
        return add_security_headers(response, https=https)


def register_template_helpers(app):
    """Give every template the values, chart drawers and words in plain language it uses."""
    from portal import numbers
    from portal.addresses import AddressPattern, absolute_url
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

    app.add_template_global(absolute_url)
    app.add_template_global(AddressPattern, "address_pattern")
    app.add_template_filter(AddressPattern.fill, "fill")
    app.add_template_global(charts.time_series, "time_series_chart")
    app.add_template_global(charts.bars, "bar_chart")
    app.add_template_global(db.utcnow, "utcnow")
    app.add_template_global(ledger.details_words, "details_words")
    app.add_template_filter(numbers.format_seconds, "watch_seconds")
    app.add_template_global(numbers.format_total, "roster_value")
    app.add_template_filter(numbers.format_duration, "watch_duration")
    app.add_template_filter(figures.metric_day, "metric_day")
    app.add_template_filter(ledger.action_words, "action_words")
    app.add_template_filter(ledger.actor_words, "actor_words")


def register_commands(app):
    """Add the flask CLI commands (create-staff, init-db, seed-demo, scheduler)."""
    from portal.cli import register

    register(app)
