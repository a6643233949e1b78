"""Settings, read from the environment here and nowhere else."""

import json
import os


def _env(name, default=None):
    value = os.environ.get(name, "").strip()
    return value or default


def _int_env(name, default):
    return int(_env(name, str(default)))


def _json_env(name):
    text = _env(name)
    try:
        return json.loads(text) if text else None
    except ValueError as exc:
        raise ValueError(f'{name} must be JSON, e.g. \'{{"ig:ava.creates": "throttle"}}\': {exc}') from exc


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = _env("PORTAL_SECRET_KEY")
    TOKEN_KEYS = _env("PORTAL_TOKEN_KEYS", "")
    DATABASE_URL = _env("PORTAL_DATABASE_URL")
    COMPANY_NAME = _env("PORTAL_COMPANY_NAME", "Our agency")
    SANDBOX = _env("PORTAL_SANDBOX", "0") == "1"
    # The address people reach the portal at; OAuth redirect URIs are built from it, never
    # from the request's Host header. Unset in development: taken from the request.
    BASE_URL = _env("PORTAL_BASE_URL")
    # Host names this portal answers to (a forged Host header gets 400); empty: any.
    TRUSTED_HOSTS = [h.strip() for h in _env("PORTAL_TRUSTED_HOSTS", "").split(",") if h.strip()] or None
    # How many proxies in front set X-Forwarded-For/-Proto/-Host; 0 trusts none of them.
    PROXY_HOPS = _int_env("PORTAL_PROXY_HOPS", 0)
    REFRESH_MINUTES = _int_env("PORTAL_REFRESH_MINUTES", 360)
    # Figures of revoked accounts are deleted this many days after the link was removed.
    RETENTION_DAYS = _int_env("PORTAL_RETENTION_DAYS", 90)
    # A scheduler that finds another one running checks this often whether it can take over.
    SCHEDULER_STANDBY_SECONDS = _int_env("PORTAL_SCHEDULER_STANDBY_SECONDS", 10)
    # The file lock that elects one scheduler on SQLite (default instance/scheduler.lock).
    SCHEDULER_LOCK_FILE = _env("PORTAL_SCHEDULER_LOCK_FILE")
    # Where story images and videos are archived while Instagram still serves them.
    STORY_ARCHIVE = _env("PORTAL_STORY_ARCHIVE")
    # 1: ask for pages_manage_metadata and subscribe each linked Page, so Meta sends story_insights.
    STORY_WEBHOOKS = _env("PORTAL_STORY_WEBHOOKS", "0") == "1"
    # Where e-mail goes: smtp://user:pass@host:587?starttls=1 or smtps://user:pass@host:465. Unset (and
    # always in sandbox mode) mail stays in the portal's outbox (/outbox), where staff can read it.
    SMTP_URL = _env("PORTAL_SMTP_URL")
    # The From address of every message, e.g. "Acme Talent <invitations@acme.example>".
    MAIL_FROM = _env("PORTAL_MAIL_FROM")
    # The Redis every web process and host counts rate limits in (redis://host:6379/0); unset,
    # each process counts in its own memory.
    REDIS_URL = _env("PORTAL_REDIS_URL")

    GRAPH_API_VERSION = _env("GRAPH_API_VERSION", "v27.0")
    FACEBOOK_CLIENT_ID = _env("FACEBOOK_CLIENT_ID")
    FACEBOOK_CLIENT_SECRET = _env("FACEBOOK_CLIENT_SECRET")
    FACEBOOK_WWW_URL = _env("FACEBOOK_WWW_URL", "https://www.facebook.com")
    FACEBOOK_GRAPH_URL = _env("FACEBOOK_GRAPH_URL", "https://graph.facebook.com")
    INSTAGRAM_CLIENT_ID = _env("INSTAGRAM_CLIENT_ID")
    INSTAGRAM_CLIENT_SECRET = _env("INSTAGRAM_CLIENT_SECRET")
    INSTAGRAM_WWW_URL = _env("INSTAGRAM_WWW_URL", "https://www.instagram.com")
    INSTAGRAM_API_URL = _env("INSTAGRAM_API_URL", "https://api.instagram.com")
    INSTAGRAM_GRAPH_URL = _env("INSTAGRAM_GRAPH_URL", "https://graph.instagram.com")
    META_WEBHOOK_VERIFY_TOKEN = _env("META_WEBHOOK_VERIFY_TOKEN")
    # Which of the Meta URL settings above were set explicitly; sandbox mode fills in the rest.
    META_URLS_SET = {
        name
        for name in (
            "FACEBOOK_WWW_URL",
            "FACEBOOK_GRAPH_URL",
            "INSTAGRAM_WWW_URL",
            "INSTAGRAM_API_URL",
            "INSTAGRAM_GRAPH_URL",
        )
        if _env(name)
    }
    GRAPH_TIMEOUT = (3.05, 20)  # (connect, read) seconds for every call to Meta
    # The simulated Meta's knobs, in sandbox mode only (README, "The sandbox"): faults as JSON
    # ({"ig:ava.creates": "throttle"}, {"app": "throttle"}), the size of every list's pages,
    # a wait before every answer, and where it keeps its state (default instance/).
    SANDBOX_FAULTS = _json_env("PORTAL_SANDBOX_FAULTS")
    SANDBOX_PAGE_SIZE = _int_env("PORTAL_SANDBOX_PAGE_SIZE", 0) or None
    SANDBOX_LATENCY_MS = _int_env("PORTAL_SANDBOX_LATENCY_MS", 0)
    SANDBOX_STATE_FILE = _env("PORTAL_SANDBOX_STATE_FILE")

    # OWASP's scrypt floor (N=2**17); Werkzeug's default (2**15) is below it.
    PASSWORD_HASH_METHOD = "scrypt:131072:8:1"
    LOGIN_RATE_LIMIT = "10 per minute"
    LINK_PAGE_RATE_LIMIT = "60 per minute"  # per address: no one gets to try many link tokens
    LOGIN_START_RATE_LIMIT = "20 per minute"  # OAuth starts and callbacks, per address
    REFRESH_RATE_LIMIT = "6 per minute"  # "Refresh stats" per account: Meta's limits are per account too

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"  # Strict would drop the cookie on the OAuth return hop.
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    MAX_CONTENT_LENGTH = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # Valid for the session's life; see security.md §3.4.

    RATELIMIT_STORAGE_URI = "memory://"  # create_app puts REDIS_URL here when it is set
    # A Redis that has not answered within a second is down, for this request at least: better a
    # sign-in counted in this process's memory than a sign-in page that waits on it.
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    # Redis down: Flask-Limiter logs it once, counts in this process's memory meanwhile and goes
    # back to Redis when it answers again; any other failure of the limiter is logged, and the
    # request is served rather than answered with a 500.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True

    PER_PAGE = 20
    HTTPS = False


class DevelopmentConfig(Config):
    """A local run over plain HTTP, normally in sandbox mode."""

    DEBUG = False


class TestingConfig(Config):
    """Fast, isolated settings for the test suite."""

    TESTING = True
    SANDBOX = False  # tests that want the simulated Meta ask for it explicitly
    SECRET_KEY = "testing-secret-key"
    # A fixed Fernet key so tests can decrypt what they stored.
    TOKEN_KEYS = "4ZQx0mHkqSZ0CwV2lEw3pZ9JUUpH1YgQ2bY7cF2x3Hk="
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
    COMPANY_NAME = "Acme Talent"


class ProductionConfig(Config):
    """HTTPS behind a proxy; refuses to start without its secrets."""

    HTTPS = True
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "https"


configs = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_name_from_env():
    """Return the configuration named by PORTAL_CONFIG (default development)."""
    return _env("PORTAL_CONFIG", "development")
