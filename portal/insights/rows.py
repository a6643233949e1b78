"""From Graph answers to rows: parsing and idempotent upserts. No Flask.

Every write is an upsert on the row's natural key, so refreshing twice changes
values, never the number of rows. A figure Instagram did not give is not stored:
the pages show "not available" rather than a 0 that was never measured.
"""

import datetime
import json
import logging
import os
from typing import NamedTuple

import requests

from portal.db import database, is_sqlite
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
from portal.prepared import OneOf

log = logging.getLogger(__name__)

NO_AUDIENCE_SMALL = "Instagram gives no audience figures for accounts with fewer than 100 followers."
NO_AUDIENCE_ENGAGED = (
    "Instagram gives no engaged-audience figures when too few people engaged with the account "
    "in the last 30 days."
)
NO_AUDIENCE = "Instagram gave no audience figures for this period (little or no recent activity)."
FEW_VIEWERS = "Too few people viewed this story for Instagram to report its figures."
DOWNLOAD_TIMEOUT = (3.05, 30)
# Values a multi-row statement carries at most: PostgreSQL allows 65,535, SQLite 32,766.
PARAMETERS = 10_000


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


class Answered(NamedTuple):
    """One account's answers, unpacked (plan.unpack), and the story files archived for it."""

    account: SocialAccount
    answers: dict
    files: dict


def write_profiles(chunk, now):
    """Store today's counts and each account's current ones."""
    profiles = [(item.account, item.answers.get((item.account.id, "profile"))) for item in chunk]
    rows = [
        {
            "account": account.id,
            "taken_on": now.date(),
            "followers_count": answer.get("followers_count"),
            "follows_count": answer.get("follows_count"),
            "media_count": answer.get("media_count"),
            "fetched_at": now,
        }
        for account, answer in profiles
    ]
    model = ProfileSnapshot
    preserve = [model.followers_count, model.follows_count, model.media_count, model.fetched_at]
    upsert(model, rows, [model.account, model.taken_on], preserve)
    current = [
        {
            "id": account.id,
            "followers_count": answer.get("followers_count"),
            "media_count": answer.get("media_count"),
            "display_name": answer.get("name"),
            "profile_picture_url": answer.get("profile_picture_url"),
            "last_refreshed_at": now,
            "last_error": None,
            "refresh_deferred_until": None,
            "deferred_reason": None,
            "access_denied_since": None,  # answered: an earlier refusal was a hiccup
        }
        for account, answer in profiles
    ]
    # Only these columns: a switch staff flipped meanwhile (internal only, unlinking) is kept.
    update_each(SocialAccount, current)


def _day_rows(account, answers, now):
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
    return rows


def write_days(chunk, now):
    rows = [row for item in chunk for row in _day_rows(item.account, item.answers, now)]
    key = [AccountMetric.account, AccountMetric.metric, AccountMetric.period, AccountMetric.end_time]
    upsert(AccountMetric, rows, key, [AccountMetric.value, AccountMetric.fetched_at])


def _audience_note(account, metric, answer, followers):
    if isinstance(answer, GraphError):
        return f"Instagram gave no audience figures: {answer.message}"
    if followers is not None and followers < 100:
        return NO_AUDIENCE_SMALL
    return NO_AUDIENCE_ENGAGED if metric == "engaged_audience_demographics" else NO_AUDIENCE


def _audience_rows(account, answers, now):
    rows, followers = [], answers[(account.id, "profile")].get("followers_count")
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
    return rows


def write_audience(chunk, now):
    rows = [row for item in chunk for row in _audience_rows(item.account, item.answers, now)]
    model = AudienceSnapshot
    key = [model.account, model.metric, model.breakdown, model.timeframe]
    upsert(model, rows, key, [model.data, model.available, model.note, model.fetched_at])


