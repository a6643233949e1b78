"""Versioned schema changes, so an upgrade changes tables in place and loses no data.

A new database gets every table from the current models and is stamped with the
latest version. An existing one runs, in order, each step newer than its stamp.
To change the schema: change the model, then append a step that makes the same
change with playhouse.migrate (and never edit a step that has shipped).
"""

import contextlib
import datetime
import logging
import zoneinfo

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, SqliteDatabase, TextField, fn
from playhouse.migrate import SchemaMigrator, migrate

from portal.db import UTCDateTimeField, is_sqlite
from portal.models import (
    CAMPAIGN_MODELS,
    COMPLIANCE_MODELS,
    INSIGHT_MODELS,
    MAIL_MODELS,
    MODELS,
    REMINDER_MODELS,
    ROLLUP_MODELS,
    AccountStatus,
    CreatorImport,
    MetaGrant,
    SandboxSpentCode,
    SchemaVersion,
    Staff,
    report_version,
    search,
)

log = logging.getLogger(__name__)


def _v2_reusable_links_and_session_versions(migrator):
    # Staff can copy a creator's existing link again (kept encrypted), and
    # logging out ends the session on the server, not only in the browser.
    return [
        migrator.add_column("creator", "link_token", TextField(null=True)),
        migrator.add_column("staff", "session_version", IntegerField(default=1)),
    ]


def _v3_meta_grants(migrator):
    # Linking through Facebook Login and Instagram Login: who authorized what, and the
    # account details and Page token that came with it. MetaGrant is new here, so the
    # current model creates it; if that model changes later, freeze a copy for this step.
    MetaGrant.create_table()
    return [
        migrator.add_column(
            "social_account",
            "grant_id",
            ForeignKeyField(MetaGrant, null=True, field=MetaGrant.id, on_delete="SET NULL"),
        ),
        migrator.add_column("social_account", "page_token", TextField(null=True)),
        migrator.add_column("social_account", "granted_scopes", TextField(null=True)),
        migrator.add_column("social_account", "display_name", CharField(null=True)),
        migrator.add_column("social_account", "profile_picture_url", TextField(null=True)),
        migrator.add_column("social_account", "followers_count", IntegerField(null=True)),
        migrator.add_column("social_account", "media_count", IntegerField(null=True)),
    ]


def _v4_insights(migrator):
    # The figures read from Instagram. The tables are new here, so the current models
    # create them; if one of these models changes later, freeze a copy for this step.
    for model in INSIGHT_MODELS:
        model.create_table()
    return [migrator.add_column("social_account", "refresh_deferred_until", UTCDateTimeField(null=True))]


def _v5_compliance(migrator):
    # The consent ledger and Meta's deletion requests; new tables, created from the current
    # models (freeze a copy for this step if one of them changes later).
    for model in COMPLIANCE_MODELS:
        model.create_table()
    return [migrator.add_column("social_account", "revoked_at", UTCDateTimeField(null=True))]


def _v6_creator_list_indexes(migrator):
    # Each creators list view ordered every creator by LOWER(name) and scanned every account for
    # grants whose data access ends soon; these indexes let it read only the rows it shows.
    # IF NOT EXISTS: _v3_meta_grants creates meta_grant from the current model, index included.
    return [
        migrator.sql('CREATE INDEX IF NOT EXISTS "creator_lower_name_id" ON "creator" (LOWER("name"), "id")'),
        migrator.sql(
            'CREATE INDEX IF NOT EXISTS "metagrant_data_access_expires_at" '
            'ON "meta_grant" ("data_access_expires_at")'
        ),
    ]


def _missing_columns(migrator, table, columns):
    """Return add_column operations for the columns `table` lacks.

    _v3 and _v4 create their tables from the current models, so a database made by them already
    has the columns a later step adds; one upgraded from before them does not.
    """
    present = {column.name for column in migrator.database.get_columns(table)}
    return [migrator.add_column(table, name, field) for name, field in columns if name not in present]


