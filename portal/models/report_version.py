"""A number that moves whenever anything a client's report shows may have changed, and the answers
portal/kept.py keeps (a roster's totals, the funnel's counts) with it.

A report page is the same for every reader until its figures, its creators or its campaign change,
so each web process keeps the pages it rendered (portal/reports/rendered.py) under this number,
read from the database on every opening. Triggers in the database move it, so every write counts
whichever code makes it (the refresh's multi-row upserts, a staff edit, a cascade, the retention
purge) and every process and host sees it at once:
- SQLite: a trigger for each row written (SQLite has no other kind); its writers take turns anyway.
- PostgreSQL: one trigger per statement, before it, so the refresh's upserts of thousands of rows
  move it once. The row is locked until the writer commits: writers of these tables wait for one
  another, and a reader never sees the number moved before the rows it stands for are visible.
"""

from peewee import BigIntegerField

from portal.db import is_sqlite
from portal.models.base import BaseModel
from portal.prepared import prepared

# The tables whose rows a report shows or the kept answers read, and for an UPDATE the columns they
# read (None: all of them). An account's refresh time, a creator's reminders, a page's last opening
# are read by neither: writing them keeps the rendered pages. The funnel's stages read a creator's
# invitation and first opening, an account's grant and the grant's end of data access.
WATCHED = {
    "campaign": None,
    "campaign_creator": None,
    "creator": ("name", "internal_only", "invited_at", "page_first_opened_at"),
    "social_account": ("creator_id", "username", "status", "grant_id"),
    "meta_grant": ("data_access_expires_at",),
    "account_metric": None,
    "profile_snapshot": None,
    "media": None,
    "media_metric": None,
    "story": None,
    "story_metric": None,
    "audience_snapshot": None,
    "recent_figures": None,
    "recent_span": None,
}
_BUMP = 'UPDATE "report_version" SET "number" = "number" + 1'


class ReportVersion(BaseModel):
    """The one row holding the number (see the module's docstring)."""

    number = BigIntegerField(default=0)

    class Meta:
        table_name = "report_version"

    @classmethod
    def current(cls):
        """Return the number now, or None if the row is missing (then nothing may be kept)."""
        row = _current_number.first()
        return row[0] if row else None


@prepared
def _current_number():
    # Read on every view of a page with kept answers: its SQL is built once (portal/prepared.py).
    return ReportVersion.select(ReportVersion.number).limit(1).tuples()


def _sqlite_statements(table, columns):
    update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
    return [
        f"CREATE TRIGGER IF NOT EXISTS report_version_{table}_{name} AFTER {event} ON {table} "
        f"BEGIN {_BUMP}; END"
        for name, event in (("insert", "INSERT"), ("update", update), ("delete", "DELETE"))
    ]


def _postgres_statements(table, columns):
    update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
    trigger = f"report_version_{table}"
    return [
        f'DROP TRIGGER IF EXISTS {trigger} ON "{table}"',
        f'CREATE TRIGGER {trigger} BEFORE INSERT OR {update} OR DELETE OR TRUNCATE ON "{table}" '
        "FOR EACH STATEMENT EXECUTE FUNCTION report_version_moved()",
    ]


def install(db):
    """Create the row and the triggers that db lacks (a rebuilt SQLite table loses its triggers)."""
    ReportVersion.create_table()  # IF NOT EXISTS
    db.execute_sql(
        'INSERT INTO "report_version" ("number") SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM "report_version")'
    )
    if is_sqlite(db):
        statements = [s for table, columns in WATCHED.items() for s in _sqlite_statements(table, columns)]
    else:
        function = (
            "CREATE OR REPLACE FUNCTION report_version_moved() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_BUMP}; RETURN NULL; END $$"
        )
        statements = [function]
        statements += [s for table, columns in WATCHED.items() for s in _postgres_statements(table, columns)]
    for statement in statements:
        db.execute_sql(statement)
