"""A creator's Instagram accounts, their statuses, and the Meta authorizations that link them."""

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField, fn

from portal.crypto import EncryptedTextField
from portal.db import UTCDateTimeField, database, utcnow
from portal.models.base import BaseModel
from portal.models.creators import Creator
from portal.prepared import OneOf, prepared


class MetaGrant(BaseModel):
    """One Facebook or Instagram authorization given on a creator's Link Accounts Page."""

    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"

    creator = ForeignKeyField(Creator, backref="grants", on_delete="CASCADE")
    provider = CharField()
    meta_user_id = CharField()  # the app-scoped Facebook user id, or the Instagram user id
    meta_user_name = CharField(null=True)
    user_token = EncryptedTextField(null=True)
    token_expires_at = UTCDateTimeField(null=True)
    # Indexed: every creators list view looks for the grants whose data access ends soon.
    data_access_expires_at = UTCDateTimeField(null=True, index=True)
    granted_scopes = TextField(default="")
    declined_scopes = TextField(default="")
    # What discovery found (JSON, with Page tokens), kept encrypted until the helper chooses.
    candidates = EncryptedTextField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    revoked_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "meta_grant"

    @classmethod
    def of_creator(cls, creator_id, grant_id):
        """Return the query for this creator's grant with this id (no row if it is another's)."""
        return cls.select().where((cls.id == grant_id) & (cls.creator == creator_id))

    def forget_token_if_unused(self):
        """Delete the user token once no linked account relies on this grant."""
        in_use = (
            SocialAccount.select()
            .where((SocialAccount.grant == self) & (SocialAccount.status == AccountStatus.LINKED))
            .exists()
        )
        if not in_use:
            MetaGrant.update(user_token=None, candidates=None, revoked_at=utcnow()).where(
                MetaGrant.id == self.id
            ).execute()


class AccountStatus:
    """The states of a social account (DESIGN.md §3)."""

    UNLINKED = "unlinked"
    LINKED = "linked"
    VERIFIED = "verified"
    LINK_BROKEN = "link_broken"
    REVOKED = "revoked"

    LABELS = {
        UNLINKED: "Not linked",
        LINKED: "Linked",
        VERIFIED: "Verified",
        LINK_BROKEN: "Link broken",
        REVOKED: "Revoked",
    }
    # The statuses that move a creator along the invitation funnel (portal/connections/funnel.py):
    # a helper came and linked or verified the account. Unlinked and revoked ones count for nothing.
    IN_FUNNEL = (LINK_BROKEN, LINKED, VERIFIED)


class DuplicateHandle(ValueError):
    """The creator already has an account with this username."""