def _pacific_day_ends(migrator):
    # Daily figures were stored at the end of a UTC day; Meta's days are America/Los_Angeles days
    # (its end_time is 07:00 or 08:00 UTC). Each stored value keeps the date it was shown under,
    # now ending where Meta's day of that date ends, so the next refresh overwrites it in place.
    pacific = zoneinfo.ZoneInfo("America/Los_Angeles")
    field = UTCDateTimeField()
    ends = migrator.database.execute_sql('SELECT DISTINCT "end_time" FROM "account_metric"').fetchall()
    for (stored,) in ends:
        end = field.python_value(stored)
        if end is None or (end.hour, end.minute, end.second) != (0, 0, 0):
            continue
        day = end.date()  # the day after the one it covers: its Pacific midnight ends that day
        moved = datetime.datetime.combine(day, datetime.time(), tzinfo=pacific).astimezone(datetime.UTC)
        param = migrator.database.param
        migrator.database.execute_sql(
            f'UPDATE "account_metric" SET "end_time" = {param} WHERE "end_time" = {param}',
            (field.db_value(moved), field.db_value(end)),
        )


def _v7_meta_as_it_is(migrator):
    # Meta's v27 rules: a refusal remembered until the next pass, per-account throttling, Instagram
    # Login's second id, Page webhook subscriptions, story values under Meta's threshold, and days
    # that are Pacific days.
    _pacific_day_ends(migrator)
    operations = _missing_columns(
        migrator,
        "social_account",
        [
            ("deferred_reason", TextField(null=True)),
            ("access_denied_since", UTCDateTimeField(null=True)),
            ("instagram_login_id", CharField(null=True)),
            ("webhooks_subscribed_at", UTCDateTimeField(null=True)),
            ("webhook_problem", TextField(null=True)),
        ],
    )
    operations += _missing_columns(
        migrator, "story_metric", [("under_threshold", BooleanField(default=False))]
    )
    index = '"socialaccount_instagram_login_id" ON "social_account" ("instagram_login_id")'
    return [*operations, migrator.sql(f"CREATE INDEX IF NOT EXISTS {index}")]


def _v8_listed_by_staff(migrator):
    # One owner per account: a handle the Link Accounts Page added yields to staff's own listing
    # under another creator. Every handle so far counts as staff's (the behaviour it had).
    return _missing_columns(migrator, "social_account", [("listed_by_staff", BooleanField(default=True))])


def _v9_campaigns(migrator):
    # Campaigns, their creators and clients' report links: new tables, created from the current
    # models (freeze a copy for this step if one of them changes later); creators may be kept
    # out of every report.
    for model in CAMPAIGN_MODELS:
        model.create_table()
    indexes = [
        migrator.sql(f'CREATE INDEX IF NOT EXISTS "socialaccount_{column}" ON "social_account" ("{column}")')
        for column in ("username", "ig_user_id")  # one owner per account looks accounts up by these
    ]
    return [
        *_missing_columns(migrator, "creator", [("internal_only", BooleanField(default=False))]),
        *indexes,
    ]


def _v10_invitation_funnel(migrator):
    # Invitations that go out and come back: who invited a creator and when, the Link Accounts
    # Page's first and last opening, weekly reminders (switchable per creator), links that expire.
    invited_by = ForeignKeyField(Staff, null=True, field=Staff.id, on_delete="SET NULL")
    return _missing_columns(
        migrator,
        "creator",
        [
            ("invited_at", UTCDateTimeField(null=True)),
            ("invited_by_id", invited_by),
            ("page_first_opened_at", UTCDateTimeField(null=True)),
            ("page_last_opened_at", UTCDateTimeField(null=True)),
            ("reminders_enabled", BooleanField(default=True)),
            ("reminded_at", UTCDateTimeField(null=True)),
            ("link_expires_at", UTCDateTimeField(null=True)),
        ],
    )


def _v11_recent_figures(migrator):
    # The overview's sums of the last 30 days, kept ahead of the pages: new tables, created from
    # the current models (freeze a copy for this step if one of them changes later). They start
    # empty; the scheduler fills them within a minute, and the roster computes until it has.
    for model in ROLLUP_MODELS:
        model.create_table()
    return []


