"""From Graph answers to rows: parsing and idempotent upserts. No Flask.

Every write is an upsert on the row's natural key, so refreshing twice changes
values, never the number of rows. A figure Instagram did not give is not stored:
the pages show "not available" rather than a 0 that was never measured.
"""

import datetime
import json
import logging
import os

import requests

from portal.db import database
from portal.graph import GraphError
from portal.graph.days import day_end
from portal.models import (
    AccountMetric,
    AudienceSnapshot,
    Media,
    MediaMetric,
    ProfileSnapshot,
    SocialAccount,
    Story,
    StoryMetric,
)

log = logging.getLogger(__name__)

NO_AUDIENCE_SMALL = "Instagram gives no audience figures for accounts with fewer than 100 followers."
NO_AUDIENCE_ENGAGED = (
    "Instagram gives no engaged-audience figures when too few people engaged with the account "
    "in the last 30 days."
)
NO_AUDIENCE = "Instagram gave no audience figures for this period (little or no recent activity)."
FEW_VIEWERS = "Too few people viewed this story for Instagram to report its figures."
DOWNLOAD_TIMEOUT = (3.05, 30)


def metric_value(item):
    """Return a metric's number from either answer shape (values[] or total_value), or None."""
    if isinstance(item.get("total_value"), dict) and "value" in item["total_value"]:
        return item["total_value"]["value"]
    values = item.get("values") or []
    return values[0].get("value") if values and isinstance(values[0].get("value"), int) else None


def parse_time(text):
    """Return the aware datetime of a Graph timestamp like 2026-11-27T12:00:00+0000, or None."""
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
    except (TypeError, ValueError):
        return None


def _breakdown(answer, breakdown):
    for item in answer.get("data", []) if isinstance(answer, dict) else []:
        for part in (item.get("total_value") or {}).get("breakdowns", []):
            keys = part.get("dimension_keys", [])
            if breakdown in keys:
                index = keys.index(breakdown)
                return {r["dimension_values"][index]: r.get("value") for r in part.get("results", [])}
    return {}


def write_profile(account, answer, now):
    """Store today's counts and the account's current ones."""
    ProfileSnapshot.insert(
        account=account,
        taken_on=now.date(),
        followers_count=answer.get("followers_count"),
        follows_count=answer.get("follows_count"),
        media_count=answer.get("media_count"),
        fetched_at=now,
    ).on_conflict(
        conflict_target=[ProfileSnapshot.account, ProfileSnapshot.taken_on],
        update={
            ProfileSnapshot.followers_count: answer.get("followers_count"),
            ProfileSnapshot.follows_count: answer.get("follows_count"),
            ProfileSnapshot.media_count: answer.get("media_count"),
            ProfileSnapshot.fetched_at: now,
        },
    ).execute()
    SocialAccount.update(
        followers_count=answer.get("followers_count"),
        media_count=answer.get("media_count"),
        display_name=answer.get("name"),
        profile_picture_url=answer.get("profile_picture_url"),
        last_refreshed_at=now,
        last_error=None,
        refresh_deferred_until=None,
        deferred_reason=None,
        access_denied_since=None,  # answered: an earlier refusal was a hiccup
    ).where(SocialAccount.id == account.id).execute()


def write_days(account, answers, now):
    rows = []
    for key, answer in answers.items():
        if key[0] != account.id or key[1] != "day" or isinstance(answer, GraphError):
            continue
        end_time = day_end(key[2])  # Meta's end_time for that Pacific day
        for item in answer.get("data", []):
            value = metric_value(item)
            if value is not None:
                rows.append(
                    {
                        "account": account.id,
                        "metric": item["name"],
                        "period": "day",
                        "end_time": end_time,
                        "value": value,
                        "fetched_at": now,
                    }
                )
    key = [AccountMetric.account, AccountMetric.metric, AccountMetric.period, AccountMetric.end_time]
    upsert(AccountMetric, rows, key, [AccountMetric.value, AccountMetric.fetched_at])


def _audience_note(account, metric, answer, followers):
    if isinstance(answer, GraphError):
        return f"Instagram gave no audience figures: {answer.message}"
    if followers is not None and followers < 100:
        return NO_AUDIENCE_SMALL
    return NO_AUDIENCE_ENGAGED if metric == "engaged_audience_demographics" else NO_AUDIENCE


def write_audience(account, answers, now, followers):
    rows = []
    for key, answer in answers.items():
        if key[0] != account.id or key[1] != "audience":
            continue
        metric, breakdown = key[2], key[3]
        data = {} if isinstance(answer, GraphError) else _breakdown(answer, breakdown)
        note = None if data else _audience_note(account, metric, answer, followers)
        rows.append(
            {
                "account": account.id,
                "metric": metric,
                "breakdown": breakdown,
                "timeframe": "this_month",
                "data": json.dumps(data),
                "available": bool(data),
                "note": note,
                "fetched_at": now,
            }
        )
    model = AudienceSnapshot
    key = [model.account, model.metric, model.breakdown, model.timeframe]
    upsert(model, rows, key, [model.data, model.available, model.note, model.fetched_at])


