"""The deferred database, its connection settings, and field types shared by the models."""

import datetime

from peewee import DatabaseProxy, DateTimeField, SqliteDatabase
from playhouse.db_url import connect

database = DatabaseProxy()

# Applied by the driver to every new connection, so request threads and
# scheduler threads alike get WAL, foreign keys and a generous busy timeout.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 15000,
}


def utcnow():
    """Return the current time, timezone-aware, in UTC."""
    return datetime.datetime.now(datetime.UTC)


def open_database(url):
    """Open the database named by a peewee db_url, with the portal's connection settings."""
    if url.startswith("sqlite"):
        db = connect(url, pragmas=SQLITE_PRAGMAS, timeout=15)
    else:
        db = connect(url)
    return db


def bind_database(url):
    """Point the deferred database at the database named by url, and return it."""
    db = open_database(url)
    database.initialize(db)
    return db


def is_sqlite(db=None):
    """Tell whether the bound database is SQLite."""
    target = db or database.obj
    return isinstance(target, SqliteDatabase)


class UTCDateTimeField(DateTimeField):
    """A datetime stored as naive UTC and returned timezone-aware.

    SQLite keeps datetimes as text and PostgreSQL's plain TIMESTAMP drops the
    offset, so the offset is removed on the way in and restored on the way out.
    """

    def db_value(self, value):
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, datetime.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value
