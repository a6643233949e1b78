"""The simulated Graph API (graph.facebook.com): the calls the portal makes, and batch."""

import json
import re
from urllib.parse import parse_qsl, urlsplit

from flask import jsonify, request

from portal.sandbox import auth, bp, faults, ig_api, legacy, nodes, people, subscriptions, tokens
from portal.sandbox.errors import Refusal, unsupported

VERSION = re.compile(r"^v\d+\.\d+$")
BATCH_LIMIT = 50
ME_EDGES = {"accounts", "businesses", "permissions"}
# /me/accounts lists the Pages where the person can do one of these (an Analyst-only Page is absent:
# reference §3.1); the others are reached by reading the Page by id.
ACCOUNTS_TASKS = {"MANAGE", "CREATE_CONTENT", "MODERATE", "ADVERTISE"}


def _transient_failure():
    return Refusal(tokens.graph_error("(#2) Service temporarily unavailable", 2, transient=True))


def _accounts_pages(grant):
    """Return the shared Pages /me/accounts lists: a role with one of ACCOUNTS_TASKS."""
    return [p for p in grant.role_pages() if ACCOUNTS_TASKS & set(grant.user.roles[p])]


def _user_edge(grant, edge, params, fields, link):
    if edge == "permissions":
        return auth.permissions(grant)
    if grant.user.failing:
        raise _transient_failure()
    if edge == "accounts":
        pages = _accounts_pages(grant) if "pages_show_list" in grant.granted else []
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


def _own_node(grant, method, edge, params, fields, link):
    """Answer a call on the token's own user ("me"), or None when it is not one."""
    if method == "DELETE" and edge == "permissions":
        return auth.revoke(grant)
    if method == "DELETE" and edge.startswith("permissions/"):
        return auth.revoke(grant, edge.removeprefix("permissions/"))
    if not edge and method == "GET":
        return nodes.user_node(grant.user, fields or {"name": None})
    if edge in ME_EDGES and method == "GET":
        return _user_edge(grant, edge, params, fields, link)
    return None


def _node(grant, method, segments, params, link):
    """Answer a call on a node or one of its edges, for the holder of grant."""
    object_id, edge = segments[0], "/".join(segments[1:])
    if object_id == "me":
        object_id = grant.page_token_for or grant.user.id
    fields = nodes.parse_fields(params.get("fields", ""))
    if object_id == grant.user.id and not grant.page_token_for:
        answer = _own_node(grant, method, edge, params, fields, link)
        if answer is not None:
            return answer
    page, business = people.page(object_id), people.business(object_id)
    if page and edge == "subscribed_apps":
        return subscriptions.answer(grant, page, method, params)
    if method != "GET":
        raise unsupported(method, object_id)
    if page and not edge and (grant.can_see_page(page.id) or grant.page_token_for == page.id):
        return nodes.page_node(page, fields or {"name": None}, grant, with_role=page.id in grant.role_pages())
    if business and grant.can_see_business(business.id) and not edge:
        return nodes.business_node(business, fields)
    if business and edge:
        return _business_edge(grant, business, edge, params, fields, link)
    if ig_api.subject(object_id)[0]:
        return ig_api.answer(grant, object_id, edge, params, fields, link)
    raise unsupported("GET", object_id)


def call(method, path, params, token):
    """Answer one Graph call: (status, body, headers)."""
    segments = [s for s in path.split("/") if s]
    version = segments.pop(0) if segments and VERSION.match(segments[0]) else None
    account = ig_api.subject(segments[0])[0] if segments else None
    headers = faults.usage_headers(account) if account else {}
    link = nodes.Links(version, "/".join(segments), params)
    try:
        faults.apply_to_app()
        legacy.check_call(path, params)
        if not segments:
            raise Refusal(
                tokens.graph_error("Unsupported get request.", 100, error_type="GraphMethodException")
            )
        if segments == ["debug_token"]:
            return 200, auth.debug_token(params, token), headers
        grant = auth.authenticate(token, params.get("appsecret_proof"))
        return 200, _node(grant, method, segments, params, link), headers
    except Refusal as refusal:
        return (*refusal.result, {**headers, **refusal.headers})
    except nodes.FieldError as error:
        return (*tokens.graph_error(str(error), 100), headers)


def _batch_token_check(token, proof):
    """Refuse the whole batch when its top-level token is not valid (Meta checks it even if every
    item carries its own): the app's token, or a user or Page token that still works."""
    if auth.app_token_valid(token):
        auth.check_proof(token, proof)
    else:
        auth.authenticate(token, proof)


def _batch_item_shape(item):
    """Tell whether a batch item is an object whose method and relative_url, when given, are text."""
    return isinstance(item, dict) and all(
        isinstance(item.get(k, ""), str) for k in ("method", "relative_url")
    )


def _batch(params, token):
    try:
        items = json.loads(params.get("batch") or "")
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(_batch_item_shape(item) for item in items):
        message = "(#100) The parameter batch is required and must be a JSON array"
        return (*tokens.graph_error(message, 100), {})
    if len(items) > BATCH_LIMIT:
        message = "(#100) Too many requests in batch message. Maximum batch size is 50"
        return (*tokens.graph_error(message, 100), {})
    try:
        faults.apply_to_app()
        legacy.check_batch(params)
        _batch_token_check(token, params.get("appsecret_proof"))
    except Refusal as refusal:
        return (*refusal.result, refusal.headers)
    with_headers = params.get("include_headers", "true") != "false"
    return 200, [_batch_item(item, params, token, with_headers) for item in items], {}


def _batch_item(item, params, token, with_headers):
    relative = urlsplit(str(item.get("relative_url", "")))
    item_params = dict(parse_qsl(relative.query))
    if "access_token" not in item_params:  # an item without its own token uses the batch's
        item_params = {"access_token": token, "appsecret_proof": params.get("appsecret_proof"), **item_params}
    status, body, headers = call(
        item.get("method", "GET").upper(), relative.path, item_params, item_params["access_token"]
    )
    answer = {"code": status}
    if with_headers:
        headers = {"Content-Type": "application/json; charset=UTF-8", **headers}
        answer["headers"] = [{"name": name, "value": value} for name, value in headers.items()]
    answer["body"] = json.dumps(body)
    return answer


@bp.route("/graph/", defaults={"path": ""}, methods=["GET", "POST", "DELETE"])
@bp.route("/graph/<path:path>", methods=["GET", "POST", "DELETE"])
def graph_call(path):
    """Answer a Graph API call, or a batch of them POSTed to the version root."""
    params = request.values.to_dict()
    token = auth.token_from(request.headers, params)
    bare = [s for s in path.split("/") if s and not VERSION.match(s)]
    faults.add_latency()
    if request.method == "POST" and not bare and "batch" in params:
        status, body, headers = _batch(params, token)
    else:
        status, body, headers = call(request.method, path, params, token)
    response = jsonify(body)
    response.status_code = status
    response.headers["X-App-Usage"] = faults.app_usage()
    response.headers.update(headers)
    return response
