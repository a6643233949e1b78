"""Every stored figure of one account as CSV, for the metrics page's download. No Flask.

One row per figure: profile counts by day, daily account metrics, audience by dimension
value, media and story metrics. A figure Instagram did not give has an empty value and,
where known, a note saying why; it is never written as 0. A daily metric's `day` is Meta's
day (a date in America/Los_Angeles), its `end_time` the moment Meta says that day ends.
"""

import json

from peewee import prefetch

from portal import spreadsheet
from portal.graph.days import day_of_end_time
from portal.models import (
    AccountMetric,
    AudienceSnapshot,
    Media,
    MediaMetric,
    ProfileSnapshot,
    Story,
    StoryMetric,
)

COLUMNS = ("kind", "item", "metric", "breakdown", "period", "day", "end_time", "value", "fetched_at", "note")
UNDER_THRESHOLD = "fewer than 5 (Meta's privacy threshold)"


def _iso(moment):
    return moment.isoformat() if moment else ""


def _profile_rows(account):
    snapshots = ProfileSnapshot.select().where(ProfileSnapshot.account == account)
    for row in snapshots.order_by(ProfileSnapshot.taken_on):
        for name in ("followers_count", "follows_count", "media_count"):
            value = getattr(row, name)
            if value is not None:
                day = row.taken_on.isoformat()
                yield ("profile", "", name, "", "day", day, "", value, _iso(row.fetched_at), "")


def _daily_rows(account):
    metrics = AccountMetric.select().where(AccountMetric.account == account)
    for row in metrics.order_by(AccountMetric.end_time, AccountMetric.metric):
        day, end, fetched = (
            day_of_end_time(row.end_time).isoformat(),
            _iso(row.end_time),
            _iso(row.fetched_at),
        )
        yield ("daily", "", row.metric, "", row.period, day, end, row.value, fetched, "")


def _audience_rows(account):
    snapshots = AudienceSnapshot.select().where(AudienceSnapshot.account == account)
    for row in snapshots.order_by(AudienceSnapshot.metric, AudienceSnapshot.breakdown):
        data = json.loads(row.data or "{}") if row.available else {}
        fetched = _iso(row.fetched_at)
        if not data:
            yield (
                "audience",
                "",
                row.metric,
                row.breakdown,
                row.timeframe,
                "",
                "",
                "",
                fetched,
                row.note or "",
            )
        for key, value in sorted(data.items()):
            yield ("audience", key, row.metric, row.breakdown, row.timeframe, "", "", value, fetched, "")


def _item_rows(kind, items):
    for item in items:
        if not item.metrics:
            note = getattr(item, "insights_note", None) or ""
            yield (kind, item.ig_media_id, "", "", "lifetime", "", "", "", _iso(item.fetched_at), note)
        for metric in sorted(item.metrics, key=lambda m: m.metric):
            fetched = _iso(metric.fetched_at)
            value, note = metric.value, ""
            if getattr(metric, "under_threshold", False):
                value, note = "", UNDER_THRESHOLD  # never a number: it must not be added up
            yield (kind, item.ig_media_id, metric.metric, "", "lifetime", "", "", value, fetched, note)


def csv_rows(account):
    """Yield every stored figure of the account as COLUMNS rows (the header first)."""
    yield COLUMNS
    yield from _profile_rows(account)
    yield from _daily_rows(account)
    yield from _audience_rows(account)
    media = Media.select().where(Media.account == account).order_by(Media.id)
    yield from _item_rows("media", prefetch(media, MediaMetric))
    stories = Story.select().where(Story.account == account).order_by(Story.id)
    yield from _item_rows("story", prefetch(stories, StoryMetric))


def csv_text(account):
    """Return the account's figures as CSV text (third-party text neutralised, figures as numbers)."""
    return spreadsheet.csv_text(csv_rows(account))