def _v12_creator_imports(migrator):
    # A creators CSV waits server-side between its preview and staff's confirmation. A new table,
    # created from the current model (freeze a copy for this step if that model changes later).
    CreatorImport.create_table()
    return []


def _v13_outgoing_mail(migrator):
    # Invitations the portal sends itself: each message as it goes out (its unique key stops a
    # second send) and the bulk jobs that queue many. New tables, created from the current models
    # (freeze a copy for this step if one of them changes later).
    for model in MAIL_MODELS:
        model.create_table()
    return []


def _v14_sandbox_spent_codes(migrator):
    # The sandbox's used OAuth codes, kept in the database instead of each process's memory, so a
    # code is refused the second time on any worker or host, as Meta refuses it. A new table,
    # created from the current model (freeze a copy for this step if that model changes later).
    SandboxSpentCode.create_table()
    return []


def _v15_search_index(migrator):
    # Creator search by name or handle read every creator and every handle (LIKE '%...%'): trigram
    # indexes let it read only the rows that can match (portal/models/search.py). upgrade() fills
    # SQLite's from the rows already there. And the funnel's counts read only the accounts that move
    # a creator along it, through a partial index (the model's own; its WHERE is the funnel's).
    search.install(migrator.database)
    in_funnel = ", ".join(f"'{status}'" for status in AccountStatus.IN_FUNNEL)
    return [
        migrator.sql(
            'CREATE INDEX IF NOT EXISTS "socialaccount_in_funnel" ON "social_account" '
            f'("creator_id", "status", "grant_id") WHERE ("status" IN ({in_funnel}))'
        )
    ]


def _v16_reminders(migrator):
    # Reminders: their templates, the days after the invitation, and each occasion reminded of. The
    # creator's reminders_enabled and reminded_at came with version 10. New tables only: the
    # current models create them (freeze a copy for this step if one of them changes later).
    for model in REMINDER_MODELS:
        model.create_table()
    return []


def _v17_recent_figures_indexes(migrator):
    # A roster sorted by a figure read its first rows off each figure's index on recent_figures
    # instead of joining and sorting every creator's accounts (portal/campaigns/roster.py). The
    # names are the model's own (index=True); IF NOT EXISTS: _v11 creates the table from the
    # current model, indexes included.
    return [
        migrator.sql(f'CREATE INDEX IF NOT EXISTS "recentfigures_{column}" ON "recent_figures" ("{column}")')
        for column in (
            "followers",
            "followers_change",
            "views",
            "reach",
            "accounts_engaged",
            "interactions",
            "reels_views",
            "reels_watch",
            "stories",
        )
    ]


def _v18_report_version(migrator):
    # A client's report page is rendered once and kept until anything it shows changes: triggers on
    # the tables it reads move a number that every process reads (portal/models/report_version.py).
    report_version.install(migrator.database)
    return []


def _v19_funnel_stage_indexes(migrator):
    # The creators list counted each funnel stage by reading every creator on each view: a partial
    # index per stage a creator reaches by their own columns (the page opened; invited, not opened)
    # lets it count those alone. Written out, as a shipped step must not follow later models.
    return [
        migrator.sql(
            'CREATE INDEX IF NOT EXISTS "creator_page_opened" ON "creator" ("page_first_opened_at") '
            'WHERE ("page_first_opened_at" IS NOT NULL)'
        ),
        migrator.sql(
            'CREATE INDEX IF NOT EXISTS "creator_invited_not_opened" '
            'ON "creator" ("invited_at", "page_first_opened_at") '
            'WHERE (("page_first_opened_at" IS NULL) AND ("invited_at" IS NOT NULL))'
        ),
    ]


def _v20_search_index_gist(migrator):
    # PostgreSQL's trigram indexes become GiST: a GIN index's search intersected the row lists of
    # trigrams most names share and read its pending list of new rows whole (portal/models/search.py).
    search.replace_gin_indexes(migrator.database)
    return []


