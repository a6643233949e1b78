"""The sandbox's Instagram Insights: IG user node, account and media insights, media, stories, batch, faults.

Everything goes through the Flask test client with tokens from the simulated dialog, as in
test_sandbox.py, whose helpers this file reuses.
"""

import json
from urllib.parse import urlencode

import pytest
from test_sandbox import BASE, FB_APP, FB_SECRET, graph, long_token, sandbox

from portal.sandbox import faults, media, people, seeds, tokens

IDS = {username: account.id for username, account in people.INSTAGRAM_ACCOUNTS.items()}
ACCOUNT_METRICS = "views,reach,accounts_engaged,total_interactions,follows_and_unfollows,profile_links_taps"
DAY = 24 * 3600
MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,thumbnail_url,timestamp"
STORY_FIELDS = "id,media_type,media_url,thumbnail_url,permalink,timestamp"
STORY_METRICS = "views,reach,replies,navigation,shares,total_interactions,follows,profile_visits"
APP_TOKEN = f"{FB_APP}|{FB_SECRET}"


def error_of(response):
    assert response.status_code >= 400, response.get_json()
    return response.get_json()["error"]


def insights(client, username, token, **params):
    return graph(client, f"{IDS[username]}/insights", token, **params)


def daily(client, username, token, metric=ACCOUNT_METRICS, **params):
    return insights(client, username, token, metric=metric, period="day", metric_type="total_value", **params)


def demographics(client, username, token, metric="follower_demographics", **params):
    params = {"period": "lifetime", "metric_type": "total_value", "timeframe": "this_month", **params}
    return insights(client, username, token, metric=metric, **params)


def totals(body):
    return {entry["name"]: entry["total_value"]["value"] for entry in body["data"]}


def page_tokens(client, token):
    pages = graph(client, "me/accounts", token, fields="name,access_token", limit=100).get_json()["data"]
    return {page["name"]: page["access_token"] for page in pages}


def fetch_media(client, username, token, **params):
    return graph(client, f"{IDS[username]}/media", token, fields=MEDIA_FIELDS, **params).get_json()


def stories_of(client, username, token):
    return graph(client, f"{IDS[username]}/stories", token, fields=STORY_FIELDS).get_json()["data"]


@pytest.fixture
def client(make_app):
    return sandbox(make_app)[1]


@pytest.fixture
def gabriela(client):
    return long_token(client, "Gabriela Good")


# --- The IG User node ---


def test_ig_user_node_answers_profile_fields_to_user_and_page_tokens(client, gabriela):
    fields = "username,name,followers_count,follows_count,media_count,profile_picture_url"
    expected = {
        "id": IDS["ava.creates"],
        "username": "ava.creates",
        "name": "Ava Chen",
        "followers_count": 48200,
        "follows_count": 611,
        "media_count": 734,
        "profile_picture_url": BASE + "/sandbox/static/avatar/ava.creates.svg",
    }
    assert graph(client, IDS["ava.creates"], gabriela, fields=fields).get_json() == expected
    page_token = page_tokens(client, gabriela)["Ava Chen Creates"]
    assert graph(client, IDS["ava.creates"], page_token, fields=fields).get_json() == expected
    # A Page token reaches its own Page's account only.
    other = error_of(graph(client, IDS["ava.travels"], page_token, fields=fields))
    assert (other["code"], other["error_subcode"]) == (100, 33)


