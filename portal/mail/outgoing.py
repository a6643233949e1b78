"""Queueing mail: one message per creator and purpose a day, and bulk jobs of many. No Flask.

A message is rendered when it is queued and stored whole, so the outbox shows exactly what goes
out and a retry sends the same bytes. Sending is delivery.py's, in the background.
"""

import json
from dataclasses import dataclass, field

from peewee import IntegrityError

from portal.db import database
from portal.invitation import render_text
from portal.mail.compose import Letter, html_part, new_message_id
from portal.models import Creator, MailJob, OutgoingMessage

NO_EMAIL = "no e-mail address"
NO_LINK = "no link to send: issue one on the Link Accounts Page"
ALREADY_TODAY = "already invited today"


@dataclass
class Queued:
    """What queueing one message did: the message (new or the one already there), or why none."""

    message: OutgoingMessage | None
    skipped: str | None = None


@dataclass
class Plan:
    """Chosen creators split into those who get a message and those skipped, with the reason."""

    to_send: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (creator, reason)


def message_key(kind, creator, now):
    """Return the key that allows one message of this kind per creator per (UTC) day."""
    return f"{kind}:{creator.id}:{now.date().isoformat()}"


def template_letter(template, creator, company, link):
    """Return a template (anything with a subject and a body) filled in for a creator and their link."""
    fill = {"name": creator.name, "company": company, "link": link}
    subject, text = render_text(template.subject, **fill), render_text(template.body, **fill)
    return Letter(subject=subject, text=text, link=link)


def invitation_letter(template, creator, company, link):
    """Return the invitation (an InvitationTemplate) filled in for a creator and their link."""
    return template_letter(template, creator, company, link)


def _already(kind, creators, now):
    """Return the ids of these creators that have a message of this kind today, not a failed one."""
    keys = [message_key(kind, creator, now) for creator in creators]
    if not keys:
        return set()
    query = OutgoingMessage.select(OutgoingMessage.creator).where(
        OutgoingMessage.key.in_(keys) & (OutgoingMessage.status != OutgoingMessage.FAILED)
    )
    return {row.creator_id for row in query}


def plan(kind, creators, links, now):
    """Split creators into those to send to and those skipped; links maps creator id to address."""
    result = Plan()
    already = _already(kind, creators, now)
    for creator in creators:
        reason = None
        if not creator.email:
            reason = NO_EMAIL
        elif not links.get(creator.id):
            reason = NO_LINK
        elif creator.id in already:
            reason = ALREADY_TODAY
        if reason:
            result.skipped.append((creator, reason))
        else:
            result.to_send.append(creator)
    return result


def queue_message(creator, kind, letter, *, sender, company, staff, now, job=None):
    """Queue one message of this kind to a creator, unless one went (or waits to go) today.

    A message that failed today is queued again with the new words; staff asked once more.
    """
    if not creator.email:
        return Queued(None, NO_EMAIL)
    key = message_key(kind, creator, now)
    values = {
        "kind": kind,
        "creator": creator,
        "job": job,
        "queued_by": staff,
        "sender": sender,
        "recipient": creator.email,
        "reply_to": staff.email if staff else None,
        "subject": letter.subject,
        "text_body": letter.text,
        "html_body": html_part(kind, letter, company),
        "status": OutgoingMessage.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "queued_at": now,
    }
    try:
        with database.atomic():  # a savepoint: the unique key may refuse it, the caller's work goes on
            return Queued(OutgoingMessage.create(key=key, message_id=new_message_id(sender), **values))
    except IntegrityError:
        existing = OutgoingMessage.get(OutgoingMessage.key == key)
    retried = (
        OutgoingMessage.update(**values)
        .where((OutgoingMessage.id == existing.id) & (OutgoingMessage.status == OutgoingMessage.FAILED))
        .execute()
    )
    if retried:
        return Queued(OutgoingMessage.get_by_id(existing.id))
    return Queued(existing, ALREADY_TODAY)


def queue_job(key, kind, letters, skipped, *, sender, company, staff, now):
    """Queue a bulk job's messages (letters: (creator, Letter)) at once; return (job, made now).

    The form's key is unique: the same form sent twice returns the first job and queues nothing.
    """
    with database.atomic():
        try:
            with database.atomic():
                job = MailJob.create(key=key, kind=kind, created_by=staff, created_at=now)
        except IntegrityError:
            return MailJob.get(MailJob.key == key), False
        skips = [{"name": creator.name, "reason": reason} for creator, reason in skipped]
        for creator, letter in letters:
            queued = queue_message(
                creator, kind, letter, sender=sender, company=company, staff=staff, now=now, job=job
            )
            if queued.skipped:
                skips.append({"name": creator.name, "reason": queued.skipped})
        job.skipped = json.dumps(skips)
        job.save()
    return job, True


def chosen_creators(ids):
    """Return the creators these ids name, by name; ids that name none are left out."""
    wanted = sorted({creator_id for creator_id in ids if creator_id})
    if not wanted:
        return []
    return list(Creator.select().where(Creator.id.in_(wanted)).order_by(Creator.name, Creator.id))
