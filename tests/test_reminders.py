"""Reminders: who is due and why not, each occasion once, the weekly cap, the job, a real SMTP server."""

import datetime

import pytest

from portal.db import utcnow
from portal.invitation import ACCESS_REMINDER, BROKEN_LINK_REMINDER, INVITATION_REMINDER
from portal.mail import reminders
from portal.models import (
    AccountStatus,
    Creator,
    LedgerEntry,
    MetaGrant,
    OutgoingMessage,
    ReminderSchedule,
    ReminderSent,
    ReminderTemplate,
    SocialAccount,
)
from portal.scheduler import jobs

DAY = datetime.timedelta(days=1)
LINK = "https://portal.acme.test/link/Zx9-secret-link"
SENDER = "Acme Talent <invitations@acme.test>"


def link_for(creator):
    """The creator's link while it works, as portal.addresses.link_page_address says it."""
    return LINK if creator.working_link_token(utcnow()) else None


def invited(name, days_ago, now=None, **columns):
    """Add a creator with a link, invited days_ago days before now."""
    now = now or utcnow()
    creator = Creator.create(name=name, email=f"{name.split()[0].lower()}@creators.test", **columns)
    creator.issue_link_token()
    Creator.update(invited_at=now - days_ago * DAY).where(Creator.id == creator.id).execute()
    return Creator.get_by_id(creator.id)


def linked(creator, username, access_ends=None, status=AccountStatus.LINKED, linked_at=None):
    """Give the creator an account linked through a grant whose data access ends at access_ends."""
    grant = MetaGrant.create(
        creator=creator, provider="facebook", meta_user_id="1", data_access_expires_at=access_ends
    )
    return SocialAccount.create(
        creator=creator, username=username, status=status, grant=grant, linked_at=linked_at or utcnow()
    )


def due_now(now=None, days=7):
    plan = reminders.plan(now or utcnow(), days, link_for)
    return (
        [(d.creator.name, d.kind, d.threshold) for d in plan.due],
        [(d.creator.name, d.skipped) for d in plan.skipped],
    )


def run(now=None, days=7):
    return reminders.send_reminders(
        now or utcnow(), days, link_for, ReminderTemplate.current_all(), sender=SENDER, company="Acme Talent"
    )


def test_a_creator_invited_seven_days_ago_is_due_and_one_invited_six_days_ago_is_not(app):
    invited("Six Days", 6)
    invited("Seven Days", 7)
    plan = reminders.plan(utcnow(), 7, link_for)
    assert [(d.creator.name, d.kind, d.why) for d in plan.due] == [
        ("Seven Days", INVITATION_REMINDER, "invited 7 days ago and not linked yet")
    ]
    assert plan.skipped == [] and plan.due_count == 1
    assert due_now(days=6)[0] == [
        ("Seven Days", INVITATION_REMINDER, 0),
        ("Six Days", INVITATION_REMINDER, 0),
    ]
    assert due_now(days=8) == ([], [])


def test_linked_or_verified_creators_get_no_invitation_reminder_but_page_opened_ones_do(app):
    ava = invited("Ava Linked", 10)
    linked(ava, "ava.creates", access_ends=utcnow() + 60 * DAY)
    vera = invited("Vera Verified", 10)
    SocialAccount.create(creator=vera, username="vera", status=AccountStatus.VERIFIED)
    opened = invited("Olga Opened", 10)
    Creator.update(page_first_opened_at=utcnow()).where(Creator.id == opened.id).execute()
    never = Creator.create(name="Nat Never", email="nat@creators.test")  # never invited
    never.issue_link_token()
    assert due_now() == ([("Olga Opened", INVITATION_REMINDER, 0)], [])


def test_reminders_off_no_email_and_an_expired_link_are_skipped_with_the_reason(app):
    invited("Off Switch", 8, reminders_enabled=False)
    Creator.update(email=None).where(Creator.id == invited("No Email", 8).id).execute()
    expired = invited("Old Link", 8)
    Creator.update(link_expires_at=utcnow() - DAY).where(Creator.id == expired.id).execute()
    assert due_now() == (
        [],
        [
            ("No Email", "no e-mail address"),
            ("Off Switch", "reminders are off for this creator"),
            ("Old Link", "no working link: issue a new one on the Link Accounts Page"),
        ],
    )
    assert run().queued == [] and OutgoingMessage.select().count() == 0