def test_who_may_read_what(client, gabriela):
    marco = IDS["marco_cooks"]
    # Not on a shared Page: the object "does not exist".
    hidden = error_of(graph(client, marco, gabriela, fields="username"))
    assert (hidden["code"], hidden["error_subcode"]) == (100, 33)
    # Moderators read the profile and media, but their task does not include Insights.
    morgan = long_token(client, "Morgan Moderator")
    assert graph(client, marco, morgan, fields="username").get_json()["username"] == "marco_cooks"
    assert graph(client, f"{marco}/media", morgan).status_code == 200
    assert error_of(daily(client, "marco_cooks", morgan))["code"] == 10
    # Analysts do read them.
    assert daily(client, "marco_cooks", long_token(client, "Andre Analyst")).status_code == 200
    # A declined instagram_manage_insights: the profile still works, Insights do not.
    dana = long_token(client, "Dana Declines")
    assert graph(client, IDS["ava.creates"], dana, fields="username").status_code == 200
    assert error_of(daily(client, "ava.creates", dana))["message"].startswith("(#10) ")
    # Without instagram_basic nothing about the account can be read.
    no_basic = long_token(
        client,
        "Gabriela Good",
        change=lambda fields: [f for f in fields if f != ("grant", "instagram_basic")],
    )
    assert error_of(graph(client, IDS["ava.creates"], no_basic, fields="username"))["code"] == 10
    # The portfolio route: Bianca has no Page role but shared the portfolio holding Priya Fit.
    bianca = long_token(client, "Bianca Business")
    assert daily(client, "priya.fit", bianca).status_code == 200
    # And a token that is not one.
    assert error_of(daily(client, "ava.creates", "EAASnot-a-token"))["code"] == 190


# --- Account insights ---


def test_account_insights_shape_and_same_values_twice(client, gabriela):
    first = daily(client, "ava.creates", gabriela)
    assert first.status_code == 200
    body = first.get_json()
    assert [entry["name"] for entry in body["data"]] == ACCOUNT_METRICS.split(",")
    for entry in body["data"]:
        assert set(entry) == {"name", "period", "title", "description", "total_value", "id"}
        assert (
            entry["period"] == "day" and entry["id"] == f"{IDS['ava.creates']}/insights/{entry['name']}/day"
        )
        assert isinstance(entry["total_value"]["value"], int) and entry["total_value"]["value"] >= 0
    assert {"previous", "next"} <= set(body["paging"])
    assert totals(daily(client, "ava.creates", gabriela).get_json()) == totals(body)
    values = totals(body)
    assert values["views"] > values["reach"] > values["accounts_engaged"] > 0


def pacific_midnight(days_ago):
    """The Unix time Meta's day `days_ago` days before today (in Los Angeles) begins."""
    return seeds.pacific_midnight(seeds.pacific_day(seeds.now()) - days_ago)


def test_days_differ_and_a_range_sums_its_days(client, gabriela):
    days = [(pacific_midnight(k), pacific_midnight(k - 1)) for k in (3, 2)]
    single = [totals(daily(client, "ava.creates", gabriela, since=s, until=u).get_json()) for s, u in days]
    assert single[0] != single[1]
    both = totals(daily(client, "ava.creates", gabriela, since=days[0][0], until=days[1][1]).get_json())
    assert both == {name: single[0][name] + single[1][name] for name in both}
    # Bigger accounts see bigger numbers.
    bianca = long_token(client, "Bianca Business")
    priya = totals(daily(client, "priya.fit", bianca, since=days[0][0], until=days[0][1]).get_json())
    assert priya["reach"] > single[0]["reach"]


def test_reach_also_comes_as_a_time_series(client, gabriela):
    since, until = pacific_midnight(3), pacific_midnight(0)
    body = insights(
        client, "ava.creates", gabriela, metric="reach", period="day", since=since, until=until
    ).get_json()
    (entry,) = body["data"]
    # Each value ends at the Pacific midnight that ends its day: 07:00 or 08:00 UTC.
    assert [len(entry["values"]), entry["values"][0]["end_time"]] == [3, seeds.iso(pacific_midnight(2))]
    assert entry["values"][0]["end_time"][11:] in ("07:00:00+0000", "08:00:00+0000")
    views = error_of(insights(client, "ava.creates", gabriela, metric="views", period="day"))
    assert "metric_type=total_value" in views["message"]


@pytest.mark.parametrize(
    "metric",
    [
        "video_views",
        "plays",
        "profile_views",
        "audience_gender_age",
        "audience_locale",
        "audience_country",
        "audience_city",
        "website_clicks",
        "email_contacts",
        "clips_replays_count",
        "ig_reels_aggregated_all_plays_count",
        "no_such_metric",
    ],
)
def test_a_deprecated_or_unknown_metric_fails_the_whole_call(client, gabriela, metric):
    response = daily(client, "ava.creates", gabriela, metric=f"reach,{metric}")
    error = error_of(response)
    assert response.status_code == 400 and (error["code"], error["type"]) == (100, "OAuthException")
    assert error["message"].startswith("(#100) metric[1] must be one of the following values: views, reach")
    assert "data" not in response.get_json()


