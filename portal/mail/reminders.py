"""Reminders: who gets one on the next run, and queueing them. No Flask.

The scheduler's `send-reminders` job (hourly) and the staff page /reminders share this module.
Three kinds, each a template under Settings with the invitation's placeholders:

- Invitation reminder: the creator was invited (invited_at) at least N days ago, N being
  ReminderSchedule.invited_after_days (default 7, 1 to 90, edited under Settings), and is still
  at the funnel's "Invited" or "Page opened" stage: no account linked, verified or broken. One
  reminder per invitation: the occasion is that invited_at, so inviting again (by e-mail or
  "Mark as invited") starts the count again, and a creator who ignores it is not nagged weekly.
- Data access ending: a `linked` account's data access (MetaGrant.data_access_expires_at) ends
  within 14 days, and again within 3 days. The occasion is the soonest such end with its
  threshold, each sent once; reconnecting moves the end, which makes new occasions. An end that
  has passed gets none: the grant check marks that link broken, which has its own reminder.
- Link broken: an account is `link_broken`. One per break: the occasion is the newest broken
  account's linking time, which a new Connect Business changes. A second account breaking while
  the first is still broken adds nothing: the creator has been asked to connect again already.

When several are due for one creator, the most urgent goes: link broken, then 3 days, then 14
days, then the invitation reminder; the others wait (they stay due).

Every kind obeys the same rules (the issue's "at most once a week per creator" is the job's,
so it covers all three): the creator's reminders are on (Creator.reminders_enabled); they have
an e-mail address; their link works (link_for returns None for none or an expired one: staff
must issue one, so a reminder never carries a dead link); and no reminder was queued to them in
the last 7 days (Creator.reminded_at, set when one is queued, so that the next hourly run does
not add another before the first is sent). Those that fail a rule are "skipped", with the reason
staff read on /reminders; they stay due and go out once the rule is met.

Finding who is due is one query (the accounts grouped once, each "already sent?" an EXISTS on
ReminderSent) that returns only creators with an occasion not yet reminded of, read row by row
with peewee's iterator (no model kept per row; on PostgreSQL the driver's ordinary cursor still
receives those rows at once, as small tuples). The job keeps at most PER_RUN of them to queue.

Queueing takes a ReminderSent row (unique by creator, kind, occasion and threshold) and the weekly
cap (a conditional UPDATE of reminded_at) in the same transaction as the message, so two runs, or
two schedulers, queue each occasion once. Messages go through outgoing.queue_message: the outbox
or SMTP, retries and the ledger's "<kind>_sent" come from the mail service. A reminder the mail
server refuses for good is not queued again (its occasion is spent); staff see it failed on
/reminders and in the outbox.
"""

import datetime
import logging
from dataclasses import dataclass, field

from peewee import JOIN, SQL, Case, IntegrityError, fn

from portal.connections import funnel
from portal.connections.funnel import Stage
from portal.db import UTCDateTimeField, database
from portal.invitation import ACCESS_REMINDER, BROKEN_LINK_REMINDER, INVITATION_REMINDER, REMINDERS
from portal.mail import outgoing
from portal.models import AccountStatus, Creator, MetaGrant, ReminderSent, SocialAccount

log = logging.getLogger(__name__)

WEEK = datetime.timedelta(days=7)  # at most one reminder a week per creator, of any kind
ACCESS_THRESHOLDS = (3, 14)  # days before data access ends, the most urgent first
PER_RUN = 200  # the job queues at most this many; the rest are still due on the next run

REMINDERS_OFF = "reminders are off for this creator"
NO_EMAIL = outgoing.NO_EMAIL
NO_LINK = "no working link: issue a new one on the Link Accounts Page"
_MOMENT = UTCDateTimeField()


@dataclass
class Due:
    """One reminder the next run would send to a creator, why, and why not if it is skipped."""

    creator: Creator
    kind: str
    occasion_at: datetime.datetime
    threshold: int
    why: str
    link: str | None = None
    skipped: str | None = None

    @property
    def label(self):
        return REMINDERS[self.kind]["label"]


