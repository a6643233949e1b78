"""Tables of the figures read from Instagram: each row is upserted, never duplicated."""

from peewee import BigIntegerField, BooleanField, CharField, DateField, ForeignKeyField, TextField

from portal.db import UTCDateTimeField, utcnow
from portal.models.accounts import SocialAccount
from portal.models.base import BaseModel
from portal.models.campaigns import RecentFigures


class ProfileSnapshot(BaseModel):
    """An account's counts as read on one day (followers over time)."""

    account = ForeignKeyField(SocialAccount, backref="profile_snapshots", on_delete="CASCADE")
    taken_on = DateField()
    followers_count = BigIntegerField(null=True)
    follows_count = BigIntegerField(null=True)
    media_count = BigIntegerField(null=True)
    fetched_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "profile_snapshot"
        indexes = ((("account", "taken_on"), True),)


class AccountMetric(BaseModel):
    """One account-level metric for one day (metric_type=total_value, period=day)."""

    account = ForeignKeyField(SocialAccount, backref="account_metrics", on_delete="CASCADE")
    metric = CharField()
    period = CharField(default="day")
    end_time = UTCDateTimeField()  # the end of the day the value covers
    value = BigIntegerField(null=True)
    fetched_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "account_metric"
        indexes = ((("account", "metric", "period", "end_time"), True),)


class AudienceSnapshot(BaseModel):
    """The latest demographic breakdown of one kind; `available` is False when Instagram gives none."""

    account = ForeignKeyField(SocialAccount, backref="audience", on_delete="CASCADE")
    metric = CharField()  # follower_demographics | engaged_audience_demographics
    breakdown = CharField()  # age | gender | country | city
    timeframe = CharField(default="this_month")
    data = TextField(default="{}")  # JSON: {dimension value: count}
    available = BooleanField(default=True)
    note = TextField(null=True)  # why Instagram gave nothing, in plain words
    fetched_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "audience_snapshot"
        indexes = ((("account", "metric", "breakdown", "timeframe"), True),)


class Media(BaseModel):
    """A recent post, video or reel of an account."""

    account = ForeignKeyField(SocialAccount, backref="media", on_delete="CASCADE")
    ig_media_id = CharField(unique=True)
    media_type = CharField()  # IMAGE | VIDEO | CAROUSEL_ALBUM
    media_product_type = CharField(null=True)  # FEED | REELS | STORY | AD
    caption = TextField(null=True)
    permalink = TextField(null=True)
    thumbnail_url = TextField(null=True)
    posted_at = UTCDateTimeField(null=True)
    fetched_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "media"


class MediaMetric(BaseModel):
    """One lifetime metric of one media item (views, reach, shares, saved, watch time...)."""

    media = ForeignKeyField(Media, backref="metrics", on_delete="CASCADE")
    metric = CharField()
    value = BigIntegerField(null=True)
    fetched_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "media_metric"
        indexes = ((("media", "metric"), True),)


class Story(BaseModel):
    """A story captured while it was live, with its archived image or video."""

    account = ForeignKeyField(SocialAccount, backref="stories", on_delete="CASCADE")
    ig_media_id = CharField(unique=True)
    media_type = CharField()
    permalink = TextField(null=True)
    posted_at = UTCDateTimeField(null=True)
    archived_file = TextField(null=True)  # path under PORTAL_STORY_ARCHIVE, once downloaded
    insights_note = TextField(null=True)  # e.g. too few viewers for Instagram to report
    fetched_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "story"


class StoryMetric(BaseModel):
    """One metric of one story, as last read while it was live (or sent by the webhook)."""

    story = ForeignKeyField(Story, backref="metrics", on_delete="CASCADE")
    metric = CharField()
    value = BigIntegerField(null=True)
    # Meta sends -1 for a value under its privacy threshold: "fewer than 5", never a number to add up.
    under_threshold = BooleanField(default=False)
    fetched_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "story_metric"
        indexes = ((("story", "metric"), True),)


INSIGHT_MODELS = [ProfileSnapshot, AccountMetric, AudienceSnapshot, Media, MediaMetric, Story, StoryMetric]


def delete_figures(account):
    """Delete every figure stored for an account; return the archived story files to remove."""
    files = [
        path
        for (path,) in Story.select(Story.archived_file)
        .where((Story.account == account) & Story.archived_file.is_null(False))
        .tuples()
    ]
    media = Media.select(Media.id).where(Media.account == account)
    stories = Story.select(Story.id).where(Story.account == account)
    # Explicit deletes, children first: SQLite only cascades with foreign keys on, and it is cheap.
    MediaMetric.delete().where(MediaMetric.media.in_(media)).execute()
    StoryMetric.delete().where(StoryMetric.story.in_(stories)).execute()
    for model in (Media, Story, ProfileSnapshot, AccountMetric, AudienceSnapshot):
        model.delete().where(model.account == account).execute()
    RecentFigures.delete().where(RecentFigures.account == account).execute()  # the overview's sums
    return files


def has_figures(account):
    """Tell whether any figure is stored for an account."""
    return any(
        model.select().where(model.account == account).exists()
        for model in (ProfileSnapshot, AccountMetric, AudienceSnapshot, Media, Story)
    )
