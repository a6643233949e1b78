"""The sandbox: the simulated Facebook and Instagram logins, token endpoints and Graph API."""

import datetime
import hashlib
import json
import secrets
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from markupsafe import escape
from support import database_url
from support.processes import gunicorn, server_env
from werkzeug.datastructures import MultiDict

from portal import db
from portal.models import SandboxSpentCode
from portal.sandbox import people, tokens

BASE = "http://localhost"
FB_CALLBACK = BASE + "/link/facebook/callback"
IG_CALLBACK = BASE + "/link/instagram/callback"
SCOPES = ",".join(
    (
        "instagram_basic",
        "instagram_manage_insights",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
        "ads_read",
    )
)
FB_APP, FB_SECRET = "sandbox-facebook-app", "sandbox-facebook-secret"
IG_APP, IG_SECRET = "sandbox-instagram-app", "sandbox-instagram-secret"
DIALOG = "/sandbox/facebook/v27.0/dialog/oauth"
IG_DIALOG = "/sandbox/instagram/oauth/authorize"
PAGE_FIELDS = (
    "id,name,access_token,tasks,"
    "instagram_business_account{id,username,name,profile_picture_url,followers_count,media_count}"
)


def user_id(name):
    return next(user.id for user in people.FACEBOOK_USERS.values() if user.name == name)


def page_id(name):
    return next(page.id for page in people.PAGES.values() if page.name == name)


class Form(HTMLParser):
    """Collect what a browser would submit from a page's form: hidden fields and ticked boxes."""

    def __init__(self):
        super().__init__()
        self.fields, self.boxes, self.action = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        if tag != "input":
            return
        if attrs.get("type") == "hidden":
            self.fields.append((attrs["name"], attrs.get("value", "")))
        elif attrs.get("type") in ("checkbox", "radio"):
            self.boxes.append(attrs)
            if "checked" in attrs:
                self.fields.append((attrs["name"], attrs["value"]))


def read_form(html):
    form = Form()
    form.feed(html)
    return form


def sandbox(make_app, **overrides):
    app = make_app(SANDBOX=True, BASE_URL=BASE, **overrides)
    return app, app.test_client()


def dialog_url(**extra):
    params = {"client_id": FB_APP, "redirect_uri": FB_CALLBACK, "state": "st4te", "response_type": "code"}
    return DIALOG + "?" + urlencode({**params, "scope": SCOPES, **extra})


def consent(client, name, action="continue", change=None, **extra):
    """Pick a user in the Facebook dialog, keep the defaults (or apply change), and submit."""
    page = client.get(dialog_url(sandbox_user=user_id(name), **extra))
    assert page.status_code == 200
    form = read_form(page.get_data(as_text=True))
    fields = change(form.fields) if change else form.fields
    response = client.post(form.action, data=MultiDict([*fields, ("action", action)]))
    assert response.status_code == 302
    return parse_qs(urlsplit(response.location).query), response.location


def code_for(client, name, **kwargs):
    query, _ = consent(client, name, **kwargs)
    return query["code"][0]


def exchange(client, code, **overrides):
    form = {
        "grant_type": "authorization_code",
        "client_id": FB_APP,
        "client_secret": FB_SECRET,
        "redirect_uri": FB_CALLBACK,
        "code": code,
        **overrides,
    }
    return client.post("/sandbox/graph/v27.0/oauth/access_token", data=form)


def long_token(client, name, **kwargs):
    short = exchange(client, code_for(client, name, **kwargs)).get_json()["access_token"]
    answer = client.post(
        "/sandbox/graph/v27.0/oauth/access_token",
        data={
            "grant_type": "fb_exchange_token",
            "client_id": FB_APP,
            "client_secret": FB_SECRET,
            "fb_exchange_token": short,
        },
    )
    assert answer.status_code == 200
    return answer.get_json()["access_token"]


def graph(client, path, token, proof=True, **params):
    if proof:
        params["appsecret_proof"] = tokens.appsecret_proof(FB_SECRET, token)
    headers = {"Authorization": f"Bearer {token}"}
    return client.get(f"/sandbox/graph/v27.0/{path}", query_string=params, headers=headers)


def all_pages(client, path, token, **params):
    """Follow the after cursor to the end; return the list of answers."""
    answers = []
    while True:
        body = graph(client, path, token, **params).get_json()
        answers.append(body)
        if "next" not in body.get("paging", {}):
            return answers
        params["after"] = body["paging"]["cursors"]["after"]


