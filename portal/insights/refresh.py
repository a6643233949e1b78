"""Refresh Instagram Insights into rows: refresh_account and refresh_many. No Flask.

A pass plans the Graph calls of a chunk of accounts, sends them as shared batches
(portal/graph/batch.py), then writes each account's rows in its own transaction,
so one account's failure never touches another's figures, and a crash mid-write
leaves the previous figures as they were.
"""

import datetime
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from peewee import fn

from portal.db import database, is_sqlite, utcnow
from portal.graph import GraphError
from portal.graph.batch import BatchRunner, Call, Throttled
from portal.insights import rows
from portal.models import AccountMetric, AccountStatus, AudienceSnapshot, SocialAccount

log = logging.getLogger(__name__)

ACCOUNT_METRICS = (
    "views",
    "reach",
    "accounts_engaged",
    "total_interactions",
    "follows_and_unfollows",
    "profile_links_taps",
)
DEMOGRAPHIC_METRICS = ("follower_demographics", "engaged_audience_demographics")
BREAKDOWNS = ("age", "gender", "country", "city")
TIMEFRAME = "this_month"
FEED_METRICS = ("views", "reach", "shares", "saved", "total_interactions")
REELS_ONLY_METRICS = ("ig_reels_avg_watch_time", "ig_reels_video_view_total_time")
REELS_METRICS = FEED_METRICS + REELS_ONLY_METRICS
STORY_METRICS = (
    "views",
    "reach",
    "replies",
    "navigation",
    "shares",
    "total_interactions",
    "follows",
    "profile_visits",
)
PROFILE_FIELDS = "username,name,followers_count,follows_count,media_count,profile_picture_url"
MEDIA_FIELDS = "id,caption,media_type,media_product_type,permalink,thumbnail_url,timestamp"
STORY_FIELDS = "id,media_type,media_url,thumbnail_url,permalink,timestamp"
FIRST_REFRESH_DAYS = 30
LATE_DATA_DAYS = 2  # Instagram fills in a day's figures up to 48 hours late
MEDIA_LIMIT = 12
# Profile, recent media with the Insights every kind of post has, and live stories, in one call.
ACCOUNT_FIELDS = (
    f"{PROFILE_FIELDS},media.limit({MEDIA_LIMIT}){{{MEDIA_FIELDS},insights.metric({','.join(FEED_METRICS)})}},"
    f"stories{{{STORY_FIELDS}}}"
)
AUDIENCE_HOURS = 24  # demographics cover the last 30 days: read them once a day, not every refresh
CHUNK = 50  # accounts planned and sent together
FULL = "full"  # everything: the scheduled refresh and "Refresh stats"
STORIES = "stories"  # only live stories: the hourly capture


@dataclass
class Summary:
    """What a refresh pass did, for the CLI, the scheduler log and the staff page."""

    refreshed: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # username -> reason
    broken: dict = field(default_factory=dict)  # username -> reason (link_broken)
    deferred: int = 0
    throttled_until: datetime.datetime | None = None
    http_requests: int = 0
    graph_calls: int = 0  # Graph calls inside those requests (a batch carries up to 50)

    def line(self):
        text = (
            f"{len(self.refreshed)} refreshed, {len(self.broken)} link broken, "
            f"{len(self.failed)} failed, {self.deferred} deferred"
        )
        if self.throttled_until:
            text += f" (Meta asked to wait until {self.throttled_until:%Y-%m-%d %H:%M} UTC)"
        return text


def _day_start(moment):
    return datetime.datetime.combine(moment.date(), datetime.time(), tzinfo=datetime.UTC)


def stored_state(account_ids):
    """Return {account id: (end of its newest stored day, its oldest audience figures' time)}.

    Two grouped queries for a whole chunk: what first_calls needs to know of each account.
    """
    latest = dict(
        AccountMetric.select(AccountMetric.account, fn.MAX(AccountMetric.end_time))
        .where(AccountMetric.account.in_(account_ids))
        .group_by(AccountMetric.account)
        .tuples()
    )
    audience = dict(
        AudienceSnapshot.select(AudienceSnapshot.account, fn.MIN(AudienceSnapshot.fetched_at))
        .where(AudienceSnapshot.account.in_(account_ids))
        .group_by(AudienceSnapshot.account)
        .tuples()
    )
    return {i: (latest.get(i), audience.get(i)) for i in account_ids}


def days_to_fetch(latest, now):
    """Return the day starts to read: 30 days the first time, then what is new (and late)."""
    today = _day_start(now)
    if latest is None:
        first = today - datetime.timedelta(days=FIRST_REFRESH_DAYS - 1)
    else:
        first = max(
            _day_start(latest) - datetime.timedelta(days=LATE_DATA_DAYS), today - datetime.timedelta(days=29)
        )
    days, day = [], first
    while day <= today:
        days.append(day)
        day += datetime.timedelta(days=1)
    return days


def account_token(account):
    """Return the token to read an account with: its Page token, else the linking user's."""
    if account.page_token:
        return account.page_token
    grant = account.grant
    return grant.user_token if grant is not None else None


