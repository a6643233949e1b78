"""The deferred database, its connection settings, and field types shared by the models."""

import datetime
import uuid

from peewee import DatabaseProxy, DateTimeField, SqliteDatabase
from playhouse.db_url import connect
from playhouse.postgres_ext import FetchManyCursor

database = DatabaseProxy()

# Applied by the driver to every new connection, so request threads and
# scheduler threads alike get WAL, foreign keys and a generous busy timeout.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 15000,
}
# Python's sqlite3 keeps each connection's last 128 statements prepared (its default). A refresh
# writes a chunk's rows in VALUES lists whose length differs from chunk to chunk, each up to a
# megabyte once prepared, so the cache filled with them as the roster grew (a fresh refreshing
# process peaked at 143 MiB with 2,000 accounts, 134 with 16 kept). Pages run a few small ones.
SQLITE_CACHED_STATEMENTS = 16


# Seconds the clock is moved by, as a function (read on every call), or None for real time. Only the
# sandbox sets one: its simulated Meta and the portal in front of it then live at the same moment.
_clock_offset = None


def utcnow():
    """Return the current time, timezone-aware, in UTC."""
    now = datetime.datetime.now(datetime.UTC)
    if _clock_offset is not None:
        now += datetime.timedelta(seconds=_clock_offset())
    return now


def move_clock(offset):
    """Run utcnow() offset() seconds ahead of real time from now on; None goes back to real time."""
    global _clock_offset
    _clock_offset = offset


# PostgreSQL connections are pooled per process: opening one (a server process and a login)
# cost more than serving a whole page. Idle ones close after stale_timeout seconds; a request
# waits up to timeout seconds for one when all are busy.
POSTGRES_POOL = {"max_connections": 32, "stale_timeout": 300, "timeout": 10}
# SQLite connections are pooled too: opening one and setting its pragmas (WAL above all) cost about
# 0.5 ms, as much as a small page's queries. A pooled connection passes from thread to thread
# (gunicorn's threads take turns), hence check_same_thread=False; the pool rolls back whatever a
# request left open before handing it on. The busy wait stays the busy_timeout pragma's.
SQLITE_POOL = {"max_connections": 32, "stale_timeout": 300, "timeout": 15, "check_same_thread": False}
SQLITE_CONNECTION = {"pragmas": SQLITE_PRAGMAS, "cached_statements": SQLITE_CACHED_STATEMENTS}


def open_database(url, pooled=True):
    """Open the database named by a peewee db_url, with the portal's connection settings.

    pooled=False gives a plain connection, for one that must really close (a lock's).
    """
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        if pooled:
            return connect(f"sqlite+pool://{rest}", **SQLITE_CONNECTION, **SQLITE_POOL)
        return connect(url, **SQLITE_CONNECTION, timeout=15)
    if pooled and scheme in ("postgres", "postgresql"):
        return connect(f"{scheme}+pool://{rest}", **POSTGRES_POOL)
    return connect(url)


def bind_database(url):
    """Point the deferred database at the database named by url, and return it."""
    previous = database.obj
    if previous is not None and hasattr(previous, "close_idle"):
        previous.close_idle()  # rebinding (tests do, per app) must not strand a pool's connections
    db = open_database(url)
    database.initialize(db)
    return db


def stream(query, size=200):
    """Yield a query's model instances without holding them all, even while the caller commits.

    A plain PostgreSQL cursor receives every row at once (every account of a refresh, kept for the
    whole pass), so PostgreSQL sends them `size` at a time through a server-side cursor. WITH HOLD
    lets it outlive the commits made meanwhile (the server keeps what is left). SQLite's cursor
    already steps through the rows.
    """
    if is_sqlite():
        yield from query.iterator()
        return
    sql, params = query.sql()
    with database.connection().cursor(name=f"stream_{uuid.uuid4().hex}", withhold=True) as cursor:
        cursor.execute(sql, params)
        # peewee's own ServerSide() does this, but only for PostgresqlExtDatabase.
        yield from query._get_cursor_wrapper(FetchManyCursor(cursor, size)).iterator()


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
