"""The portal's tables, and the queries the views and services use, as named methods."""

import functools
import hashlib
import math
import secrets
from dataclasses import dataclass

from peewee import (
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    fn,
    prefetch,
)
from werkzeug.security import check_password_hash, generate_password_hash

from portal.crypto import EncryptedTextField
from portal.db import UTCDateTimeField, database, utcnow
from portal.invitation import DEFAULT_BODY, DEFAULT_SUBJECT


@functools.cache
def _dummy_hash(method):
    """Return a hash of no one's password made with method, for checks on unknown emails."""
    return generate_password_hash("not a real password", method=method)


class BaseModel(Model):
    class Meta:
        database = database


class Staff(BaseModel):
    """An agency employee who signs in to the portal."""

    email = CharField(unique=True)
    password_hash = CharField()
    is_admin = BooleanField(default=False)
    # Part of the session's user id: bumping it ends every session signed in before.
    session_version = IntegerField(default=1)
    created_at = UTCDateTimeField(default=utcnow)
    last_login_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "staff"

    @classmethod
    def register(cls, email, password, *, is_admin=False, method):
        """Create a staff member with a hashed password, or raise ValueError if taken."""
        email = email.strip().lower()
        if cls.by_email(email):
            raise ValueError(f"A staff account for {email} already exists.")
        return cls.create(
            email=email,
            password_hash=generate_password_hash(password, method=method),
            is_admin=is_admin,
        )

    @classmethod
    def authenticate(cls, email, password, *, method):
        """Return the staff member if the password is right, else None, in similar time.

        method is the configured hash method: a missing account is checked against a hash
        made with it, so it answers no faster than a wrong password.
        """
        staff = cls.by_email(email)
        if staff is None:
            check_password_hash(_dummy_hash(method), password)
            return None
        return staff if check_password_hash(staff.password_hash, password) else None

    @classmethod
    def by_email(cls, email):
        """Return the staff member with this email (any case), or None."""
        return cls.get_or_none(cls.email == email.strip().lower())

    @classmethod
    def ordered(cls):
        """Return every staff member, by email."""
        return cls.select().order_by(cls.email)

    # Flask-Login's user protocol, kept here so views stay thin.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    @classmethod
    def from_session_id(cls, user_id):
        """Return the staff member a session id names, if that session is still current."""
        staff_id, _, version = str(user_id).partition(":")
        if not (staff_id.isdigit() and version.isdigit()):
            return None
        return cls.get_or_none((cls.id == int(staff_id)) & (cls.session_version == int(version)))

    def end_sessions(self):
        """Make every session cookie issued to this staff member worthless."""
        Staff.update(session_version=Staff.session_version + 1).where(Staff.id == self.id).execute()


def hash_link_token(token):
    """Return the SHA-256 hex digest under which a link token is looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Page:
    """One page of a listing, with what the pager needs."""

    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.number < self.pages


class Creator(BaseModel):
    """A creator whose Instagram accounts the agency wants to follow."""

    name = CharField()
    email = CharField(null=True)
    # Only the digest is used to find a creator from a link. The token itself is
    # kept encrypted so staff can copy the same link again; it is never stored plain.
    link_token_hash = CharField(unique=True, null=True)
    link_token = EncryptedTextField(null=True)
    link_created_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "creator"

    def issue_link_token(self):
        """Give this creator a new link token, replacing any old one, and return it."""
        token = secrets.token_urlsafe(32)
        self.link_token_hash = hash_link_token(token)
        self.link_token = token
        self.link_created_at = utcnow()
        self.save()
        return token

    @classmethod
    def by_link_token(cls, token):
        """Return the creator whose current link token this is, or None."""
        if not token or len(token) > 200:
            return None
        return cls.get_or_none(cls.link_token_hash == hash_link_token(token))

    @classmethod
    def search(cls, query="", page=1, per_page=20):
        """Return one Page of creators whose name or Instagram handle contains query.

        Only what the list shows is read (no encrypted link token or Page token to decrypt per row).
        """
        selection = cls.select(cls.id, cls.name, cls.email)
        text = (query or "").strip().lower().lstrip("@")
        if text:
            pattern = f"%{text}%"
            handles = SocialAccount.select(SocialAccount.creator).where(SocialAccount.username**pattern)
            selection = selection.where((fn.LOWER(cls.name) ** pattern) | cls.id.in_(handles))
        total = selection.count()
        rows = selection.order_by(fn.LOWER(cls.name), cls.id).paginate(page, per_page)
        shown = SocialAccount.select(SocialAccount.id, SocialAccount.creator, SocialAccount.username)
        items = prefetch(rows, shown.order_by(SocialAccount.username))
        return Page(items=items, number=page, per_page=per_page, total=total)

    def accounts(self):
        """Return this creator's social accounts, by username."""
        return self.social_accounts.order_by(SocialAccount.username)


