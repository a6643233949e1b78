"""What the scheduler runs, and what `flask refresh-insights` runs: plain functions of an app.

Each job opens and closes its own database connection: APScheduler runs jobs in
worker threads, and peewee's connections are per thread.
"""

import contextlib
import datetime
import logging

from portal.campaigns import recent
from portal.compliance import retention
from portal.connections import grant_check
from portal.db import database, stream, utcnow
from portal.graph import facebook_graph
from portal.graph.days import meta_day
from portal.insights import refresh
from portal.mail import delivery, reminders
from portal.mail.settings import mail_settings
from portal.models import ReminderSchedule, ReminderTemplate, SocialAccount

log = logging.getLogger(__name__)


def _refresh(app, query, now, mode=refresh.FULL):
    # closing(): a pass that ends early closes its cursor before the connection goes back to the pool.
    with database.connection_context(), contextlib.closing(stream(query)) as accounts:
        client = facebook_graph(app.config)
        return refresh.refresh_many(client, accounts, now=now, archive=app.config["STORY_ARCHIVE"], mode=mode)


def refresh_due(app, now=None):
    """Refresh linked, enabled accounts not refreshed within PORTAL_REFRESH_MINUTES."""
    now = now or utcnow()
    interval = datetime.timedelta(minutes=app.config["REFRESH_MINUTES"])
    summary = _refresh(app, SocialAccount.due_for_refresh(now, interval), now)
    # This runs every minute: a round with nothing due would otherwise fill the log with "0 refreshed".
    log.log(logging.DEBUG if summary.idle else logging.INFO, "Scheduled refresh: %s", summary.line())
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


def roll_up_figures(app, now=None):
    """Rebuild the recent span's figures (the overview's) when the Meta day has turned."""
    now = now or utcnow()
    with database.connection_context():
        if recent.keep_current(meta_day(now)):
            log.info("Recent figures rebuilt for the Meta day %s", meta_day(now))


def check_grants(app, now=None):
    """Ask Meta about each linked account's own token; mark those whose access is gone."""
    now = now or utcnow()
    with database.connection_context():
        result = grant_check.check_links(facebook_graph(app.config), grant_check.linked_accounts(), now)
    log.info("Grant check: %s", result.line())
    return result


def purge_revoked(app, now=None):
    """Delete the figures of accounts revoked more than PORTAL_RETENTION_DAYS ago."""
    return retention.purge_revoked(app.config["RETENTION_DAYS"], now)


def send_mail(app, now=None):
    """Send the queued e-mail whose time has come (over SMTP, or into the outbox)."""
    with database.connection_context():
        summary = delivery.send_due(mail_settings(app.config), now)
    # Runs every few seconds: a round with nothing to send logs at DEBUG only.
    log.log(logging.DEBUG if summary.idle else logging.INFO, "Mail: %s", summary.line())
    return summary


def _link_for(app):
    """Return the scheduler's link_page_address: PORTAL_BASE_URL and the link page's path, no request."""
    base, urls = app.config["BASE_URL"].rstrip("/"), app.url_map.bind("localhost")

    def link_for(creator):
        token = creator.working_link_token(utcnow())
        return base + urls.build("linking.link_page", {"token": token}) if token else None

    return link_for


def send_reminders(app, now=None):
    """Queue the reminders due now (portal/mail/reminders.py); send-mail sends them."""
    now = now or utcnow()
    if not app.config.get("BASE_URL"):
        # Outside a request only PORTAL_BASE_URL says where the portal is: a reminder must not
        # carry a link built on a guess.
        log.warning("Reminders wait: PORTAL_BASE_URL is not set, so the scheduler cannot write links.")
        return None
    with database.connection_context():
        summary = reminders.send_reminders(
            now,
            ReminderSchedule.current().invited_after_days,
            _link_for(app),
            ReminderTemplate.current_all(),
            sender=mail_settings(app.config).sender,
            company=app.config["COMPANY_NAME"],
        )
    log.log(logging.DEBUG if summary.idle else logging.INFO, "Reminders: %s", summary.line())
    return summary
