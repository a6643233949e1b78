"""Sending e-mail: settings, the message as sent, retries, and never twice, against a real SMTP server."""

import datetime

import pytest
from support.smtp import SMTP_PASSWORD

from portal import ConfigurationError
from portal.db import utcnow
from portal.mail import delivery, outgoing
from portal.mail.compose import Letter
from portal.mail.settings import MailSettingsError, mail_settings, parse_smtp_url
from portal.models import Creator, InvitationTemplate, LedgerEntry, OutgoingMessage
from portal.scheduler import jobs

SENDER = "Acme Talent <invitations@acme.test>"
LINK = "https://portal.acme.test/link/Zx9-secret-link"


def smtp_settings(server, **config):
    return mail_settings({"SMTP_URL": server.url, "MAIL_FROM": SENDER, **config})


def queue_invitation(creator, staff, now=None):
    letter = outgoing.invitation_letter(InvitationTemplate.current(), creator, "Acme Talent", LINK)
    return outgoing.queue_message(
        creator, "invitation", letter, sender=SENDER, company="Acme Talent", staff=staff, now=now or utcnow()
    )


def test_an_invitation_arrives_from_the_portal_with_staff_to_reply_to_and_the_creators_link(
    app, creator, admin, smtp_server
):
    queue_invitation(creator, admin)
    summary = delivery.send_due(smtp_settings(smtp_server))

    assert summary.line() == "1 sent, 0 to try again, 0 failed"
    assert smtp_server.logins == ["portal"]  # it signed in with PORTAL_SMTP_URL's user and password
    (received,) = smtp_server.received
    assert received["From"] == SENDER
    assert received["To"] == "ava@creators.test"
    assert received["Reply-To"] == admin.email
    assert received["Subject"] == "Link your Instagram account with Acme Talent"
    assert received["Message-ID"].endswith("@acme.test>")
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert text.startswith("Welcome, Ava Chen!") and f"Link your accounts here: {LINK}" in text
    assert f'<a href="{LINK}">{LINK}</a>' in html and "Open your Link Accounts Page" in html
    assert smtp_server.envelopes == [("invitations@acme.test", ["ava@creators.test"])]

    creator = Creator.get_by_id(creator.id)
    assert creator.invited_by_id == admin.id and creator.invited_at is not None
    (entry,) = LedgerEntry.select().where(LedgerEntry.action == "invitation_sent")
    assert entry.actor == f"staff:{admin.email}" and entry.creator_id == creator.id
    assert entry.detail_items["to"] == "ava@creators.test" and entry.detail_items["via"] == "smtp"


def test_a_temporary_refusal_is_tried_again_after_a_wait_and_sent_once(app, creator, admin, smtp_server):
    smtp_server.data_answers = ["451 4.3.0 Try again later"]
    now = utcnow()
    queue_invitation(creator, admin, now)
    settings = smtp_settings(smtp_server)

    assert delivery.send_due(settings, now).retrying == 1
    message = OutgoingMessage.get()
    assert (message.status, message.last_error) == ("queued", "451 4.3.0 Try again later")
    assert delivery.send_due(settings, now + datetime.timedelta(seconds=30)).idle  # still waiting
    assert smtp_server.received == []

    assert delivery.send_due(settings, now + delivery.RETRY_DELAYS[0]).sent == 1
    assert delivery.send_due(settings, now + datetime.timedelta(days=1)).idle
    assert len(smtp_server.received) == 1
    assert OutgoingMessage.get().status == "sent" and OutgoingMessage.get().attempts == 2


def test_a_permanent_refusal_fails_at_once_with_the_servers_reason(app, creator, admin, smtp_server):
    smtp_server.data_answers = ["550 5.1.1 Mailbox unavailable"]
    queue_invitation(creator, admin)
    summary = delivery.send_due(smtp_settings(smtp_server))

    assert summary.failed == {"ava@creators.test": "550 5.1.1 Mailbox unavailable"}
    message = OutgoingMessage.get()
    assert (message.status, message.attempts) == ("failed", 1)
    assert delivery.send_due(smtp_settings(smtp_server), utcnow() + datetime.timedelta(days=1)).idle
    assert Creator.get_by_id(creator.id).invited_at is None  # not invited: nothing arrived
    assert not LedgerEntry.select().where(LedgerEntry.action == "invitation_sent").exists()


