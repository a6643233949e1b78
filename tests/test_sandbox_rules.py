"""The sandbox behaves as Meta does for an app created after 2026-11-04 on v27 (reference §0.2).

Each rule here comes from Meta's documentation (reference/meta-graph-api.md), not from what the
portal sends: the portal's own tests then show it obeying them against this sandbox.
"""

import hashlib
import hmac
import json
import os

import pytest
from test_sandbox import FB_SECRET, graph, long_token, page_id, sandbox
from test_sandbox_insights import APP_TOKEN, IDS, _batch, _item, daily, error_of, page_tokens

from portal.db import utcnow
from portal.sandbox import media, people, seeds, state, subscriptions, tokens

DAY = 24 * 3600


@pytest.fixture
def app_and_client(make_app):
    return sandbox(make_app)


@pytest.fixture
def client(app_and_client):
    return app_and_client[1]


def revoke(client, token, permission=None):
    """The person removes the app (or one permission): DELETE /me/permissions[/{permission}]."""
    path = "/sandbox/graph/v27.0/me/permissions" + (f"/{permission}" if permission else "")
    proof = {"appsecret_proof": tokens.appsecret_proof(FB_SECRET, token)}
    response = client.delete(path, query_string=proof, headers={"Authorization": f"Bearer {token}"})
    assert response.get_json() == {"success": True}


def move_clock(app, days):
    """Move the sandbox's (and the portal's) clock to `days` days ahead of real time."""
    state.set_clock(days * DAY, app=app)


# --- Rule 1: no legacy features for new apps ---


@pytest.mark.parametrize(
    "params, named",
    [
        ({"ids": IDS["ava.creates"], "fields": "username"}, "Multi-ID lookup"),
        ({"fields": "username", "date_format": "U"}, "Date formatting"),
        ({"fields": "username", "method": "GET"}, "HTTP method override"),
        ({"fields": "username", "callback": "cb"}, "JSONP"),
        ({"fields": "username.as(handle)"}, "Field aliasing"),
    ],
    ids=["ids", "date_format", "method", "callback", "alias"],
)
def test_each_legacy_feature_is_refused_with_code_100_naming_it(client, params, named):
    token = long_token(client, "Gabriela Good")
    path = "" if "ids" in params else IDS["ava.creates"]
    error = error_of(graph(client, path, token, **params))
    assert error["code"] == 100 and named in error["message"] and "November 4, 2026" in error["message"]


def test_legacy_features_are_refused_inside_a_batch_and_async_batches_are_refused(client):
    token = long_token(client, "Gabriela Good")
    answers = _batch(client, APP_TOKEN, [_item("", token, ids=IDS["ava.creates"])]).get_json()
    assert (
        answers[0]["code"] == 400 and "Multi-ID lookup" in json.loads(answers[0]["body"])["error"]["message"]
    )
    refused = _batch(client, APP_TOKEN, [_item("me", token)], asynchronous="true")
    assert error_of(refused)["code"] == 100 and "Asynchronous batch" in error_of(refused)["message"]


# --- Rule 3: a batch's own token must be valid ---


def test_a_batch_whose_top_level_token_was_revoked_fails_whole(client):
    gabriela, andre = long_token(client, "Gabriela Good"), long_token(client, "Andre Analyst")
    ava = page_tokens(client, gabriela)["Ava Chen Creates"]
    items = [
        _item(IDS["ava.creates"], ava, fields="username"),
        _item(IDS["marco_cooks"], andre, fields="username"),
    ]
    assert [a["code"] for a in _batch(client, ava, items).get_json()] == [200, 200]
    revoke(client, gabriela)  # Gabriela removes the app: her user and Page tokens stop working
    whole = _batch(client, ava, items)
    assert whole.status_code == 400 and (error_of(whole)["code"], error_of(whole)["error_subcode"]) == (
        190,
        458,
    )
    # With the app's own token at the top, only the revoked person's call fails.
    answers = _batch(client, APP_TOKEN, items).get_json()
    assert [a["code"] for a in answers] == [400, 200]


