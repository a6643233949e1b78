"""Where the rate limits are counted: in Redis, shared by every process and host, or in each process.

Flask-Limiter counts in the storage named by RATELIMIT_STORAGE_URI. Memory is per process: with
4 gunicorn workers on 2 hosts, "10 sign-ins a minute" would let 80 through. PORTAL_REDIS_URL puts
the counters in one Redis that every process shares.
"""

import logging
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def storage_uri(redis_url):
    """Return Flask-Limiter's storage for this Redis URL: the URL itself, or memory when it is unset."""
    return redis_url or "memory://"


def redis_address(redis_url):
    """Return host:port/db of a Redis URL, without its password, for log lines."""
    parts = urlsplit(redis_url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


def split_counters_warning(config_name, redis_url, workers):
    """Return the warning for a production server whose workers would each count on their own, or None."""
    if config_name != "production" or redis_url or workers <= 1:
        return None
    return (
        f"PORTAL_REDIS_URL is not set: each of the {workers} gunicorn workers counts rate limits in "
        f"its own memory, so every limit lets {workers} times as many requests through (and more with "
        "every host). Set PORTAL_REDIS_URL to a Redis shared by every web process."
    )


class LimiterLog(logging.Handler):
    """Pass Flask-Limiter's warnings and errors on to the portal's log, naming the storage.

    Flask-Limiter gives its logger a NullHandler, so without this its "Rate limit storage
    unreachable" would reach no log under gunicorn, where the portal's own warnings do.
    """

    def __init__(self, storage):
        super().__init__(logging.WARNING)
        self.storage = storage

    def emit(self, record):
        log.log(
            record.levelno,
            "Rate limits (%s): %s",
            self.storage,
            record.getMessage(),
            exc_info=record.exc_info,
        )


def report_limiter_problems(redis_url):
    """Send Flask-Limiter's warnings to the portal's log (once per process, for the latest app)."""
    limiter_log = logging.getLogger("flask-limiter")
    for handler in [h for h in limiter_log.handlers if isinstance(h, LimiterLog)]:
        limiter_log.removeHandler(handler)
    storage = f"Redis at {redis_address(redis_url)}" if redis_url else "this process's memory"
    limiter_log.addHandler(LimiterLog(storage))
