"""Refreshing Insights against Meta-shaped batch answers (requests-mock): rows, faults, throttling."""

import datetime
import hashlib
import hmac
import json
import re
import threading
import time
import zoneinfo
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal.graph import GraphClient
from portal.graph.batch import Backoff, BatchRunner
from portal.insights import figures
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
MEDIA_LIMIT = re.compile(r"media\.limit\((\d+)\)")
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


APP_TOKEN = "fb-app|" + SECRET
BUC_WAIT_MINUTES = 45


def graph_error(code, message, subcode=None, transient=False):
    error = {"message": message, "type": "OAuthException", "code": code, "is_transient": transient}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


class FakeInstagram:
    """Answers Graph batches the way Meta documents them (v27, new app), with faults per account.

    As at Meta: an invalid top-level token fails the whole batch, legacy features (?ids=, aliases,
    date_format...) are refused with code 100, nested edges page, and 80002 throttles one account.
    """

    def __init__(self, followers=1234):
        self.followers = followers
        # ig id -> a fault for every call about it ("500", "190", "throttle", "buc", "refused", "nested500"),
        # or a list of faults, one per batch request, after which the account behaves
        self.faults = {}
        self.items = []  # every batch item received: (relative_url, query dict)
        self.posts = []  # every batch HTTP request
        self.refuse_nested = False  # the account call fails for one post, as Meta does for old posts
        self.media = list(self.MEDIA)
        self.page_size = 25  # Meta's default; nested edges page at this size too
        self.revoked = set()  # tokens whose person removed the app: 190/458
        self.busy = set()  # ig ids at 95% of their own limit: answered, with the usage header
        self.overflowing = set()  # ig ids whose daily figures are too big for any database column

    def _media_page(self, fields, query):
        start = int(query.get("after") or -1) + 1
        size = min(int(query.get("limit") or self.page_size), self.page_size)
        chunk = self.media[start : start + size]
        metrics = NESTED_METRICS.search(fields)
        data = [
            {**m, "insights": self.media_insights(m["id"], metrics.group(1).split(","))[1]} if metrics else m
            for m in chunk
        ]
        page = {"data": data}
        if chunk:
            page["paging"] = {"cursors": {"before": str(start), "after": str(start + len(chunk) - 1)}}
            if start + len(chunk) < len(self.media):
                page["paging"]["next"] = f"{GRAPH}17841400000000001/media?after={start + len(chunk) - 1}"
        return page

    def answer(self, path, query, active):
        ig = path.split("/")[0]
        if query.get("access_token") in self.revoked:
            return 400, graph_error(190, "The user has not authorized application fb-app.", 458)
        legacy = [name for name in ("ids", "date_format", "method", "callback") if name in query]
        if legacy or ".as(" in query.get("fields", ""):
            return 400, graph_error(100, f"(#100) {legacy or 'alias'} is not available to new apps")
        kind = active.get(ig)
        if kind == "nested500" and "media." in query.get("fields", ""):
            return 500, graph_error(2, "(#2) Service temporarily unavailable", transient=True)
        if kind == "refused":
            return 400, graph_error(10, "(#10) Application does not have permission for this action")
        if kind == "buc":
            return 400, graph_error(80002, "There have been too many calls to this Instagram account.")
        if kind and kind not in ("nested500",):
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
            if ig in self.overflowing:
                seed = 2**64
            data = [
                {"name": m, "period": "day", "total_value": {"value": seed + i}}
                for i, m in enumerate(query["metric"].split(","))
            ]
            return 200, {"data": data}
        if path.endswith("/media"):
            return 200, self._media_page(query.get("fields", ""), query)
        if path.endswith("/stories"):
            return 200, {"data": self.STORIES}
        if path.startswith("m") and path.endswith("/insights"):
            return self.media_insights(path.split("/")[0], query["metric"].split(","))
        if path.startswith("s1/"):
            return self.story_insights()
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
            inner = fields[fields.index("media.") : fields.index("}") + 1]
            node["media"] = self._media_page(inner, {"limit": MEDIA_LIMIT.search(fields).group(1)})
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
        form = parse_qs(request.text)
        top = form["access_token"][0]
        proof = hmac.new(SECRET.encode(), top.encode(), hashlib.sha256).hexdigest()
        if top in self.revoked or form.get("appsecret_proof") != [proof]:
            context.status_code = 400  # Meta checks the batch's own token even when items carry theirs
            return graph_error(190, "Error validating access token: The user has not authorized application.")
        active = {}
        for ig, fault in self.faults.items():
            if isinstance(fault, list):
                if fault:
                    active[ig] = fault.pop(0)
            else:
                active[ig] = fault
        answers = []
        for entry in json.loads(form["batch"][0]):
            url = urlsplit(entry["relative_url"])
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.items.append((entry["relative_url"], query))
            status, body = self.answer(url.path, query, active)
            answer = {"code": status, "body": json.dumps(body)}
            ig = url.path.split("/")[0]
            throttled = isinstance(body, dict) and body.get("error", {}).get("code") == 80002
            if throttled or ig in self.busy:
                usage = {"type": "instagram", "call_count": 100 if throttled else 95}
                usage["estimated_time_to_regain_access"] = BUC_WAIT_MINUTES
                header = {"name": "X-Business-Use-Case-Usage", "value": json.dumps({ig: [usage]})}
                answer["headers"] = [header]
            answers.append(answer)
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
    reels_only = [
        url.split("?")[0] for url, q in meta_ig.items if "ig_reels_avg_watch_time" in q.get("metric", "")
    ]
    assert reels_only == ["m1/insights"]  # the reel alone, in a call of its own (no ?ids= for new apps)
    photo = Media.get(Media.ig_media_id == "m2")
    reel = Media.get(Media.ig_media_id == "m1")
    assert {m.metric for m in photo.metrics} == set(insights.FEED_METRICS)
    assert {m.metric for m in reel.metrics} == set(insights.REELS_METRICS)


