"""The token endpoints: Facebook's /oauth/access_token and Instagram's, in Meta's shapes."""

import datetime
from urllib.parse import unquote

from flask import current_app, jsonify, request

from portal.sandbox import bp, people, tokens


def _spend(code, payload):
    """Mark a code used; return False when it already was (Meta's codes are single use).

    Remembered in the database, so a code replayed against another worker or host is refused too.
    """
    at = tokens.now()
    expires = payload.get("exp") or at + tokens.IG_CODE_SECONDS  # kept at least as long as it works
    return current_app.extensions["sandbox_spent_codes"].spend(code, _utc(expires), now=_utc(at))


def _utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def _client_credentials():
    """Return (client_id, client_secret) from the form, the query, or HTTP Basic."""
    client_id = request.values.get("client_id")
    secret = request.values.get("client_secret")
    auth = request.authorization
    if auth and auth.type == "basic" and not secret:
        client_id, secret = unquote(auth.username or ""), unquote(auth.password or "")
    return client_id or "", secret or ""


def _json(result):
    status, body = result
    return jsonify(body), status


def _token_answer(payload):
    token = tokens.issue("user", payload)
    return 200, {"access_token": token, "token_type": "bearer", "expires_in": payload["exp"] - tokens.now()}


def _exchange_code(client_id, redirect_uri, code):
    if not redirect_uri:
        return tokens.graph_error("Missing redirect_uri parameter.", 100)
    payload = tokens.read("code", code)
    if payload is None or payload.get("app") != client_id:
        return tokens.graph_error("Invalid verification code format.", 100)
    if tokens.expired(payload):
        return tokens.graph_error("This authorization code has expired.", 100, subcode=36007)
    if payload.get("redirect_uri") != redirect_uri:
        return tokens.graph_error(
            "Error validating verification code. Please make sure your redirect_uri is identical to the "
            "one you used in the OAuth dialog request",
            100,
            subcode=36008,
        )
    if not _spend(code, payload):
        return tokens.graph_error("This authorization code has been used.", 100, subcode=36009)
    user = people.facebook_user(payload["user"])
    fields = ("pages", "businesses", "requested", "granted")
    return _token_answer(tokens.user_token_payload(user, *(payload[f] for f in fields), "short", client_id))


def _exchange_for_long_lived(client_id, short_token):
    payload = tokens.read("user", short_token)
    if payload is None or payload.get("app") != client_id:
        return tokens.invalid_token_error()
    if tokens.expired(payload):
        return tokens.expired_token_error(payload)
    user = people.facebook_user(payload["user"])
    fields = ("pages", "businesses", "requested", "granted")
    return _token_answer(
        tokens.user_token_payload(
            user, *(payload[f] for f in fields), "long", client_id, dax=payload.get("dax")
        )
    )


def _app_secrets():
    """Return {app id: secret} of the Meta apps the sandbox knows: the Facebook and the Instagram app.

    Meta's app ids are Meta-wide, so Facebook's token endpoint knows every app, the Instagram
    Login one too (an app token for either; codes and user tokens stay tied to their own app).
    """
    config = current_app.config
    apps = ("INSTAGRAM", "FACEBOOK")  # the Facebook app wins should both have one id
    return {
        config[f"{a}_CLIENT_ID"]: config[f"{a}_CLIENT_SECRET"] for a in apps if config.get(f"{a}_CLIENT_ID")
    }


def facebook_token(values):
    """Answer Facebook's token endpoint for these parameters: (status, body)."""
    client_id, secret = _client_credentials()
    apps = _app_secrets()
    if not client_id:
        return tokens.graph_error("Missing client_id parameter.", 101)
    if client_id not in apps:
        return tokens.graph_error("Error validating application. Invalid application ID.", 101)
    if secret != apps[client_id]:
        return tokens.graph_error("Error validating client secret.", 1)
    grant_type = values.get("grant_type") or "authorization_code"
    if grant_type == "fb_exchange_token":
        return _exchange_for_long_lived(client_id, values.get("fb_exchange_token", ""))
    if grant_type == "client_credentials":
        return 200, {"access_token": f"{client_id}|{secret}", "token_type": "bearer"}
    if grant_type != "authorization_code":
        return tokens.graph_error(f"Unsupported grant_type: {grant_type}", 100)
    if not values.get("code"):
        return tokens.graph_error("Missing code parameter.", 100)
    return _exchange_code(client_id, values.get("redirect_uri", ""), values["code"])


@bp.route("/graph/<version>/oauth/access_token", methods=["GET", "POST"])
def facebook_access_token(version):
    """Exchange a code for a user token, or a short-lived token for a long-lived one."""
    return _json(facebook_token(request.values))


def _instagram_error(message, code=400, error_type="OAuthException"):
    return 400, {"error_type": error_type, "code": code, "error_message": message}


def instagram_token(values):
    """Answer Instagram's token endpoint (api.instagram.com) for these parameters."""
    client_id, secret = _client_credentials()
    config = current_app.config
    if client_id != config["INSTAGRAM_CLIENT_ID"]:
        return _instagram_error("Invalid platform app")
    if secret != config["INSTAGRAM_CLIENT_SECRET"]:
        return _instagram_error("Error validating client secret.")
    if values.get("grant_type") != "authorization_code":
        return _instagram_error("Invalid grant_type", error_type="IGApiException")
    code = values.get("code", "")
    payload = tokens.read("igcode", code)
    if payload is None or payload.get("app") != client_id or tokens.expired(payload):
        return _instagram_error("Invalid authorization code")
    if payload.get("redirect_uri") != values.get("redirect_uri"):
        return _instagram_error(
            "Error validating verification code. Please make sure your redirect_uri is identical to the "
            "one you used in the OAuth dialog request"
        )
    if not _spend(code, payload):
        return _instagram_error("This authorization code has been used")
    issued = tokens.now()
    token = tokens.issue(
        "ig",
        {
            "ig": payload["ig"],
            "scopes": payload["scopes"],
            "app": client_id,
            "kind": "short",
            "iat": issued,
            "exp": issued + tokens.IG_SHORT_SECONDS,
        },
    )
    answer = {"access_token": token, "user_id": payload["ig"], "permissions": ",".join(payload["scopes"])}
    return 200, {"data": [answer]}


@bp.post("/instagram-api/oauth/access_token")
def instagram_access_token():
    """Exchange an Instagram Login code for a token, in Instagram's {"data": [...]} shape."""
    return _json(instagram_token(request.values))
