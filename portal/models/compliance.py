"""The consent ledger and Meta's data-deletion requests."""

import json

from peewee import CharField, ForeignKeyField, TextField

from portal.db import UTCDateTimeField, utcnow
from portal.models import BaseModel, Creator, SocialAccount


class AuditEvent(BaseModel):
    """One entry of the consent ledger: who did what to which account. Never a token or password."""

    at = UTCDateTimeField(default=utcnow, index=True)
    action = CharField(index=True)
    actor = CharField()  # "staff:<email>", "facebook:<id> <name>", "meta", "scheduler"
    creator = ForeignKeyField(Creator, null=True, backref="audit_events", on_delete="SET NULL")
    account = ForeignKeyField(SocialAccount, null=True, backref="audit_events", on_delete="SET NULL")
    details = TextField(default="{}")  # JSON: Page, scopes, role, counts...

    class Meta:
        table_name = "audit_event"

    @classmethod
    def record(cls, action, actor, *, creator=None, account=None, **details):
        """Add an entry to the ledger and return it."""
        return cls.create(
            action=action, actor=actor, creator=creator, account=account, details=json.dumps(details)
        )

    @property
    def detail_items(self):
        return json.loads(self.details or "{}")


class DeletionRequest(BaseModel):
    """A data-deletion request from Meta, and what was done about it."""

    PENDING = "pending"
    COMPLETED = "completed"

    confirmation_code = CharField(unique=True)
    # A digest of the app-scoped user id: enough to answer a repeat request, no identity kept.
    user_digest = CharField(index=True)
    provider = CharField()
    status = CharField(default=PENDING)
    summary = TextField(default="")
    received_at = UTCDateTimeField(default=utcnow)
    completed_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "deletion_request"


COMPLIANCE_MODELS = [AuditEvent, DeletionRequest]
