"""The simulated Graph API (graph.facebook.com): the calls the portal makes, and batch."""

import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import current_app, jsonify, request, url_for

from portal.sandbox import APP_NAME, bp, faults, ig_api, nodes, people, tokens
from portal.sandbox.errors import Refusal, unsupported

VERSION = re.compile(r"^v\d+\.\d+$")
BATCH_LIMIT = 50
MULTIPLE_IDS_LIMIT = 50  # Meta's limit on ?ids=
APP_USAGE = json.dumps({"call_count": 1, "total_time": 1, "total_cputime": 1})
ME_EDGES = {"accounts", "businesses", "permissions"}


def _token_from(headers, params):
    auth = headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return params.get("access_token", "")


def _app_token_valid(token):
    config = current_app.config
    return token == f"{config['FACEBOOK_CLIENT_ID']}|{config['FACEBOOK_CLIENT_SECRET']}"


def _proof_refusal(message):
    return Refusal(tokens.graph_error(message, 100, error_type="GraphMethodException"))


def authenticate(token, proof):
    """Return the Grant a user or Page token carries, or raise the error Meta would answer."""
    if not token:
        raise Refusal(tokens.graph_error("An active access token must be used to query information.", 2500))
    kind = "page" if token.startswith(tokens.PREFIXES["page"]) else "user"
    payload = tokens.read(kind, token)
    user = people.facebook_user(payload.get("user")) if payload else None
    if user is None or payload.get("app") != current_app.config["FACEBOOK_CLIENT_ID"]:
        raise Refusal(tokens.invalid_token_error())
    if tokens.expired(payload):
        raise Refusal(tokens.expired_token_error(payload))
    if not proof:
        raise _proof_refusal("API calls from the server require an appsecret_proof argument")
    if not tokens.proof_matches(current_app.config["FACEBOOK_CLIENT_SECRET"], token, proof):
        raise _proof_refusal("Invalid appsecret_proof provided in the API argument")
    return nodes.Grant(user, payload, page_token_for=payload.get("page"))


def _permissions(grant):
    granted = grant.granted
    entries = [{"permission": "public_profile", "status": "granted"}]
    for scope in grant.payload.get("requested", []):
        entries.append({"permission": scope, "status": "granted" if scope in granted else "declined"})
    return {"data": entries}


def _transient_failure():
    return Refusal(tokens.graph_error("(#2) Service temporarily unavailable", 2, transient=True))


def _user_edge(grant, edge, params, fields, link):
    if edge == "permissions":
        return _permissions(grant)
    if grant.user.failing:
        raise _transient_failure()
    if edge == "accounts":
        pages = grant.role_pages() if "pages_show_list" in grant.granted else []
        return nodes.paged(pages, params, lambda p: nodes.page_node(people.page(p), fields, grant), link)
    if "business_management" not in grant.granted:
        raise Refusal(
            tokens.graph_error("(#200) Requires business_management permission to manage the object", 200)
        )
    return nodes.paged(
        grant.shared_businesses, params, lambda b: nodes.business_node(people.business(b), fields), link
    )


def _business_edge(grant, business, edge, params, fields, link):
    if edge not in ("owned_pages", "client_pages") or not grant.can_see_business(business.id):
        raise unsupported("GET", business.id)
    pages = business.owned_pages if edge == "owned_pages" else business.client_pages
    # Without a Page role there is no Page token and no task list to show.
    fields = {name: sub for name, sub in fields.items() if name not in ("access_token", "tasks")}

    def render(page_id):
        return nodes.page_node(people.page(page_id), fields, grant, with_role=False)

    return nodes.paged(list(pages), params, render, link)


def _node(grant, method, segments, params, link):
    """Answer a call on a node or one of its edges, for the holder of grant."""
    object_id, edge = segments[0], "/".join(segments[1:])
    if object_id == "me":
        object_id = grant.page_token_for or grant.user.id
    fields = nodes.parse_fields(params.get("fields", ""))
    if object_id == grant.user.id and not grant.page_token_for:
        if method == "DELETE" and edge in ("", "permissions"):
            return {"success": True}
        if not edge and method == "GET":
            return nodes.user_node(grant.user, fields or {"name": None})
        if edge in ME_EDGES and method == "GET":
            return _user_edge(grant, edge, params, fields, link)
    if method != "GET":
        raise unsupported(method, object_id)
    page, business = people.page(object_id), people.business(object_id)
    if page and not edge and (grant.can_see_page(page.id) or grant.page_token_for == page.id):
        return nodes.page_node(page, fields or {"name": None}, grant, with_role=page.id in grant.role_pages())
    if business and grant.can_see_business(business.id) and not edge:
        return nodes.business_node(business, fields)
    if business and edge:
        return _business_edge(grant, business, edge, params, fields, link)
    if ig_api.subject(object_id)[0]:
        return ig_api.answer(grant, object_id, edge, params, fields, link)
    raise unsupported("GET", object_id)


