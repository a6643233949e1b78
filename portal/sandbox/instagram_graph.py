"""The simulated graph.instagram.com: the profile of an Instagram Login token, and its renewal."""

from flask import current_app, jsonify, request

from portal.sandbox import bp, nodes, people, tokens
from portal.sandbox.avatars import avatar_url

PROFILE_FIELDS = {
    "id",
    "user_id",
    "username",
    "name",
    "account_type",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
    "biography",
}
LONG_SECONDS = 60 * 24 * 3600


def _error(message, code, subcode=None):
    status, body = tokens.graph_error(message, code, subcode=subcode)
    if code != 190:
        body["error"]["type"] = "IGApiException"
    return jsonify(body), status


def _bearer():
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return request.values.get("access_token", "")


def _read_token(token):
    """Return (payload, account), or (None, error response)."""
    payload = tokens.read("ig", token)
    account = people.instagram_account_by_id(payload.get("ig")) if payload else None
    if account is None or payload.get("app") != current_app.config["INSTAGRAM_CLIENT_ID"]:
        return None, _error("Invalid OAuth access token - Cannot parse access token", 190)
    if tokens.expired(payload):
        status, body = tokens.expired_token_error(payload)
        return None, (jsonify(body), status)
    proof = request.values.get("appsecret_proof")
    # Optional on graph.instagram.com, but a wrong one is refused.
    if proof and not tokens.proof_matches(current_app.config["INSTAGRAM_CLIENT_SECRET"], token, proof):
        return None, _error("Invalid appsecret_proof provided in the API argument", 100)
    return payload, account


@bp.get("/instagram-graph/<version>/me")
@bp.get("/instagram-graph/me", defaults={"version": None})
def instagram_me(version):
    """Return the profile of the Instagram Login token's account, with the requested fields."""
    payload, account = _read_token(_bearer())
    if payload is None:
        return account
    values = {
        "id": account.app_scoped_id,
        "user_id": account.id,
        "username": account.username,
        "name": account.name,
        "account_type": account.account_type,
        "profile_picture_url": avatar_url(account.username),
        "followers_count": account.followers_count,
        "follows_count": account.follows_count,
        "media_count": account.media_count,
        "biography": account.biography,
    }
    fields = nodes.parse_fields(request.values.get("fields") or "id")
    try:
        return jsonify(nodes.select("User", PROFILE_FIELDS, values, fields))
    except nodes.FieldError as error:
        return _error(str(error).removeprefix("(#100) "), 100)


def _renewed(payload):
    issued = tokens.now()
    body = {**payload, "kind": "long", "iat": issued, "exp": issued + LONG_SECONDS}
    body.pop("n", None)
    return jsonify(access_token=tokens.issue("ig", body), token_type="bearer", expires_in=LONG_SECONDS)


@bp.get("/instagram-graph/access_token")
def instagram_long_lived_token():
    """Swap a short-lived Instagram token for a 60-day one (ig_exchange_token)."""
    if request.values.get("grant_type") != "ig_exchange_token":
        return _error("Unsupported grant_type", 100)
    if request.values.get("client_secret") != current_app.config["INSTAGRAM_CLIENT_SECRET"]:
        return _error("Error validating client secret.", 1)
    payload, account = _read_token(_bearer())
    return _renewed(payload) if payload else account


@bp.get("/instagram-graph/refresh_access_token")
def instagram_refresh_token():
    """Renew a long-lived Instagram token for another 60 days (ig_refresh_token)."""
    if request.values.get("grant_type") != "ig_refresh_token":
        return _error("Unsupported grant_type", 100)
    payload, account = _read_token(_bearer())
    return _renewed(payload) if payload else account