# The creators list pages through creators ordered by LOWER(name), id: with this index a page
# reads its 20 rows in order instead of sorting every creator on every view.
Creator.add_index(fn.LOWER(Creator.name), Creator.id, name="creator_lower_name_id")


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
        """Return this creator's grant with this id, or None."""
        return cls.get_or_none((cls.id == grant_id) & (cls.creator == creator_id))

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


class DuplicateHandle(ValueError):
    """The creator already has an account with this username."""


class SocialAccount(BaseModel):
    """One Instagram account of one creator."""

    creator = ForeignKeyField(Creator, backref="social_accounts", on_delete="CASCADE")
    username = CharField()
    kind = CharField(default="instagram")
    status = CharField(default=AccountStatus.UNLINKED)
    refresh_enabled = BooleanField(default=True)
    ig_user_id = CharField(null=True)
    linked_by_fb_user_id = CharField(null=True)
    linked_by_name = CharField(null=True)
    linked_at = UTCDateTimeField(null=True)
    page_id = CharField(null=True)
    page_name = CharField(null=True)
    last_refreshed_at = UTCDateTimeField(null=True)
    last_error = TextField(null=True)
    refresh_deferred_until = UTCDateTimeField(null=True)  # Meta asked us to slow down
    revoked_at = UTCDateTimeField(null=True)  # when the link was removed; retention counts from it
    created_at = UTCDateTimeField(default=utcnow)
    grant = ForeignKeyField(MetaGrant, null=True, backref="accounts", on_delete="SET NULL")
    page_token = EncryptedTextField(null=True)
    granted_scopes = TextField(null=True)
    display_name = CharField(null=True)
    profile_picture_url = TextField(null=True)
    followers_count = IntegerField(null=True)
    media_count = IntegerField(null=True)

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
        """Return the account with this id if it belongs to this creator, else None."""
        return cls.get_or_none((cls.id == account_id) & (cls.creator == creator_id))

    @classmethod
    def losing_data_access(cls, before):
        """Return linked accounts whose grant's data access ends before a moment, soonest first.

        Each comes with its grant and creator (one query): the page shows the creator's link.
        """
        return (
            cls.select(cls, MetaGrant, Creator)
            .join(MetaGrant, on=(cls.grant == MetaGrant.id))
            .switch(cls)
            .join(Creator, on=(cls.creator == Creator.id))
            .where(
                (cls.status == AccountStatus.LINKED)
                & MetaGrant.data_access_expires_at.is_null(False)
                & (MetaGrant.data_access_expires_at < before)
            )
            .order_by(MetaGrant.data_access_expires_at, fn.LOWER(Creator.name), cls.username)
        )

    def set_refresh_enabled(self, enabled):
        """Switch scheduled refresh on or off, writing that column only (a refresh may be saving the rest)."""
        SocialAccount.update(refresh_enabled=enabled).where(SocialAccount.id == self.id).execute()
        self.refresh_enabled = enabled


class InvitationTemplate(BaseModel):
    """The invitation staff send to creators; one row, edited by admins."""

    subject = CharField()
    body = TextField()
    updated_at = UTCDateTimeField(default=utcnow)
    updated_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")

    class Meta:
        table_name = "invitation_template"

    @classmethod
    def current(cls):
        """Return the saved template, or an unsaved one holding the defaults."""
        saved = cls.select().order_by(cls.id.desc()).first()
        return saved or cls(subject=DEFAULT_SUBJECT, body=DEFAULT_BODY)


class SchemaVersion(BaseModel):
    """Which migrations have been applied to this database."""

    version = IntegerField(primary_key=True)
    applied_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "schema_version"


from portal.models.compliance import (  # noqa: E402, F401
    COMPLIANCE_MODELS,
    AuditEvent,
    DeletionRequest,
)
from portal.models.insights import (  # noqa: E402, F401  (they build on the models above)
    INSIGHT_MODELS,
    AccountMetric,
    AudienceSnapshot,
    Media,
    MediaMetric,
    ProfileSnapshot,
    Story,
    StoryMetric,
)

MODELS = [Staff, Creator, MetaGrant, SocialAccount, InvitationTemplate, *INSIGHT_MODELS, *COMPLIANCE_MODELS]