def test_one_call_reads_profile_media_with_their_insights_and_stories(app, creator, client, meta_ig):
    insights.refresh_account(client, linked_account(creator), now=NOW, runner=quick_runner(client))
    paths = [urlsplit(url).path for url, _ in meta_ig.items]
    assert not [p for p in paths if p.endswith(("/media", "/stories"))]
    assert [p for p in paths if p.startswith("m")] == ["m1/insights"]  # only the reel asks for more
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
    accounts = [linked_account(creator, f"account.{n}", f"{n}11") for n in range(1, 6)]
    meta_ig.faults["111"] = "throttle"
    summary = insights.refresh_many(client, accounts, now=NOW, runner=quick_runner(client), chunk=1)
    assert summary.throttled_until is not None and summary.deferred == 5
    # No hot loop: the first throttled answer ends the pass. The chunk fetched beside the first may
    # have sent its calls already (one account a chunk here); no later chunk sends any.
    asked_for = {re.search(r"access_token=EAAPpage(\d+)", url).group(1) for url, _ in meta_ig.items}
    assert "111" in asked_for and asked_for <= {"111", "211"}
    linked = SocialAccount.select().where(SocialAccount.status == AccountStatus.LINKED)
    assert linked.count() == 5 and all(a.refresh_deferred_until for a in linked)
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


def test_one_accounts_unstorable_figures_cost_no_other_account_its_figures(app, creator, client, meta_ig):
    ok = linked_account(creator, "ok.one", "111")
    bad = linked_account(creator, "bad.one", "222")
    other = linked_account(creator, "other.one", "333")
    meta_ig.overflowing.add("222")  # written in the same chunk, then refused by the database
    summary = insights.refresh_many(client, [ok, bad, other], now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["ok.one", "other.one"] and "bad.one" in summary.failed
    for account, days in ((ok, 30), (other, 30), (bad, 0)):
        views = AccountMetric.select().where(
            (AccountMetric.account == account) & (AccountMetric.metric == "views")
        )
        assert views.count() == days
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == bad).count() == 0  # nothing half-written
    assert SocialAccount.get_by_id(ok.id).last_refreshed_at == NOW
    assert SocialAccount.get_by_id(bad.id).last_refreshed_at is None


