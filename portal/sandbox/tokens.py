"""Signed, stateless sandbox tokens and codes, and Meta's error bodies.

Tokens are itsdangerous payloads signed with the portal's SECRET_KEY, one salt per kind, so every
worker agrees on them and a restart keeps them. The prefixes only make them look like Meta's.
"""

import functools
import hashlib
import hmac
import random
import secrets
import string
import time

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.sandbox import seeds

PREFIXES = {
    "code": "SBXC",  # Facebook Login authorization code
    "igcode": "SBXI",  # Instagram Login authorization code
    "user": "EAAS",  # Facebook user token (short or long)
    "page": "EAAP",  # Facebook Page token
    "ig": "IGAAS",  # Instagram Login user token
}
CODE_SECONDS = 600  # Facebook's codes last 10 minutes
IG_CODE_SECONDS = 3600  # Instagram's last an hour
USER_TOKEN_SECONDS = 5183944  # what Meta reports for a 60-day token
IG_SHORT_SECONDS = 3600
DATA_ACCESS_SECONDS = 90 * 24 * 3600


def now():
    """Return the sandbox's time in whole Unix seconds: one clock for tokens and content."""
    return seeds.now()


def _serializer(kind, secret=None):
    return URLSafeTimedSerializer(secret or current_app.config["SECRET_KEY"], salt=f"portal-sandbox-{kind}")


def issue(kind, payload):
    """Return a new token of this kind carrying payload (a dict with at least "exp")."""
    # A nonce keeps two tokens issued in the same second for the same grant apart.
    body = {**payload, "n": secrets.token_hex(4)}
    return PREFIXES[kind] + _serializer(kind).dumps(body)


def read(kind, token):
    """Return the payload of a token of this kind, or None when it is not one of ours."""
    prefix = PREFIXES[kind]
    if not isinstance(token, str) or not token.startswith(prefix):
        return None
    payload = _verified(current_app.config["SECRET_KEY"], kind, token[len(prefix) :])
    return dict(payload) if payload is not None else None  # a copy: callers may add to theirs


_TRACE = random.Random()
_TRACE_LETTERS = string.ascii_letters + string.digits + "-_"


@functools.lru_cache(maxsize=4096)
def _verified(secret, kind, body):
    """Return a signed body's payload, or None; the same text always gives the same answer.

    Remembered: a batch carries its account's token in each of its 50 calls, and checking the
    signature (HMAC and JSON) took a sixth of the sandbox's time serving a refresh. What may
    change (expiry, a removed app or permission) is checked on the payload on every call.
    """
    try:
        payload = _serializer(kind, secret).loads(body)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None


def kind_of(token):
    """Return which kind of sandbox token this looks like ("user", "page", "ig"), or None."""
    for kind in ("user", "page", "ig"):
        if read(kind, token) is not None:
            return kind
    return None


def expired(payload, at=None):
    """Return True when the payload's "exp" (0 = never) has passed."""
    exp = payload.get("exp") or 0
    return bool(exp) and exp <= (at or now())


def appsecret_proof(secret, token):
    """Return Meta's appsecret_proof: hex HMAC-SHA256 of the token keyed with the app secret."""
    return hmac.new((secret or "").encode(), token.encode(), hashlib.sha256).hexdigest()


def proof_matches(secret, token, proof):
    """Return True when proof is the token's appsecret_proof for this secret."""
    return bool(proof) and hmac.compare_digest(appsecret_proof(secret, token), str(proof))


def fbtrace_id():
    """Return a fresh fbtrace_id-like value.

    A trace id, not a secret: drawn without asking the system for randomness, a call that let go
    of Python's lock on every error (a refresh meets one an account), which a busy worker's other
    threads then kept for up to 5 ms.
    """
    return "Sbx" + "".join(_TRACE.choices(_TRACE_LETTERS, k=11))


def graph_error(message, code, subcode=None, transient=False, error_type="OAuthException", status=None):
    """Return (status, body) for a Graph API error in Meta's documented shape."""
    error = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    error["fbtrace_id"] = fbtrace_id()
    return (status or (500 if transient else 400)), {"error": error}


def invalid_token_error():
    """Return the error for a token that is not a valid sandbox token."""
    return graph_error("Invalid OAuth access token - Cannot parse access token", 190)


def expired_token_error(payload):
    """Return Meta's 190/463 error for an expired token."""
    when = time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(payload.get("exp", 0)))
    current = time.strftime("%A, %d-%b-%y %H:%M:%S UTC", time.gmtime(now()))
    message = f"Error validating access token: Session has expired on {when}. The current time is {current}."
    return graph_error(message, 190, subcode=463)


def user_token_payload(user, pages, businesses, requested, granted, kind, app_id, exp=None, dax=None):
    """Return the payload of a user token: who, what they shared, and when it all expires."""
    issued = now()
    return {
        "user": user.id,
        "pages": list(pages),
        "businesses": list(businesses),
        "requested": list(requested),
        "granted": list(granted),
        "kind": kind,
        "app": app_id,
        "iat": issued,
        "exp": exp or issued + (user.token_seconds or USER_TOKEN_SECONDS),
        "dax": dax or issued + (user.data_access_seconds or DATA_ACCESS_SECONDS),
    }


def page_token_for(user_payload, page_id):
    """Return a Page token derived from a user token; from a long-lived one it never expires."""
    payload = {
        "user": user_payload["user"],
        "page": page_id,
        "granted": user_payload["granted"],
        "app": user_payload["app"],
        "iat": now(),
        "exp": 0 if user_payload.get("kind") == "long" else user_payload["exp"],
        "dax": user_payload.get("dax"),
    }
    return issue("page", payload)
