"""What the scheduler runs, and what `flask refresh-insights` runs: plain functions of an app.

Each job opens and closes its own database connection: APScheduler runs jobs in
worker threads, and peewee's connections are per thread.
"""

import datetime
import logging

from portal.compliance import retention
from portal.db import database, utcnow
from portal.graph import GraphError, facebook_graph
from portal.insights import refresh
from portal.models import AccountStatus, MetaGrant, SocialAccount

log = logging.getLogger(__name__)


def _refresh(app, query, now, mode=refresh.FULL):
    with database.connection_context():
        client = facebook_graph(app.config)
        return refresh.refresh_many(
            client, query.iterator(), now=now, archive=app.config["STORY_ARCHIVE"], mode=mode
        )


def refresh_due(app, now=None):
    """Refresh linked, enabled accounts not refreshed within PORTAL_REFRESH_MINUTES."""
    now = now or utcnow()
    interval = datetime.timedelta(minutes=app.config["REFRESH_MINUTES"])
    summary = _refresh(app, SocialAccount.due_for_refresh(now, interval), now)
    log.info("Scheduled refresh: %s", summary.line())
    return summary


def refresh_all(app, now=None):
    """Refresh every linked, enabled account now (the refresh-insights command)."""
    now = now or utcnow()
    return _refresh(app, SocialAccount.refreshable(now).order_by(SocialAccount.id), now)


def capture_stories(app, now=None):
    """Read live stories (figures and files) of every refreshable account, before they expire."""
    now = now or utcnow()
    summary = _refresh(app, SocialAccount.refreshable(now).order_by(SocialAccount.id), now, refresh.STORIES)
    log.info("Story capture: %s", summary.line())
    return summary


def check_grants(app, now=None):
    """Ask Meta about each stored grant; mark accounts whose access is gone."""
    client = facebook_graph(app.config)
    checked = broken = 0
    with database.connection_context():
        grants = MetaGrant.select().where(
            MetaGrant.user_token.is_null(False) & MetaGrant.revoked_at.is_null()
        )
        for grant in grants.iterator():
            checked += 1
            try:
                info = client.debug_token(grant.user_token)
            except GraphError as error:
                log.warning("debug_token for grant %s failed: code=%s", grant.id, error.code)
                continue
            expires = info.get("data_access_expires_at")
            if expires:
                MetaGrant.update(
                    data_access_expires_at=datetime.datetime.fromtimestamp(int(expires), tz=datetime.UTC)
                ).where(MetaGrant.id == grant.id).execute()
            if not info.get("is_valid", False):
                reason = "Facebook says this access is no longer valid: connect the account again."
                broken += (
                    SocialAccount.update(status=AccountStatus.LINK_BROKEN, last_error=reason)
                    .where((SocialAccount.grant == grant) & (SocialAccount.status == AccountStatus.LINKED))
                    .execute()
                )
    log.info("Grant check: %s grants checked, %s accounts marked link broken", checked, broken)
    return checked, broken


def purge_revoked(app, now=None):
    """Delete the figures of accounts revoked more than PORTAL_RETENTION_DAYS ago."""
    return retention.purge_revoked(app.config["RETENTION_DAYS"], now)