def test_at_most_one_reminder_a_week_reaches_a_creator_of_any_kind(app):
    now = utcnow()
    ava = invited("Ava Chen", 8, reminded_at=now - 6 * DAY)
    assert due_now(now)[1] == [
        ("Ava Chen", f"reminded on {ava.reminded_at:%d %b %Y}: at most one reminder a week")
    ]
    Creator.update(reminded_at=now - 7 * DAY - datetime.timedelta(minutes=1)).where(
        Creator.id == ava.id
    ).execute()
    assert due_now(now)[0] == [("Ava Chen", INVITATION_REMINDER, 0)]

    # The invitation reminder and a broken link at once: the broken link goes, the other waits a week.
    linked(ava, "ava.creates", status=AccountStatus.LINK_BROKEN)
    Creator.update(invited_at=now - 8 * DAY, page_first_opened_at=None).where(Creator.id == ava.id).execute()
    assert [kind for _, kind in run(now).queued] == [BROKEN_LINK_REMINDER]
    assert Creator.get_by_id(ava.id).reminded_at == now
    assert run(now + 6 * DAY).queued == []
    assert due_now(now + 6 * DAY) == ([], [])  # linked (broken counts): no invitation reminder either


def test_the_14_day_and_the_3_day_notices_go_once_each(app):
    now = utcnow()
    ava = Creator.create(name="Ava Chen", email="ava@creators.test")
    ava.issue_link_token()
    linked(ava, "ava.creates", access_ends=now + 20 * DAY)
    assert due_now(now) == ([], [])  # 20 days: not yet
    assert [kind for _, kind in run(now + 6 * DAY).queued] == [ACCESS_REMINDER]  # 14 days left
    for hours in (1, 24, 24 * 5, 24 * 7):  # the 14-day notice is not sent again, a week later neither
        assert run(now + 6 * DAY + datetime.timedelta(hours=hours)).queued == []
    assert [kind for _, kind in run(now + 17 * DAY + datetime.timedelta(hours=1)).queued] == [ACCESS_REMINDER]
    assert run(now + 18 * DAY).queued == [] and run(now + 25 * DAY).queued == []  # ended: none
    sent = ReminderSent.select().order_by(ReminderSent.id)
    assert [(r.kind, r.threshold, r.occasion_at) for r in sent] == [
        (ACCESS_REMINDER, 14, now + 20 * DAY),
        (ACCESS_REMINDER, 3, now + 20 * DAY),
    ]
    messages = OutgoingMessage.select().order_by(OutgoingMessage.id)
    assert [(m.kind, m.subject) for m in messages] == [
        (ACCESS_REMINDER, "Please connect your Instagram account to Acme Talent again")
    ] * 2


def test_connecting_again_moves_the_end_and_makes_new_notices(app):
    now = utcnow()
    ava = Creator.create(name="Ava Chen", email="ava@creators.test")
    ava.issue_link_token()
    account = linked(ava, "ava.creates", access_ends=now + 10 * DAY)
    assert len(run(now).queued) == 1
    MetaGrant.update(data_access_expires_at=now + 100 * DAY).where(MetaGrant.id == account.grant_id).execute()
    assert due_now(now + 8 * DAY) == ([], [])
    assert [d[2] for d in due_now(now + 90 * DAY)[0]] == [14]


def test_a_broken_link_is_reminded_of_once_per_break(app):
    now = utcnow()
    ava = Creator.create(name="Ava Chen", email="ava@creators.test")
    ava.issue_link_token()
    account = linked(ava, "ava.creates", status=AccountStatus.LINK_BROKEN, linked_at=now - 30 * DAY)
    plan = reminders.plan(now, 7, link_for)
    assert [(d.kind, d.why, d.link) for d in plan.due] == [
        (BROKEN_LINK_REMINDER, "a linked account's link broke", LINK)
    ]
    assert len(run(now).queued) == 1
    assert run(now + 30 * DAY).queued == []  # weeks later, still the same break: no second one

    # Connected again, then broken again: a new break, a new reminder.
    SocialAccount.update(status=AccountStatus.LINK_BROKEN, linked_at=now + 31 * DAY).where(
        SocialAccount.id == account.id
    ).execute()
    assert [kind for _, kind in run(now + 32 * DAY).queued] == [BROKEN_LINK_REMINDER]
    assert OutgoingMessage.select().where(OutgoingMessage.kind == BROKEN_LINK_REMINDER).count() == 2