def test_the_app_token_at_the_top_needs_its_own_appsecret_proof(client):
    token = long_token(client, "Gabriela Good")
    form = {"batch": json.dumps([_item("me", token, fields="id")]), "access_token": APP_TOKEN}
    refused = client.post("/sandbox/graph/v27.0/", data=form)
    assert error_of(refused)["code"] == 100 and "appsecret_proof" in error_of(refused)["message"]
    form["appsecret_proof"] = tokens.appsecret_proof(FB_SECRET, APP_TOKEN)
    assert client.post("/sandbox/graph/v27.0/", data=form).get_json()[0]["code"] == 200


# --- Rule 2: token lifetimes; Page tokens judged on their own ---


def debug(client, token):
    query = {"input_token": token, "access_token": APP_TOKEN}
    return client.get("/sandbox/graph/v27.0/debug_token", query_string=query).get_json()["data"]


def test_day_61_the_user_token_is_over_but_its_page_token_still_reads(app_and_client):
    app, client = app_and_client
    user = long_token(client, "Gabriela Good")
    page = page_tokens(client, user)["Ava Chen Creates"]
    move_clock(app, 61)
    expired = error_of(graph(client, "me", user))
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    assert daily(client, "ava.creates", page).status_code == 200
    page_info, user_info = debug(client, page), debug(client, user)
    assert page_info["is_valid"] and page_info["expires_at"] == 0 and page_info["type"] == "PAGE"
    assert not user_info["is_valid"] and user_info["error"]["subcode"] == 463
    assert page_info["data_access_expires_at"] > seeds.now()


def test_day_91_data_access_has_ended_for_every_token(app_and_client):
    app, client = app_and_client
    user = long_token(client, "Gabriela Good")
    page = page_tokens(client, user)["Ava Chen Creates"]
    move_clock(app, 91)
    ended = error_of(daily(client, "ava.creates", page))
    assert (ended["code"], ended["error_subcode"]) == (190, 493)
    info = debug(client, page)
    assert not info["is_valid"] and info["error"]["subcode"] == 493
    assert info["data_access_expires_at"] < seeds.now()


def test_the_clock_moves_the_portal_too_and_goes_back(app_and_client):
    app, _client = app_and_client
    before = utcnow()
    move_clock(app, 61)
    assert 61 * DAY - 5 < (utcnow() - before).total_seconds() < 61 * DAY + 5
    result = app.test_cli_runner().invoke(args=["sandbox-clock", "0"])
    assert result.exit_code == 0 and "on real time" in result.output
    assert abs((utcnow() - before).total_seconds()) < 5


def test_sandbox_clock_command_moves_every_process_clock(app_and_client):
    app, client = app_and_client
    result = app.test_cli_runner().invoke(args=["sandbox-clock", "+61d"])
    assert result.exit_code == 0 and "61 days 0 hours ahead of real time" in result.output
    assert state.state_file(app).clock_offset() == 61 * DAY
    wrong = app.test_cli_runner().invoke(args=["sandbox-clock", "soon"])
    assert wrong.exit_code != 0 and "is not a clock change" in wrong.output


def test_a_revoked_permission_stops_what_needs_it(client):
    user = long_token(client, "Gabriela Good")
    revoke(client, user, "instagram_manage_insights")
    assert error_of(daily(client, "ava.creates", user))["code"] == 10
    assert graph(client, IDS["ava.creates"], user, fields="username").status_code == 200
    assert "instagram_manage_insights" not in debug(client, user)["scopes"]


# --- Rule 5: a Business Portfolio role needs ads_read ---


def test_an_account_reached_only_through_a_portfolio_needs_ads_read(client):
    with_ads = long_token(client, "Bianca Business")
    without = long_token(
        client, "Bianca Business", change=lambda f: [x for x in f if x != ("grant", "ads_read")]
    )
    assert daily(client, "priya.fit", with_ads).status_code == 200
    assert error_of(daily(client, "priya.fit", without))["code"] == 10
    # A Page role needs no ads_read.
    gabriela = long_token(
        client, "Gabriela Good", change=lambda f: [x for x in f if x != ("grant", "ads_read")]
    )
    assert daily(client, "ava.creates", gabriela).status_code == 200


def test_nora_declines_ads_read_by_default(client):
    nora = long_token(client, "Nora Noads")
    assert "ads_read" not in debug(client, nora)["scopes"]
    assert error_of(daily(client, "priya.fit", nora))["code"] == 10