def error_of(response):
    return response.get_json()["error"]


# --- Settings ---


def test_sandbox_settings_point_unset_meta_urls_and_apps_at_the_sandbox(make_app):
    app = make_app(
        SANDBOX=True,
        BASE_URL="https://portal.example/",
        META_URLS_SET={"INSTAGRAM_API_URL"},
        INSTAGRAM_API_URL="https://api.instagram.example",
        FACEBOOK_CLIENT_ID="operator-app",
    )
    assert app.config["FACEBOOK_WWW_URL"] == "https://portal.example/sandbox/facebook"
    assert app.config["FACEBOOK_GRAPH_URL"] == "https://portal.example/sandbox/graph"
    assert app.config["INSTAGRAM_GRAPH_URL"] == "https://portal.example/sandbox/instagram-graph"
    assert app.config["INSTAGRAM_API_URL"] == "https://api.instagram.example"
    assert app.config["FACEBOOK_CLIENT_ID"] == "operator-app"
    assert app.config["INSTAGRAM_CLIENT_SECRET"] == IG_SECRET


def test_without_sandbox_mode_there_is_no_simulated_meta(make_app):
    app = make_app(SANDBOX=False)
    assert app.test_client().get(dialog_url()).status_code == 404
    assert app.config["FACEBOOK_GRAPH_URL"] == "https://graph.facebook.com"


# --- The Facebook dialog ---


def test_dialog_says_it_is_a_simulation_and_offers_every_fictional_user(make_app):
    _, client = sandbox(make_app)
    html = client.get(dialog_url()).get_data(as_text=True)
    assert "SIMULATION of Facebook Login" in html
    assert "no real account is used" in html
    for user in people.FACEBOOK_USERS.values():
        assert user.name in html
        assert str(escape(user.summary)) in html


def test_continue_redirects_to_the_portal_with_a_code_and_the_state(make_app):
    _, client = sandbox(make_app)
    query, location = consent(client, "Gabriela Good")
    assert location.startswith(FB_CALLBACK + "?")
    assert query["state"] == ["st4te"]
    assert query["code"][0].startswith("SBXC")


def test_cancel_redirects_with_access_denied(make_app):
    _, client = sandbox(make_app)
    query, _ = consent(client, "Gabriela Good", action="cancel")
    assert query == {
        "error": ["access_denied"],
        "error_code": ["200"],
        "error_description": ["Permissions error"],
        "error_reason": ["user_denied"],
        "state": ["st4te"],
    }


def test_dialog_refuses_a_redirect_uri_other_than_the_portal_callback(make_app):
    _, client = sandbox(make_app)
    for uri in (
        "http://evil.example/link/facebook/callback",
        BASE + "/link/instagram/callback",
        BASE + "/somewhere/else",
        FB_CALLBACK + "?next=/x",
        "https://localhost/link/facebook/callback",
    ):
        response = client.get(dialog_url(redirect_uri=uri))
        assert response.status_code == 400, uri
        assert "URL blocked" in response.get_data(as_text=True)
        posted = client.post(DIALOG, data={"client_id": FB_APP, "redirect_uri": uri, "action": "continue"})
        assert posted.status_code == 400 and not posted.location


def test_dialog_refuses_an_unknown_app_and_unknown_scopes(make_app):
    _, client = sandbox(make_app)
    unknown = client.get(dialog_url(client_id="someone-elses-app"))
    assert unknown.status_code == 400 and "Invalid App ID" in unknown.get_data(as_text=True)
    scopes = client.get(dialog_url(scope="instagram_basic,user_profile"))
    assert scopes.status_code == 400 and "user_profile" in scopes.get_data(as_text=True)


def test_dialog_without_a_base_url_accepts_the_callback_on_any_host(make_app):
    app = make_app(SANDBOX=True, BASE_URL=None)
    assert app.config["FACEBOOK_WWW_URL"] == "http://127.0.0.1:8000/sandbox/facebook"
    client = app.test_client()
    assert (
        client.get(dialog_url(redirect_uri="http://127.0.0.1:8000/link/facebook/callback")).status_code == 200
    )
    assert client.get(dialog_url(redirect_uri="http://127.0.0.1:8000/elsewhere")).status_code == 400


# --- Token endpoint ---


