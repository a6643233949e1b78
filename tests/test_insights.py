"""Refreshing Insights against Meta-shaped batch answers (requests-mock): rows, faults, throttling."""

import datetime
import hashlib
import hmac
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal.graph import GraphClient
from portal.graph.batch import Backoff, BatchRunner
from portal.insights import refresh as insights
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Media,
    MediaMetric,
    MetaGrant,
    ProfileSnapshot,
    SocialAccount,
    Story,
    StoryMetric,
)

GRAPH = "https://graph.facebook.com/v27.0/"
SECRET = "fb-secret"
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)
NESTED_METRICS = re.compile(r"insights\.metric\(([^)]*)\)")
DEPRECATED = {
    "impressions",
    "video_views",
    "plays",
    "clips_replays_count",
    "ig_reels_aggregated_all_plays_count",
    "profile_views",
    "website_clicks",
    "email_contacts",
    "get_direction_clicks",
    "text_message_clicks",
    "phone_call_clicks",
    "audience_gender_age",
    "audience_locale",
    "audience_country",
    "audience_city",
    "engagement",
    "taps_forward",
    "taps_back",
    "exits",
}


class FakeInstagram:
    """Answers Graph batches the way Meta documents them, with faults per Instagram account."""

    def __init__(self, followers=1234):
        self.followers = followers
        # ig id -> a fault for every call about it ("500", "190", "throttle"), or a list of
        # faults, one per batch request, after which the account behaves
        self.faults = {}
        self.items = []  # every batch item received: (relative_url, query dict)
        self.posts = []  # every batch HTTP request
        self.refuse_nested = False  # the account call fails for one post, as Meta does for old posts

    def answer(self, path, query, active):
        ig = path.split("/")[0]
        kind = active.get(ig)
        if kind:
            if kind == "500":
                return 500, {
                    "error": {
                        "message": "(#2) Service temporarily unavailable",
                        "code": 2,
                        "is_transient": True,
                    }
                }
            if kind == "190":
                error = {
                    "message": "Error validating access token: Session has expired",
                    "code": 190,
                    "error_subcode": 463,
                }
                return 400, {"error": error}
            if kind == "throttle":
                return 400, {"error": {"message": "Application request limit reached", "code": 4}}
        if path.endswith("/insights") and "breakdown" in query:
            if self.followers < 100:
                return 200, {"data": [{"name": query["metric"], "total_value": {"breakdowns": []}}]}
            results = [{"dimension_values": [v], "value": n} for v, n in (("25-34", 40), ("18-24", 25))]
            part = {"dimension_keys": [query["breakdown"]], "results": results}
            return 200, {
                "data": [
                    {"name": query["metric"], "period": "lifetime", "total_value": {"breakdowns": [part]}}
                ]
            }
        if path.endswith("/insights") and "since" in query:
            seed = int(query["since"]) // 86400 % 97
            data = [
                {"name": m, "period": "day", "total_value": {"value": seed + i}}
                for i, m in enumerate(query["metric"].split(","))
            ]
            return 200, {"data": data}
        if path.endswith("/media"):
            return 200, {"data": self.MEDIA}
        if path.endswith("/stories"):
            return 200, {"data": self.STORIES}
        if path.startswith(("m1/", "m2/")):
            return self.media_insights(path.split("/")[0], query["metric"].split(","))
        if path.startswith("s1/"):
            return self.story_insights()
        if not path and "ids" in query:  # ?ids=a,b: one answer per id; one refusal fails them all
            metrics = NESTED_METRICS.search(query["fields"]).group(1).split(",")
            answers = {i: self.media_insights(i, metrics) for i in query["ids"].split(",")}
            failed = [answer for answer in answers.values() if answer[0] != 200]
            if failed:
                return failed[0]
            return 200, {i: {"id": i, "insights": body} for i, (_, body) in answers.items()}
        node = {
            "id": ig,
            "username": "ava.creates",
            "followers_count": self.followers,
            "follows_count": 5,
            "media_count": 2,
        }
        fields = query.get("fields", "")
        if "media." in fields:  # field expansion: media{...,insights.metric(...)}, stories{...}
            if self.refuse_nested:
                return 400, {"error": {"message": self.REFUSED, "code": 100, "error_subcode": 2108006}}
            metrics = NESTED_METRICS.search(fields).group(1).split(",")
            node["media"] = {
                "data": [{**m, "insights": self.media_insights(m["id"], metrics)[1]} for m in self.MEDIA]
            }
            node["stories"] = {"data": self.STORIES}
        return 200, node

    MEDIA = [
        {
            "id": "m1",
            "media_type": "VIDEO",
            "media_product_type": "REELS",
            "timestamp": "2026-11-27T12:00:00+0000",
        },
        {
            "id": "m2",
            "media_type": "IMAGE",
            "media_product_type": "FEED",
            "timestamp": "2026-11-26T12:00:00+0000",
        },
    ]
    STORIES = [{"id": "s1", "media_type": "IMAGE", "timestamp": "2026-11-29T10:00:00+0000"}]
    REFUSED = "Media Posted Before Business Account Conversion"

    def media_insights(self, media_id, metrics):
        if media_id == "m2" and "ig_reels_avg_watch_time" in metrics:
            return 400, {"error": {"message": "(#100) reels metric asked of a photo", "code": 100}}
        return 200, {"data": [{"name": m, "period": "lifetime", "values": [{"value": 10}]} for m in metrics]}

    def story_insights(self):
        return 400, {
            "error": {"message": "(#10) Not enough viewers for the media to show insights", "code": 10}
        }

    def __call__(self, request, context):
        self.posts.append(request)
        active = {}
        for ig, fault in self.faults.items():
            if isinstance(fault, list):
                if fault:
                    active[ig] = fault.pop(0)
            else:
                active[ig] = fault
        form = parse_qs(request.text)
        answers = []
        for entry in json.loads(form["batch"][0]):
            url = urlsplit(entry["relative_url"])
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.items.append((entry["relative_url"], query))
            status, body = self.answer(url.path, query, active)
            answers.append({"code": status, "body": json.dumps(body)})
        return answers


