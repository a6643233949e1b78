"""Who is calling the simulated Graph API, and whether Meta would still let them (reference §1.4-1.6).

A user token lasts about 60 days and cannot be renewed; a Page token made from a long-lived one
never expires. What ends them all is the person removing the app or a permission (remembered in
the sandbox's state), or data access running out about 90 days after they last used the app:
then every call answers 190/493, and debug_token says so.
"""

from flask import current_app

from portal.sandbox import APP_NAME, nodes, people, state, tokens
from portal.sandbox.errors import Refusal

DATA_ACCESS_EXPIRED = (
    "The access token is invalid since the user hasn't engaged the app in longer than 90 days."
)


def token_from(headers, params):
    """Return the access token of a call: the Authorization header's, else the access_token parameter."""
    scheme, _, value = headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return params.get("access_token", "")


def app_token_valid(token):
    """Tell whether a token is the Facebook app's own access token, {app-id}|{app-secret}."""
    config = current_app.config
    return token == f"{config['FACEBOOK_CLIENT_ID']}|{config['FACEBOOK_CLIENT_SECRET']}"


def _proof_refusal(message):
    return Refusal(tokens.graph_error(message, 100, error_type="GraphMethodException"))


def check_proof(token, proof):
    """Refuse a call whose appsecret_proof is missing or not this token's (the app requires it)."""
    if not proof:
        raise _proof_refusal("API calls from the server require an appsecret_proof argument")
    if not tokens.proof_matches(current_app.config["FACEBOOK_CLIENT_SECRET"], token, proof):
        raise _proof_refusal("Invalid appsecret_proof provided in the API argument")


def _removed_app_error():
    message = "Error validating access token: The user has not authorized application " + str(
        current_app.config["FACEBOOK_CLIENT_ID"]
    )
    return tokens.graph_error(message, 190, subcode=458)


def invalid_reason(payload):
    """Return Meta's (status, body) error for a readable token that no longer works, or None."""
    removed = state.removed_at(payload.get("user"))
    if removed is not None and removed >= (payload.get("iat") or 0):
        return _removed_app_error()
    if tokens.expired(payload):
        return tokens.expired_token_error(payload)
    dax = payload.get("dax")
    if dax and dax <= tokens.now():
        return tokens.graph_error(DATA_ACCESS_EXPIRED, 190, subcode=493)
    return None


def read_token(token):
    """Return (payload, user) of a sandbox user or Page token of this app, or (None, None)."""
    kind = "page" if token.startswith(tokens.PREFIXES["page"]) else "user"
    payload = tokens.read(kind, token)
    user = people.facebook_user(payload.get("user")) if payload else None
    if user is None or payload.get("app") != current_app.config["FACEBOOK_CLIENT_ID"]:
        return None, None
    return payload, user


def grant_of(user, payload):
    """Return what a token lets its holder see, less the permissions revoked since it was issued."""
    revoked = state.revoked_permissions(user.id, payload.get("iat"))
    if revoked:
        payload = {**payload, "granted": [s for s in payload.get("granted", []) if s not in revoked]}
    return nodes.Grant(user, payload, page_token_for=payload.get("page"))


def authenticate(token, proof):
    """Return the Grant a user or Page token carries, or raise the error Meta would answer."""
    if not token:
        raise Refusal(tokens.graph_error("An active access token must be used to query information.", 2500))
    payload, user = read_token(token)
    if payload is None:
        raise Refusal(tokens.invalid_token_error())
    error = invalid_reason(payload)
    if error:
        raise Refusal(error)
    check_proof(token, proof)
    return grant_of(user, payload)


def debug_token(params, token):
    """Answer /debug_token for an app token: what the input token is, whether it works, what it grants."""
    if not app_token_valid(token):
        message = (
            "(#100) You must provide an app access token, or a user access token that is an owner or "
            "developer of the app"
        )
        raise Refusal(tokens.graph_error(message, 100))
    input_token = params.get("input_token", "")
    if not input_token:
        raise Refusal(tokens.graph_error("(#100) The parameter input_token is required", 100))
    payload, user = read_token(input_token)
    if payload is None:
        message = "Invalid OAuth access token - Cannot parse access token"
        return {"data": {"error": {"code": 190, "message": message}, "is_valid": False, "scopes": []}}
    grant = grant_of(user, payload)
    problem = invalid_reason(payload)
    data = {
        "app_id": payload.get("app"),
        "type": "PAGE" if grant.page_token_for else "USER",
        "application": APP_NAME,
        "data_access_expires_at": payload.get("dax") or 0,
        "expires_at": payload.get("exp") or 0,
        "is_valid": problem is None,
        "issued_at": payload.get("iat"),
    }
    if grant.page_token_for:
        data["profile_id"] = grant.page_token_for
    data["scopes"] = sorted(grant.granted)
    data["granular_scopes"] = _granular_scopes(grant)
    data["user_id"] = grant.user.id
    if problem:
        error = problem[1]["error"]
        data["error"] = {
            "code": error["code"],
            "message": error["message"],
            "subcode": error.get("error_subcode"),
        }
    return {"data": data}


def _granular_scopes(grant):
    targets = {
        "pages_show_list": grant.shared_pages,
        "pages_read_engagement": grant.shared_pages,
        "business_management": grant.shared_businesses,
        "instagram_basic": grant.instagram_ids(),
        "instagram_manage_insights": grant.instagram_ids(),
    }
    return [
        {"scope": scope, "target_ids": list(targets[scope])}
        for scope in sorted(grant.granted)
        if scope in targets
    ]


def permissions(grant):
    """Answer /me/permissions: each permission asked for, granted, declined or revoked since."""
    entries = [{"permission": "public_profile", "status": "granted"}]
    for scope in grant.payload.get("requested", []):
        entries.append({"permission": scope, "status": "granted" if scope in grant.granted else "declined"})
    return {"data": entries}


def revoke(grant, permission=None):
    """Answer DELETE /me/permissions[/{permission}]: the person removes the app, or one permission."""
    if permission:
        state.remove_permission(grant.user.id, permission, tokens.now())
    else:
        state.remove_app(grant.user.id, tokens.now())
    return {"success": True}