@dataclass
class Plan:
    """What the next run would do: the first reminders due and skipped (up to keep each), and counts."""

    due: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    due_count: int = 0
    skipped_count: int = 0


@dataclass
class Run:
    """What one run of the job did."""

    queued: list = field(default_factory=list)  # (creator name, kind)
    skipped: int = 0
    lost: int = 0  # due, but another run queued it (or reminded the creator) first

    @property
    def idle(self):
        return not (self.queued or self.lost)

    def line(self):
        return f"{len(self.queued)} queued, {self.skipped} skipped, {self.lost} taken by another run"


def _accounts(now):
    """Per creator: the soonest data access end of a linked account, and the newest broken link."""
    linked = SocialAccount.status == AccountStatus.LINKED
    broken = SocialAccount.status == AccountStatus.LINK_BROKEN
    since = fn.COALESCE(SocialAccount.linked_at, SocialAccount.created_at)
    return (
        SocialAccount.select(
            SocialAccount.creator.alias("creator_id"),
            fn.MIN(Case(None, [(linked, MetaGrant.data_access_expires_at)])).alias("access_ends"),
            fn.MAX(Case(None, [(broken, since)])).alias("broken_since"),
        )
        .join(MetaGrant, JOIN.LEFT_OUTER, on=(SocialAccount.grant == MetaGrant.id))
        .where(SocialAccount.status.in_((AccountStatus.LINKED, AccountStatus.LINK_BROKEN)))
        .group_by(SocialAccount.creator)
        .alias("reminder_accounts")
    )


def _sent(kind, moment, threshold=0):
    """Return the SQL test "this creator was reminded of this occasion already"."""
    return fn.EXISTS(
        ReminderSent.select(SQL("1")).where(
            (ReminderSent.creator == Creator.id)
            & (ReminderSent.kind == kind)
            & (ReminderSent.occasion_at == moment)
            & (ReminderSent.threshold == threshold)
        )
    )


def _flag(condition):
    return Case(None, [(condition, 1)], 0)


def _candidates(now, invited_after_days):
    """Return the query of creators with an occasion not yet reminded of, each with its flags."""
    creators = Creator.select(
        Creator.id,
        Creator.name,
        Creator.email,
        Creator.link_token,
        Creator.link_expires_at,
        Creator.reminders_enabled,
        Creator.reminded_at,
        Creator.invited_at,
    )
    joined, stage = funnel.staged(creators, now)
    accounts = _accounts(now)
    ends, broken_since = accounts.c.access_ends, accounts.c.broken_since

    def moment(delta):  # a parameter compared with a subquery's column: stored as the column is
        return _MOMENT.db_value(now + delta)

    invited = (
        Creator.invited_at.is_null(False)
        & (Creator.invited_at <= now - datetime.timedelta(days=invited_after_days))
        & stage.in_((Stage.INVITED, Stage.OPENED))
        & ~_sent(INVITATION_REMINDER, Creator.invited_at)
    )
    three, fourteen = (datetime.timedelta(days=days) for days in ACCESS_THRESHOLDS)
    ending_3 = (
        (ends > moment(datetime.timedelta())) & (ends <= moment(three)) & ~_sent(ACCESS_REMINDER, ends, 3)
    )
    ending_14 = (ends > moment(three)) & (ends <= moment(fourteen)) & ~_sent(ACCESS_REMINDER, ends, 14)
    broken = broken_since.is_null(False) & ~_sent(BROKEN_LINK_REMINDER, broken_since)
    return (
        joined.switch(Creator)
        .join(accounts, JOIN.LEFT_OUTER, on=(accounts.c.creator_id == Creator.id))
        .select_extend(
            ends.alias("access_ends"),
            broken_since.alias("broken_since"),
            _flag(invited).alias("invited_due"),
            _flag(ending_3).alias("ending_3_due"),
            _flag(ending_14).alias("ending_14_due"),
            _flag(broken).alias("broken_due"),
        )
        .where(invited | ending_3 | ending_14 | broken)
        .order_by(fn.LOWER(Creator.name), Creator.id)
    )


