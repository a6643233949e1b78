"""Instagram handles: accept what staff paste, store the bare lower-case username."""

import re
from urllib.parse import urlsplit

MAX_LENGTH = 30
_ALLOWED = re.compile(r"^[a-z0-9._]+$")
_INSTAGRAM_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com"}
# First path segments of instagram.com addresses that are not profiles.
_NOT_PROFILES = {"p", "reel", "reels", "tv", "stories", "explore", "accounts", "direct"}


class InvalidHandle(ValueError):
    """The text is not an Instagram username; the message says why."""


def _from_url(text):
    candidate = text if "://" in text else "https://" + text
    parts = urlsplit(candidate)
    host = (parts.hostname or "").lower()
    if host not in _INSTAGRAM_HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise InvalidHandle("That Instagram address has no username in it.")
    if segments[0].lower() in _NOT_PROFILES:
        raise InvalidHandle("That is a link to a post or page, not to a profile.")
    return segments[0]


def normalise_handle(text):
    """Return the bare lower-case username in text, or raise InvalidHandle."""
    value = (text or "").strip()
    if not value:
        raise InvalidHandle("Enter an Instagram username.")
    if "instagram.com" in value.lower():
        value = _from_url(value) or value
    value = value.lstrip("@").lower()
    if len(value) > MAX_LENGTH:
        raise InvalidHandle(f"Instagram usernames are at most {MAX_LENGTH} characters.")
    if not value or not _ALLOWED.match(value):
        raise InvalidHandle("Instagram usernames use only letters, numbers, periods and underscores.")
    if value.startswith(".") or value.endswith("."):
        raise InvalidHandle("Instagram usernames cannot start or end with a period.")
    if ".." in value:
        raise InvalidHandle("Instagram usernames cannot have two periods in a row.")
    return value
