"""Retention: the figures of an unlinked account are kept for staff a while, then deleted. No Flask."""

import datetime
import logging
import os

from portal.db import database, utcnow
from portal.models import LedgerEntry, SocialAccount
from portal.models.insights import delete_figures, has_figures

log = logging.getLogger(__name__)


def purge_revoked(retention_days, now=None):
    """Delete the figures of accounts revoked more than retention_days ago; return how many."""
    now = now or utcnow()
    cutoff = now - datetime.timedelta(days=retention_days)
    purged = 0
    with database.connection_context():
        for account in SocialAccount.revoked_before(cutoff).iterator():
            if not has_figures(account):
                continue  # purged on an earlier day, or never refreshed
            with database.atomic():
                files = delete_figures(account)
                SocialAccount.update(followers_count=None, media_count=None, last_refreshed_at=None).where(
                    SocialAccount.id == account.id
                ).execute()
                LedgerEntry.record("retention_purge", "scheduler", account=account, files=len(files))
            for path in files:
                if os.path.exists(path):
                    os.remove(path)
            purged += 1
    log.info("Retention: figures of %s revoked accounts deleted", purged)
    return purged