@pytest.fixture
def meta_ig(no_network):
    fake = FakeInstagram()
    no_network.post(GRAPH, json=fake)
    return fake


@pytest.fixture
def client():
    return GraphClient("https://graph.facebook.com", "v27.0", "fb-app", SECRET)


def linked_account(creator, username="ava.creates", ig="17841400000000001"):
    """Return the creator's account with this username, linked (the creator fixture lists ava.creates)."""
    grant = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="1", user_token="EAAuser")
    account = SocialAccount.get_or_none(username=username, creator=creator) or SocialAccount(
        creator=creator, username=username
    )
    account.ig_user_id, account.status, account.grant = ig, AccountStatus.LINKED, grant
    account.page_token = f"EAAPpage{ig}"
    account.save()
    return SocialAccount.get_by_id(account.id)


def quick_runner(client):
    return BatchRunner(client, backoff=Backoff(sleep=lambda seconds: None))


def counts():
    models = (ProfileSnapshot, AccountMetric, AudienceSnapshot, Media, MediaMetric, Story, StoryMetric)
    return {model.__name__: model.select().count() for model in models}


def test_first_refresh_reads_30_days_audience_media_and_stories(app, creator, client, meta_ig):
    account = linked_account(creator)
    summary = insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["ava.creates"] and not summary.failed
    days = AccountMetric.select(AccountMetric.end_time).where(AccountMetric.metric == "views")
    assert days.count() == 30
    assert AudienceSnapshot.select().where(AudienceSnapshot.available == True).count() == 8  # noqa: E712
    assert Media.select().count() == 2 and Story.select().count() == 1
    again = SocialAccount.get_by_id(account.id)
    assert again.followers_count == 1234 and again.last_refreshed_at == NOW


def test_a_refresh_asks_no_deprecated_metric(app, creator, client, meta_ig):
    insights.refresh_account(client, linked_account(creator), now=NOW, runner=quick_runner(client))
    asked = {m for _, query in meta_ig.items for m in query.get("metric", "").split(",") if m}
    assert asked and not asked & DEPRECATED
    assert "views" in asked and "follower_demographics" in asked
    for _, query in meta_ig.items:
        if "breakdown" in query:
            assert query["timeframe"] == "this_month" and query["period"] == "lifetime"


def test_photos_are_not_asked_reels_only_metrics(app, creator, client, meta_ig):
    insights.refresh_account(client, linked_account(creator), now=NOW, runner=quick_runner(client))
    reels_only = [q for _, q in meta_ig.items if "ig_reels_avg_watch_time" in q.get("fields", "")]
    assert [q["ids"] for q in reels_only] == ["m1"]  # the reel alone, in one ?ids= call
    photo = Media.get(Media.ig_media_id == "m2")
    reel = Media.get(Media.ig_media_id == "m1")
    assert {m.metric for m in photo.metrics} == set(insights.FEED_METRICS)
    assert {m.metric for m in reel.metrics} == set(insights.REELS_METRICS)


def test_one_call_reads_profile_media_with_their_insights_and_stories(app, creator, client, meta_ig):
    insights.refresh_account(client, linked_account(creator), now=NOW, runner=quick_runner(client))
    paths = [urlsplit(url).path for url, _ in meta_ig.items]
    assert not [p for p in paths if p.endswith(("/media", "/stories")) or p.startswith("m")]
    # the account call, 30 days, 8 audience breakdowns, the reel's own metrics, the story's Insights
    assert len(paths) == 1 + 30 + 8 + 1 + 1
    assert len(meta_ig.posts) == 2  # the 39 calls that need nothing first, then the 2 they call for


