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

from portal.graph import GraphError
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
    ).where(SocialAccount.id == account.id).execute()


def write_days(account, answers, now):
    for key, answer in answers.items():
        if key[0] != account.id or key[1] != "day" or isinstance(answer, GraphError):
            continue
        end_time = key[2] + datetime.timedelta(days=1)
        for item in answer.get("data", []):
            value = metric_value(item)
            if value is None:
                continue
            AccountMetric.insert(
                account=account,
                metric=item["name"],
                period="day",
                end_time=end_time,
                value=value,
                fetched_at=now,
            ).on_conflict(
                conflict_target=[
                    AccountMetric.account,
                    AccountMetric.metric,
                    AccountMetric.period,
                    AccountMetric.end_time,
                ],
                update={AccountMetric.value: value, AccountMetric.fetched_at: now},
            ).execute()


def _audience_note(account, metric, answer, followers):
    if isinstance(answer, GraphError):
        return f"Instagram gave no audience figures: {answer.message}"
    if followers is not None and followers < 100:
        return NO_AUDIENCE_SMALL
    return NO_AUDIENCE_ENGAGED if metric == "engaged_audience_demographics" else NO_AUDIENCE


def write_audience(account, answers, now, followers):
    for key, answer in answers.items():
        if key[0] != account.id or key[1] != "audience":
            continue
        metric, breakdown = key[2], key[3]
        data = {} if isinstance(answer, GraphError) else _breakdown(answer, breakdown)
        note = None if data else _audience_note(account, metric, answer, followers)
        values = {"data": json.dumps(data), "available": bool(data), "note": note, "fetched_at": now}
        AudienceSnapshot.insert(
            account=account, metric=metric, breakdown=breakdown, timeframe="this_month", **values
        ).on_conflict(
            conflict_target=[
                AudienceSnapshot.account,
                AudienceSnapshot.metric,
                AudienceSnapshot.breakdown,
                AudienceSnapshot.timeframe,
            ],
            update={getattr(AudienceSnapshot, name): value for name, value in values.items()},
        ).execute()


def _upsert_metrics(model, owner_field, owner, answer, now):
    for item in answer.get("data", []) if isinstance(answer, dict) else []:
        value = metric_value(item)
        if value is None:
            continue
        model.insert(**{owner_field: owner}, metric=item["name"], value=value, fetched_at=now).on_conflict(
            conflict_target=[getattr(model, owner_field), model.metric],
            update={model.value: value, model.fetched_at: now},
        ).execute()


def write_media(account, answers, now):
    listing = answers.get((account.id, "media"))
    for item in listing.get("data", []) if isinstance(listing, dict) else []:
        fields = {
            "account": account,
            "media_type": item.get("media_type", ""),
            "media_product_type": item.get("media_product_type"),
            "caption": item.get("caption"),
            "permalink": item.get("permalink"),
            "thumbnail_url": item.get("thumbnail_url"),
            "posted_at": parse_time(item.get("timestamp")),
            "fetched_at": now,
        }
        Media.insert(ig_media_id=item["id"], **fields).on_conflict(
            conflict_target=[Media.ig_media_id],
            update={getattr(Media, name): value for name, value in fields.items() if name != "account"},
        ).execute()
        media = Media.get(Media.ig_media_id == item["id"])
        _upsert_metrics(
            MediaMetric, "media", media, answers.get((account.id, "media_insights", item["id"])), now
        )


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
        _upsert_metrics(StoryMetric, "story", story, insights, now)


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
