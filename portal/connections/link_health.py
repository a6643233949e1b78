"""Link health: how long an account's access lasts, what it may read, and when each kind of data
was last read. No Flask.
"""

import datetime
import math
from dataclasses import dataclass, field

from peewee import SQL, fn

from portal.connections.discovery import REQUIRED_SCOPES
from portal.db import UTCDateTimeField
from portal.graph.oauth import SCOPE_LABELS
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Media,
    ProfileSnapshot,
    SocialAccount,
    Story,
)

WARNING = datetime.timedelta(days=14)  # data access ending sooner than this is shown as a warning
# Each kind of data a refresh reads, and the table whose fetched_at says when it last succeeded.
KINDS = (
    ("profile", "Profile", ProfileSnapshot),
    ("daily", "Daily metrics", AccountMetric),
    ("audience", "Audience", AudienceSnapshot),
    ("media", "Posts and reels", Media),
    ("stories", "Stories", Story),
)
_MOMENT = UTCDateTimeField()


@dataclass
class Scope:
    """One permission linking needs, and whether the account's authorization includes it."""

    name: str
    label: str
    granted: bool


@dataclass
class LinkHealth:
    """What staff need to judge one account's link."""

    account: SocialAccount
    has_grant: bool
    token_expires_at: datetime.datetime | None
    token_expired: bool
    data_access_expires_at: datetime.datetime | None
    data_access_days: int | None  # days left, rounded up; 0 or less once it has ended
    scopes: list
    other_scopes: list
    last_fetched: list = field(default_factory=list)  # (label, moment or None)
    deferred_until: datetime.datetime | None = None
    deferred_reason: str | None = None
    reads_with_page_token: bool = False  # then the user token's expiry ends nothing
    story_webhooks: bool = False  # PORTAL_STORY_WEBHOOKS: Meta sends story_insights when subscribed

    @property
    def checks_access(self):
        """Tell whether the account holds (or lately held) Business Insights access worth checking."""
        return self.account.status in (AccountStatus.LINKED, AccountStatus.LINK_BROKEN)

    @property
    def data_access_warning(self):
        days = self.data_access_days
        return self.checks_access and days is not None and days <= WARNING.days

    @property
    def data_access_ended(self):
        return self.data_access_days is not None and self.data_access_days <= 0

    @property
    def missing_scopes(self):
        return [scope for scope in self.scopes if not scope.granted]

    @property
    def last_error(self):
        return self.account.last_error

    @property
    def user_token_ends_link(self):
        """Tell whether the Facebook user's token expiring would end this link (no Page token)."""
        return self.token_expires_at is not None and not self.reads_with_page_token


def latest_fetches(account_ids):
    """Return {account id: {kind: when its data was last read}} for these accounts, in one query."""
    if not account_ids:
        return {}
    parts = [
        model.select(SQL(f"'{kind}'").alias("kind"), model.account, fn.MAX(model.fetched_at).alias("newest"))
        .where(model.account.in_(account_ids))
        .group_by(model.account)
        for kind, _label, model in KINDS
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.union_all(part)
    result = {}
    for kind, account_id, newest in union.tuples():
        result.setdefault(account_id, {})[kind] = _MOMENT.python_value(newest)
    return result


def days_left(moment, now):
    """Return the days until a moment, rounded up: 0 or less once it has passed; None for no moment."""
    if moment is None:
        return None
    return math.ceil((moment - now) / datetime.timedelta(days=1))


def link_health(account, now, story_webhooks=False):
    """Return the LinkHealth of one account (its grant and one query for the last reads)."""
    grant = account.grant if account.grant_id else None
    token_expires_at = grant.token_expires_at if grant else None
    granted = set(filter(None, (account.granted_scopes or (grant and grant.granted_scopes) or "").split(",")))
    fetched = latest_fetches([account.id]).get(account.id, {})
    deferred = account.refresh_deferred_until
    return LinkHealth(
        account=account,
        has_grant=grant is not None,
        token_expires_at=token_expires_at,
        token_expired=token_expires_at is not None and token_expires_at <= now,
        data_access_expires_at=grant.data_access_expires_at if grant else None,
        data_access_days=days_left(grant.data_access_expires_at if grant else None, now),
        scopes=[Scope(name, SCOPE_LABELS.get(name, name), name in granted) for name in REQUIRED_SCOPES],
        other_scopes=sorted(granted - set(REQUIRED_SCOPES)),
        last_fetched=[(label, fetched.get(kind)) for kind, label, _model in KINDS],
        deferred_until=deferred if deferred and deferred > now else None,
        deferred_reason=account.deferred_reason if deferred and deferred > now else None,
        reads_with_page_token=bool(account.page_token),
        story_webhooks=story_webhooks,
    )


def losing_data_access(now):
    """Return linked accounts whose data access ends within WARNING (or has ended), soonest first."""
    return SocialAccount.losing_data_access(now + WARNING)