def test_impressions_get_metas_version_22_wording(client, gabriela):
    error = error_of(daily(client, "ava.creates", gabriela, metric="reach,impressions"))
    assert error["code"] == 100
    assert error["message"].startswith(
        "(#100) Starting from version 22 and above, the impressions metric is no longer supported"
    )


def test_bad_periods_and_ranges_fail(client, gabriela):
    week = error_of(insights(client, "ava.creates", gabriela, metric="reach", period="week"))
    assert week["code"] == 100 and "period" in week["message"]
    lifetime = error_of(
        insights(
            client, "ava.creates", gabriela, metric="reach", period="lifetime", metric_type="total_value"
        )
    )
    assert lifetime["message"].startswith("(#100) metric[0] must be one of the following values: follower_")
    now = seeds.now()
    too_long = error_of(daily(client, "ava.creates", gabriela, since=now - 31 * DAY, until=now))
    assert too_long["code"] == 100 and "30 days" in too_long["message"]
    for until in ("9999999999999999999999999", "1e400", "nan", "-5"):
        past = error_of(daily(client, "ava.creates", gabriela, until=until))
        assert past["code"] == 100 and past["message"] == "(#100) Param until must be a UNIX timestamp"


def test_tiny_steps_under_100_followers_has_no_follows_nor_demographics(client, gabriela):
    body = daily(client, "tiny.steps", gabriela).get_json()
    names = [entry["name"] for entry in body["data"]]
    assert "follows_and_unfollows" not in names and "reach" in names
    metric = "follower_demographics,engaged_audience_demographics"
    data = demographics(client, "tiny.steps", gabriela, metric=metric, breakdown="age").get_json()["data"]
    assert [entry["name"] for entry in data] == metric.split(",")
    assert data[0] == {
        "name": "follower_demographics",
        "period": "lifetime",
        "title": "Follower demographics",
        "description": data[0]["description"],
        "total_value": {"breakdowns": []},
        "id": f"{IDS['tiny.steps']}/insights/follower_demographics/lifetime",
    }
    assert data[1]["total_value"] == {"breakdowns": []}


# --- Demographics ---


@pytest.mark.parametrize(
    "breakdown, expected",
    [
        ("age", {"13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"}),
        ("gender", {"F", "M", "U"}),
    ],
)
def test_demographics_shape(client, gabriela, breakdown, expected):
    body = demographics(client, "ava.creates", gabriela, breakdown=breakdown).get_json()
    (entry,) = body["data"]
    assert entry["name"] == "follower_demographics" and entry["period"] == "lifetime"
    assert entry["id"] == f"{IDS['ava.creates']}/insights/follower_demographics/lifetime"
    (breakdowns,) = entry["total_value"]["breakdowns"]
    assert breakdowns["dimension_keys"] == [breakdown]
    found = {result["dimension_values"][0]: result["value"] for result in breakdowns["results"]}
    assert set(found) == expected
    assert 0.85 * 48200 < sum(found.values()) <= 48200
    assert demographics(client, "ava.creates", gabriela, breakdown=breakdown).get_json() == body


def test_country_and_city_breakdowns(client, gabriela):
    def results(breakdown, metric="follower_demographics", username="ava.creates", token=gabriela):
        body = demographics(client, username, token, metric=metric, breakdown=breakdown).get_json()
        return body["data"][0]["total_value"]["breakdowns"][0]["results"]

    countries = results("country")
    assert all(len(r["dimension_values"][0]) == 2 and r["dimension_values"][0].isupper() for r in countries)
    assert countries[0]["dimension_values"] == ["US"]
    cities = results("city")
    assert 0 < len(cities) <= 45 and all(", " in r["dimension_values"][0] for r in cities)
    andre = long_token(client, "Andre Analyst")
    assert results("country", username="marco_cooks", token=andre)[0]["dimension_values"] == ["IT"]
    both = results("age,gender")
    assert {tuple(r["dimension_values"]) for r in both} >= {("25-34", "F"), ("18-24", "M")}


