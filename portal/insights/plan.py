"""What a refresh asks Instagram, round by round: the Graph calls of one account. No Flask.

The first round needs nothing but the account: one field-expanded call for the profile, the recent
media with the Insights every post has and the live stories, plus the days and the audience. Each
later round asks what the answers so far call for: the next page of a nested edge (they page too,
reference §6.1), the reels' own metrics (one call a reel: new apps may not use multi-ID reads), each live
story's Insights. If Instagram refuses the field-expanded call because of one item, or keeps
failing it for a while, the account is read item by item instead.
"""

import datetime

from peewee import fn

from portal.graph import GraphError
from portal.graph.batch import Call
from portal.graph.days import day_end, day_start, meta_day
from portal.models import AccountMetric, AudienceSnapshot

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
MEDIA_WITH_INSIGHTS = f"{MEDIA_FIELDS},insights.metric({','.join(FEED_METRICS)})"
STORY_FIELDS = "id,media_type,media_url,thumbnail_url,permalink,timestamp"
FIRST_REFRESH_DAYS = 30
LATE_DATA_DAYS = 2  # Instagram fills in a day's figures up to 48 hours late
MEDIA_LIMIT = 12
# Profile, recent media with the Insights every kind of post has, and live stories, in one call.
ACCOUNT_FIELDS = (
    f"{PROFILE_FIELDS},media.limit({MEDIA_LIMIT}){{{MEDIA_WITH_INSIGHTS}}},stories{{{STORY_FIELDS}}}"
)
AUDIENCE_HOURS = 24  # demographics cover the last 30 days: read them once a day, not every refresh
FULL = "full"  # everything: the scheduled refresh and "Refresh stats"
STORIES = "stories"  # only live stories: the hourly capture


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
    """Return Meta's days (Pacific dates) to read: 30 the first time, then what is new (and late).

    latest is the end_time of the newest stored day; today, still under way, is read too.
    """
    today = meta_day(now)
    oldest = today - datetime.timedelta(days=FIRST_REFRESH_DAYS - 1)
    first = (
        oldest if latest is None else max(meta_day(latest) - datetime.timedelta(days=LATE_DATA_DAYS), oldest)
    )
    return [first + datetime.timedelta(days=n) for n in range((today - first).days + 1)]


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

    state is the account's stored_state, when the caller read it for a whole chunk.
    """
    ig, a = account.ig_user_id, account.id
    if mode == STORIES:
        return [Call((a, "stories", 0), f"{ig}/stories", {"fields": STORY_FIELDS}, token)]
    latest, audience_fetched = state or stored_state([a])[a]
    calls = [Call((a, "account"), ig, {"fields": ACCOUNT_FIELDS}, token)]
    for day in days_to_fetch(latest, now):
        params = {
            "metric": ",".join(ACCOUNT_METRICS),
            "period": "day",
            "metric_type": "total_value",
            # One Pacific day exactly: Meta counts the days whose end falls in (since, until].
            "since": int(day_start(day).timestamp()),
            "until": int(day_end(day).timestamp()),
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


def listing(answer):
    """Return the items of an edge's answer, or [] for an error or nothing."""
    return answer.get("data", []) if isinstance(answer, dict) else []


def read_item_by_item(error):
    """Tell whether the field-expanded call's failure calls for reading the account item by item.

    Yes when Instagram refused it for one of its items (code 10 too: it also means "not enough
    viewers"), and when it stayed temporarily unavailable after the retries. No when the token or
    the limits are the problem: reading item by item would only repeat it.
    """
    if not isinstance(error, GraphError) or error.token_invalid or error.throttled:
        return False
    return error.transient or error.code == 10 or not error.permission_missing


def edge_pages(answers, a, edge, first, limit=None):
    """Return (the items read so far of a paged edge, (page number, cursor) of the next page or None).

    first is the edge's first page (nested in the account call, or answered as (a, edge, 0));
    later pages are answered as (a, edge, n). The walk stops at `limit` items.
    """
    items, page, number = [], first, 0
    while isinstance(page, dict):
        items += listing(page)
        if limit is not None and len(items) >= limit:
            return items[:limit], None
        paging = page.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            return items, None
        number += 1
        if (a, edge, number) not in answers:
            return items, (number, after)
        page = answers[(a, edge, number)]
    return items, None


