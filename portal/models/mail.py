"""Outgoing e-mail: each message as it will be (or was) sent, and the bulk jobs that queue many."""

import json

from peewee import JOIN, CharField, ForeignKeyField, IntegerField, TextField, fn

from portal.db import UTCDateTimeField, utcnow
from portal.models.base import BaseModel
from portal.models.creators import Creator
from portal.models.staff import Staff
from portal.paging import Page


class MailJob(BaseModel):
    """Invitations staff sent to many creators at once; its messages say how far it got."""

    # The form's one-time key: a second submission of the same form finds this job, not a new one.
    key = CharField(unique=True)
    kind = CharField(default="invitation")
    created_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)
    # JSON list of {"name", "reason"}: creators chosen but given no message (no e-mail, invited today).
    skipped = TextField(default="[]")

    class Meta:
        table_name = "mail_job"

    @property
    def skipped_items(self):
        return json.loads(self.skipped or "[]")

    def progress(self):
        """Return {status: count} of this job's messages: one query."""
        rows = (
            OutgoingMessage.select(OutgoingMessage.status, fn.COUNT(OutgoingMessage.id))
            .where(OutgoingMessage.job == self)
            .group_by(OutgoingMessage.status)
            .tuples()
        )
        return dict(rows)

    def failures(self):
        """Return this job's failed messages with their creator's name, by name: one query."""
        return (
            OutgoingMessage.select(OutgoingMessage, Creator.id, Creator.name)
            .join(Creator, JOIN.LEFT_OUTER)
            .where((OutgoingMessage.job == self) & (OutgoingMessage.status == OutgoingMessage.FAILED))
            .order_by(fn.LOWER(Creator.name), OutgoingMessage.id)
        )


class OutgoingMessage(BaseModel):
    """One e-mail, rendered when it was queued, with where it stands: queued, sending, sent, failed."""

    QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"

    # One message per purpose: "invitation:<creator>:<UTC day>". The unique index is what stops a
    # double click, a second tab or a retry from sending the same invitation twice.
    key = CharField(unique=True)
    kind = CharField()  # "invitation", or a reminder's kind (portal.invitation.REMINDERS)
    creator = ForeignKeyField(Creator, null=True, backref="messages", on_delete="SET NULL")
    job = ForeignKeyField(MailJob, null=True, backref="messages", on_delete="SET NULL")
    queued_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")
    sender = CharField()
    recipient = CharField()
    reply_to = CharField(null=True)
    subject = TextField()
    text_body = TextField()
    html_body = TextField()
    message_id = CharField()  # the Message-ID header, the same on every attempt
    status = CharField(default=QUEUED, index=True)
    via = CharField(null=True)  # "smtp" or "outbox", once sent
    attempts = IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    attempted_at = UTCDateTimeField(null=True)  # when the latest attempt began
    last_error = TextField(null=True)
    queued_at = UTCDateTimeField(default=utcnow, index=True)
    sent_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "outgoing_message"

    @classmethod
    def due(cls, now, limit=50):
        """Return the ids of queued messages whose time has come, oldest first."""
        query = cls.select(cls.id).where((cls.status == cls.QUEUED) & (cls.next_attempt_at <= now))
        return [row.id for row in query.order_by(cls.next_attempt_at, cls.id).limit(limit)]

    @classmethod
    def claim(cls, message_id, now):
        """Mark a queued message as being sent; return it, or None if another sender took it first."""
        taken = (
            cls.update(status=cls.SENDING, attempts=cls.attempts + 1, attempted_at=now)
            .where((cls.id == message_id) & (cls.status == cls.QUEUED))
            .execute()
        )
        return cls.get_by_id(message_id) if taken else None

    @classmethod
    def latest_of(cls, creator, kind):
        """Return the creator's newest message of this kind, or None."""
        query = cls.select().where((cls.creator == creator) & (cls.kind == kind))
        return query.order_by(cls.queued_at.desc(), cls.id.desc()).first()

    @classmethod
    def recent_of_kinds(cls, kinds, limit=50):
        """Return the newest messages of these kinds, with their creator's id and name: one query."""
        return (
            cls.select(cls, Creator.id, Creator.name)
            .join(Creator, JOIN.LEFT_OUTER)
            .where(cls.kind.in_(list(kinds)))
            .order_by(cls.queued_at.desc(), cls.id.desc())
            .limit(limit)
        )

    @classmethod
    def listing(cls, page=1, per_page=20):
        """Return one Page of every message, newest first: the outbox."""
        query = cls.select()
        rows = list(query.order_by(cls.queued_at.desc(), cls.id.desc()).paginate(page, per_page))
        total = query.count() if rows or page > 1 else 0
        return Page(items=rows, number=page, per_page=per_page, total=total)


MAIL_MODELS = [MailJob, OutgoingMessage]
