"""The stored Insights figures as the staff pages show them, each read in one or two queries. No Flask.

Nothing here invents a number: a figure Instagram did not give stays None, and the
pages say "not available" for it.
"""

import datetime
import json
import os
from dataclasses import dataclass, field

from peewee import fn, prefetch

from portal.db import database
from portal.graph.days import day_end, day_of_end_time, day_start
from portal.insights.plan import STORY_METRICS
from portal.models import (
    AccountMetric,
    AudienceSnapshot,
    Media,
    MediaMetric,
    ProfileSnapshot,
    Story,
    StoryMetric,
)
from portal.prepared import OneOf, prepared

DAILY_METRICS = ("views", "reach")
DAILY_DAYS = 30
FOLLOWER_DAYS = 90
MEDIA_LIMIT = 12
STORY_LIMIT = 30
TOP_PLACES = 10  # countries and cities shown; Instagram itself gives only its top 45
AUDIENCE_METRICS = (
    ("follower_demographics", "Followers"),
    ("engaged_audience_demographics", "Engaged audience"),
)
BREAKDOWNS = (("age", "Age"), ("gender", "Gender"), ("country", "Country"), ("city", "City"))
GENDER_LABELS = {"F": "Women", "M": "Men", "U": "Not specified"}
STORY_METRIC_LABELS = {
    "views": "Views",
    "reach": "Reach",
    "replies": "Replies",
    "navigation": "Taps and swipes",
    "shares": "Shares",
    "total_interactions": "Interactions",
    "follows": "Follows",
    "profile_visits": "Profile visits",
}
NOT_READ_YET = "No audience figures have been read yet: refresh the account's stats."
# Meta sends -1 for a story figure under its privacy threshold: shown as this, never added up.
FEWER_THAN_FIVE = "<5"


@dataclass
class Series:
    """Daily values of one or more metrics over consecutive days; a missing day is None, not 0."""

    days: list
    values: dict  # metric -> {date: value}
    as_of: datetime.datetime | None = None


@dataclass
class AudienceBreakdown:
    """One demographic breakdown, or why Instagram gave none."""

    metric: str
    breakdown: str
    label: str
    items: list = field(default_factory=list)  # (label, value), in display order
    available: bool = False
    note: str | None = None
    fetched_at: datetime.datetime | None = None
    total_items: int = 0


@dataclass
class WithMetrics:
    """A media item or a story with its metrics by name, and when they were read."""

    row: object
    metrics: dict
    as_of: datetime.datetime | None


def latest_views(accounts):
    """Return {account id: its latest daily `views` AccountMetric} for these accounts, in one query."""
    ids = [getattr(account, "id", account) for account in accounts]
    if not ids:
        return {}
    return {row.account_id: row for row in _latest_views(ids=ids)}


@prepared
def _latest_views(ids):
    # On every view of a creator's Social Accounts tab: its SQL built once, the ids one value.
    views = (AccountMetric.metric == "views") & (AccountMetric.period == "day")
    newest = (
        AccountMetric.select(AccountMetric.account, fn.MAX(AccountMetric.end_time).alias("newest"))
        .where(views & OneOf(AccountMetric.account, ids))
        .group_by(AccountMetric.account)
        .alias("newest_views")
    )
    return (
        AccountMetric.select()
        .join(
            newest,
            on=(AccountMetric.account == newest.c.account_id) & (AccountMetric.end_time == newest.c.newest),
        )
        .where(views)
    )


def metric_day(end_time):
    """Return the day a daily metric covers: the Pacific date whose midnight is its end_time."""
    return day_of_end_time(end_time)


def _days(first, last):
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def daily_series(account, today, metrics=DAILY_METRICS, days=DAILY_DAYS):
    """Return the account's daily metrics for the `days` Meta days (Pacific dates) up to today."""
    first = today - datetime.timedelta(days=days - 1)
    return daily_series_of([account], first, today, metrics)[getattr(account, "id", account)]


def daily_series_of(accounts, first, last, metrics=DAILY_METRICS):
    """Return {account id: Series of the daily metrics from Meta day first to last}, in one query."""
    ids = [getattr(account, "id", account) for account in accounts]
    values = {account_id: {metric: {} for metric in metrics} for account_id in ids}
    as_of = dict.fromkeys(ids)
    m = AccountMetric
    # The database's own values, each distinct moment converted once: a report reads hundreds of
    # rows a page, and converting two datetimes a row cost more than the query.
    query = m.select(m.account, m.metric, m.end_time, m.value, m.fetched_at).where(
        m.account.in_(ids)
        & (m.period == "day")
        & m.metric.in_(metrics)
        & (m.end_time > day_start(first))
        & (m.end_time <= day_end(last))
        & m.value.is_null(False)
    )
    days_of, moments = {}, {}
    for account_id, metric, end_time, value, fetched_at in database.execute(query) if ids else ():
        day = days_of.get(end_time)
        if day is None:
            day = days_of[end_time] = metric_day(m.end_time.python_value(end_time))
        values[account_id][metric][day] = value
        moment = moments.get(fetched_at)
        if moment is None:
            moment = moments[fetched_at] = m.fetched_at.python_value(fetched_at)
        seen = as_of[account_id]
        as_of[account_id] = moment if seen is None else max(seen, moment)
    days = _days(first, last)
    return {account_id: Series(days, values[account_id], as_of[account_id]) for account_id in ids}


