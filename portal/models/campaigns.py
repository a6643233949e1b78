"""Campaigns: a client's brief, the creators on it, the dates its figures cover, and report links."""

import datetime
import secrets

from peewee import JOIN, BigIntegerField, CharField, DateField, DoubleField, ForeignKeyField, IntegerField, fn

from portal.db import UTCDateTimeField, utcnow
from portal.models.accounts import SocialAccount
from portal.models.base import BaseModel
from portal.models.creators import Creator, hash_link_token
from portal.prepared import prepared


class Campaign(BaseModel):
    """A piece of work for a client; its pages show its creators' figures over its dates."""

    name = CharField()
    client = CharField()
    starts_on = DateField(null=True)  # Meta days (Pacific dates), both ends included
    ends_on = DateField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "campaign"

    @classmethod
    def listing(cls):
        """Return every campaign with its number of creators (.creator_count), newest first: one query."""
        return (
            cls.select(cls, fn.COUNT(CampaignCreator.id).alias("creator_count"))
            .join(CampaignCreator, JOIN.LEFT_OUTER, on=(CampaignCreator.campaign == cls.id))
            .group_by(cls.id)
            .order_by(cls.created_at.desc(), cls.id.desc())
        )

    @classmethod
    def choices(cls):
        """Return every campaign's id, name and client, by name: what a campaign picker lists."""
        return cls.select(cls.id, cls.name, cls.client).order_by(fn.LOWER(cls.name), cls.id)

    @classmethod
    def choice_list(cls):
        """Return the list of every campaign's choices(): the creators list and the overview offer them."""
        return list(_every_choice())

    @classmethod
    def of_creator(cls, creator_id):
        """Return the campaigns a creator is on, by name."""
        members = CampaignCreator.select(CampaignCreator.campaign).where(
            CampaignCreator.creator == creator_id
        )
        return cls.choices().where(cls.id.in_(members))

    def add_creators(self, creator_ids):
        """Add these creators (ids) to the campaign; return how many were not in it already."""
        wanted = set(creator_ids)
        if not wanted:
            return 0
        existing = Creator.select(Creator.id).where(Creator.id.in_(sorted(wanted)))
        present = CampaignCreator.select(CampaignCreator.creator).where(CampaignCreator.campaign == self)
        new = [c.id for c in existing.where(Creator.id.not_in(present))]
        if new:
            CampaignCreator.insert_many([{"campaign": self.id, "creator": c} for c in new]).execute()
        return len(new)

    def remove_creator(self, creator_id):
        """Take a creator off the campaign; return whether it was on it."""
        query = CampaignCreator.delete().where(
            (CampaignCreator.campaign == self) & (CampaignCreator.creator == creator_id)
        )
        return query.execute() > 0


@prepared
def _every_choice():
    # Its SQL is built once (portal/prepared.py): building it cost more than running it, on each view.
    return Campaign.choices()


class CampaignCreator(BaseModel):
    """A creator working on a campaign."""

    campaign = ForeignKeyField(Campaign, backref="members", on_delete="CASCADE")
    creator = ForeignKeyField(Creator, backref="campaign_memberships", on_delete="CASCADE", index=True)
    added_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "campaign_creator"
        indexes = ((("campaign", "creator"), True),)


class ReportLink(BaseModel):
    """A client's read-only report of a campaign (or of one creator): /r/<token>, no sign-in.

    Only the token's SHA-256 is kept, as for link tokens: staff see the address once, when they
    make it. It stops working at expires_at, or at once when revoked.
    """

    campaign = ForeignKeyField(Campaign, null=True, backref="report_links", on_delete="CASCADE")
    creator = ForeignKeyField(Creator, null=True, backref="report_links", on_delete="CASCADE")
    token_hash = CharField(unique=True)
    label = CharField()  # whom it is for, in staff's words ("Northwind marketing team")
    created_by = CharField()
    created_at = UTCDateTimeField(default=utcnow)
    expires_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)
    last_opened_at = UTCDateTimeField(null=True)
    opened_count = IntegerField(default=0)

    class Meta:
        table_name = "report_link"

    @classmethod
    def issue(cls, label, actor, now, days=None, campaign=None, creator=None):
        """Make a report link; return (the row, the raw token, shown to staff this once)."""
        token = secrets.token_urlsafe(32)
        expires = now + datetime.timedelta(days=days) if days else None
        row = cls.create(
            campaign=campaign,
            creator=creator,
            token_hash=hash_link_token(token),
            label=label,
            created_by=actor,
            created_at=now,
            expires_at=expires,
        )
        return row, token

    @classmethod
    def find(cls, token, now):
        """Return the working report link for this token, or None (unknown, revoked or expired)."""
        if not token or len(token) > 200:
            return None
        # Its campaign read along: the opening's ledger entry names it, and a report shows it.
        link = (
            cls.select(cls, Campaign)
            .join(Campaign, JOIN.LEFT_OUTER, on=(cls.campaign == Campaign.id))
            .where(cls.token_hash == hash_link_token(token))
            .first()
        )
        return link if link is not None and link.working(now) else None

    def count_opening(self, now):
        """Note that the client opened the report (staff see when it was last opened, and how often)."""
        ReportLink.update(last_opened_at=now, opened_count=ReportLink.opened_count + 1).where(
            ReportLink.id == self.id
        ).execute()

    def working(self, now):
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    @classmethod
    def of_campaign(cls, campaign):
        """The campaign's report links, newest first."""
        return list(_report_links_of("campaign", owner=campaign.id))

    @classmethod
    def of_creator(cls, creator):
        """The creator's own report links, newest first."""
        return list(_report_links_of("creator", owner=creator.id))


@prepared
def _report_links_of(owner_column, owner):
    # Listed on every view of a campaign page and a creator's Overview: its SQL is built once.
    column = getattr(ReportLink, owner_column)
    return (
        ReportLink.select()
        .where(column == owner)
        .order_by(ReportLink.created_at.desc(), ReportLink.id.desc())
    )


CAMPAIGN_MODELS = [Campaign, CampaignCreator, ReportLink]


class RecentFigures(BaseModel):
    """An account's roster figures over the recent span (the last 30 Meta days), added up ahead.

    The overview, and every campaign or report without dates of its own, would otherwise add up
    30 days of every account on each view. portal/campaigns/recent.py keeps these rows: the refresh
    rewrites an account's row with its figures, and the scheduler rebuilds them all when the Meta
    day turns. They hold only what the roster would compute from the stored figures.
    """

    # Each figure indexed: a roster sorted by one reads its first rows from that index (roster.py).
    account = ForeignKeyField(SocialAccount, primary_key=True, on_delete="CASCADE", backref="recent_figures")
    followers = BigIntegerField(null=True, index=True)
    followers_change = BigIntegerField(null=True, index=True)
    views = BigIntegerField(null=True, index=True)
    reach = BigIntegerField(null=True, index=True)
    accounts_engaged = BigIntegerField(null=True, index=True)
    interactions = BigIntegerField(null=True, index=True)
    reels_views = BigIntegerField(null=True, index=True)
    reels_watch = DoubleField(null=True, index=True)
    stories = IntegerField(null=True, index=True)

    class Meta:
        table_name = "recent_figures"


class RecentSpan(BaseModel):
    """The one span RecentFigures covers (a single row): the roster uses them only for that span."""

    first_day = DateField()
    last_day = DateField()
    built_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "recent_span"


ROLLUP_MODELS = [RecentFigures, RecentSpan]
