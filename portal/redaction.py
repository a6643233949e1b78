"""Keep secrets out of log lines, whichever library writes them.

urllib3 logs every request line at DEBUG, query string included; Werkzeug logs
callback URLs with their code and state; link pages carry their token in the path.
"""

import logging
import re

_SECRET_PARAMS = re.compile(
    r"(?P<name>access_token|input_token|client_secret|fb_exchange_token|appsecret_proof|code|state"
    r"|refresh_token|signed_request)=(?P<value>[^&\s\"']+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._\-|]+", re.IGNORECASE)
_LINK_PATH = re.compile(
    r"(/link/)(?!facebook/|instagram/|accounts/|choose/|add\b|verify\b|back\b)[A-Za-z0-9_\-]{20,}"
)
_DELETION_STATUS_PATH = re.compile(r"(/meta/deletion-status/)[A-Za-z0-9_\-]{20,}")
REDACTED = "[redacted]"
LOGGERS = ("urllib3.connectionpool", "authlib", "werkzeug", "gunicorn.access", "portal", "requests")


def redact(text):
    """Return text with token-like values replaced by [redacted]."""
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group('name')}={REDACTED}", text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _DELETION_STATUS_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    return _LINK_PATH.sub(lambda m: m.group(1) + REDACTED, text)


class RedactSecrets(logging.Filter):
    """A logging filter that rewrites each record's message with redact()."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install():
    """Attach the filter to the loggers that see URLs and headers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
