"""Story figures Meta delivers by webhook (story_insights), merged over what polling read. No Flask.

The delivery's signature is checked before this (portal.graph.signatures).
"""

from portal.db import database, utcnow
from portal.models import AccountStatus, SocialAccount, Story, StoryMetric

_BIGINT = 2**63
BELOW_THRESHOLD = -1  # what Meta sends for a value under its privacy threshold (reference §6.4)


def _numeric_values(value):
    return {
        name: number
        for name, number in value.items()
        if name != "media_id"
        and isinstance(number, int)
        and not isinstance(number, bool)
        and -_BIGINT < number < _BIGINT
        and len(name) <= 64
    }


def _row(number):
    """Return (value, under_threshold) to store: Meta's -1 means "fewer than 5", not a number."""
    return (None, True) if number == BELOW_THRESHOLD else (number, False)


def _merge_story_metrics(ig_user_id, value, now):
    """Store one story_insights change over what polling read; return 1 if a known story took it."""
    media_id = value.get("media_id")
    if not isinstance(media_id, str | int):
        return 0
    story = (
        Story.select(Story, SocialAccount)
        .join(SocialAccount)
        .where(Story.ig_media_id == str(media_id))
        .first()
    )
    if story is None or story.account.status == AccountStatus.REVOKED:
        return 0  # not ours, or its link was removed: we no longer process it
    if story.account.ig_user_id and ig_user_id and story.account.ig_user_id != ig_user_id:
        return 0
    with database.atomic():
        for metric, number in _numeric_values(value).items():
            stored, under = _row(number)
            StoryMetric.insert(
                story=story, metric=metric, value=stored, under_threshold=under, fetched_at=now
            ).on_conflict(
                conflict_target=[StoryMetric.story, StoryMetric.metric],
                update={
                    StoryMetric.value: stored,
                    StoryMetric.under_threshold: under,
                    StoryMetric.fetched_at: now,
                },
            ).execute()
    return 1


def record_story_insights(payload):
    """Merge every story_insights change of a delivery into StoryMetric; return how many stories took one."""
    if not isinstance(payload, dict) or payload.get("object") != "instagram":
        return 0
    now, stored = utcnow(), 0
    for entry in _dicts(payload.get("entry")):
        ig_user_id = str(entry.get("id") or "")
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") == "story_insights" and isinstance(value, dict):
                stored += _merge_story_metrics(ig_user_id, value, now)
    return stored


def _dicts(items):
    """Return the objects of a JSON list, skipping anything else (parse even Meta's deliveries warily)."""
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
