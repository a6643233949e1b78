"""Instagram handles: accept what staff paste, store the bare lower-case username, note it in the ledger."""

import re
from urllib.parse import urlsplit

from portal.db import database
from portal.models import Creator, LedgerEntry, SocialAccount

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


def split_handles(text):
    """Return (line number, text) for each handle typed one a line or separated by commas."""
    found = []
    for line_number, line in enumerate((text or "").splitlines(), start=1):
        found += [(line_number, entry.strip()) for entry in line.split(",") if entry.strip()]
    return found


def add_handle(creator, username, actor):
    """Add a username to a creator's list and record it in the ledger; raise DuplicateHandle if listed."""
    with database.atomic():
        account = SocialAccount.add_handle(creator, username)
        LedgerEntry.record("account_added", actor, creator=creator, account=account, username=username)
    return account


def add_creator(name, email, usernames, actor):
    """Add a creator with a new link and these usernames, in one transaction; return the creator."""
    with database.atomic():
        creator = Creator.create(name=name, email=email)
        creator.issue_link_token()
        LedgerEntry.record("invited", actor, creator=creator, name=creator.name)
        for username in usernames:
            add_handle(creator, username, actor)
    return creator