def test_a_wrong_smtp_password_fails_with_the_servers_answer(app, creator, admin, smtp_server):
    queue_invitation(creator, admin)
    wrong = smtp_server.url.replace(SMTP_PASSWORD.replace(" ", "%20"), "wrong")
    delivery.send_due(mail_settings({"SMTP_URL": wrong, "MAIL_FROM": SENDER}))
    message = OutgoingMessage.get()
    assert message.status == "failed" and message.last_error.startswith("535")
    assert smtp_server.received == []


def test_an_unreachable_server_is_tried_with_growing_waits_then_given_up(app, creator, admin):
    from support import free_port

    settings = mail_settings({"SMTP_URL": f"smtp://127.0.0.1:{free_port()}", "MAIL_FROM": SENDER})
    now = utcnow()
    queue_invitation(creator, admin, now)
    for delay in delivery.RETRY_DELAYS:
        assert delivery.send_due(settings, now).retrying == 1
        assert OutgoingMessage.get().next_attempt_at == now + delay
        now += delay
    summary = delivery.send_due(settings, now)
    message = OutgoingMessage.get()
    assert message.status == "failed" and message.attempts == len(delivery.RETRY_DELAYS) + 1
    assert message.last_error.startswith("gave up after 5 tries: could not reach the mail server")
    assert summary.failed == {"ava@creators.test": message.last_error}


def test_the_same_invitation_queued_twice_the_same_day_is_sent_once(app, creator, admin, smtp_server):
    first, second = queue_invitation(creator, admin), queue_invitation(creator, admin)
    assert first.skipped is None and second.skipped == outgoing.ALREADY_TODAY
    assert second.message.id == first.message.id
    assert OutgoingMessage.claim(first.message.id, utcnow()) is not None
    assert OutgoingMessage.claim(first.message.id, utcnow()) is None  # a second sender gets nothing
    OutgoingMessage.update(status="queued").execute()

    delivery.send_due(smtp_settings(smtp_server))
    delivery.send_due(smtp_settings(smtp_server))
    assert len(smtp_server.received) == 1
    assert queue_invitation(creator, admin).skipped == outgoing.ALREADY_TODAY  # sent today: not again
    assert OutgoingMessage.select().count() == 1


def test_a_failed_invitation_can_be_sent_again_the_same_day(app, creator, admin, smtp_server):
    smtp_server.data_answers = ["550 5.1.1 Mailbox unavailable"]
    queue_invitation(creator, admin)
    delivery.send_due(smtp_settings(smtp_server))
    again = queue_invitation(creator, admin)
    assert again.skipped is None and again.message.status == "queued" and again.message.last_error is None
    delivery.send_due(smtp_settings(smtp_server))
    assert len(smtp_server.received) == 1 and OutgoingMessage.get().status == "sent"


def test_a_creator_without_an_email_address_gets_no_message(app, admin):
    creator = Creator.create(name="Sam Okafor")
    assert queue_invitation(creator, admin).skipped == outgoing.NO_EMAIL
    assert OutgoingMessage.select().count() == 0


def test_with_no_smtp_url_and_in_sandbox_mode_mail_goes_to_the_outbox(app, creator, admin, smtp_server):
    assert mail_settings({}).via == "outbox"
    assert mail_settings({"SMTP_URL": smtp_server.url, "MAIL_FROM": SENDER, "SANDBOX": True}).via == "outbox"
    queue_invitation(creator, admin)
    assert delivery.send_due(mail_settings({"SANDBOX": True, "SMTP_URL": smtp_server.url})).sent == 1
    message = OutgoingMessage.get()
    assert (message.status, message.via) == ("sent", "outbox")
    assert smtp_server.received == []
    assert Creator.get_by_id(creator.id).invited_at is not None  # the flow goes on as if it were sent