def test_two_runs_at_once_queue_each_occasion_once(app):
    now = utcnow()
    ava = invited("Ava Chen", 8, now)
    first = reminders.plan(now, 7, link_for).due  # both runs found Ava due before either queued
    second = reminders.plan(now, 7, link_for).due
    template = ReminderTemplate.current(INVITATION_REMINDER)
    sending = {"sender": SENDER, "company": "Acme Talent", "now": now}
    assert reminders.queue_reminder(first[0], template, **sending) is not None
    assert reminders.queue_reminder(second[0], template, **sending) is None
    assert OutgoingMessage.select().count() == 1 and ReminderSent.select().count() == 1
    assert Creator.get_by_id(ava.id).reminded_at == now


def test_a_reminder_blocked_by_the_weekly_cap_at_queueing_time_leaves_nothing_behind(app):
    now = utcnow()
    ava = invited("Ava Chen", 8, now)
    (due,) = reminders.plan(now, 7, link_for).due
    Creator.update(reminded_at=now - DAY).where(Creator.id == ava.id).execute()  # another kind, meanwhile
    template = ReminderTemplate.current(INVITATION_REMINDER)
    assert reminders.queue_reminder(due, template, sender=SENDER, company="Acme Talent", now=now) is None
    assert ReminderSent.select().count() == 0 and OutgoingMessage.select().count() == 0


def test_finding_who_is_due_runs_as_many_queries_for_many_creators_as_for_one(app, count_queries):
    def statements():
        with count_queries() as executed:
            plan = reminders.plan(utcnow(), 7, link_for)
        return len(executed), plan.due_count + plan.skipped_count

    invited("Ava Chen", 8)
    few = statements()
    for n in range(30):
        creator = invited(f"Creator {n:02d}", 8 + n, reminders_enabled=n % 3 != 0)
        linked(creator, f"c{n}.broken", status=AccountStatus.LINK_BROKEN) if n % 2 else None
    many = statements()
    assert few == (1, 1) and many == (1, 31)


@pytest.fixture
def reminding_app(app):
    app.config.update(BASE_URL="https://portal.acme.test")
    return app


def test_the_job_run_twice_queues_once_and_the_ledger_records_the_send(reminding_app):
    ava = invited("Ava Chen", 7)
    assert jobs.send_reminders(reminding_app).line() == "1 queued, 0 skipped, 0 taken by another run"
    assert jobs.send_reminders(reminding_app).queued == []
    assert jobs.send_mail(reminding_app).sent == 1 and jobs.send_mail(reminding_app).idle
    (message,) = OutgoingMessage.select()
    assert message.kind == INVITATION_REMINDER and message.status == "sent" and message.reply_to is None
    (entry,) = LedgerEntry.select().where(LedgerEntry.action == "invitation_reminder_sent")
    assert entry.actor == "scheduler" and entry.creator_id == ava.id
    assert Creator.get_by_id(ava.id).invited_at == ava.invited_at  # a reminder is not an invitation


def test_the_job_waits_for_portal_base_url_rather_than_guess_the_link(app, caplog):
    invited("Ava Chen", 8)
    assert jobs.send_reminders(app) is None
    assert "PORTAL_BASE_URL is not set" in caplog.text and OutgoingMessage.select().count() == 0


def test_a_reminder_arrives_by_smtp_with_the_templates_words_and_the_creators_link(
    reminding_app, smtp_server
):
    reminding_app.config.update(SMTP_URL=smtp_server.url, MAIL_FROM=SENDER)
    ava = invited("Ava Chen", 9)
    token = ava.link_token
    ReminderTemplate.create(
        kind=INVITATION_REMINDER,
        subject="[Name], one more step",
        body="Hello [Name], [Company] here.\n\n[Link]",
    )
    ReminderSchedule.create(invited_after_days=9)
    jobs.send_reminders(reminding_app)
    assert jobs.send_mail(reminding_app).sent == 1
    (received,) = smtp_server.received
    link = f"https://portal.acme.test/link/{token}"
    assert received["To"] == "ava@creators.test" and received["From"] == SENDER
    assert received["Subject"] == "Ava Chen, one more step"
    text = received.get_body(("plain",)).get_content()
    assert text.startswith("Hello Ava Chen, Acme Talent here.") and link in text
    html = received.get_body(("html",)).get_content()
    assert f'<a href="{link}"' in html and "Open your Link Accounts Page" in html