# --- Rule 6: /me/accounts leaves out Analyst-only Pages; granular_scopes names them ---


def test_an_analyst_only_page_is_absent_from_me_accounts_but_granted_and_readable_by_id(client):
    andre = long_token(client, "Andre Analyst")
    assert graph(client, "me/accounts", andre, fields="id").get_json()["data"] == []
    marco = page_id("Marco Cooks")
    granted = {entry["scope"]: entry["target_ids"] for entry in debug(client, andre)["granular_scopes"]}
    assert granted["pages_show_list"] == [marco] and granted["instagram_basic"] == [IDS["marco_cooks"]]
    fields = "id,name,access_token,tasks,instagram_business_account{id,username}"
    page = graph(client, marco, andre, fields=fields).get_json()
    assert page["tasks"] == ["ANALYZE"] and page["instagram_business_account"]["username"] == "marco_cooks"
    assert daily(client, "marco_cooks", page["access_token"]).status_code == 200


# --- Rule 7: Insights days are Pacific days ---


def test_a_day_is_a_los_angeles_day_even_across_a_dst_change():
    fall_back = seeds.pacific_day(1793534400)  # 2026-11-01 12:00 UTC: Los Angeles' 25-hour day
    assert seeds.pacific_midnight(fall_back + 1) - seeds.pacific_midnight(fall_back) == 25 * 3600
    assert seeds.iso(seeds.pacific_midnight(fall_back + 1)) == "2026-11-02T08:00:00+0000"
    assert seeds.iso(seeds.pacific_midnight(fall_back)) == "2026-11-01T07:00:00+0000"


def test_since_and_until_on_pacific_midnights_read_exactly_that_day(client):
    token = long_token(client, "Gabriela Good")
    today = seeds.pacific_day(seeds.now())
    day = (seeds.pacific_midnight(today - 2), seeds.pacific_midnight(today - 1))
    body = graph(
        client,
        f"{IDS['ava.creates']}/insights",
        token,
        metric="reach",
        period="day",
        since=day[0],
        until=day[1],
    ).get_json()
    (value,) = body["data"][0]["values"]
    assert value["end_time"] == seeds.iso(day[1]) and value["end_time"][11:13] in ("07", "08")


# --- Rule 8: nested edges page too ---


def test_a_nested_edge_answers_one_page_and_says_where_the_next_is(make_app):
    _, client = sandbox(make_app, SANDBOX_PAGE_SIZE=2)
    token = long_token(client, "Gabriela Good")
    fields = "username,media.limit(12){id,media_product_type,insights.metric(reach)}"
    body = graph(client, IDS["ava.creates"], token, fields=fields).get_json()
    first = body["media"]
    assert len(first["data"]) == 2 and "next" in first["paging"]
    assert "/sandbox/graph/v27.0/" + IDS["ava.creates"] + "/media?" in first["paging"]["next"]
    after = first["paging"]["cursors"]["after"]
    more = graph(
        client, f"{IDS['ava.creates']}/media", token, fields="id,insights.metric(reach)", after=after
    )
    second = more.get_json()
    assert len(second["data"]) == 2 and {i["id"] for i in second["data"]}.isdisjoint(
        i["id"] for i in first["data"]
    )
    assert all(item["insights"]["data"][0]["name"] == "reach" for item in second["data"])


# --- Rule 4: throttling per account or for the whole app ---


def test_an_app_wide_limit_answers_code_4_and_full_app_usage(make_app):
    _, client = sandbox(make_app, SANDBOX_FAULTS={"app": "throttle"})
    response = graph(client, "me", "EAASanything")
    assert error_of(response)["code"] == 4
    assert json.loads(response.headers["X-App-Usage"])["call_count"] == 100


# --- Rule 9: webhooks need a Page subscription; values under 5 are -1 ---