def test_a_post_refusing_its_insights_falls_back_to_reading_item_by_item(app, creator, client, meta_ig):
    meta_ig.refuse_nested = True
    account = linked_account(creator)
    summary = insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["ava.creates"] and not summary.failed
    assert {m.ig_media_id: m.metrics.count() for m in Media.select()} == {
        "m1": len(insights.REELS_METRICS),
        "m2": len(insights.FEED_METRICS),
    }
    assert SocialAccount.get_by_id(account.id).followers_count == 1234
    asked = [urlsplit(url).path for url, _ in meta_ig.items]
    assert "m1/insights" in asked and "m2/insights" in asked and f"{account.ig_user_id}/media" in asked


def test_audience_is_read_once_a_day(app, creator, client, meta_ig):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))

    def audience_calls(when):
        meta_ig.items.clear()
        fresh = SocialAccount.get_by_id(account.id)
        insights.refresh_account(client, fresh, now=when, runner=quick_runner(client))
        return [q for _, q in meta_ig.items if "breakdown" in q]

    assert audience_calls(NOW + datetime.timedelta(hours=6)) == []
    assert len(audience_calls(NOW + datetime.timedelta(hours=25))) == 8
    assert AudienceSnapshot.select().count() == 8


def test_every_call_carries_a_timeout_and_its_tokens_proof(app, creator, client, meta_ig, no_network):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    for request in no_network.request_history:
        assert isinstance(request.timeout, tuple) and all(0 < t < 60 for t in request.timeout)
        assert "access_token" not in (urlsplit(request.url).query or "")
    for _, query in meta_ig.items:
        expected = hmac.new(SECRET.encode(), query["access_token"].encode(), hashlib.sha256).hexdigest()
        assert query["appsecret_proof"] == expected and query["access_token"] == account.page_token


def test_refreshing_twice_changes_no_row_count(app, creator, client, meta_ig):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    first = counts()
    first_ids = sorted(AccountMetric.select(AccountMetric.id).tuples())
    insights.refresh_account(
        client, SocialAccount.get_by_id(account.id), now=NOW, runner=quick_runner(client)
    )
    assert counts() == first
    assert sorted(AccountMetric.select(AccountMetric.id).tuples()) == first_ids


def test_a_later_refresh_reads_only_new_and_late_days(app, creator, client, meta_ig):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    meta_ig.items.clear()
    later = NOW + datetime.timedelta(days=1)
    insights.refresh_account(
        client, SocialAccount.get_by_id(account.id), now=later, runner=quick_runner(client)
    )
    day_calls = [q for _, q in meta_ig.items if "since" in q]
    assert 1 < len(day_calls) <= 1 + insights.LATE_DATA_DAYS + 1


def test_too_few_story_viewers_is_a_note_not_a_broken_link(app, creator, client, meta_ig):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    story = Story.get()
    assert "Too few people viewed" in story.insights_note and story.metrics.count() == 0
    assert SocialAccount.get_by_id(account.id).status == AccountStatus.LINKED


def test_small_accounts_get_a_reason_instead_of_audience_zeros(app, creator, client, meta_ig):
    meta_ig.followers = 42
    insights.refresh_account(client, linked_account(creator), now=NOW, runner=quick_runner(client))
    snapshots = list(AudienceSnapshot.select())
    assert len(snapshots) == 8 and not any(s.available for s in snapshots)
    assert all("fewer than 100 followers" in s.note for s in snapshots)
    assert all(json.loads(s.data) == {} for s in snapshots)


def test_transient_errors_are_retried_with_capped_jittered_backoff(app, creator, client, meta_ig):
    account = linked_account(creator)
    meta_ig.faults[account.ig_user_id] = ["500", "500"]
    waits = []
    backoff = Backoff(base=1, cap=4, attempts=4, sleep=waits.append, rand=lambda low, high: high)
    summary = insights.refresh_account(client, account, now=NOW, runner=BatchRunner(client, backoff=backoff))
    assert summary.refreshed == ["ava.creates"]
    assert waits == [1, 2]  # full jitter's upper bounds: min(cap, base * 2**attempt)


def test_backoff_waits_stay_within_the_cap():
    seen = []
    backoff = Backoff(base=1, cap=5, attempts=10, sleep=lambda s: None)
    for attempt in range(10):
        backoff.wait(attempt)
        seen.append(backoff.waits[-1])
    assert all(0 <= wait <= min(5, 2**attempt) for attempt, wait in enumerate(seen))


