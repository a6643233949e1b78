"""Staff: the agency's people who sign in, and how their passwords and sessions are checked."""

import functools

from peewee import BooleanField, CharField, IntegerField
from werkzeug.security import check_password_hash, generate_password_hash

from portal.db import UTCDateTimeField, utcnow
from portal.models.base import BaseModel
from portal.prepared import prepared


@functools.cache
def _dummy_hash(method):
    """Return a hash of no one's password made with method, for checks on unknown emails."""
    return generate_password_hash("not a real password", method=method)


class Staff(BaseModel):
    """An agency employee who signs in to the portal."""

    email = CharField(unique=True)
    password_hash = CharField()
    is_admin = BooleanField(default=False)
    # Part of the session's user id: bumping it ends every session signed in before.
    session_version = IntegerField(default=1)
    created_at = UTCDateTimeField(default=utcnow)
    last_login_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "staff"

    @classmethod
    def register(cls, email, password, *, is_admin=False, method):
        """Create a staff member with a hashed password, or raise ValueError if taken."""
        email = email.strip().lower()
        if cls.by_email(email):
            raise ValueError(f"A staff account for {email} already exists.")
        return cls.create(
            email=email,
            password_hash=generate_password_hash(password, method=method),
            is_admin=is_admin,
        )

    @classmethod
    def authenticate(cls, email, password, *, method):
        """Return the staff member if the password is right, else None, in similar time.

        method is the configured hash method: a missing account is checked against a hash
        made with it, so it answers no faster than a wrong password.
        """
        staff = cls.by_email(email)
        if staff is None:
            check_password_hash(_dummy_hash(method), password)
            return None
        return staff if check_password_hash(staff.password_hash, password) else None

    @classmethod
    def by_email(cls, email):
        """Return the staff member with this email (any case), or None."""
        return cls.get_or_none(cls.email == email.strip().lower())

    @classmethod
    def ordered(cls):
        """Return every staff member, by email."""
        return cls.select().order_by(cls.email)

    # Flask-Login's user protocol, kept here so views stay thin.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    @classmethod
    def from_session_id(cls, user_id):
        """Return the staff member a session id names, if that session is still current."""
        staff_id, _, version = str(user_id).partition(":")
        if not (staff_id.isdigit() and version.isdigit()):
            return None
        return _staff_in_session.first(staff_id=int(staff_id), version=int(version))

    def end_sessions(self):
        """Make every session cookie issued to this staff member worthless."""
        Staff.update(session_version=Staff.session_version + 1).where(Staff.id == self.id).execute()


@prepared
def _staff_in_session(staff_id, version):
    # Every staff page asks this first: its SQL is built once (portal/prepared.py).
    return Staff.select().where((Staff.id == staff_id) & (Staff.session_version == version)).limit(1)
