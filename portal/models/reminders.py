"""Reminders: their templates, how long after the invitation the first goes, and what was sent for what."""

from peewee import CharField, ForeignKeyField, IntegerField, TextField

from portal.db import UTCDateTimeField, utcnow
from portal.invitation import REMINDERS
from portal.models.base import BaseModel
from portal.models.creators import Creator
from portal.models.mail import OutgoingMessage
from portal.models.staff import Staff


class ReminderTemplate(BaseModel):
    """One kind of reminder's words; each save adds a row, the newest of a kind is the one sent."""

    kind = CharField(index=True)  # a key of portal.invitation.REMINDERS
    subject = CharField()
    body = TextField()
    updated_at = UTCDateTimeField(default=utcnow)
    updated_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")

    class Meta:
        table_name = "reminder_template"

    @classmethod
    def default(cls, kind):
        """Return an unsaved template holding the default words of this kind."""
        return cls(kind=kind, subject=REMINDERS[kind]["subject"], body=REMINDERS[kind]["body"])

    @classmethod
    def current(cls, kind):
        """Return the saved template of this kind, or the default."""
        saved = cls.select().where(cls.kind == kind).order_by(cls.id.desc()).first()
        return saved or cls.default(kind)

    @classmethod
    def current_all(cls):
        """Return {kind: current template} for every kind, in one query."""
        templates = {kind: cls.default(kind) for kind in REMINDERS}
        for saved in cls.select().where(cls.kind.in_(list(REMINDERS))).order_by(cls.id):
            templates[saved.kind] = saved  # the newest of each kind comes last
        return templates


class ReminderSchedule(BaseModel):
    """How many days after the invitation a creator who has not linked is reminded; one row, edited by admins.

    In the database, not an environment variable: it is an agency's choice, changed from the
    Settings page beside the reminders' words, with no restart.
    """

    DEFAULT_DAYS = 7
    MIN_DAYS, MAX_DAYS = 1, 90

    invited_after_days = IntegerField(default=DEFAULT_DAYS)
    updated_at = UTCDateTimeField(default=utcnow)
    updated_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")

    class Meta:
        table_name = "reminder_schedule"

    @classmethod
    def current(cls):
        """Return the saved schedule, or an unsaved one holding the default."""
        return cls.select().order_by(cls.id.desc()).first() or cls(invited_after_days=cls.DEFAULT_DAYS)


class ReminderSent(BaseModel):
    """The occasion a reminder was queued for, so that no occasion is reminded of twice.

    The occasion is a moment with a threshold: the invitation's invited_at; the data access end a
    warning was about, with its 14 or 3 days; the linking time of the link that broke. The unique
    index is what keeps a second scheduler, or a second run, from queueing it again.
    """

    creator = ForeignKeyField(Creator, backref="reminders_sent", on_delete="CASCADE")
    kind = CharField()
    occasion_at = UTCDateTimeField()
    threshold = IntegerField(default=0)  # days before data access ends; 0 for the other kinds
    message = ForeignKeyField(OutgoingMessage, null=True, on_delete="SET NULL")
    queued_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "reminder_sent"
        indexes = ((("creator", "kind", "occasion_at", "threshold"), True),)


REMINDER_MODELS = [ReminderTemplate, ReminderSchedule, ReminderSent]