def _more_calls(account, token, answers, media_first, stories_first, nested):
    """Plan the next pages, each reel's own metrics (nested) or each item's Insights, each story's."""
    a, ig, calls = account.id, account.ig_user_id, []
    media, more = edge_pages(answers, a, "media", media_first, MEDIA_LIMIT)
    if more:
        fields = MEDIA_WITH_INSIGHTS if nested else MEDIA_FIELDS
        params = {"fields": fields, "limit": MEDIA_LIMIT - len(media), "after": more[1]}
        calls.append(Call((a, "media", more[0]), f"{ig}/media", params, token))
    for item in media:
        if not nested:
            params = {"metric": ",".join(media_metrics(item))}
            calls.append(Call((a, "media_insights", item["id"]), f"{item['id']}/insights", params, token))
        elif item.get("media_product_type") == "REELS":
            params = {"metric": ",".join(REELS_ONLY_METRICS)}
            calls.append(Call((a, "reel_insights", item["id"]), f"{item['id']}/insights", params, token))
    stories, more = edge_pages(answers, a, "stories", stories_first)
    if more:
        params = {"fields": STORY_FIELDS, "after": more[1]}
        calls.append(Call((a, "stories", more[0]), f"{ig}/stories", params, token))
    for item in stories:
        params = {"metric": ",".join(STORY_METRICS)}
        calls.append(Call((a, "story_insights", item["id"]), f"{item['id']}/insights", params, token))
    return calls


def next_calls(account, token, answers):
    """Plan the calls the answers so far call for; [] once nothing more is needed."""
    a, ig = account.id, account.ig_user_id
    combined = answers.get((a, "account"))
    if isinstance(combined, dict):
        calls = _more_calls(account, token, answers, combined.get("media"), combined.get("stories"), True)
    elif combined is None or read_item_by_item(combined):
        calls = []
        if combined is not None:  # None: the story capture, which reads stories only
            calls += [
                Call((a, "profile"), ig, {"fields": PROFILE_FIELDS}, token),
                Call((a, "media", 0), f"{ig}/media", {"fields": MEDIA_FIELDS, "limit": MEDIA_LIMIT}, token),
                Call((a, "stories", 0), f"{ig}/stories", {"fields": STORY_FIELDS}, token),
            ]
        media_first, stories_first = answers.get((a, "media", 0)), answers.get((a, "stories", 0))
        calls += _more_calls(account, token, answers, media_first, stories_first, False)
    else:
        return []
    return [call for call in calls if call.key not in answers]


def unpack(account, answers):
    """Return the answers as the row writers read them: (a, "profile"), (a, "media"), (a, "stories").

    Media insights come under (a, "media_insights", id) whichever way they were read.
    """
    a = account.id
    answers = dict(answers)
    combined = answers.get((a, "account"))
    if isinstance(combined, GraphError) and not read_item_by_item(combined):
        answers[(a, "profile")] = combined
        return answers
    nested = isinstance(combined, dict)
    if nested:
        answers[(a, "profile")] = {k: v for k, v in combined.items() if k not in ("media", "stories")}
    media_first = combined.get("media") if nested else answers.get((a, "media", 0))
    stories_first = combined.get("stories") if nested else answers.get((a, "stories", 0))
    media, _ = edge_pages(answers, a, "media", media_first, MEDIA_LIMIT)
    stories, _ = edge_pages(answers, a, "stories", stories_first)
    if nested:
        for item in media:
            figures = listing(item.get("insights")) + listing(answers.get((a, "reel_insights", item["id"])))
            answers[(a, "media_insights", item["id"])] = {"data": figures}
    answers[(a, "media")] = {"data": [{k: v for k, v in item.items() if k != "insights"} for item in media]}
    answers[(a, "stories")] = {"data": stories}
    return answers