def upsert(model, rows, conflict_target, preserve, fill=(), returning=()):
    """Insert rows, or give rows already there the new values of `preserve`; all rows alike.

    `fill` columns take a new value only where the row has one (None keeps what is stored).
    A statement per row cost PostgreSQL a round trip each (about 120 an account), so rows go in
    statements of at most PARAMETERS values. PostgreSQL refuses a statement that updates one row
    twice, so a key given twice is written once, with its last row's values. The SQL is written
    here rather than by peewee: building it per row cost more than the database's work.
    `returning` fields: the list of their values in each row written (inserted or updated).
    """
    if not rows:
        return []
    names = [field.name for field in conflict_target]
    rows = list({tuple(row[name] for name in names): row for row in rows}.values())
    fields = [model._meta.fields[name] for name in rows[0]]
    table = model._meta.table_name
    target = ", ".join(f'"{field.column_name}"' for field in conflict_target)
    update = [f'"{f.column_name}" = EXCLUDED."{f.column_name}"' for f in preserve]
    update += [
        f'"{f.column_name}" = COALESCE(EXCLUDED."{f.column_name}", "{table}"."{f.column_name}")' for f in fill
    ]
    conflict = f"ON CONFLICT ({target}) DO UPDATE SET {', '.join(update)}"
    if returning:
        conflict += " RETURNING " + ", ".join(f'"{field.column_name}"' for field in returning)
    per_statement = max(1, PARAMETERS // len(fields))
    written = []
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        values, params = _values(fields, part) if is_sqlite() else _arrays(fields, part)
        columns = ", ".join(f'"{field.column_name}"' for field in fields)
        cursor = database.execute_sql(f'INSERT INTO "{table}" ({columns}) {values} {conflict}', params)
        if returning:
            written += cursor.fetchall()
    return written


def update_each(model, rows):
    """Give each row's id its own new values of the other columns the rows name: one statement.

    Each row is a dict naming "id" first, then the columns to change (the same ones in every row).
    A single-row UPDATE an account cost the refresh a statement each (50 a chunk).
    """
    if not rows:
        return
    assert next(iter(rows[0])) == "id", "update_each matches rows by their id, named first"
    fields = [model._meta.fields[name] for name in rows[0]]
    table, names = model._meta.table_name, [f'"{field.column_name}"' for field in fields]
    changed = ", ".join(f'{name} = "given".{name}' for name in names[1:])
    per_statement = max(1, PARAMETERS // len(fields))
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        values, params = _values(fields, part) if is_sqlite() else _arrays(fields, part)
        database.execute_sql(
            f'WITH "given" ({", ".join(names)}) AS ({values}) '
            f'UPDATE "{table}" SET {changed} FROM "given" WHERE "{table}"."id" = "given"."id"',
            params,
        )


def _values(fields, rows):
    """Return a VALUES list of these rows and its parameters, one a value."""
    one_row = "(" + ", ".join(["?"] * len(fields)) + ")"
    params = [field.db_value(row[field.name]) for row in rows for field in fields]
    return f"VALUES {', '.join([one_row] * len(rows))}", params


def _arrays(fields, rows):
    """Return PostgreSQL's SELECT of these rows from one array a column, and the arrays.

    A VALUES list of thousands of placeholders cost psycopg more time parsing it than PostgreSQL
    took to write the rows; the same short statement each time is parsed once and prepared.
    """
    types = database.obj.get_context_options()["field_types"]
    # A row's own id is an integer column: SERIAL is no type an array can be cast to.
    kind = {"AUTO": "INT", "BIGAUTO": "BIGINT"}
    arrays = ", ".join(f"%s::{types[kind.get(field.field_type, field.field_type)]}[]" for field in fields)
    params = [[field.db_value(row[field.name]) for row in rows] for field in fields]
    return f"SELECT * FROM unnest({arrays})", params


def _metric_rows(owner_field, owner_id, answer, now):
    rows = []
    for item in answer.get("data", []) if isinstance(answer, dict) else []:
        value = metric_value(item)
        if value is not None:
            rows.append({owner_field: owner_id, "metric": item["name"], "value": value, "fetched_at": now})
    return rows


def _listed(item, edge):
    listing = item.answers.get((item.account.id, edge))
    return listing.get("data", []) if isinstance(listing, dict) else []


def write_media(chunk, now):
    rows = [
        {
            "ig_media_id": media["id"],
            "account": item.account.id,
            "media_type": media.get("media_type", ""),
            "media_product_type": media.get("media_product_type"),
            "caption": media.get("caption"),
            "permalink": media.get("permalink"),
            "thumbnail_url": media.get("thumbnail_url"),
            "posted_at": parse_time(media.get("timestamp")),
            "fetched_at": now,
        }
        for item in chunk
        for media in _listed(item, "media")
    ]
    changing = (
        [getattr(Media, name) for name in rows[0] if name not in ("ig_media_id", "account")] if rows else []
    )
    # Each media's row id, from the upsert itself: looking them up again cost PostgreSQL 20 ms a chunk.
    ids = dict(upsert(Media, rows, [Media.ig_media_id], changing, returning=[Media.ig_media_id, Media.id]))
    metrics = []
    for item in chunk:
        for media in _listed(item, "media"):
            answer = item.answers.get((item.account.id, "media_insights", media["id"]))
            metrics += _metric_rows("media", ids[media["id"]], answer, now)
    upsert(
        MediaMetric,
        metrics,
        [MediaMetric.media, MediaMetric.metric],
        [MediaMetric.value, MediaMetric.fetched_at],
    )


def write_stories(chunk, now):
    rows = []
    for item in chunk:
        for story in _listed(item, "stories"):
            insights = item.answers.get((item.account.id, "story_insights", story["id"]))
            few_viewers = isinstance(insights, GraphError) and insights.code == 10
            rows.append(
                {
                    "ig_media_id": story["id"],
                    "account": item.account.id,
                    "media_type": story.get("media_type", ""),
                    "permalink": story.get("permalink"),
                    "posted_at": parse_time(story.get("timestamp")),
                    "fetched_at": now,
                    # None keeps what is stored: a note or a file once set stays.
                    "insights_note": FEW_VIEWERS if few_viewers else None,
                    "archived_file": item.files.get(story["id"]),
                }
            )
    preserve = [Story.media_type, Story.permalink, Story.posted_at, Story.fetched_at]
    fill = [Story.insights_note, Story.archived_file]
    ids = dict(
        upsert(Story, rows, [Story.ig_media_id], preserve, fill=fill, returning=[Story.ig_media_id, Story.id])
    )
    polled = []
    for item in chunk:
        for story in _listed(item, "stories"):
            insights = item.answers.get((item.account.id, "story_insights", story["id"]))
            # A number read now replaces a webhook's "fewer than 5" for the same figure.
            polled += [
                {**row, "under_threshold": False}
                for row in _metric_rows("story", ids[story["id"]], insights, now)
            ]
    preserve = [StoryMetric.value, StoryMetric.under_threshold, StoryMetric.fetched_at]
    upsert(StoryMetric, polled, [StoryMetric.story, StoryMetric.metric], preserve)


def write(chunk, now):
    """Write everything these accounts' answers hold (a list of Answered; call inside a transaction)."""
    write_profiles(chunk, now)
    write_days(chunk, now)
    write_audience(chunk, now)
    write_media(chunk, now)
    write_stories(chunk, now)


def archive_stories(chunk, folder):
    """Download each live story's image or video not archived yet; return the chunk with its files.

    Which stories have a file already is read once for the whole chunk: a query a story cost the
    next refresh 2 ms each (two live stories an account). One account's failure to save a file
    leaves its stories unarchived until the next pass; its figures are written all the same.
    Without a folder (no STORY_ARCHIVE), nothing is archived.
    """
    if not folder:
        return chunk
    listed = {item.account.id: _listed(item, "stories") for item in chunk}
    ids = sorted({story["id"] for stories in listed.values() for story in stories})
    query = Story.select(Story.ig_media_id).where(
        OneOf(Story.ig_media_id, ids) & Story.archived_file.is_null(False)
    )
    archived = {ig_media_id for (ig_media_id,) in query.tuples()} if ids else set()
    done = []
    for item in chunk:
        wanted = [s for s in listed[item.account.id] if s.get("media_url") and s["id"] not in archived]
        try:
            files = _download(item.account, wanted, folder)
        except OSError:
            log.exception("Could not archive the stories of account %s", item.account.id)
            files = {}
        done.append(item._replace(files=files))
    return done


def _download(account, stories, folder):
    """Save each story's file under folder/<account id>/; return {story id: path} of those saved."""
    saved = {}
    for item in stories:
        extension = "mp4" if item.get("media_type") == "VIDEO" else "jpg"
        path = os.path.join(folder, str(account.id), f"{item['id']}.{extension}")
        try:
            response = requests.get(item["media_url"], timeout=DOWNLOAD_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as error:
            log.warning("Could not archive story %s: %s", item["id"], type(error).__name__)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(response.content)
        saved[item["id"]] = path
    return saved