class SocialAccount(BaseModel):
    """One Instagram account of one creator."""

    creator = ForeignKeyField(Creator, backref="social_accounts", on_delete="CASCADE")
    # Indexed, with ig_user_id: "who else lists this account" (one owner per account) looks an
    # account up across every creator on each Social Accounts tab and each login.
    username = CharField(index=True)
    kind = CharField(default="instagram")
    status = CharField(default=AccountStatus.UNLINKED)
    refresh_enabled = BooleanField(default=True)
    ig_user_id = CharField(null=True, index=True)
    linked_by_fb_user_id = CharField(null=True)
    linked_by_name = CharField(null=True)
    linked_at = UTCDateTimeField(null=True)
    page_id = CharField(null=True)
    page_name = CharField(null=True)
    last_refreshed_at = UTCDateTimeField(null=True)
    last_error = TextField(null=True)
    refresh_deferred_until = UTCDateTimeField(null=True)  # Meta asked us to slow down
    deferred_reason = TextField(null=True)  # who asked: this account's Instagram limit, or the app's
    # When Instagram first refused this account's own calls (permission or object gone); a refusal
    # on the next pass too marks the link broken, a success clears it.
    access_denied_since = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)  # when the link was removed; retention counts from it
    created_at = UTCDateTimeField(default=utcnow)
    grant = ForeignKeyField(MetaGrant, null=True, backref="accounts", on_delete="SET NULL")
    page_token = EncryptedTextField(null=True)
    granted_scopes = TextField(null=True)
    display_name = CharField(null=True)
    profile_picture_url = TextField(null=True)
    followers_count = IntegerField(null=True)
    media_count = IntegerField(null=True)
    # Instagram Login's app-scoped id for this account (its /me "id"); ig_user_id holds the account's
    # own id ("user_id"). Meta's callbacks may name either.
    instagram_login_id = CharField(null=True, index=True)
    # PORTAL_STORY_WEBHOOKS: when the Page was subscribed to the app's webhooks, or why it could not be.
    webhooks_subscribed_at = UTCDateTimeField(null=True)
    webhook_problem = TextField(null=True)
    # False for a handle the Link Accounts Page put on the list (an account a helper linked or verified
    # there, or tried to link though staff list it under another creator); staff's own listing wins.
    listed_by_staff = BooleanField(default=True)

    class Meta:
        table_name = "social_account"
        indexes = ((("creator", "username"), True),)

    @property
    def status_label(self):
        return AccountStatus.LABELS.get(self.status, self.status)

    @property
    def removable(self):
        """Staff may remove a handle only while no authorization hangs on it."""
        return self.status in (AccountStatus.UNLINKED, AccountStatus.REVOKED)

    @classmethod
    def refreshable(cls, now):
        """Return linked accounts with scheduled refresh on that Meta has not asked us to hold."""
        return cls.select().where(
            (cls.status == AccountStatus.LINKED)
            & (cls.refresh_enabled == True)  # noqa: E712  (peewee builds SQL from ==)
            & (cls.refresh_deferred_until.is_null() | (cls.refresh_deferred_until <= now))
        )

    @classmethod
    def revoked_before(cls, moment):
        """Return accounts whose link was removed before moment (their figures' retention is over)."""
        return cls.select().where((cls.status == AccountStatus.REVOKED) & (cls.revoked_at < moment))

    @classmethod
    def due_for_refresh(cls, now, interval):
        """Return refreshable accounts not refreshed within interval, oldest first."""
        return (
            cls.refreshable(now)
            .where(cls.last_refreshed_at.is_null() | (cls.last_refreshed_at <= now - interval))
            .order_by(cls.last_refreshed_at.asc(nulls="first"), cls.id)
        )

    @classmethod
    def add_handle(cls, creator, username):
        """Add an Instagram username to a creator, or raise DuplicateHandle."""
        with database.atomic():
            exists = cls.select().where((cls.creator == creator) & (cls.username == username)).exists()
            if exists:
                raise DuplicateHandle(f"@{username} is already listed for this creator.")
            return cls.create(creator=creator, username=username)

    @classmethod
    def of_creator(cls, creator_id, account_id):
        """Return the query for this creator's account with this id (no row if it is another's)."""
        return cls.select().where((cls.id == account_id) & (cls.creator == creator_id))

    @classmethod
    def losing_data_access(cls, before):
        """Return the linked accounts whose grant's data access ends before a moment, soonest first.

        Each comes with its grant and creator (one query): the creators list shows the creator's link.
        """
        return list(_losing_data_access(before=before))

    @classmethod
    def listed_by_others(cls, creator, usernames, ig_user_ids):
        """Return other creators' accounts, not revoked, with one of these usernames or Instagram ids.

        Each comes with its creator's id and name (one query, its SQL built once); ordered by that name.
        """
        values = {"creator": getattr(creator, "id", creator), "usernames": sorted(set(usernames))}
        ids = sorted({value for value in ig_user_ids if value})
        if ids:
            values["ig_user_ids"] = ids
        return list(_listed_by_others(bool(ids), **values))

    def set_refresh_enabled(self, enabled):
        """Switch scheduled refresh on or off, writing that column only (a refresh may be saving the rest)."""
        SocialAccount.update(refresh_enabled=enabled).where(SocialAccount.id == self.id).execute()
        self.refresh_enabled = enabled


@prepared
def _listed_by_others(by_ig_user_id, creator, usernames, ig_user_ids=None):
    # Asked on every view of a creator's Social Accounts tab, and in linking: its SQL built once a shape.
    match = OneOf(SocialAccount.username, usernames)
    if by_ig_user_id:
        match |= OneOf(SocialAccount.ig_user_id, ig_user_ids)
    return (
        SocialAccount.select(
            SocialAccount.id,
            SocialAccount.creator,
            SocialAccount.username,
            SocialAccount.ig_user_id,
            SocialAccount.status,
            Creator.id,
            Creator.name,
        )
        .join(Creator, on=(SocialAccount.creator == Creator.id))
        .where((SocialAccount.creator != creator) & (SocialAccount.status != AccountStatus.REVOKED) & match)
        .order_by(fn.LOWER(Creator.name), Creator.id, SocialAccount.username)
    )


@prepared
def _losing_data_access(before):
    # On each view of the creators list: only the columns it shows, and the SQL built once (building
    # that of three whole tables' columns cost 0.5 ms, more than running it).
    return (
        SocialAccount.select(
            SocialAccount.id,
            SocialAccount.username,
            MetaGrant.id,
            MetaGrant.data_access_expires_at,
            Creator.id,
            Creator.name,
            Creator.link_token,
            Creator.link_expires_at,
        )
        .join(MetaGrant, on=(SocialAccount.grant == MetaGrant.id))
        .switch(SocialAccount)
        .join(Creator, on=(SocialAccount.creator == Creator.id))
        .where(
            (SocialAccount.status == AccountStatus.LINKED)
            & MetaGrant.data_access_expires_at.is_null(False)
            & (MetaGrant.data_access_expires_at < before)
        )
        .order_by(MetaGrant.data_access_expires_at, fn.LOWER(Creator.name), SocialAccount.username)
    )


# The funnel's counts group a creator's accounts that are IN_FUNNEL (often a few of many): this partial
# index reads just those, with what the grouping needs, instead of every account. Its WHERE must stay
# the funnel's own, or the planner cannot use it.
SocialAccount.add_index(
    SocialAccount.index(
        SocialAccount.creator,
        SocialAccount.status,
        SocialAccount.grant,
        name="socialaccount_in_funnel",
        where=SocialAccount.status.in_(AccountStatus.IN_FUNNEL),
    )
)