def audience_due(fetched_at, now):
    """Tell whether the audience figures (the oldest fetched at fetched_at) are missing or a day old."""
    return fetched_at is None or fetched_at <= now - datetime.timedelta(hours=AUDIENCE_HOURS)


def first_calls(account, token, now, mode=FULL, state=None):
    """Plan the calls that need nothing but the account: the account itself, its days and audience.

    The account call asks, by field expansion, for the profile, the recent media with their
    Insights, and the live stories: one call where item-by-item reading takes fourteen.
    state is the account's stored_state, when the caller read it for a whole chunk.
    """
    ig, a = account.ig_user_id, account.id
    if mode == STORIES:
        return [Call((a, "stories"), f"{ig}/stories", {"fields": STORY_FIELDS}, token)]
    latest, audience_fetched = state or stored_state([a])[a]
    calls = [Call((a, "account"), ig, {"fields": ACCOUNT_FIELDS}, token)]
    for day in days_to_fetch(latest, now):
        params = {
            "metric": ",".join(ACCOUNT_METRICS),
            "period": "day",
            "metric_type": "total_value",
            "since": int(day.timestamp()),
            "until": int((day + datetime.timedelta(days=1)).timestamp()),
        }
        calls.append(Call((a, "day", day), f"{ig}/insights", params, token))
    if audience_due(audience_fetched, now):
        for metric in DEMOGRAPHIC_METRICS:
            for breakdown in BREAKDOWNS:
                params = {
                    "metric": metric,
                    "period": "lifetime",
                    "metric_type": "total_value",
                    "timeframe": TIMEFRAME,
                    "breakdown": breakdown,
                }
                calls.append(Call((a, "audience", metric, breakdown), f"{ig}/insights", params, token))
    return calls


def media_metrics(item):
    """Return the metrics to ask of one media item: a reels-only metric would fail a photo's call."""
    return REELS_METRICS if item.get("media_product_type") == "REELS" else FEED_METRICS


def _listing(answer):
    return answer.get("data", []) if isinstance(answer, dict) else []


def refused_item(error):
    """Tell whether the account call failed for one of its items (then read item by item).

    Code 10 counts too: Instagram also sends it for "not enough viewers", and reading item by
    item tells that apart from a permission really missing.
    """
    if not isinstance(error, GraphError) or error.token_invalid or error.throttled or error.transient:
        return False
    return error.code == 10 or not error.permission_missing


def next_calls(account, token, answers):
    """Plan the calls the answers so far call for; [] once nothing more is needed.

    After the account call: the reels-only metrics of its reels (one ?ids= call) and each live
    story's Insights. If the account call was refused for one item (a post Instagram will not
    report on), the profile, media and stories are read on their own, then each item's Insights.
    """
    a, ig, calls = account.id, account.ig_user_id, []
    combined = answers.get((a, "account"))
    if isinstance(combined, dict):
        reels = [i["id"] for i in _listing(combined.get("media")) if i.get("media_product_type") == "REELS"]
        if reels:
            params = {"ids": ",".join(reels), "fields": f"insights.metric({','.join(REELS_ONLY_METRICS)})"}
            calls.append(Call((a, "reels"), "", params, token))
        stories = _listing(combined.get("stories"))
    else:
        if refused_item(combined):
            calls += [
                Call((a, "profile"), ig, {"fields": PROFILE_FIELDS}, token),
                Call((a, "media"), f"{ig}/media", {"fields": MEDIA_FIELDS, "limit": MEDIA_LIMIT}, token),
                Call((a, "stories"), f"{ig}/stories", {"fields": STORY_FIELDS}, token),
            ]
        for item in _listing(answers.get((a, "media")))[:MEDIA_LIMIT]:
            params = {"metric": ",".join(media_metrics(item))}
            calls.append(Call((a, "media_insights", item["id"]), f"{item['id']}/insights", params, token))
        stories = _listing(answers.get((a, "stories")))
    for item in stories:
        params = {"metric": ",".join(STORY_METRICS)}
        calls.append(Call((a, "story_insights", item["id"]), f"{item['id']}/insights", params, token))
    return [call for call in calls if call.key not in answers]


def unpack(account, answers):
    """Return the answers with the account call's parts under the keys item-by-item reading uses."""
    a = account.id
    combined = answers.get((a, "account"))
    if isinstance(combined, GraphError) and not refused_item(combined):
        return {**answers, (a, "profile"): combined}
    if not isinstance(combined, dict):
        return answers
    answers = dict(answers)
    answers[(a, "profile")] = {k: v for k, v in combined.items() if k not in ("media", "stories")}
    answers[(a, "stories")] = combined.get("stories") or {"data": []}
    reels = answers.get((a, "reels"))
    items = []
    for item in _listing(combined.get("media")):
        figures = list(_listing(item.get("insights")))
        if isinstance(reels, dict):
            figures += _listing((reels.get(item["id"]) or {}).get("insights"))
        answers[(a, "media_insights", item["id"])] = {"data": figures}
        items.append({k: v for k, v in item.items() if k != "insights"})
    answers[(a, "media")] = {"data": items}
    return answers