def test_the_scheduler_job_sends_what_is_queued(app, creator, admin, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, MAIL_FROM=SENDER)
    queue_invitation(creator, admin)
    assert jobs.send_mail(app).sent == 1
    assert [m["To"] for m in smtp_server.received] == ["ava@creators.test"]


def test_a_message_cut_off_mid_send_is_not_sent_again(app, creator, admin, smtp_server):
    now = utcnow()
    queued = queue_invitation(creator, admin, now)
    OutgoingMessage.claim(queued.message.id, now)  # and then the process died
    delivery.send_due(smtp_settings(smtp_server), now + delivery.INTERRUPTED_AFTER + datetime.timedelta(1))
    message = OutgoingMessage.get()
    assert (message.status, message.last_error) == ("failed", delivery.INTERRUPTED)
    assert smtp_server.received == []


def test_the_html_part_escapes_what_the_text_says():
    from portal.mail.compose import html_part

    text = "Hello <b>Ava</b> & co.\n\nGo: https://x.test/link/a?b=1&c=2."
    letter = Letter(subject="Hi", text=text, link="")
    html = html_part("invitation", letter, "Acme & Sons")
    assert "Hello &lt;b&gt;Ava&lt;/b&gt; &amp; co." in html
    assert '<a href="https://x.test/link/a?b=1&amp;c=2">https://x.test/link/a?b=1&amp;c=2</a>.' in html
    assert "Acme &amp; Sons" in html


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "password", "tls", "starttls"),
    [
        ("smtp://u:pa%40ss@mail.example:587?starttls=1", "mail.example", 587, "u", "pa@ss", False, True),
        ("smtps://user:pass@mail.example", "mail.example", 465, "user", "pass", True, False),
        ("smtp://relay.internal", "relay.internal", 587, None, None, False, False),
        ("smtp://relay.internal:25", "relay.internal", 25, None, None, False, False),
    ],
)
def test_smtp_urls_name_the_server_and_how_to_reach_it(url, host, port, user, password, tls, starttls):
    server = parse_smtp_url(url)
    assert (server.host, server.port, server.username, server.password) == (host, port, user, password)
    assert (server.implicit_tls, server.starttls) == (tls, starttls)
    assert "pass" not in repr(server)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mail.example:587", "must be an smtp:// or smtps:// address"),
        ("http://mail.example", "must be an smtp:// or smtps:// address"),
        ("smtp://", "must be an smtp:// or smtps:// address"),
        ("smtp://mail.example:port", "port that is not a number"),
        ("smtp://mail.example?starttls=yes", "starttls must be 1 or 0"),
        ("smtps://mail.example?starttls=1", "smtps:// is TLS from the start"),
        ("smtp://user@mail.example", "names a user but no password"),
    ],
)
def test_a_malformed_smtp_url_is_refused_with_what_to_write(url, says):
    with pytest.raises(MailSettingsError, match="PORTAL_SMTP_URL") as refused:
        parse_smtp_url(url)
    assert says in str(refused.value)


def test_production_refuses_to_start_with_a_malformed_smtp_url_or_no_sender(make_production_app):
    with pytest.raises(ConfigurationError, match="PORTAL_SMTP_URL must be an smtp:// or smtps:// address"):
        make_production_app(SMTP_URL="mail.example:587", MAIL_FROM=SENDER)
    with pytest.raises(ConfigurationError, match="PORTAL_MAIL_FROM must be set"):
        make_production_app(SMTP_URL="smtp://mail.example")
    with pytest.raises(ConfigurationError, match="PORTAL_MAIL_FROM must be one address"):
        make_production_app(SMTP_URL="smtp://mail.example", MAIL_FROM="not an address")
    app = make_production_app(SMTP_URL="smtps://u:p@mail.example", MAIL_FROM=SENDER)
    assert mail_settings(app.config).server.port == 465