def _days(delta):
    return max(0, delta.days)


def _occasion(row, now):
    """Return the most urgent reminder due for a candidate row, as a Due without a verdict."""
    if row.broken_due:
        since = _MOMENT.python_value(row.broken_since)
        return Due(row, BROKEN_LINK_REMINDER, since, 0, "a linked account's link broke")
    ends = _MOMENT.python_value(row.access_ends)
    for threshold, due in ((3, row.ending_3_due), (14, row.ending_14_due)):
        if due:
            why = f"data access ends on {ends:%d %b %Y} (the {threshold}-day notice)"
            return Due(row, ACCESS_REMINDER, ends, threshold, why)
    days = _days(now - row.invited_at)
    why = f"invited {days} day{'' if days == 1 else 's'} ago and not linked yet"
    return Due(row, INVITATION_REMINDER, row.invited_at, 0, why)


def _verdict(due, now, link_for):
    """Fill in the link, or the reason this reminder cannot go now."""
    creator = due.creator
    if not creator.reminders_enabled:
        due.skipped = REMINDERS_OFF
    elif not creator.email:
        due.skipped = NO_EMAIL
    elif creator.reminded_at and creator.reminded_at > now - WEEK:
        due.skipped = f"reminded on {creator.reminded_at:%d %b %Y}: at most one reminder a week"
    else:
        due.link = link_for(creator)
        due.skipped = None if due.link else NO_LINK
    return due


def upcoming(now, invited_after_days, link_for):
    """Yield a Due for each creator with a reminder due at now, skipped ones with their reason.

    link_for(creator) returns the creator's Link Accounts Page address, or None when it has none
    that works. One query, streamed.
    """
    for row in _candidates(now, invited_after_days).objects().iterator():  # every column on the Creator
        yield _verdict(_occasion(row, now), now, link_for)


def plan(now, invited_after_days, link_for, keep=100):
    """Return the Plan of the next run: the first keep reminders due and skipped, and how many of each."""
    result = Plan()
    for due in upcoming(now, invited_after_days, link_for):
        if due.skipped:
            result.skipped_count += 1
            if len(result.skipped) < keep:
                result.skipped.append(due)
        else:
            result.due_count += 1
            if len(result.due) < keep:
                result.due.append(due)
    return result


def queue_reminder(due, template, *, sender, company, now):
    """Queue one due reminder with its occasion and the weekly cap; return the message, or None.

    None when another run queued this occasion, or reminded the creator, first.
    """
    creator = due.creator
    with database.atomic() as transaction:
        try:
            with database.atomic():
                mark = ReminderSent.create(
                    creator=creator.id,
                    kind=due.kind,
                    occasion_at=due.occasion_at,
                    threshold=due.threshold,
                    queued_at=now,
                )
        except IntegrityError:
            return None
        capped = (
            Creator.update(reminded_at=now)
            .where(
                (Creator.id == creator.id)
                & (Creator.reminded_at.is_null() | (Creator.reminded_at <= now - WEEK))
            )
            .execute()
        )
        letter = outgoing.template_letter(template, creator, company, due.link)
        queued = outgoing.queue_message(
            creator, due.kind, letter, sender=sender, company=company, staff=None, now=now
        )
        if not capped or queued.skipped:
            transaction.rollback()  # the occasion stays due: nothing of this attempt is kept
            return None
        ReminderSent.update(message=queued.message).where(ReminderSent.id == mark.id).execute()
    return queued.message


def send_reminders(now, invited_after_days, link_for, templates, *, sender, company, limit=PER_RUN):
    """Queue every reminder due at now (at most limit); return a Run. templates: {kind: template}."""
    run, chosen = Run(), []
    for due in upcoming(now, invited_after_days, link_for):  # read to the end before any write
        if due.skipped:
            run.skipped += 1
        elif len(chosen) < limit:
            chosen.append(due)
    for due in chosen:
        message = queue_reminder(due, templates[due.kind], sender=sender, company=company, now=now)
        if message is None:
            run.lost += 1
        else:
            run.queued.append((due.creator.name, due.kind))
    return run