def _account_failure(account, answers):
    """Return (status, reason) if the account's own calls show its access is gone, else None."""
    for key, answer in answers.items():
        if key[0] != account.id or not isinstance(answer, GraphError):
            continue
        if key[1] in ("story_insights",) and answer.code == 10:
            continue  # "not enough viewers": a threshold, not a lost permission
        if answer.token_invalid:
            return AccountStatus.LINK_BROKEN, f"Instagram access ended: {answer.message}"
        if answer.permission_missing and key[1] in ("profile", "day", "media"):
            return AccountStatus.LINK_BROKEN, f"Permission missing: {answer.message}"
    profile = answers.get((account.id, "profile"), {})
    if isinstance(profile, GraphError):
        return None, f"Facebook returned an error: {profile.message}"
    return None


def finish_account(account, answers, now, summary, archive=None, mode=FULL):
    """Write one account's answers (or mark why it failed) in its own transaction."""
    answers = unpack(account, answers)
    failure = _account_failure(account, answers)
    if failure:
        status, reason = failure
        updates = {"last_error": reason}
        if status:
            updates["status"] = status
            summary.broken[account.username] = reason
        else:
            summary.failed[account.username] = reason
        # Only the columns this pass owns: a toggle made meanwhile is never overwritten.
        SocialAccount.update(**updates).where(SocialAccount.id == account.id).execute()
        return
    files = rows.archive_stories(account, answers, archive) if archive else {}
    with database.atomic():
        if not is_sqlite():
            # Figures can be read from Meta again; waiting for each account's commit to reach the
            # disk cost PostgreSQL 20 ms an account. A crash may lose the last moment's figures
            # (the next refresh reads them again), never mix them up: this only skips the wait.
            database.execute_sql("SET LOCAL synchronous_commit TO OFF")
        if mode == STORIES:
            rows.write_stories(account, answers, now, files)
        else:
            rows.write(account, answers, now, files)
    summary.refreshed.append(account.username)


def refresh_many(client, accounts, *, now=None, runner=None, archive=None, chunk=CHUNK, mode=FULL):
    """Refresh every account in the iterable (streamed in chunks) and return a Summary.

    While one chunk's rows are written here, the next chunk's calls are in flight on a second
    thread: waiting on Meta and writing overlap.
    """
    now = now or utcnow()
    runner = runner or BatchRunner(client)
    summary = Summary()
    iterator = iter(accounts)

    def fetch_next():
        batch = [account for _, account in zip(range(chunk), iterator, strict=False)]
        return batch, (fetcher.submit(_fetch_chunk, batch, now, runner, mode) if batch else None)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="refresh-fetch") as fetcher:
        batch, fetching = fetch_next()
        while fetching:
            try:
                tokens, answers = fetching.result()
            except Throttled as throttled:
                _defer_everyone(throttled, summary, len(batch) + sum(1 for _ in iterator))
                break
            done = batch
            batch, fetching = fetch_next()
            _write_chunk(done, tokens, answers, now, summary, archive, mode)
    summary.http_requests = runner.http_requests
    summary.graph_calls = runner.calls
    return summary


def _defer_everyone(throttled, summary, deferred):
    summary.throttled_until = throttled.until
    summary.deferred += deferred
    # Everyone waits: the limit is the app's (or the account's) and more calls prolong it.
    SocialAccount.update(refresh_deferred_until=throttled.until).where(
        SocialAccount.status == AccountStatus.LINKED
    ).execute()
    log.warning("Refresh stopped: %s; deferred until %s", throttled.reason, throttled.until)


def _fetch_chunk(batch, now, runner, mode):
    """Plan and send a chunk's calls, round after round; return ({account id: token}, answers)."""
    with database.connection_context():  # this thread's own connection, for planning's reads
        tokens, calls = {}, []
        state = stored_state([account.id for account in batch]) if mode == FULL else {}
        for account in batch:
            token = account_token(account)
            if token:
                tokens[account.id] = token
                calls += first_calls(account, token, now, mode, state.get(account.id))
        answers = runner.run(calls)
        while True:  # a round per dependency: media and stories first, then their Insights
            more = []
            for account in batch:
                if account.id in tokens:
                    more += next_calls(account, tokens[account.id], answers)
            if not more:
                return tokens, answers
            answers.update(runner.run(more))


def _write_chunk(batch, tokens, answers, now, summary, archive, mode):
    for account in batch:
        if account.id not in tokens:
            reason = "No stored access for this account: connect it again."
            SocialAccount.update(status=AccountStatus.LINK_BROKEN, last_error=reason).where(
                SocialAccount.id == account.id
            ).execute()
            summary.broken[account.username] = reason
            continue
        try:
            finish_account(account, answers, now, summary, archive, mode)
        except Exception:  # one account's surprise must not stop the others
            log.exception("Refreshing account %s failed", account.id)
            summary.failed[account.username] = "An unexpected error; it has been logged."


def refresh_account(client, account, **kwargs):
    """Refresh one account now and return the Summary (the row's "Refresh stats")."""
    return refresh_many(client, [account], **kwargs)
