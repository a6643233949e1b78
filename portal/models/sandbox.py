"""What the simulated Meta must remember across its processes: the authorization codes already used."""

import hashlib

from peewee import CharField

from portal.db import UTCDateTimeField
from portal.models.base import BaseModel


class SandboxSpentCode(BaseModel):
    """An OAuth code the sandbox exchanged once, kept until it would have expired anyway.

    The codes themselves are signed and stateless (any process reads them); only their single use
    needs memory shared by every process, as Meta's has. Only the code's SHA-256 is kept.
    """

    code_hash = CharField(primary_key=True, max_length=64)
    expires_at = UTCDateTimeField(index=True)

    class Meta:
        table_name = "sandbox_spent_code"

    @classmethod
    def spend(cls, code, expires_at, now):
        """Mark a code used; return False when it already was, by this process or any other.

        One INSERT that does nothing on a conflict decides it: of two processes spending the same
        code at once, the database lets exactly one row in, and only that one counts a row.
        """
        cls.delete().where(cls.expires_at <= now).execute()  # an expired code is refused as expired
        inserted = (
            cls.insert(code_hash=hashlib.sha256(code.encode()).hexdigest(), expires_at=expires_at)
            .on_conflict_ignore()
            .as_rowcount()
            .execute()
        )
        return inserted == 1
