"""Sending what is queued: over SMTP or into the outbox, with retries, each message at most once.

Run by the scheduler every few seconds (never inside a web request). A message is claimed before
it is sent (queued -> sending, in one UPDATE), so two senders never send the same one. SMTP's 4xx
answers and lost connections are tried again with growing waits; its 5xx answers fail at once,
with the server's reason, for staff to read.
"""

import datetime
import logging
import smtplib
import ssl
from dataclasses import dataclass, field

from portal.db import database, utcnow
from portal.mail.compose import mime_message
from portal.models import Creator, LedgerEntry, OutgoingMessage

log = logging.getLogger(__name__)

# Waits before the 2nd, 3rd, ... attempt; after the last, a temporary failure becomes final.
RETRY_DELAYS = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
)
# A message still "sending" after this was cut off mid-send (the process died): it may have gone
# out, so it is not sent again; staff see why and can send it again themselves.
INTERRUPTED_AFTER = datetime.timedelta(minutes=15)
INTERRUPTED = "interrupted while sending; not tried again in case it went out: send it again if it did not"


class DeliveryError(Exception):
    """A message was not delivered; temporary ones may succeed later."""

    def __init__(self, reason, temporary):
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


@dataclass
class Round:
    """What one round of sending did."""

    sent: int = 0
    retrying: int = 0
    failed: dict = field(default_factory=dict)  # recipient -> reason

    @property
    def idle(self):
        return not (self.sent or self.retrying or self.failed)

    def line(self):
        return f"{self.sent} sent, {self.retrying} to try again, {len(self.failed)} failed"


def _smtp_reason(code, text):
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()


def smtp_send(server, mime):
    """Hand one message to the SMTP server; raise DeliveryError with the server's reason."""
    try:
        if server.implicit_tls:
            connection = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        with connection:
            if server.starttls:
                connection.starttls(context=ssl.create_default_context())
            if server.username:
                connection.login(server.username, server.password)
            connection.send_message(mime)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise DeliveryError(_smtp_reason(code, text), temporary=400 <= code < 500) from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth failed...
        reason = _smtp_reason(exc.smtp_code, exc.smtp_error)
        raise DeliveryError(reason, temporary=400 <= exc.smtp_code < 500) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused or dropped connection, timeout, TLS
        reason = f"could not reach the mail server: {exc or type(exc).__name__}"
        raise DeliveryError(reason, temporary=True) from exc


def deliver(settings, message):
    """Send one claimed message the way settings say: SMTP, or the outbox (where it already is)."""
    if settings.server is not None:
        smtp_send(settings.server, mime_message(message))


def _record_sent(message, via, now):
    OutgoingMessage.update(status=OutgoingMessage.SENT, via=via, sent_at=now, last_error=None).where(
        OutgoingMessage.id == message.id
    ).execute()
    if message.creator_id is None:
        return
    if message.kind == "invitation":
        Creator.update(invited_at=now, invited_by=message.queued_by_id).where(
            Creator.id == message.creator_id
        ).execute()
    actor = f"staff:{message.reply_to}" if message.reply_to else "scheduler"
    LedgerEntry.record(
        f"{message.kind}_sent",
        actor,
        creator=message.creator_id,
        to=message.recipient,
        subject=message.subject,
        via=via,
    )


def _record_failure(message, error, now):
    """Put a temporary failure back in the queue for later (None), or fail it for good (the reason)."""
    attempts = message.attempts
    if error.temporary and attempts <= len(RETRY_DELAYS):
        OutgoingMessage.update(
            status=OutgoingMessage.QUEUED,
            next_attempt_at=now + RETRY_DELAYS[attempts - 1],
            last_error=error.reason,
        ).where(OutgoingMessage.id == message.id).execute()
        return None
    reason = error.reason if not error.temporary else f"gave up after {attempts} tries: {error.reason}"
    OutgoingMessage.update(status=OutgoingMessage.FAILED, last_error=reason).where(
        OutgoingMessage.id == message.id
    ).execute()
    return reason


def send_one(settings, message_id, now, summary):
    """Claim, send and record one message; another sender's claim wins and this one skips it."""
    message = OutgoingMessage.claim(message_id, now)
    if message is None:
        return
    try:
        deliver(settings, message)
    except DeliveryError as error:
        reason = _record_failure(message, error, now)
        if reason:
            summary.failed[message.recipient] = reason
            log.warning("Message %s failed: %s", message.id, reason)
        else:
            summary.retrying += 1
        return
    with database.atomic():
        _record_sent(message, settings.via, now)
    summary.sent += 1


def give_up_interrupted(now):
    """Fail messages left "sending" by a process that died mid-send; return how many."""
    return (
        OutgoingMessage.update(
            status=OutgoingMessage.FAILED,
            last_error=INTERRUPTED,
        )
        .where(
            (OutgoingMessage.status == OutgoingMessage.SENDING)
            & (OutgoingMessage.attempted_at < now - INTERRUPTED_AFTER)
        )
        .execute()
    )


def send_due(settings, now=None, limit=50):
    """Send every queued message whose time has come (at most limit); return a Round."""
    now = now or utcnow()
    summary = Round()
    give_up_interrupted(now)
    for message_id in OutgoingMessage.due(now, limit):
        send_one(settings, message_id, now, summary)
    return summary
