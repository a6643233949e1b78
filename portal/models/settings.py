"""Settings staff edit in the portal: the invitation template."""

from peewee import CharField, ForeignKeyField, TextField

from portal.db import UTCDateTimeField, utcnow
from portal.invitation import DEFAULT_BODY, DEFAULT_SUBJECT
from portal.models.base import BaseModel
from portal.models.staff import Staff


class InvitationTemplate(BaseModel):
    """The invitation staff send to creators; one row, edited by admins."""

    subject = CharField()
    body = TextField()
    updated_at = UTCDateTimeField(default=utcnow)
    updated_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL")

    class Meta:
        table_name = "invitation_template"

    @classmethod
    def current(cls):
        """Return the saved template, or an unsaved one holding the defaults."""
        saved = cls.select().order_by(cls.id.desc()).first()
        return saved or cls(subject=DEFAULT_SUBJECT, body=DEFAULT_BODY)
