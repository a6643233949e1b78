"""The link session: what opening a creator's link lets this browser do, and nothing more.

Opening /link/<token> records the creator and the token's digest in the session.
Every later action re-checks that digest against the creator's current link, so
issuing a new link ends old link sessions at once, and a link that expires ends its sessions
when it does. No Meta token is ever kept here.
"""

from flask import abort, session

from portal.db import utcnow
from portal.models import Creator

LINK_KEY = "link"
INTENT_KEY = "link_intent"
RESULT_KEY = "link_result"
LINK_SESSION_LOST = "link-session-lost"  # the error page explains: open the link again
LINK_EXPIRED = "link-expired"  # the error page explains: ask the agency for a new link


def open_link_session(creator):
    """Let this browser act on this creator's Link Accounts Page."""
    session[LINK_KEY] = {"creator": creator.id, "hash": creator.link_token_hash}


def link_creator():
    """Return the creator of this browser's link session, or None if it has none or it is stale."""
    data = session.get(LINK_KEY)
    if not isinstance(data, dict):
        return None
    creator = Creator.get_or_none(Creator.id == data.get("creator"))
    if creator is None or not creator.link_token_hash or creator.link_token_hash != data.get("hash"):
        return None
    return creator


def require_link_creator():
    """Return the link session's creator, or stop with a page that says what to do instead.

    No session (or a replaced link): open the link again. An expired link: ask for a new one.
    """
    creator = link_creator()
    if creator is None:
        abort(400, description=LINK_SESSION_LOST)
    if creator.link_expired(utcnow()):
        abort(410, description=LINK_EXPIRED)
    return creator


def start_intent(provider, mode, account_id=None):
    """Remember what the login about to start is for, dropping any abandoned login's state."""
    for key in [k for k in session if k.startswith("_state_")]:
        # One login at a time per browser keeps the cookie small (Authlib keeps one per start).
        session.pop(key)
    session[INTENT_KEY] = {"provider": provider, "mode": mode, "account": account_id}


def take_intent(provider):
    """Return and forget the pending login's intent if it was started for this provider."""
    intent = session.pop(INTENT_KEY, None)
    if not isinstance(intent, dict) or intent.get("provider") != provider:
        return None
    return intent


def put_result(result):
    """Keep a login's outcome for the Link Accounts Page to show once."""
    session[RESULT_KEY] = result


def take_result():
    """Return and forget the outcome to show, if any."""
    return session.pop(RESULT_KEY, None)