def test_error_190_marks_link_broken_without_retry_and_keeps_history(app, creator, client, meta_ig):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    before = counts()
    meta_ig.faults[account.ig_user_id] = "190"
    posts = len(meta_ig.posts)
    summary = insights.refresh_account(
        client, SocialAccount.get_by_id(account.id), now=NOW, runner=quick_runner(client)
    )
    again = SocialAccount.get_by_id(account.id)
    assert again.status == AccountStatus.LINK_BROKEN and "Session has expired" in again.last_error
    assert summary.broken and counts() == before
    assert len(meta_ig.posts) - posts == 1  # one batch, not retried, and no insight calls after it


def test_throttling_stops_the_pass_and_defers_everyone(app, creator, client, meta_ig):
    first = linked_account(creator, "first.one", "111")
    second = linked_account(creator, "second.one", "222")
    meta_ig.faults["111"] = "throttle"
    summary = insights.refresh_many(client, [first, second], now=NOW, runner=quick_runner(client), chunk=1)
    assert summary.throttled_until is not None and summary.deferred == 2
    assert len(meta_ig.posts) == 1  # no hot loop: the first throttled answer ends the pass
    linked = SocialAccount.select().where(SocialAccount.status == AccountStatus.LINKED)
    assert linked.count() == 2 and all(a.refresh_deferred_until for a in linked)
    assert SocialAccount.refreshable(NOW).count() == 0


def test_usage_headers_above_ninety_percent_stop_the_pass(app, creator, client, no_network):
    fake = FakeInstagram()
    no_network.post(
        GRAPH, json=fake, headers={"X-App-Usage": json.dumps({"call_count": 95, "total_time": 10})}
    )
    accounts = [linked_account(creator, "a.one", "111"), linked_account(creator, "b.two", "222")]
    summary = insights.refresh_many(client, accounts, now=NOW, runner=quick_runner(client), chunk=1)
    assert summary.throttled_until and summary.deferred == 2 and not summary.refreshed


def test_one_accounts_failure_never_stops_the_others(app, creator, client, meta_ig):
    ok = linked_account(creator, "ok.one", "111")
    flaky = linked_account(creator, "flaky.one", "222")
    expired = linked_account(creator, "expired.one", "333")
    meta_ig.faults["222"] = "500"  # transient, and still failing after every retry
    meta_ig.faults["333"] = "190"
    summary = insights.refresh_many(client, [ok, flaky, expired], now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["ok.one"]
    assert "flaky.one" in summary.failed and "expired.one" in summary.broken
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == ok).count() == 1
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == flaky).count() == 0
    assert "temporarily unavailable" in SocialAccount.get_by_id(flaky.id).last_error
    assert summary.line().startswith("1 refreshed, 1 link broken, 1 failed")


def test_a_crash_while_writing_keeps_the_previous_figures_and_token(
    app, creator, client, meta_ig, monkeypatch
):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    before = counts()
    views_before = sorted(AccountMetric.select(AccountMetric.value).tuples())

    def crash(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(insights.rows, "write_stories", crash)
    meta_ig.followers = 999
    later = NOW + datetime.timedelta(days=1)
    summary = insights.refresh_account(
        client, SocialAccount.get_by_id(account.id), now=later, runner=quick_runner(client)
    )
    again = SocialAccount.get_by_id(account.id)
    assert summary.failed and counts() == before
    assert sorted(AccountMetric.select(AccountMetric.value).tuples()) == views_before
    assert again.followers_count == 1234 and again.page_token == account.page_token


def test_an_account_without_any_stored_token_is_marked_broken_without_calls(app, creator, client, meta_ig):
    account = SocialAccount.create(
        creator=creator, username="lost.one", ig_user_id="9", status=AccountStatus.LINKED
    )
    summary = insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    assert summary.broken and meta_ig.posts == []
    assert SocialAccount.get_by_id(account.id).status == AccountStatus.LINK_BROKEN


def test_unreachable_meta_fails_the_account_not_the_pass(app, creator, client, no_network):
    no_network.post(GRAPH, exc=requests.exceptions.ConnectTimeout)
    account = linked_account(creator)
    summary = insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    assert summary.failed and "Could not reach Facebook" in SocialAccount.get_by_id(account.id).last_error


def test_throttling_waits_as_long_as_meta_says(app, creator, client, no_network):
    buc = {"111": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 45}]}
    error = {"error": {"message": "Application request limit reached", "code": 80002}}
    headers = [{"name": "X-Business-Use-Case-Usage", "value": json.dumps(buc)}]
    no_network.post(GRAPH, json=[{"code": 400, "headers": headers, "body": json.dumps(error)}] * 41)
    before = datetime.datetime.now(datetime.UTC)
    summary = insights.refresh_account(
        client, linked_account(creator, "a.one", "111"), now=NOW, runner=quick_runner(client)
    )
    assert summary.throttled_until >= before + datetime.timedelta(minutes=45)
    assert summary.throttled_until <= before + datetime.timedelta(minutes=46)
