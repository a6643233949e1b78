"""The consent ledger and Meta's data-deletion requests."""

import json

from peewee import JOIN, CharField, ForeignKeyField, TextField, fn

from portal.db import UTCDateTimeField, utcnow
from portal.models.accounts import SocialAccount
from portal.models.base import BaseModel
from portal.models.creators import Creator
from portal.paging import Page
from portal.redaction import redact


class LedgerEntry(BaseModel):
    """One entry of the consent ledger: who did what to which account. Never a token or password."""

    at = UTCDateTimeField(default=utcnow, index=True)
    action = CharField(index=True)
    actor = CharField()  # "staff:<email>", "facebook:<id> <name>", "meta", "scheduler"
    creator = ForeignKeyField(Creator, null=True, backref="ledger_entries", on_delete="SET NULL")
    account = ForeignKeyField(SocialAccount, null=True, backref="ledger_entries", on_delete="SET NULL")
    details = TextField(default="{}")  # JSON: Page, scopes, role, counts...

    class Meta:
        table_name = "audit_event"

    @classmethod
    def record(cls, action, actor, *, creator=None, account=None, **details):
        """Add an entry to the ledger and return it; a token-like value in a message is redacted."""
        return cls.create(
            action=action, actor=actor, creator=creator, account=account, details=redact(json.dumps(details))
        )

    @classmethod
    def record_many(cls, entries, actor, at, chunk=500):
        """Add many entries by one actor at once, in chunks: (action, creator id, account id, details)."""
        rows = [
            {
                "at": at,
                "action": action,
                "actor": actor,
                "creator": creator,
                "account": account,
                "details": redact(json.dumps(details)),
            }
            for action, creator, account, details in entries
        ]
        for start in range(0, len(rows), chunk):
            cls.insert_many(rows[start : start + chunk]).execute()

    @property
    def detail_items(self):
        return json.loads(self.details or "{}")

    @classmethod
    def search(cls, *, action=None, creator_name=None, since=None, before=None, page=1, per_page=50):
        """Return one Page of entries, newest first, with their creator and account: one query.

        The total rides along as a window count, so a page costs one query (two past the end).
        """
        query = (
            cls.select(cls, Creator, SocialAccount, fn.COUNT(cls.id).over().alias("total_rows"))
            .join(Creator, JOIN.LEFT_OUTER, on=(cls.creator == Creator.id))
            .switch(cls)
            .join(SocialAccount, JOIN.LEFT_OUTER, on=(cls.account == SocialAccount.id))
        )
        if action:
            query = query.where(cls.action == action)
        if creator_name:
            query = query.where(fn.LOWER(Creator.name).contains(creator_name.lower()))  # wildcards escaped
        if since:
            query = query.where(cls.at >= since)
        if before:
            query = query.where(cls.at < before)
        rows = list(query.order_by(cls.at.desc(), cls.id.desc()).paginate(page, per_page))
        total = rows[0].total_rows if rows else (query.count() if page > 1 else 0)
        return Page(items=rows, number=page, per_page=per_page, total=total)


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

    @classmethod
    def by_code(cls, code):
        """Return the request with this confirmation code, or None."""
        if not code or len(code) > 100:
            return None
        return cls.get_or_none(cls.confirmation_code == code)


COMPLIANCE_MODELS = [LedgerEntry, DeletionRequest]