def upsert(model, rows, conflict_target, preserve):
    """Insert rows, or give rows already there the new values of `preserve`; all rows alike.

    A statement per row made writing a first refresh (about 280 rows an account) slower than
    fetching it, and peewee building one multi-row statement still cost more than the
    database's work: so the statement is written once and the rows go through executemany.
    """
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    values = ", ".join([database.obj.param] * len(fields))
    target = ", ".join(f'"{field.column_name}"' for field in conflict_target)
    update = ", ".join(f'"{f.column_name}" = EXCLUDED."{f.column_name}"' for f in preserve)
    sql = (
        f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({values}) '
        f"ON CONFLICT ({target}) DO UPDATE SET {update}"
    )
    params = [[field.db_value(row[field.name]) for field in fields] for row in rows]
    database.cursor().executemany(sql, params)


def _metric_rows(owner_field, owner_id, answer, now):
    rows = []
    for item in answer.get("data", []) if isinstance(answer, dict) else []:
        value = metric_value(item)
        if value is not None:
            rows.append({owner_field: owner_id, "metric": item["name"], "value": value, "fetched_at": now})
    return rows


def _upsert_metrics(model, owner_field, rows):
    upsert(model, rows, [getattr(model, owner_field), model.metric], [model.value, model.fetched_at])


def write_media(account, answers, now):
    listing = answers.get((account.id, "media"))
    items = listing.get("data", []) if isinstance(listing, dict) else []
    rows = [
        {
            "ig_media_id": item["id"],
            "account": account.id,
            "media_type": item.get("media_type", ""),
            "media_product_type": item.get("media_product_type"),
            "caption": item.get("caption"),
            "permalink": item.get("permalink"),
            "thumbnail_url": item.get("thumbnail_url"),
            "posted_at": parse_time(item.get("timestamp")),
            "fetched_at": now,
        }
        for item in items
    ]
    changing = (
        [getattr(Media, name) for name in rows[0] if name not in ("ig_media_id", "account")] if rows else []
    )
    upsert(Media, rows, [Media.ig_media_id], changing)
    ids = dict(
        Media.select(Media.ig_media_id, Media.id)
        .where(Media.ig_media_id.in_([row["ig_media_id"] for row in rows]))
        .tuples()
    )
    metrics = []
    for item in items:
        answer = answers.get((account.id, "media_insights", item["id"]))
        metrics += _metric_rows("media", ids[item["id"]], answer, now)
    _upsert_metrics(MediaMetric, "media", metrics)


def write_stories(account, answers, now, files):
    listing = answers.get((account.id, "stories"))
    for item in listing.get("data", []) if isinstance(listing, dict) else []:
        insights = answers.get((account.id, "story_insights", item["id"]))
        few_viewers = isinstance(insights, GraphError) and insights.code == 10
        fields = {
            "account": account,
            "media_type": item.get("media_type", ""),
            "permalink": item.get("permalink"),
            "posted_at": parse_time(item.get("timestamp")),
            "fetched_at": now,
        }
        update = {getattr(Story, n): v for n, v in fields.items() if n != "account"}
        if few_viewers:
            fields["insights_note"] = update[Story.insights_note] = FEW_VIEWERS
        if item["id"] in files:
            fields["archived_file"] = update[Story.archived_file] = files[item["id"]]
        Story.insert(ig_media_id=item["id"], **fields).on_conflict(
            conflict_target=[Story.ig_media_id], update=update
        ).execute()
        story = Story.get(Story.ig_media_id == item["id"])
        # A number read now replaces a webhook's "fewer than 5" for the same figure.
        polled = [{**row, "under_threshold": False} for row in _metric_rows("story", story.id, insights, now)]
        preserve = [StoryMetric.value, StoryMetric.under_threshold, StoryMetric.fetched_at]
        upsert(StoryMetric, polled, [StoryMetric.story, StoryMetric.metric], preserve)


def write(account, answers, now, files):
    """Write everything one account's answers hold (call inside a transaction)."""
    profile = answers.get((account.id, "profile"))
    write_profile(account, profile, now)
    write_days(account, answers, now)
    write_audience(account, answers, now, profile.get("followers_count"))
    write_media(account, answers, now)
    write_stories(account, answers, now, files)


def archive_stories(account, answers, folder):
    """Download each live story's image or video not archived yet; return {story id: path}."""
    listing = answers.get((account.id, "stories"))
    saved = {}
    for item in listing.get("data", []) if isinstance(listing, dict) else []:
        url = item.get("media_url")
        known = Story.get_or_none(Story.ig_media_id == item["id"])
        if not url or (known and known.archived_file):
            continue
        extension = "mp4" if item.get("media_type") == "VIDEO" else "jpg"
        path = os.path.join(folder, str(account.id), f"{item['id']}.{extension}")
        try:
            response = requests.get(url, timeout=DOWNLOAD_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as error:
            log.warning("Could not archive story %s: %s", item["id"], type(error).__name__)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(response.content)
        saved[item["id"]] = path
    return saved