def test_engaged_audience_and_timeframes(client, gabriela):
    def engaged(timeframe):
        body = demographics(
            client,
            "ava.creates",
            gabriela,
            metric="engaged_audience_demographics",
            breakdown="gender",
            timeframe=timeframe,
        ).get_json()
        return sum(r["value"] for r in body["data"][0]["total_value"]["breakdowns"][0]["results"])

    assert 0 < engaged("this_week") < engaged("this_month")
    for timeframe in ("last_30_days", "last_90_days", "prev_month", "lifetime"):
        error = error_of(demographics(client, "ava.creates", gabriela, breakdown="age", timeframe=timeframe))
        assert error["code"] == 100 and "this_week, this_month" in error["message"]
    assert error_of(demographics(client, "ava.creates", gabriela))["code"] == 100  # no breakdown
    assert error_of(demographics(client, "ava.creates", gabriela, breakdown="locale"))["code"] == 100


def test_marco_cooks_has_too_little_activity_for_engaged_audience_demographics(client):
    andre = long_token(client, "Andre Analyst")
    metric = "follower_demographics,engaged_audience_demographics"
    followers, engaged = demographics(
        client, "marco_cooks", andre, metric=metric, breakdown="age"
    ).get_json()["data"]
    assert followers["total_value"]["breakdowns"][0]["results"]
    assert engaged["total_value"] == {"breakdowns": []}


# --- Media ---


def test_media_list_is_paged_like_meta(client, gabriela):
    first = fetch_media(client, "ava.creates", gabriela, limit=10)
    items, body = list(first["data"]), first
    while "next" in body["paging"]:
        body = fetch_media(
            client, "ava.creates", gabriela, limit=10, after=body["paging"]["cursors"]["after"]
        )
        items += body["data"]
    assert 15 <= len(items) <= 30 and len({item["id"] for item in items}) == len(items)
    assert first["paging"]["next"].startswith(BASE + f"/sandbox/graph/v27.0/{IDS['ava.creates']}/media?")
    stamps = [item["timestamp"] for item in items]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] <= seeds.iso(seeds.now())
    for item in items:
        assert item["id"].startswith("180001") and len(item["id"]) == 17
        assert (item["media_type"], item["media_product_type"]) in {
            ("IMAGE", "FEED"),
            ("VIDEO", "REELS"),
            ("CAROUSEL_ALBUM", "FEED"),
        }
        assert ("thumbnail_url" in item) == (item["media_type"] == "VIDEO")
        assert item["permalink"].startswith(BASE + "/sandbox/instagram/")
    assert fetch_media(client, "ava.creates", gabriela, limit=10) == first
    assert len(fetch_media(client, "tiny.steps", gabriela, limit=25)["data"]) == 12  # all it has


def test_media_files_and_pages_are_served_by_the_sandbox(client, gabriela):
    items = graph(client, f"{IDS['ava.creates']}/media", gabriela, fields="media_type,media_url,permalink")
    for item in items.get_json()["data"][:8]:
        path = item["media_url"].removeprefix(BASE)
        served = client.get(path)
        assert served.status_code == 200
        if item["media_type"] == "VIDEO":
            assert served.mimetype == "video/mp4" and served.data[4:8] == b"ftyp"
        else:
            assert served.mimetype == "image/jpeg" and served.data[:2] == b"\xff\xd8"
            assert served.data.endswith(b"\xff\xd9")
        assert client.get(item["permalink"].removeprefix(BASE)).status_code == 200
    assert client.get("/sandbox/media/18000100000000000.jpg").status_code == 404
    assert client.get("/sandbox/media/nope.jpg").status_code == 404
    assert client.get("/sandbox/media/1800010000000094².jpg").status_code == 404  # not an ASCII digit


@pytest.fixture
def bench_people(monkeypatch):
    """Let a test add the bench agency: the sandbox's people are module state shared by every test."""
    for name in ("INSTAGRAM_ACCOUNTS", "PAGES", "FACEBOOK_USERS", "_by_id", "_by_number", "_pages_of"):
        monkeypatch.setattr(people, name, dict(getattr(people, name)))