def test_code_becomes_a_short_then_a_long_lived_token(make_app):
    _, client = sandbox(make_app)
    short = exchange(client, code_for(client, "Gabriela Good"))
    body = short.get_json()
    assert short.status_code == 200
    assert body["access_token"].startswith("EAAS") and body["token_type"] == "bearer"
    assert 5183900 <= body["expires_in"] <= 5183944
    long = long_token(client, "Gabriela Good")
    assert graph(client, "me", long, fields="id,name").get_json() == {
        "id": user_id("Gabriela Good"),
        "name": "Gabriela Good",
    }


def test_token_endpoint_accepts_query_parameters_too(make_app):
    _, client = sandbox(make_app)
    params = {
        "client_id": FB_APP,
        "client_secret": FB_SECRET,
        "redirect_uri": FB_CALLBACK,
        "code": code_for(client, "Andre Analyst"),
    }
    response = client.get("/sandbox/graph/v27.0/oauth/access_token", query_string=params)
    assert response.status_code == 200 and "access_token" in response.get_json()


def test_token_endpoint_refuses_wrong_secret_redirect_reuse_and_forged_codes(make_app):
    _, client = sandbox(make_app)
    code = code_for(client, "Gabriela Good")
    secret = exchange(client, code, client_secret="guess")
    assert secret.status_code == 400 and error_of(secret)["code"] == 1
    assert error_of(secret)["message"] == "Error validating client secret."
    app_id = exchange(client, code, client_id="other-app")
    assert error_of(app_id)["code"] == 101
    redirect = exchange(client, code, redirect_uri=BASE + "/link/instagram/callback")
    assert (error_of(redirect)["code"], error_of(redirect)["error_subcode"]) == (100, 36008)
    assert exchange(client, code).status_code == 200
    reused = exchange(client, code)
    assert (error_of(reused)["code"], error_of(reused)["error_subcode"]) == (100, 36009)
    forged = exchange(client, code[:-3] + "abc")
    assert error_of(forged)["message"] == "Invalid verification code format."
    assert error_of(forged)["type"] == "OAuthException" and error_of(forged)["fbtrace_id"].startswith("Sbx")


def test_expired_code_is_refused(make_app):
    app, client = sandbox(make_app)
    user = people.facebook_user(user_id("Gabriela Good"))
    with app.app_context():
        payload = tokens.user_token_payload(user, [], [], [], ["public_profile"], "code", FB_APP, exp=1)
        payload["redirect_uri"] = FB_CALLBACK
        code = tokens.issue("code", payload)
    error = error_of(exchange(client, code))
    assert (error["code"], error["error_subcode"]) == (100, 36007)


# --- Graph API ---