def test_a_post_listed_twice_is_written_once(app, creator, client, meta_ig):
    meta_ig.media = [*FakeInstagram.MEDIA, FakeInstagram.MEDIA[0]]  # Meta's pages overlapping by one post
    summary = insights.refresh_account(client, linked_account(creator), now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["ava.creates"] and not summary.failed
    assert sorted(m.ig_media_id for m in Media.select()) == ["m1", "m2"]
    reel = Media.get(Media.ig_media_id == "m1")
    assert reel.metrics.count() == len(insights.REELS_METRICS)


def test_accounts_of_one_chunk_sharing_a_post_and_a_story_write_them_once(app, creator, client, meta_ig):
    accounts = [linked_account(creator, f"team.{n}", str(100 + n)) for n in range(3)]  # one collab post
    summary = insights.refresh_many(client, accounts, now=NOW, runner=quick_runner(client))
    assert len(summary.refreshed) == 3 and not summary.failed
    assert Media.select().count() == 2 and Story.select().count() == 1
    assert MediaMetric.select().count() == len(insights.REELS_METRICS) + len(insights.FEED_METRICS)


def test_a_chunk_is_written_in_as_many_inserts_for_ten_accounts_as_for_one(
    app, creator, client, meta_ig, count_queries
):
    def inserts(accounts, now):
        with count_queries() as sql:
            summary = insights.refresh_many(client, accounts, now=now, runner=quick_runner(client))
        assert len(summary.refreshed) == len(accounts)
        return sum(1 for statement in sql if statement.lstrip().upper().startswith("INSERT"))

    later = NOW + datetime.timedelta(days=1)
    solo = linked_account(creator, "solo.one", "100")
    one_first, one_next = inserts([solo], NOW), inserts([SocialAccount.get_by_id(solo.id)], later)
    ten = [linked_account(creator, f"many.{n}", str(200 + n)) for n in range(10)]
    # A few statements a table, not one a figure (about 120 an account): ten accounts' 1,800 daily
    # figures of a first refresh take one statement more (at most rows.PARAMETERS values each).
    assert inserts(ten, NOW) == one_first + 1 <= 8
    assert inserts([SocialAccount.get_by_id(a.id) for a in ten], later) == one_next <= 7


def test_a_chunks_next_refresh_runs_as_many_statements_for_ten_accounts_as_for_one(
    app, creator, client, meta_ig, no_network, count_queries, tmp_path
):
    """Each account's current figures and its archived stories are read and written per chunk."""
    story_file = "https://cdn.example.com/s1.jpg"
    meta_ig.STORIES = [{**FakeInstagram.STORIES[0], "media_url": story_file}]
    no_network.get(story_file, content=b"a story")
    archive = tmp_path / "stories"

    def next_refresh(accounts):
        runner = quick_runner(client)
        insights.refresh_many(client, accounts, now=NOW, runner=runner, archive=str(archive))
        later = NOW + datetime.timedelta(days=1)
        fresh = [SocialAccount.get_by_id(a.id) for a in accounts]
        downloads = len(no_network.request_history)
        with count_queries() as sql:
            summary = insights.refresh_many(client, fresh, now=later, runner=runner, archive=str(archive))
        assert sorted(summary.refreshed) == sorted(a.username for a in accounts)
        assert all(SocialAccount.get_by_id(a.id).last_refreshed_at == later for a in accounts)
        asked = [r.url for r in no_network.request_history[downloads:]]
        return len(sql), asked.count(story_file)

    one, one_downloads = next_refresh([linked_account(creator, "solo.one", "100")])
    ten, ten_downloads = next_refresh([linked_account(creator, f"many.{n}", str(200 + n)) for n in range(10)])
    assert ten == one
    story = Story.get(Story.ig_media_id == "s1")
    assert story.archived_file and open(story.archived_file, "rb").read() == b"a story"
    # Archived on the very first pass: no later one downloads it again.
    assert [r.url for r in no_network.request_history].count(story_file) == 1
    assert one_downloads == ten_downloads == 0


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


def test_an_instagram_accounts_throttling_waits_as_long_as_meta_says(app, creator, client, meta_ig):
    account = linked_account(creator, "a.one", "111")
    meta_ig.faults["111"] = "buc"
    before = datetime.datetime.now(datetime.UTC)
    summary = insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    until = summary.waiting["a.one"]
    assert before + datetime.timedelta(minutes=BUC_WAIT_MINUTES) <= until
    assert until <= before + datetime.timedelta(minutes=BUC_WAIT_MINUTES + 1)
    again = SocialAccount.get_by_id(account.id)
    assert (
        again.refresh_deferred_until == until
        and "Instagram's limit for this account" in again.deferred_reason
    )
    assert summary.throttled_until is None and summary.deferred == 1 and not summary.refreshed


# --- Meta's v27 rules (reference §0.2) ---


def test_the_batch_carries_the_apps_own_token_and_each_call_its_accounts(app, creator, client, meta_ig):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    for post in meta_ig.posts:
        form = parse_qs(post.text)
        assert form["access_token"] == [APP_TOKEN]
        assert form["appsecret_proof"] == [
            hmac.new(SECRET.encode(), APP_TOKEN.encode(), hashlib.sha256).hexdigest()
        ]
    assert {query["access_token"] for _, query in meta_ig.items} == {account.page_token}


def test_one_creators_revoked_token_never_fails_anothers_refresh(app, creator, client, meta_ig):
    first = linked_account(creator, "first.one", "111")
    second = linked_account(creator, "second.one", "222")
    third = linked_account(creator, "third.one", "333")
    meta_ig.revoked.add(first.page_token)  # the first account of the batch: its person removed the app
    summary = insights.refresh_many(client, [first, second, third], now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["second.one", "third.one"]
    assert "has not authorized application" in summary.broken["first.one"]
    for account in (second, third):
        views = AccountMetric.select().where(
            (AccountMetric.account == account) & (AccountMetric.metric == "views")
        )
        assert views.count() == 30
    assert SocialAccount.get_by_id(first.id).status == AccountStatus.LINK_BROKEN


def test_one_instagram_accounts_limit_defers_it_alone(app, creator, client, meta_ig):
    limited = linked_account(creator, "limited.one", "111")
    other = linked_account(creator, "other.one", "222")
    meta_ig.faults["111"] = "buc"
    summary = insights.refresh_many(client, [limited, other], now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["other.one"] and set(summary.waiting) == {"limited.one"}
    assert summary.throttled_until is None and summary.deferred == 1
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == other).count() == 1
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == limited).count() == 0
    assert SocialAccount.get_by_id(other.id).refresh_deferred_until is None
    # The throttled account got no call after Meta's answer: its reel and story were not asked.
    asked = [url for url, _ in meta_ig.items]
    assert sum(1 for url in asked if url.startswith("111")) == 1 + 30 + 8
    assert SocialAccount.refreshable(NOW).where(SocialAccount.id == limited.id).count() == 0


def test_an_account_near_its_own_limit_is_stored_then_waits(app, creator, client, meta_ig):
    busy = linked_account(creator, "busy.one", "111")
    meta_ig.busy.add("111")
    summary = insights.refresh_many(client, [busy], now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["busy.one"] and "busy.one" in summary.waiting
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == busy).count() == 1
    assert SocialAccount.get_by_id(busy.id).refresh_deferred_until == summary.waiting["busy.one"]


def test_nested_media_pages_are_followed_until_twelve_posts(app, creator, client, meta_ig):
    meta_ig.page_size = 2  # Meta pages nested edges too: media.limit(12){...} answers 2 at a time
    meta_ig.media = [
        {
            "id": f"m{n}",
            "media_type": "VIDEO" if n % 3 == 0 else "IMAGE",
            "media_product_type": "REELS" if n % 3 == 0 else "FEED",
            "timestamp": f"2026-11-{28 - n:02d}T12:00:00+0000",
        }
        for n in range(1, 16)
    ]
    summary = insights.refresh_account(client, linked_account(creator), now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["ava.creates"]
    assert sorted(m.ig_media_id for m in Media.select()) == sorted(f"m{n}" for n in range(1, 13))
    reels = Media.select().where(Media.media_product_type == "REELS")
    assert reels.count() == 4 and all(r.metrics.count() == len(insights.REELS_METRICS) for r in reels)
    pages = [q for url, q in meta_ig.items if url.startswith("17841400000000001/media")]
    assert len(pages) == 5 and all("insights.metric(" in q["fields"] for q in pages)


def test_a_refusal_on_two_passes_in_a_row_breaks_the_link_with_a_plain_reason(app, creator, client, meta_ig):
    account = linked_account(creator)
    meta_ig.faults[account.ig_user_id] = "refused"
    first = insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    once = SocialAccount.get_by_id(account.id)
    assert "ava.creates" in first.failed and once.status == AccountStatus.LINKED
    assert "refuses again on the next refresh" in once.last_error and once.access_denied_since == NOW
    second = insights.refresh_account(client, once, now=NOW, runner=quick_runner(client))
    twice = SocialAccount.get_by_id(account.id)
    assert "ava.creates" in second.broken and twice.status == AccountStatus.LINK_BROKEN
    assert twice.last_error.startswith("Instagram refused the permission this needs")


def test_a_success_between_refusals_starts_the_count_again(app, creator, client, meta_ig):
    account = linked_account(creator)
    meta_ig.faults[account.ig_user_id] = ["refused"] * 3  # the first pass only (three rounds of batches)
    insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    meta_ig.faults.clear()
    insights.refresh_account(
        client, SocialAccount.get_by_id(account.id), now=NOW, runner=quick_runner(client)
    )
    healed = SocialAccount.get_by_id(account.id)
    assert healed.access_denied_since is None and healed.last_error is None
    meta_ig.faults[account.ig_user_id] = "refused"
    insights.refresh_account(client, healed, now=NOW, runner=quick_runner(client))
    assert SocialAccount.get_by_id(account.id).status == AccountStatus.LINKED  # once again, not twice


def test_a_field_expanded_call_that_stays_unavailable_is_read_item_by_item(app, creator, client, meta_ig):
    account = linked_account(creator)
    meta_ig.faults[account.ig_user_id] = "nested500"  # only the field-expanded call keeps failing
    summary = insights.refresh_account(client, account, now=NOW, runner=quick_runner(client))
    assert summary.refreshed == ["ava.creates"] and not summary.failed
    asked = [urlsplit(url).path for url, _ in meta_ig.items]
    assert asked.count(account.ig_user_id) == 4 + 1  # four attempts, then the profile alone
    assert "m1/insights" in asked and "m2/insights" in asked
    assert Media.select().count() == 2


@pytest.mark.parametrize(
    "now, day, hours, end_hour",
    [
        # Standard time ended at 02:00 on Sunday 1 November 2026 in Los Angeles: a 25-hour day.
        (datetime.datetime(2026, 11, 5, 20, tzinfo=datetime.UTC), datetime.date(2026, 11, 1), 25, 8),
        (datetime.datetime(2026, 11, 5, 20, tzinfo=datetime.UTC), datetime.date(2026, 10, 31), 24, 7),
        # Daylight time began at 02:00 on Sunday 8 March 2026: a 23-hour day.
        (datetime.datetime(2026, 3, 12, 20, tzinfo=datetime.UTC), datetime.date(2026, 3, 8), 23, 7),
        (datetime.datetime(2026, 3, 12, 20, tzinfo=datetime.UTC), datetime.date(2026, 3, 7), 24, 8),
    ],
)
def test_days_are_metas_pacific_days_across_a_dst_change(
    app, creator, client, meta_ig, now, day, hours, end_hour
):
    account = linked_account(creator)
    insights.refresh_account(client, account, now=now, runner=quick_runner(client))
    pacific = zoneinfo.ZoneInfo("America/Los_Angeles")
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=pacific)
    (query,) = [q for _, q in meta_ig.items if q.get("since") == str(int(start.timestamp()))]
    until = datetime.datetime.fromtimestamp(int(query["until"]), datetime.UTC)
    assert until - start == datetime.timedelta(hours=hours)
    assert (until.hour, until.minute) == (end_hour, 0)  # Meta's end_time: 07:00 (PDT) or 08:00 (PST) UTC
    stored = AccountMetric.get((AccountMetric.metric == "views") & (AccountMetric.end_time == until))
    assert stored.value == int(query["since"]) // 86400 % 97  # the fake's value for exactly that call
    assert figures.metric_day(stored.end_time) == day
    # 30 of Meta's days up to today in Los Angeles, each asked once.
    days = sorted(int(q["since"]) for _, q in meta_ig.items if "since" in q)
    assert len(days) == len(set(days)) == 30


class InStep:
    """A Graph client that notes how many batches are in flight at once; the first `meet` wait for
    each other there. (requests_mock answers one request at a time: the waiting is done here.)"""

    def __init__(self, client, meet=0):
        self.client, self.most, self._now = client, 0, 0
        self._lock = threading.Lock()
        self._together = threading.Barrier(meet) if meet else None
        self._meet = meet

    def batch(self, items):
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
            waiting, self._meet = self._meet > 0, self._meet - 1
        try:
            if waiting:
                self._together.wait(timeout=5)  # BrokenBarrierError: the others never came
            else:
                time.sleep(0.01)  # a batch takes a while at Meta: another may start meanwhile
            return self.client.batch(items)
        finally:
            with self._lock:
                self._now -= 1


def test_two_chunks_are_fetched_at_once_and_share_the_connections(app, creator, client, meta_ig):
    accounts = [linked_account(creator, f"account.{n}", f"{n}11") for n in range(1, 5)]
    # One account a chunk: a chunk's round is one batch, so a second batch in flight is a second chunk's.
    in_step = InStep(client, meet=2)
    runner = BatchRunner(in_step, backoff=Backoff(sleep=lambda seconds: None))
    summary = insights.refresh_many(client, accounts, now=NOW, runner=runner, chunk=1)
    assert len(summary.refreshed) == 4 and in_step.most == 2
    # However many chunks are fetched, no more batches are in flight than the runner's connections.
    in_step = InStep(client)
    one = BatchRunner(in_step, connections=1, backoff=Backoff(sleep=lambda seconds: None))
    summary = insights.refresh_many(client, accounts, now=NOW, runner=one, chunk=1)
    assert len(summary.refreshed) == 4 and in_step.most == 1