def test_the_bench_agency_holds_20000_accounts_whose_media_are_served(bench_people, make_app):
    app, client = sandbox(make_app, SANDBOX_BENCH_ACCOUNTS=20_000)
    last = people.instagram_account(people.bench_username(20_000))
    with app.app_context():
        payload = tokens.user_token_payload(
            people.bench_agency(), [], [], ["instagram_basic"], ["instagram_basic"], "long", FB_APP
        )
        page_token = tokens.page_token_for(payload, people.pages_of_instagram(last.username)[0])
    items = graph(client, f"{last.id}/media", page_token, fields="media_url").get_json()["data"]
    assert items and all(len(item["id"]) == 18 for item in items)  # account number 22000: 5 digits
    for item in items[:3]:
        assert client.get(item["media_url"].removeprefix(BASE)).status_code == 200
    post = media.recent_media(people.instagram_account("ava.creates"))[0].id
    assert client.get(f"/sandbox/media/{post}.jpg").status_code == 200
    padded = post[:2] + "0" + post[2:]  # the same number with one more leading zero: no such id
    assert client.get(f"/sandbox/media/{padded}.jpg").status_code == 404
    assert client.get(f"/sandbox/media/{post[:2]}000{post[2:]}.jpg").status_code == 404  # too long


def _by_product(client, token, username="ava.creates"):
    found = {}
    for item in fetch_media(client, username, token)["data"]:
        found.setdefault(item["media_product_type"], item["id"])
    return found


def test_media_insights_shapes(client, gabriela):
    ids = _by_product(client, gabriela)
    metric = "views,reach,shares,saved,total_interactions,likes,comments,follows,profile_visits"
    feed = graph(client, f"{ids['FEED']}/insights", gabriela, metric=metric)
    assert feed.status_code == 200
    for entry in feed.get_json()["data"]:
        assert (
            entry["period"] == "lifetime"
            and entry["id"] == f"{ids['FEED']}/insights/{entry['name']}/lifetime"
        )
        assert set(entry["values"][0]) == {"value"} and "total_value" not in entry
    metric = "views,reach,ig_reels_avg_watch_time,ig_reels_video_view_total_time"
    reels = graph(client, f"{ids['REELS']}/insights", gabriela, metric=metric).get_json()["data"]
    views, reach, average, total = reels
    assert set(views) >= {"total_value"} and "values" not in views  # both shapes get exercised
    assert views["total_value"]["value"] > reach["values"][0]["value"] > 0
    assert total["values"][0]["value"] == average["values"][0]["value"] * views["total_value"]["value"]
    again = graph(client, f"{ids['REELS']}/insights", gabriela, metric=metric).get_json()["data"]
    assert again == reels


@pytest.mark.parametrize(
    "product, metric, wording",
    [
        ("FEED", "ig_reels_avg_watch_time", "does not support the ig_reels_avg_watch_time metric"),
        ("FEED", "navigation", "does not support the navigation metric"),
        ("REELS", "profile_visits", "does not support the profile_visits metric"),
        ("REELS", "plays", "metric[1] must be one of the following values"),
        ("FEED", "video_views", "metric[1] must be one of the following values"),
        ("FEED", "impressions", "Starting from version 22 and above, the impressions metric"),
    ],
)
def test_a_metric_the_media_cannot_serve_fails_the_whole_call(client, gabriela, product, metric, wording):
    media_id = _by_product(client, gabriela)[product]
    response = graph(client, f"{media_id}/insights", gabriela, metric=f"reach,{metric}")
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == 100 and wording in error["message"]


# --- Stories ---


def test_live_stories_for_three_accounts_and_none_for_others(client, gabriela):
    bianca, manny, andre = (
        long_token(client, name) for name in ("Bianca Business", "Manny Manager", "Andre Analyst")
    )
    now = seeds.now()
    for username, token in (("ava.creates", gabriela), ("priya.fit", bianca), ("nina.bakes", manny)):
        found = stories_of(client, username, token)
        assert 2 <= len(found) <= 3, username
        for story in found:
            assert set(story) >= {"id", "media_type", "media_url", "permalink", "timestamp"}
            assert seeds.iso(now - DAY) < story["timestamp"] <= seeds.iso(now)
            extension = ".mp4" if story["media_type"] == "VIDEO" else ".jpg"
            assert story["media_url"] == f"{BASE}/sandbox/media/{story['id']}{extension}"
            assert client.get(story["media_url"].removeprefix(BASE)).status_code == 200
    assert stories_of(client, "marco_cooks", andre) == [] and stories_of(client, "tiny.steps", gabriela) == []