def _v21_version_for_kept_answers(migrator):
    # The report version moves for what the answers portal/kept.py keeps read too: a creator's
    # invitation and first opening, an account's grant, a grant's end of data access. SQLite's
    # triggers name the columns an UPDATE must touch to fire: those are made again.
    db = migrator.database
    if is_sqlite(db):
        for table in report_version.WATCHED:
            db.execute_sql(f"DROP TRIGGER IF EXISTS report_version_{table}_update")
    report_version.install(db)
    return []


# (version, step); version 1 is the first released schema.
STEPS = [
    (2, _v2_reusable_links_and_session_versions),
    (3, _v3_meta_grants),
    (4, _v4_insights),
    (5, _v5_compliance),
    (6, _v6_creator_list_indexes),
    (7, _v7_meta_as_it_is),
    (8, _v8_listed_by_staff),
    (9, _v9_campaigns),
    (10, _v10_invitation_funnel),
    (11, _v11_recent_figures),
    (12, _v12_creator_imports),
    (13, _v13_outgoing_mail),
    (14, _v14_sandbox_spent_codes),
    (15, _v15_search_index),
    (16, _v16_reminders),
    (17, _v17_recent_figures_indexes),
    (18, _v18_report_version),
    (19, _v19_funnel_stage_indexes),
    (20, _v20_search_index_gist),
    (21, _v21_version_for_kept_answers),
]
LATEST = STEPS[-1][0] if STEPS else 1


def current_version(db):
    """Return the schema version stamped on db, 0 for an empty database."""
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    with db.bind_ctx([SchemaVersion]):
        return SchemaVersion.select(fn.MAX(SchemaVersion.version)).scalar() or 0


def upgrade(db):
    """Bring db to the latest schema and return the list of versions applied."""
    with db.bind_ctx([SchemaVersion]):
        version = current_version(db)
        if version == 0:
            with db.atomic():
                db.create_tables([*MODELS, SchemaVersion])
                search.install(db)
                report_version.install(db)
                SchemaVersion.create(version=LATEST)
            log.info("Created a new database at schema version %s", LATEST)
            return [LATEST]
        with _sqlite_rebuilds_keep_children(db):
            applied = _apply_steps(db, version)
        if applied:
            _renew_search_index(db)
            with db.atomic():
                report_version.install(db)  # a table a step rebuilt on SQLite lost its triggers
        return applied


def _renew_search_index(db):
    """After steps ran, give SQLite's search tables back their triggers and refill them.

    A step that rebuilds creator or social_account on SQLite (to add a NOT NULL column, peewee copies
    the table, drops the old one and renames the copy) drops the triggers that keep the search tables
    current, and rows it changed meanwhile were never indexed. Re-creating what is missing
    (IF NOT EXISTS) and refilling from the tables makes any upgrade end as a new database starts.
    """
    if is_sqlite(db):
        with db.atomic():
            search.install(db)
            search.rebuild(db)


def _apply_steps(db, version):
    applied = []
    migrator = SchemaMigrator.from_database(db)
    for step_version, step in STEPS:
        if step_version <= version:
            continue
        with db.atomic():
            migrate(*step(migrator))
            SchemaVersion.create(version=step_version)
        log.info("Upgraded the database to schema version %s", step_version)
        applied.append(step_version)
    return applied


@contextlib.contextmanager
def _sqlite_rebuilds_keep_children(db):
    """On SQLite, switch foreign keys off while the steps run, and check them after.

    SQLite cannot add a NOT NULL column in place: peewee copies the table, drops the old one and
    renames the copy. With foreign keys on, that drop deletes every row that cascades from the
    table (a creator's accounts, an account's figures). SQLite's own advice for such a change is
    this: keys off outside the transaction, then PRAGMA foreign_key_check.
    """
    if not isinstance(db, SqliteDatabase):
        yield
        return
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        yield
        broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the upgrade left rows pointing at nothing: {broken[:5]}")
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")