def test_every_graph_call_needs_a_valid_appsecret_proof(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    missing = graph(client, "me", token, proof=False)
    assert missing.status_code == 400
    assert error_of(missing)["code"] == 100 and error_of(missing)["type"] == "GraphMethodException"
    wrong = graph(client, "me", token, proof=False, appsecret_proof=tokens.appsecret_proof("guess", token))
    assert error_of(wrong)["message"] == "Invalid appsecret_proof provided in the API argument"
    assert graph(client, "me/accounts", token, proof=False).status_code == 400


def test_tampered_and_expired_tokens_answer_190(make_app):
    app, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    tampered = graph(client, "me", token[:-4] + "AAAA")
    assert tampered.status_code == 400 and error_of(tampered)["code"] == 190
    user = people.facebook_user(user_id("Gabriela Good"))
    with app.app_context():
        old = tokens.issue("user", tokens.user_token_payload(user, [], [], [], [], "long", FB_APP, exp=1000))
    expired = error_of(graph(client, "me", old))
    assert (expired["code"], expired["error_subcode"]) == (190, 463)


def test_permissions_list_every_requested_scope_with_declines(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Dana Declines")
    data = graph(client, "me/permissions", token).get_json()["data"]
    status = {entry["permission"]: entry["status"] for entry in data}
    assert status.pop("public_profile") == "granted"
    assert status == {scope: "granted" for scope in SCOPES.split(",")} | {
        "instagram_manage_insights": "declined"
    }


def test_rerequest_ticks_a_declined_permission_again(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Dana Declines", auth_type="rerequest")
    data = graph(client, "me/permissions", token).get_json()["data"]
    assert {"permission": "instagram_manage_insights", "status": "granted"} in data


def test_accounts_show_shared_pages_with_tasks_page_tokens_and_instagram(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    body = graph(client, "me/accounts", token, fields=PAGE_FIELDS, limit=100).get_json()
    assert [page["name"] for page in body["data"]] == ["Ava Chen Creates", "Ava Travels", "Tiny Steps"]
    first = body["data"][0]
    assert first["access_token"].startswith("EAAP") and "ANALYZE" in first["tasks"]
    assert first["instagram_business_account"] == {
        "id": "17841400000000001",
        "username": "ava.creates",
        "name": "Ava Chen",
        "profile_picture_url": BASE + "/sandbox/static/avatar/ava.creates.svg",
        "followers_count": 48200,
        "media_count": 734,
    }
    assert "next" not in body["paging"]


def test_accounts_show_only_requested_fields_and_refuse_unknown_ones(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    body = graph(client, "me/accounts", token, fields="id,name,tasks").get_json()
    assert body["data"][0] == {
        "id": page_id("Ava Chen Creates"),
        "name": "Ava Chen Creates",
        "tasks": list(people.ADMIN),
    }
    unknown = graph(client, "me/accounts", token, fields="id,impressions")
    assert error_of(unknown)["code"] == 100 and "impressions" in error_of(unknown)["message"]


def test_role_cases_moderator_and_page_without_instagram(make_app):
    _, client = sandbox(make_app)
    morgan = graph(
        client, "me/accounts", long_token(client, "Morgan Moderator"), fields=PAGE_FIELDS
    ).get_json()
    assert morgan["data"][0]["tasks"] == ["MODERATE", "MESSAGING"]
    paula = graph(client, "me/accounts", long_token(client, "Paula Pageonly"), fields=PAGE_FIELDS).get_json()
    assert paula["data"][0]["name"] == "Paula's Bakery"
    assert "instagram_business_account" not in paula["data"][0]


def test_unticked_pages_and_a_declined_page_list_hide_pages(make_app):
    _, client = sandbox(make_app)
    travels = page_id("Ava Travels")
    token = long_token(
        client, "Gabriela Good", change=lambda fields: [f for f in fields if f != ("page", travels)]
    )
    names = [p["name"] for p in graph(client, "me/accounts", token, fields="id,name").get_json()["data"]]
    assert names == ["Ava Chen Creates", "Tiny Steps"]
    token = long_token(
        client,
        "Gabriela Good",
        change=lambda fields: [f for f in fields if f != ("grant", "pages_show_list")],
    )
    assert graph(client, "me/accounts", token).get_json() == {"data": []}


def test_manny_accounts_come_in_pages_of_25_with_nina_bakes_near_the_end(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Manny Manager")
    answers = all_pages(client, "me/accounts", token, fields=PAGE_FIELDS, limit=100)
    assert [len(answer["data"]) for answer in answers] == [25, 25, 25, 25, 20]
    assert all("next" in answer["paging"] for answer in answers[:-1])
    assert answers[0]["paging"]["next"].startswith(BASE + "/sandbox/graph/v27.0/me/accounts?")
    cursors = [answer["paging"]["cursors"]["after"] for answer in answers]
    assert len(set(cursors)) == 5
    names = [page["name"] for answer in answers for page in answer["data"]]
    assert len(names) == len(set(names)) == 120
    last = {page["name"]: page for page in answers[-1]["data"]}
    assert last["Nina Bakes"]["instagram_business_account"]["username"] == "nina.bakes"
    assert "instagram_business_account" not in last["Client Page 117"]


def test_business_portfolio_pages_for_bianca(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Bianca Business")
    assert graph(client, "me/accounts", token, fields=PAGE_FIELDS).get_json() == {"data": []}
    businesses = graph(client, "me/businesses", token, fields="id,name").get_json()["data"]
    assert businesses == [{"id": people.NATARAJAN, "name": "Natarajan Media Ltd"}]
    owned = graph(client, f"{people.NATARAJAN}/owned_pages", token, fields=PAGE_FIELDS).get_json()["data"]
    assert [page["name"] for page in owned] == ["Priya Fit"]
    assert "access_token" not in owned[0] and "tasks" not in owned[0]
    assert owned[0]["instagram_business_account"]["followers_count"] == 220000
    assert graph(client, f"{people.NATARAJAN}/client_pages", token, fields=PAGE_FIELDS).get_json() == {
        "data": []
    }
    direct = graph(client, page_id("Priya Fit"), token, fields="instagram_business_account{id,username},name")
    assert direct.get_json()["instagram_business_account"]["username"] == "priya.fit"


def test_portia_shares_the_page_but_not_its_portfolio(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Portia Portfolio")
    assert graph(client, "me/businesses", token, fields="id,name").get_json() == {"data": []}
    debug = graph(client, "debug_token", f"{FB_APP}|{FB_SECRET}", input_token=token).get_json()["data"]
    granular = {entry["scope"]: entry["target_ids"] for entry in debug["granular_scopes"]}
    assert granular["pages_show_list"] == [page_id("Priya Fit")]
    assert granular["business_management"] == []
    hidden = graph(client, page_id("Priya Fit"), token, fields="instagram_business_account{id}")
    assert (error_of(hidden)["code"], error_of(hidden)["error_subcode"]) == (100, 33)
    owned = graph(client, f"{people.NATARAJAN}/owned_pages", token)
    assert error_of(owned)["error_subcode"] == 33


def test_businesses_need_business_management(make_app):
    _, client = sandbox(make_app)
    token = long_token(
        client,
        "Bianca Business",
        change=lambda fields: [f for f in fields if f != ("grant", "business_management")],
    )
    error = error_of(graph(client, "me/businesses", token))
    assert error["code"] == 200 and "business_management" in error["message"]


def test_erin_gets_a_transient_error_2(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Erin Error")
    for path in ("me/accounts", "me/businesses"):
        response = graph(client, path, token, fields="id,name")
        assert response.status_code == 500
        error = error_of(response)
        assert (error["code"], error["is_transient"], error["type"]) == (2, True, "OAuthException")
        assert error["message"] == "(#2) Service temporarily unavailable"


def test_debug_token_describes_the_grant(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    app_token = f"{FB_APP}|{FB_SECRET}"
    data = graph(client, "debug_token", app_token, input_token=token).get_json()["data"]
    now = time.time()
    assert data["type"] == "USER" and data["is_valid"] is True and data["app_id"] == FB_APP
    assert data["application"] == "Sandbox Portal App" and data["user_id"] == user_id("Gabriela Good")
    assert 59 * 86400 < data["expires_at"] - now <= 60 * 86400
    assert 89 * 86400 < data["data_access_expires_at"] - now <= 90 * 86400
    assert set(data["scopes"]) == {"public_profile", *SCOPES.split(",")}
    granular = {entry["scope"]: entry["target_ids"] for entry in data["granular_scopes"]}
    assert granular["instagram_basic"] == ["17841400000000001", "17841400000000002", "17841400000000006"]
    refused = graph(client, "debug_token", token, input_token=token)
    assert refused.status_code == 400


def test_eve_token_expires_in_three_days_and_data_access_in_five(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Eve Expiring")
    data = graph(client, "debug_token", f"{FB_APP}|{FB_SECRET}", input_token=token).get_json()["data"]
    now = time.time()
    assert 2.9 * 86400 < data["expires_at"] - now <= 3 * 86400
    assert 4.9 * 86400 < data["data_access_expires_at"] - now <= 5 * 86400


def test_page_tokens_from_a_long_lived_token_never_expire(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    page = graph(client, "me/accounts", token, fields="id,access_token").get_json()["data"][0]
    data = graph(client, "debug_token", f"{FB_APP}|{FB_SECRET}", input_token=page["access_token"]).get_json()
    assert data["data"]["type"] == "PAGE" and data["data"]["expires_at"] == 0
    assert graph(client, "me", page["access_token"], fields="id,name").get_json()["id"] == page["id"]


def test_batch_answers_each_request_with_its_own_status(make_app):
    _, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    batch = [
        {"method": "GET", "relative_url": "me?fields=id,name"},
        {"method": "GET", "relative_url": "999?fields=id"},
    ]
    response = client.post(
        "/sandbox/graph/v27.0/",
        data={"batch": json.dumps(batch), "appsecret_proof": tokens.appsecret_proof(FB_SECRET, token)},
        headers={"Authorization": f"Bearer {token}"},
    )
    first, second = response.get_json()
    assert first["code"] == 200 and json.loads(first["body"])["name"] == "Gabriela Good"
    assert second["code"] == 400 and json.loads(second["body"])["error"]["error_subcode"] == 33
    assert response.headers["X-App-Usage"]


@pytest.mark.parametrize(
    "item", [{"method": 5, "relative_url": "me"}, {"method": "GET", "relative_url": ["me"]}]
)
def test_a_batch_item_whose_method_or_url_is_not_text_is_refused_as_meta_does(make_app, item):
    _, client = sandbox(make_app)
    token = long_token(client, "Gabriela Good")
    response = client.post(
        "/sandbox/graph/v27.0/",
        data={"batch": json.dumps([item]), "appsecret_proof": tokens.appsecret_proof(FB_SECRET, token)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert (
        response.get_json()["error"]["message"]
        == "(#100) The parameter batch is required and must be a JSON array"
    )


# --- Instagram Login ---


def ig_dialog_url(**extra):
    params = {
        "client_id": IG_APP,
        "redirect_uri": IG_CALLBACK,
        "response_type": "code",
        "scope": "instagram_business_basic",
        "state": "ig-st4te",
    }
    return IG_DIALOG + "?" + urlencode({**params, **extra})


def ig_choose(client, username, action="allow"):
    form = read_form(client.get(ig_dialog_url()).get_data(as_text=True))
    return client.post(form.action, data=MultiDict([*form.fields, ("account", username), ("action", action)]))


def test_instagram_dialog_offers_professional_accounts_and_greys_out_personal_ones(make_app):
    _, client = sandbox(make_app)
    page = client.get(ig_dialog_url())
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "SIMULATION of Instagram Login" in html
    boxes = {box["value"]: box for box in read_form(html).boxes}
    assert {"ava.creates", "leo.sketches", "tiny.steps", "sam.okafor.art"} <= set(boxes)
    assert "disabled" in boxes["sam.okafor.art"] and "disabled" not in boxes["leo.sketches"]
    assert "Basic Display API" in html
    refused = ig_choose(client, "sam.okafor.art")
    assert refused.status_code == 400 and not refused.location
    assert client.get(ig_dialog_url(redirect_uri=FB_CALLBACK)).status_code == 400


def test_instagram_login_code_token_and_profile(make_app):
    _, client = sandbox(make_app)
    allowed = ig_choose(client, "leo.sketches")
    query = parse_qs(urlsplit(allowed.location).query)
    assert allowed.location.startswith(IG_CALLBACK) and query["state"] == ["ig-st4te"]
    form = {
        "client_id": IG_APP,
        "client_secret": IG_SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": IG_CALLBACK,
        "code": query["code"][0],
    }
    answer = client.post("/sandbox/instagram-api/oauth/access_token", data=form)
    (grant,) = answer.get_json()["data"]
    leo = people.instagram_account("leo.sketches")
    assert grant["access_token"].startswith("IGAAS") and grant["user_id"] == leo.id
    assert grant["permissions"] == "instagram_business_basic"
    again = client.post("/sandbox/instagram-api/oauth/access_token", data=form).get_json()
    assert again["error_type"] == "OAuthException" and again["code"] == 400 and again["error_message"]
    me = client.get(
        "/sandbox/instagram-graph/v27.0/me",
        query_string={"fields": "user_id,username,account_type,followers_count"},
        headers={"Authorization": f"Bearer {grant['access_token']}"},
    ).get_json()
    assert me == {
        "id": leo.app_scoped_id,
        "user_id": leo.id,
        "username": "leo.sketches",
        "account_type": "MEDIA_CREATOR",
        "followers_count": 950,
    }
    bad = client.get("/sandbox/instagram-graph/v27.0/me", headers={"Authorization": "Bearer IGAASnope"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == 190


def test_instagram_token_endpoint_refuses_a_wrong_secret(make_app):
    _, client = sandbox(make_app)
    code = parse_qs(urlsplit(ig_choose(client, "ava.creates").location).query)["code"][0]
    form = {"client_id": IG_APP, "client_secret": "nope", "grant_type": "authorization_code", "code": code}
    answer = client.post(
        "/sandbox/instagram-api/oauth/access_token", data={**form, "redirect_uri": IG_CALLBACK}
    )
    assert (
        answer.status_code == 400 and answer.get_json()["error_message"] == "Error validating client secret."
    )


def test_instagram_cancel_redirects_with_access_denied(make_app):
    _, client = sandbox(make_app)
    query = parse_qs(urlsplit(ig_choose(client, "", action="cancel").location).query)
    assert query == {
        "error": ["access_denied"],
        "error_reason": ["user_denied"],
        "error_description": ["The user denied your request."],
        "state": ["ig-st4te"],
    }


# --- Pages that hold up in a browser ---


class Inline(HTMLParser):
    """Record anything the CSP would block: inline scripts, style elements or attributes, handlers."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self.found.append("inline <script>")
        if tag == "style" or "style" in attrs:
            self.found.append(f"style on <{tag}>")
        self.found += [f"{name} on <{tag}>" for name in attrs if name.startswith("on")]


def test_sandbox_pages_keep_the_content_security_policy(make_app):
    _, client = sandbox(make_app)
    pages = [
        client.get(dialog_url()),
        client.get(dialog_url(sandbox_user=user_id("Manny Manager"))),
        client.get(dialog_url(redirect_uri="http://evil.example/")),
        client.get(ig_dialog_url()),
    ]
    for response in pages:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "form-action 'self'" in policy
        checker = Inline()
        checker.feed(response.get_data(as_text=True))
        assert checker.found == [], response.request.url


def test_avatars_are_svg_initials_served_by_the_sandbox(make_app):
    _, client = sandbox(make_app)
    response = client.get("/sandbox/static/avatar/ava.creates.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert ">AC</text>" in response.get_data(as_text=True)
    assert client.get("/sandbox/static/avatar/nobody.svg").status_code == 404


@pytest.mark.live_http
def test_a_code_used_on_one_web_process_is_refused_on_another(make_app, tmp_path):
    """Two gunicorn processes on one database, as behind a load balancer: a code works once in all."""
    secret_key, state_file = secrets.token_hex(32), str(tmp_path / "sandbox-state.json")
    app = make_app(SANDBOX=True, BASE_URL=BASE, SECRET_KEY=secret_key, SANDBOX_STATE_FILE=state_file)
    with app.app_context():  # a code as the dialog issues it, signed with the processes' key
        payload = tokens.user_token_payload(
            people.facebook_user(user_id("Gabriela Good")), [], [], [], ["public_profile"], "code", FB_APP
        )
        code = tokens.issue("code", {**payload, "redirect_uri": FB_CALLBACK, "exp": tokens.now() + 600})
    db.database.close()
    env = server_env(
        PORTAL_CONFIG="development",
        PORTAL_SANDBOX="1",
        PORTAL_SECRET_KEY=secret_key,
        PORTAL_TOKEN_KEYS=Fernet.generate_key().decode(),
        PORTAL_DATABASE_URL=database_url(tmp_path),
        PORTAL_SANDBOX_STATE_FILE=state_file,
    )
    form = {"client_id": FB_APP, "client_secret": FB_SECRET, "redirect_uri": FB_CALLBACK, "code": code}
    path = "/sandbox/graph/v27.0/oauth/access_token"
    with gunicorn(env, tmp_path / "web-a.log") as a, gunicorn(env, tmp_path / "web-b.log") as b:
        first = requests.post(a + path, data=form, timeout=10)
        assert first.status_code == 200 and first.json()["access_token"].startswith("EAAS")
        again = requests.post(b + path, data=form, timeout=10)
        assert again.status_code == 400
        error = again.json()["error"]
        assert (error["code"], error["error_subcode"]) == (100, 36009)
        assert error["message"] == "This authorization code has been used."
        assert requests.post(a + path, data=form, timeout=10).json()["error"]["error_subcode"] == 36009


def test_a_used_code_is_forgotten_once_it_would_have_expired_anyway(app):
    now = datetime.datetime(2026, 12, 4, 12, tzinfo=datetime.UTC)
    SandboxSpentCode.spend("SBXC-old", now + datetime.timedelta(minutes=10), now)
    SandboxSpentCode.spend("SBXC-new", now + datetime.timedelta(minutes=30), now)
    later = now + datetime.timedelta(minutes=20)
    assert SandboxSpentCode.spend("SBXC-other", later + datetime.timedelta(minutes=10), later) is True
    kept = {row.code_hash for row in SandboxSpentCode.select()}
    assert len(kept) == 2 and hashlib.sha256(b"SBXC-old").hexdigest() not in kept
    assert hashlib.sha256(b"SBXC-new").hexdigest() in kept  # still refused while it could be used