def test_a_new_hour_can_bring_a_new_story(client, gabriela, monkeypatch):
    account = people.instagram_account("ava.creates")
    now = seeds.now()
    before = {story["id"] for story in stories_of(client, "ava.creates", gabriela)}
    later = now + account.story_hours * 3600
    monkeypatch.setattr(seeds, "now", lambda: later)
    after = {story["id"] for story in stories_of(client, "ava.creates", gabriela)}
    assert after - before and after == {story.id for story in media.stories(account, later)}


def test_story_insights_and_too_few_viewers(client, gabriela):
    newest, *older = stories_of(client, "ava.creates", gabriela)
    response = graph(client, f"{newest['id']}/insights", gabriela, metric=STORY_METRICS)
    error = error_of(response)
    assert response.status_code == 400
    assert (error["code"], error["type"]) == (10, "OAuthException")
    assert error["message"] == "(#10) Not enough viewers for the media to show insights"
    body = graph(client, f"{older[0]['id']}/insights", gabriela, metric=STORY_METRICS).get_json()
    data = {entry["name"]: entry for entry in body["data"]}
    assert list(data) == STORY_METRICS.split(",")
    navigation = data["navigation"]["total_value"]
    (breakdown,) = navigation["breakdowns"]
    actions = {r["dimension_values"][0]: r["value"] for r in breakdown["results"]}
    assert set(actions) == {"tap_forward", "tap_back", "tap_exit", "swipe_forward"}
    assert sum(actions.values()) == navigation["value"] > 0
    assert data["reach"]["values"][0]["value"] > 0
    saved = error_of(graph(client, f"{older[0]['id']}/insights", gabriela, metric="reach,saved"))
    assert "does not support the saved metric" in saved["message"]


# --- Batch ---


def _batch(client, token, items, **extra):
    form = {"batch": json.dumps(items), **extra}
    if token:
        form["appsecret_proof"] = tokens.appsecret_proof(FB_SECRET, token)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/sandbox/graph/v27.0/", data=form, headers=headers)


def _item(path, token=None, proof=True, **params):
    if token:
        params["access_token"] = token
        if proof:
            params["appsecret_proof"] = tokens.appsecret_proof(FB_SECRET, token)
    return {"method": "GET", "relative_url": f"{path}?{urlencode(params)}"}


def test_batch_with_per_item_tokens_and_mixed_results(client, gabriela):
    pages = page_tokens(client, gabriela)
    andre = long_token(client, "Andre Analyst")
    ava, tiny, marco = IDS["ava.creates"], IDS["tiny.steps"], IDS["marco_cooks"]
    story = stories_of(client, "ava.creates", gabriela)[0]["id"]
    day = {"period": "day", "metric_type": "total_value"}
    items = [
        _item(f"{ava}/insights", pages["Ava Chen Creates"], metric=ACCOUNT_METRICS, **day),
        _item(tiny, pages["Tiny Steps"], fields="username,followers_count,follows_count"),
        _item(f"{marco}/insights", andre, metric="reach", **day),
        _item(
            f"{marco}/insights", andre, proof=False, metric="reach", **day
        ),  # the top-level proof is not its
        _item(f"{ava}/insights", pages["Ava Chen Creates"], metric="reach,impressions", **day),
        _item(IDS["ava.travels"], fields="username"),  # no token of its own: the top-level one
        _item(f"{story}/insights", pages["Ava Chen Creates"], metric=STORY_METRICS),
        _item(f"{ava}/media", pages["Ava Chen Creates"], fields=MEDIA_FIELDS, limit=5),
    ]
    response = _batch(client, gabriela, items)
    assert response.status_code == 200 and response.headers["X-App-Usage"]
    answers = response.get_json()
    codes = [answer["code"] for answer in answers]
    assert codes == [200, 200, 200, 400, 400, 200, 400, 200]
    bodies = [json.loads(answer["body"]) for answer in answers]
    assert totals(bodies[0]) == totals(daily(client, "ava.creates", gabriela).get_json())
    assert bodies[1] == {"id": tiny, "username": "tiny.steps", "followers_count": 42, "follows_count": 88}
    assert bodies[2]["data"][0]["name"] == "reach"
    assert "appsecret_proof" in bodies[3]["error"]["message"]
    assert "impressions" in bodies[4]["error"]["message"]
    assert bodies[5]["username"] == "ava.travels"
    assert bodies[6]["error"]["code"] == 10
    assert len(bodies[7]["data"]) == 5 and "next" in bodies[7]["paging"]
    headers = {h["name"]: h["value"] for h in answers[0]["headers"]}
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(headers["X-Business-Use-Case-Usage"])[ava][0]["type"] == "instagram"