def followers_series(account, today, days=FOLLOWER_DAYS):
    """Return the follower counts read each day, from the first snapshot (at most `days` ago) to today."""
    since = today - datetime.timedelta(days=days - 1)
    rows = list(
        ProfileSnapshot.select()
        .where((ProfileSnapshot.account == account) & (ProfileSnapshot.taken_on >= since))
        .order_by(ProfileSnapshot.taken_on)
    )
    values = {row.taken_on: row.followers_count for row in rows if row.followers_count is not None}
    if not values:
        return Series([], {"followers": {}})
    as_of = max(row.fetched_at for row in rows)
    return Series(_days(min(values), max(today, max(values))), {"followers": values}, as_of)


def _audience_items(breakdown, data):
    pairs = [(str(key), value) for key, value in data.items() if isinstance(value, int | float)]
    if breakdown == "gender":
        return [(GENDER_LABELS.get(key, key), value) for key, value in sorted(pairs)]
    if breakdown == "age":
        return sorted(pairs)
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:TOP_PLACES]


def audience(account):
    """Return [(metric, label, [AudienceBreakdown])] for both demographics, available or not."""
    return audience_of([account])[getattr(account, "id", account)]


def audience_of(accounts):
    """Return {account id: audience groups, as audience() gives them} for many accounts, in one query."""
    ids = [getattr(account, "id", account) for account in accounts]
    stored = {account_id: {} for account_id in ids}
    for row in AudienceSnapshot.select().where(AudienceSnapshot.account.in_(ids)) if ids else ():
        stored[row.account_id][(row.metric, row.breakdown)] = row
    return {account_id: _audience_groups(rows) for account_id, rows in stored.items()}


def _audience_groups(stored):
    groups = []
    for metric, metric_label in AUDIENCE_METRICS:
        parts = []
        for breakdown, label in BREAKDOWNS:
            row = stored.get((metric, breakdown))
            if row is None:
                parts.append(AudienceBreakdown(metric, breakdown, label, note=NOT_READ_YET))
                continue
            data = json.loads(row.data or "{}") if row.available else {}
            items = _audience_items(breakdown, data)
            parts.append(
                AudienceBreakdown(
                    metric,
                    breakdown,
                    label,
                    items=items,
                    available=bool(items),
                    note=row.note,
                    fetched_at=row.fetched_at,
                    total_items=len(data),
                )
            )
        groups.append((metric, metric_label, parts))
    return groups


def _shown(metric):
    """Return a metric as the pages show it: its number, or "<5" under Meta's privacy threshold."""
    return FEWER_THAN_FIVE if getattr(metric, "under_threshold", False) else metric.value


def with_metrics(rows):
    result = []
    for row in rows:
        metrics = {metric.metric: _shown(metric) for metric in row.metrics}
        times = [metric.fetched_at for metric in row.metrics]
        result.append(WithMetrics(row, metrics, max(times) if times else row.fetched_at))
    return result


def recent_videos(account, limit=MEDIA_LIMIT):
    """Return the account's latest videos and reels with their metrics (two queries)."""
    videos = (Media.media_type == "VIDEO") | (Media.media_product_type == "REELS")
    rows = (
        Media.select()
        .where((Media.account == account) & videos)
        .order_by(Media.posted_at.desc(nulls="last"), Media.id.desc())
        .limit(limit)
    )
    return with_metrics(prefetch(rows, MediaMetric))


def stories(account, limit=STORY_LIMIT):
    """Return the account's captured stories, newest first, with their metrics (two queries)."""
    rows = (
        Story.select()
        .where(Story.account == account)
        .order_by(Story.posted_at.desc(nulls="last"), Story.id.desc())
        .limit(limit)
    )
    return with_metrics(prefetch(rows, StoryMetric))


@dataclass
class AccountFigures:
    """Everything the metrics page shows about one account."""

    followers: Series
    daily: Series
    videos: list
    audience: list
    stories: list
    story_metrics: tuple = tuple((name, STORY_METRIC_LABELS.get(name, name)) for name in STORY_METRICS)


def account_figures(account, today):
    """Return the figures of the account's metrics page (a few queries, none per item)."""
    return AccountFigures(
        followers=followers_series(account, today),
        daily=daily_series(account, today),
        videos=recent_videos(account),
        audience=audience(account),
        stories=stories(account),
    )


def story_of(account, story_id):
    """Return the account's story with this id, or None."""
    return Story.get_or_none((Story.id == story_id) & (Story.account == account))


def archived_path(story, archive):
    """Return the real path of a story's archived file if it is a file inside the archive, else None."""
    if not story.archived_file:
        return None
    root = os.path.realpath(archive)
    path = os.path.realpath(os.path.join(root, story.archived_file))
    if os.path.commonpath([root, path]) != root or not os.path.isfile(path):
        return None
    return path