def debug_token(params, token):
    """Answer /debug_token for an app token: what the input token is and what it grants."""
    if not _app_token_valid(token):
        raise Refusal(
            tokens.graph_error(
                "(#100) You must provide an app access token, or a user access token "
                "that is an owner or developer of the app",
                100,
            )
        )
    input_token = params.get("input_token", "")
    if not input_token:
        raise Refusal(tokens.graph_error("(#100) The parameter input_token is required", 100))
    kind = "page" if input_token.startswith(tokens.PREFIXES["page"]) else "user"
    payload = tokens.read(kind, input_token)
    if payload is None or people.facebook_user(payload.get("user")) is None:
        message = "Invalid OAuth access token - Cannot parse access token"
        return {"data": {"error": {"code": 190, "message": message}, "is_valid": False, "scopes": []}}
    grant = nodes.Grant(people.facebook_user(payload["user"]), payload, page_token_for=payload.get("page"))
    data = {
        "app_id": payload.get("app"),
        "type": "PAGE" if grant.page_token_for else "USER",
        "application": APP_NAME,
        "data_access_expires_at": payload.get("dax") or 0,
        "expires_at": payload.get("exp") or 0,
        "is_valid": not tokens.expired(payload),
        "issued_at": payload.get("iat"),
    }
    if grant.page_token_for:
        data["profile_id"] = grant.page_token_for
    data["scopes"] = list(payload.get("granted", []))
    data["granular_scopes"] = _granular_scopes(grant)
    data["user_id"] = grant.user.id
    if tokens.expired(payload):
        data["error"] = {
            "code": 190,
            "message": tokens.expired_token_error(payload)[1]["error"]["message"],
            "subcode": 463,
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
        for scope in grant.payload.get("granted", [])
        if scope in targets
    ]


def call(method, path, params, token, link_base):
    """Answer one Graph call: (status, body, headers). link_base(path, query) builds paging URLs."""
    segments = [s for s in path.split("/") if s]
    version = segments.pop(0) if segments and VERSION.match(segments[0]) else None
    account = ig_api.subject(segments[0])[0] if segments else None
    headers = faults.usage_headers(account) if account else {}

    def link(**cursor):
        query = {k: v for k, v in params.items() if k not in ("after", "before")}
        return link_base("/".join([version or "", *segments]).lstrip("/"), {**query, **cursor})

    try:
        if not segments and params.get("ids"):
            return 200, _multiple_ids(method, params, token, link), headers
        if not segments:
            raise Refusal(
                tokens.graph_error("Unsupported get request.", 100, error_type="GraphMethodException")
            )
        if segments == ["debug_token"]:
            return 200, debug_token(params, token), headers
        grant = authenticate(token, params.get("appsecret_proof"))
        return 200, _node(grant, method, segments, params, link), headers
    except Refusal as refusal:
        return (*refusal.result, {**headers, **refusal.headers})
    except nodes.FieldError as error:
        return (*tokens.graph_error(str(error), 100), headers)


def _multiple_ids(method, params, token, link):
    """Answer ?ids=a,b&fields=...: each object under its id; one refusal fails them all, as at Meta."""
    grant = authenticate(token, params.get("appsecret_proof"))
    rest = {k: v for k, v in params.items() if k != "ids"}
    ids = [i for i in params["ids"].split(",") if i]
    if len(ids) > MULTIPLE_IDS_LIMIT:
        raise Refusal(tokens.graph_error(f"(#100) Too many IDs. Maximum: {MULTIPLE_IDS_LIMIT}.", 100))
    answers = {}
    for object_id in ids:
        account = ig_api.subject(object_id)[0]
        if account:
            faults.apply(account)
        answers[object_id] = _node(grant, method, [object_id], rest, link)
    return answers


def _link_base(path, query):
    return url_for("sandbox.graph_call", path=path, _external=True) + "?" + urlencode(query)


def _batch(params, token):
    try:
        items = json.loads(params.get("batch") or "")
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return (
            *tokens.graph_error("(#100) The parameter batch is required and must be a JSON array", 100),
            {},
        )
    if len(items) > BATCH_LIMIT:
        message = "(#100) Too many requests in batch message. Maximum batch size is 50"
        return (*tokens.graph_error(message, 100), {})
    with_headers = params.get("include_headers", "true") != "false"
    answers = []
    for item in items:
        relative = urlsplit(str(item.get("relative_url", "")))
        item_params = {
            **{k: params[k] for k in ("appsecret_proof",) if k in params},
            **dict(parse_qsl(relative.query)),
        }
        item_token = item_params.get("access_token") or token
        status, body, headers = call(
            item.get("method", "GET").upper(), relative.path, item_params, item_token, _link_base
        )
        answer = {"code": status}
        if with_headers:
            headers = {"Content-Type": "application/json; charset=UTF-8", **headers}
            answer["headers"] = [{"name": name, "value": value} for name, value in headers.items()]
        answer["body"] = json.dumps(body)
        answers.append(answer)
    return 200, answers, {}


@bp.route("/graph/", defaults={"path": ""}, methods=["GET", "POST", "DELETE"])
@bp.route("/graph/<path:path>", methods=["GET", "POST", "DELETE"])
def graph_call(path):
    """Answer a Graph API call, or a batch of them POSTed to the version root."""
    params = request.values.to_dict()
    token = _token_from(request.headers, params)
    bare = [s for s in path.split("/") if s and not VERSION.match(s)]
    faults.add_latency()
    if request.method == "POST" and not bare and "batch" in params:
        status, body, headers = _batch(params, token)
    else:
        status, body, headers = call(request.method, path, params, token, _link_base)
    response = jsonify(body)
    response.status_code = status
    response.headers["X-App-Usage"] = APP_USAGE
    response.headers.update(headers)
    return response