def test_batch_needs_a_valid_top_level_token_even_when_items_carry_theirs_and_caps_at_50(client, gabriela):
    page = page_tokens(client, gabriela)["Ava Chen Creates"]
    item = _item(IDS["ava.creates"], page, fields="username")
    # Meta checks the batch's own token even when every item carries one: none at all fails it whole.
    refused = _batch(client, None, [item])
    assert refused.status_code == 400 and error_of(refused)["code"] == 2500
    assert _batch(client, APP_TOKEN, [item]).get_json()[0]["code"] == 200
    too_many = _batch(client, gabriela, [_item("me", fields="id")] * 51)
    assert too_many.status_code == 400 and error_of(too_many)["code"] == 100


# --- Faults and latency ---


@pytest.fixture
def waits(monkeypatch):
    seen = []
    monkeypatch.setattr(faults, "sleep", seen.append)
    return seen


def faulty(make_app, **config):
    return sandbox(make_app, **config)[1]


@pytest.mark.parametrize(
    "fault, status, code",
    [("190", 400, 190), ("500", 500, 2), ("throttle", 400, 80002)],
)
def test_faults_hit_only_the_named_account(make_app, fault, status, code):
    client = faulty(make_app, SANDBOX_FAULTS={f"ig:{IDS['ava.creates']}": fault})
    token = long_token(client, "Gabriela Good")
    for path in (IDS["ava.creates"], f"{IDS['ava.creates']}/insights", f"{IDS['ava.creates']}/media"):
        response = graph(client, path, token, metric="reach", period="day", metric_type="total_value")
        assert response.status_code == status and error_of(response)["code"] == code
    error = error_of(graph(client, IDS["ava.creates"], token))
    if fault == "190":
        assert error["error_subcode"] == 463 and "Session has expired" in error["message"]
    if fault == "500":
        assert error["is_transient"] is True
    if fault == "throttle":
        usage = json.loads(graph(client, IDS["ava.creates"], token).headers["X-Business-Use-Case-Usage"])
        assert usage == {
            IDS["ava.creates"]: [
                {
                    "type": "instagram",
                    "call_count": 100,
                    "total_cputime": 20,
                    "total_time": 20,
                    "estimated_time_to_regain_access": 15,
                }
            ]
        }
    assert graph(client, IDS["ava.travels"], token, fields="username").status_code == 200
    answers = _batch(client, token, [_item(IDS["ava.creates"]), _item(IDS["tiny.steps"])]).get_json()
    assert [answer["code"] for answer in answers] == [status, 200]


def test_timeout_fault_and_latency_wait(make_app, waits):
    client = faulty(make_app, SANDBOX_FAULTS={"ig:tiny.steps": "timeout"}, SANDBOX_LATENCY_MS=250)
    token = long_token(client, "Gabriela Good")
    assert graph(client, IDS["ava.creates"], token).status_code == 200
    assert waits == [0.25]
    assert graph(client, IDS["tiny.steps"], token).status_code == 200
    assert waits == [0.25, 0.25, faults.TIMEOUT_SECONDS]
    _batch(client, token, [_item(IDS["ava.creates"])] * 3)
    assert waits[3:] == [0.25]  # once per HTTP answer, not per batch item


def test_no_latency_by_default(client, gabriela, waits):
    graph(client, IDS["ava.creates"], gabriela)
    assert waits == []