def test_only_a_page_token_with_pages_manage_metadata_may_subscribe(app_and_client):
    app, client = app_and_client
    scopes = ",".join(
        ("instagram_basic", "instagram_manage_insights", "pages_show_list", "pages_read_engagement")
        + ("pages_manage_metadata",)
    )
    user = long_token(client, "Gabriela Good", scope=scopes)
    page = page_tokens(client, user)["Tiny Steps"]
    tiny = page_id("Tiny Steps")
    assert error_of(graph(client, f"{tiny}/subscribed_apps", user))["code"] == 210  # not a Page token
    subscribe = client.post(
        f"/sandbox/graph/v27.0/{tiny}/subscribed_apps",
        data={"subscribed_fields": "feed", "appsecret_proof": tokens.appsecret_proof(FB_SECRET, page)},
        headers={"Authorization": f"Bearer {page}"},
    )
    assert subscribe.get_json() == {"success": True}
    assert graph(client, f"{tiny}/subscribed_apps", page).get_json()["data"][0]["subscribed_fields"] == [
        "feed"
    ]
    without = page_tokens(client, long_token(client, "Gabriela Good"))["Tiny Steps"]
    assert error_of(graph(client, f"{tiny}/subscribed_apps", without))["code"] == 200
    andre = long_token(client, "Andre Analyst", scope=scopes)
    analyst_page = graph(client, page_id("Marco Cooks"), andre, fields="access_token").get_json()[
        "access_token"
    ]
    assert error_of(graph(client, f"{page_id('Marco Cooks')}/subscribed_apps", analyst_page))["code"] == 200
    assert state.subscriptions(app) == {tiny: ["feed"]}


def test_deliveries_go_to_subscribed_pages_only_signed_with_minus_one_under_five(app_and_client):
    app, _client = app_and_client
    assert subscriptions.deliveries(app) == []  # no Page subscribed: Meta sends nothing
    with app.app_context():
        state.subscribe_page(page_id("Nina Bakes"), ["feed"])
    at = 1_800_000_000  # a fixed moment: the simulated figures are a function of it
    (body,) = subscriptions.deliveries(app, at)
    (entry,) = body["entry"]
    assert entry["id"] == IDS["nina.bakes"] and body["object"] == "instagram"
    live = media.stories(people.instagram_account("nina.bakes"), at)
    assert [change["value"]["media_id"] for change in entry["changes"]] == [story.id for story in live]
    assert all(change["field"] == "story_insights" for change in entry["changes"])
    values = [v for change in entry["changes"] for k, v in change["value"].items() if k != "media_id"]
    assert -1 in values and all(v == -1 or v >= 5 for v in values)  # under 5: hidden as -1


def test_deliveries_are_signed_as_meta_signs_them(app_and_client, no_network):
    app, _client = app_and_client
    with app.app_context():
        state.subscribe_page(page_id("Nina Bakes"), ["feed"])
    received = no_network.post("https://portal.example/meta/webhook", status_code=200)
    assert subscriptions.send(app, "https://portal.example/meta/webhook") == [200]
    request = received.last_request
    expected = hmac.new(FB_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert json.loads(request.body)["entry"][0]["changes"][0]["field"] == "story_insights"


def test_a_request_reads_the_state_once_and_sees_its_own_writes(app_and_client):
    # A request answers at one moment, as Meta's do: another process moving the clock meanwhile
    # shows at the next request; a write within the request shows at once; outside a request,
    # each read looks at the file.
    app, _client = app_and_client
    kept = state.state_file(app)

    def another_process_moves_the_clock(seconds):
        moved = f"{kept.path}.other"
        with open(moved, "w", encoding="utf-8") as handle:
            json.dump({"clock_offset": seconds}, handle)
        os.replace(moved, kept.path)

    with app.test_request_context("/sandbox/graph/v27.0/me"):
        assert kept.clock_offset() == 0
        another_process_moves_the_clock(DAY)
        assert kept.clock_offset() == 0  # this request's moment
        state.set_clock(2 * DAY, app=app)
        assert kept.clock_offset() == 2 * DAY  # its own write
    with app.test_request_context("/sandbox/graph/v27.0/me"):
        another_process_moves_the_clock(3 * DAY)
        assert kept.clock_offset() == 3 * DAY  # a new request, a new look
    with app.app_context():
        another_process_moves_the_clock(4 * DAY)
        assert kept.clock_offset() == 4 * DAY
        another_process_moves_the_clock(5 * DAY + 1)
        assert kept.clock_offset() == 5 * DAY + 1
