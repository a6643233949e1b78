"""What Meta signs, verified: the signed_request of its callbacks and its webhook deliveries. No Flask.

signed_request (security.md §2.2): base64url(HMAC-SHA256 signature) "." base64url(JSON payload),
where the signature is computed with the app secret over the payload exactly as encoded.
Webhook deliveries carry X-Hub-Signature-256, the HMAC-SHA256 of the raw body.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re

MAX_LENGTH = 8 * 1024
SIGNATURE_PREFIX = "sha256="
ALGORITHM = "HMAC-SHA256"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class InvalidSignedRequest(ValueError):
    """The signed_request is malformed, oversized or not signed with our secret; the message says why."""


def _decode(part, what):
    if not _BASE64URL.fullmatch(part):
        raise InvalidSignedRequest(f"{what} is not base64url")
    # Meta leaves the padding off; restore it, or decoding fails on most lengths.
    padded = part.rstrip("=") + "=" * (-len(part.rstrip("=")) % 4)
    try:
        return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignedRequest(f"{what} is not base64url") from exc


def parse_signed_request(text, app_secret):
    """Return the payload of a signed_request signed with app_secret, or raise InvalidSignedRequest."""
    if not app_secret:
        raise InvalidSignedRequest("no app secret is configured")
    if not isinstance(text, str) or not text:
        raise InvalidSignedRequest("signed_request is missing")
    if len(text) > MAX_LENGTH:
        raise InvalidSignedRequest("signed_request is too long")
    encoded_signature, dot, encoded_payload = text.partition(".")
    if not dot or not encoded_signature or not encoded_payload:
        raise InvalidSignedRequest("signed_request has no signature part")
    signature = _decode(encoded_signature, "signature")
    payload_bytes = _decode(encoded_payload, "payload")
    expected = hmac.new(app_secret.encode(), encoded_payload.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidSignedRequest("signature does not match")
    try:
        payload = json.loads(payload_bytes)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidSignedRequest("payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidSignedRequest("payload is not a JSON object")
    if str(payload.get("algorithm", "")).upper() != ALGORITHM:
        raise InvalidSignedRequest("algorithm is not HMAC-SHA256")
    user_id = payload.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, str | int) or not str(user_id).strip():
        raise InvalidSignedRequest("payload has no user_id")
    payload["user_id"] = str(user_id).strip()
    return payload


def verify_token_matches(given, expected):
    """Tell whether the webhook handshake's hub.verify_token is ours (with none configured, none is)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def signature_matches(body, header, app_secret):
    """Tell whether X-Hub-Signature-256 is the HMAC-SHA256 of the raw body under the app secret."""
    if not app_secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    given = header[len(SIGNATURE_PREFIX) :].strip().lower()
    return hmac.compare_digest(expected.encode(), given.encode())
