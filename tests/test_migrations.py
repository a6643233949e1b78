"""An older database is upgraded in place: its rows survive and it ends like a new one."""

import datetime

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, Model, SqliteDatabase, TextField
from playhouse.migrate import SchemaMigrator, migrate

from portal import db, migrations
from portal.db import UTCDateTimeField, utcnow
from portal.insights import figures
from portal.models import MODELS, AccountMetric, Creator, SchemaVersion, SocialAccount, Staff


def build_version_1(database):
    """Create the tables exactly as schema version 1 had them, with one row each."""

    class Base(Model):
        class Meta:
            legacy_table_names = False

    class V1Staff(Base):
        email = CharField(unique=True)
        password_hash = CharField()
        is_admin = BooleanField(default=False)
        created_at = UTCDateTimeField()
        last_login_at = UTCDateTimeField(null=True)

        class Meta:
            table_name = "staff"

    class V1Creator(Base):
        name = CharField()
        email = CharField(null=True)
        link_token_hash = CharField(unique=True, null=True)
        link_created_at = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()

        class Meta:
            table_name = "creator"

    class V1SocialAccount(Base):
        creator = ForeignKeyField(V1Creator, on_delete="CASCADE")
        username = CharField()
        kind = CharField(default="instagram")
        status = CharField(default="unlinked")
        refresh_enabled = BooleanField(default=True)
        ig_user_id = CharField(null=True)
        linked_by_fb_user_id = CharField(null=True)
        linked_by_name = CharField(null=True)
        linked_at = UTCDateTimeField(null=True)
        page_id = CharField(null=True)
        page_name = CharField(null=True)
        last_refreshed_at = UTCDateTimeField(null=True)
        last_error = TextField(null=True)
        created_at = UTCDateTimeField()

        class Meta:
            table_name = "social_account"
            indexes = ((("creator", "username"), True),)

    class V1InvitationTemplate(Base):
        subject = CharField()
        body = TextField()
        updated_at = UTCDateTimeField()
        updated_by = ForeignKeyField(V1Staff, null=True, on_delete="SET NULL")

        class Meta:
            table_name = "invitation_template"

    class V1SchemaVersion(Base):
        version = IntegerField(primary_key=True)
        applied_at = UTCDateTimeField()

        class Meta:
            table_name = "schema_version"

    tables = [V1Staff, V1Creator, V1SocialAccount, V1InvitationTemplate, V1SchemaVersion]
    now = db.utcnow()
    with database.bind_ctx(tables):
        database.create_tables(tables)
        V1SchemaVersion.create(version=1, applied_at=now)
        V1Staff.create(email="old@agency.test", password_hash="x", is_admin=True, created_at=now)
        creator = V1Creator.create(name="Ava Chen", link_token_hash="a" * 64, created_at=now, updated_at=now)
        V1SocialAccount.create(creator=creator, username="ava.creates", created_at=now)


def columns(database):
    return {
        table: sorted(column.name for column in database.get_columns(table))
        for table in sorted(database.get_tables())
    }


def test_a_new_database_gets_the_latest_schema(app):
    database = db.database.obj
    assert migrations.current_version(database) == migrations.LATEST
    assert {m._meta.table_name for m in [*MODELS, SchemaVersion]} <= set(database.get_tables())
    assert migrations.upgrade(database) == []  # a second run changes nothing


def test_version_1_database_is_upgraded_in_place_keeping_its_rows(make_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = db.open_database(url)
    build_version_1(old)
    old.close()

    app = make_app(DATABASE_URL=url)  # runs migrations.upgrade, as `flask init-db` does
    database = db.database.obj
    assert migrations.current_version(database) == migrations.LATEST
    staff = Staff.get(Staff.email == "old@agency.test")
    assert staff.session_version == 1 and staff.is_admin
    creator = Creator.get(Creator.name == "Ava Chen")
    assert creator.link_token is None and creator.link_token_hash == "a" * 64
    assert [a.username for a in creator.accounts()] == ["ava.creates"]
    assert app.test_client().get("/healthz").status_code == 200


def test_upgraded_schema_matches_a_new_one(make_app, tmp_path):
    old_url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = db.open_database(old_url)
    build_version_1(old)
    old.close()
    make_app(DATABASE_URL=old_url)
    upgraded = columns(db.database.obj)
    make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'new.sqlite3'}")
    assert upgraded == columns(db.database.obj)


def test_version_7_moves_stored_days_to_metas_pacific_days(app):
    """A value shown under a date stays under it; it now ends where Meta's day of that date ends."""
    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    account = SocialAccount.create(creator=creator, username="ava.creates")
    utc_end = datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)  # stored for 1 November, the old way
    pacific_end = datetime.datetime(2026, 11, 5, 8, tzinfo=datetime.UTC)  # already a Meta end_time
    AccountMetric.create(account=account, metric="views", end_time=utc_end, value=5)
    AccountMetric.create(account=account, metric="views", end_time=pacific_end, value=7)
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=6)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 6]
    ends = dict(AccountMetric.select(AccountMetric.value, AccountMetric.end_time).tuples())
    # 1 November 2026 in Los Angeles (a 25-hour day: daylight time ended) ends at 08:00 UTC on the 2nd.
    assert ends == {5: datetime.datetime(2026, 11, 2, 8, tzinfo=datetime.UTC), 7: pacific_end}
    assert figures.metric_day(ends[5]) == datetime.date(2026, 11, 1)
    assert migrations.upgrade(database) == []


def test_version_8_counts_every_handle_listed_so_far_as_listed_by_staff(app):
    """Handles from before one-owner-per-account keep their behaviour: staff's own listing."""
    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    SocialAccount.create(creator=creator, username="ava.creates")
    migrate(SchemaMigrator.from_database(database).drop_column("social_account", "listed_by_staff"))
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=7)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 7]
    assert SocialAccount.get(SocialAccount.username == "ava.creates").listed_by_staff is True
    assert migrations.upgrade(database) == []


def test_version_9_adds_campaigns_to_a_database_that_had_none(app):
    from portal.models import Campaign, CampaignCreator, ReportLink

    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    database.drop_tables([ReportLink, CampaignCreator, Campaign])
    migrate(SchemaMigrator.from_database(database).drop_column("creator", "internal_only"))
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=8)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 8]
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    assert campaign.add_creators([creator.id, creator.id, 999]) == 1
    assert [m.creator_id for m in campaign.members] == [creator.id]
    assert Creator.get_by_id(creator.id).internal_only is False  # every creator may be shown, as before
    assert migrations.upgrade(database) == []


def test_version_10_starts_every_creator_of_before_at_not_invited_with_reminders_on(app):
    database = db.database.obj
    creator = Creator.create(name="Ava Chen", email="ava@example.com")
    columns = [
        "invited_at",
        "invited_by_id",
        "page_first_opened_at",
        "page_last_opened_at",
        "reminders_enabled",
        "reminded_at",
        "link_expires_at",
    ]
    migrator = SchemaMigrator.from_database(database)
    # SQLite's DROP COLUMN refuses a foreign key column: peewee's legacy way copies the table.
    legacy = {"legacy": True} if isinstance(database, SqliteDatabase) else {}
    migrate(*[migrator.drop_column("creator", column, **legacy) for column in columns])
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=9)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 9]
    creator = Creator.get_by_id(creator.id)
    assert (creator.name, creator.email) == ("Ava Chen", "ava@example.com")
    assert creator.invited_at is None and creator.invited_by is None and creator.link_expires_at is None
    assert creator.reminders_enabled is True
    assert migrations.upgrade(database) == []


def test_version_11_adds_the_kept_recent_figures_empty_and_the_roster_adds_up_until_they_are_built(app):
    from portal.campaigns import recent
    from portal.campaigns.roster import Roster, Sort, Span
    from portal.graph.days import meta_day
    from portal.models import RecentFigures, RecentSpan

    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    account = SocialAccount.create(creator=creator, username="ava.creates")
    database.drop_tables([RecentFigures, RecentSpan])
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=10)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 10]
    now = db.utcnow()
    span = Span.recent(meta_day(now))
    assert not Roster(span, now).rolled_up  # nothing kept yet: every view adds up, as before
    assert recent.rebuild(meta_day(now)) == span and Roster(span, now).rolled_up
    assert [row.username for row in Roster(span, now).rows(Sort())] == [account.username]
    assert migrations.upgrade(database) == []


def test_version_12_adds_the_table_where_an_uploaded_csv_waits_for_its_confirmation(app):
    from portal.models import CreatorImport

    database = db.database.obj
    staff = Staff.register("ann@agency.test", "a long password here", method="scrypt:1024:8:1")
    creator = Creator.create(name="Ava Chen")
    database.drop_tables([CreatorImport])
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=11)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 11]
    waiting = CreatorImport.create(staff=staff, file_name="creators.csv", csv_text="name,email,instagram\n")
    assert CreatorImport.pending(waiting.id, staff, db.utcnow()).file_name == "creators.csv"
    assert Creator.get_by_id(creator.id).name == "Ava Chen"
    assert migrations.upgrade(database) == []


def test_version_14_adds_the_table_where_the_sandbox_remembers_used_codes(app):
    from portal.models import SandboxSpentCode

    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    database.drop_tables([SandboxSpentCode])
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=13)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 13]
    now = db.utcnow()
    later = now + datetime.timedelta(minutes=10)
    assert SandboxSpentCode.spend("SBXC-a-code", later, now) is True
    assert SandboxSpentCode.spend("SBXC-a-code", later, now) is False  # single use
    assert Creator.get_by_id(creator.id).name == "Ava Chen"
    assert migrations.upgrade(database) == []


def index_names(database):
    return {index.name for table in ("creator", "social_account") for index in database.get_indexes(table)}


def test_version_20_gives_postgresql_gist_trigram_indexes_in_place_of_gin(app):
    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    SocialAccount.add_handle(creator, "ava.creates")
    if not db.is_sqlite():
        # A version 19 database: the GIN indexes version 15 created.
        database.execute_sql('DROP INDEX "creator_name_trigrams"')
        database.execute_sql('DROP INDEX "socialaccount_username_trigrams"')
        for index, table, column in (
            ("creator_name_trgm", "creator", 'LOWER("name")'),
            ("socialaccount_username_trgm", "social_account", '"username"'),
        ):
            database.execute_sql(f'CREATE INDEX "{index}" ON "{table}" USING gin ({column} gin_trgm_ops)')
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=19)

    assert migrations.upgrade(database) == [20, 21]
    if not db.is_sqlite():
        indexes = index_names(database)
        assert {"creator_name_trigrams", "socialaccount_username_trigrams"} <= indexes
        assert not {"creator_name_trgm", "socialaccount_username_trgm"} & indexes
    assert (
        [c.name for c in Creator.matching("chen")]
        == [c.name for c in Creator.matching("creates")]
        == ["Ava Chen"]
    )
    assert migrations.upgrade(database) == []


def test_an_upgrade_that_rebuilds_a_table_on_sqlite_keeps_the_rows_that_hang_on_it(app):
    """SQLite adds a NOT NULL column by copying the table: the old one's drop must not cascade."""
    from portal.models import AccountMetric

    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    account = SocialAccount.create(creator=creator, username="ava.creates")
    moment = datetime.datetime(2026, 11, 2, 8, tzinfo=datetime.UTC)
    AccountMetric.create(account=account, metric="views", end_time=moment, value=5)
    migrator = SchemaMigrator.from_database(database)
    migrate(
        migrator.drop_column("social_account", "listed_by_staff"),
        migrator.drop_column("creator", "internal_only"),
    )
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=7)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 7]
    assert [a.username for a in creator.accounts()] == ["ava.creates"]
    assert AccountMetric.select().count() == 1
    if db.is_sqlite():
        assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1  # on again


def test_version_13_adds_outgoing_mail_to_a_database_that_had_none(app):
    from portal.db import utcnow
    from portal.models import REMINDER_MODELS, MailJob, OutgoingMessage

    database = db.database.obj
    creator = Creator.create(name="Ava Chen", email="ava@example.com")
    # A version 12 database had no mail, and so none of the later reminder tables that point at it.
    database.drop_tables([*REMINDER_MODELS, OutgoingMessage, MailJob])
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=12)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 12]
    job = MailJob.create(key="k" * 32)
    fields = {"kind": "invitation", "creator": creator, "job": job, "sender": "a@b.example"}
    fields |= {
        "recipient": creator.email,
        "subject": "S",
        "text_body": "T",
        "html_body": "H",
        "message_id": "<m@b>",
    }
    OutgoingMessage.create(key=f"invitation:{creator.id}:2026-12-04", **fields)
    assert job.progress() == {"queued": 1}
    assert OutgoingMessage.due(utcnow()) == [OutgoingMessage.get().id]
    assert migrations.upgrade(database) == []


def _search_finds(text):
    return sorted(c.name for c in Creator.matching(text))


def test_version_15_indexes_the_creators_already_there_and_keeps_up_with_later_changes(app):
    database = db.database.obj
    ava = Creator.create(name="Ava Chen")
    SocialAccount.create(creator=ava, username="ava.creates")
    if db.is_sqlite():
        for table in ("creator_name_search", "social_account_search"):
            for change in ("insert", "update", "delete"):
                database.execute_sql(f"DROP TRIGGER {table}_{change}")
            database.execute_sql(f"DROP TABLE {table}")
    else:
        for index in ("creator_name_trigrams", "socialaccount_username_trigrams"):
            database.execute_sql(f'DROP INDEX "{index}"')
    database.execute_sql('DROP INDEX "socialaccount_in_funnel"')
    marco = Creator.create(name="Marco Rossi")  # added while no index existed
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=14)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 14]
    assert _search_finds("chen") == _search_finds("creates") == ["Ava Chen"]
    assert _search_finds("rossi") == ["Marco Rossi"]
    marco.name = "Marco Bianchi"
    marco.save()
    assert _search_finds("bianchi") == ["Marco Bianchi"] and _search_finds("rossi") == []
    assert "socialaccount_in_funnel" in {index.name for index in database.get_indexes("social_account")}
    if not db.is_sqlite():
        found = database.execute_sql("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trigrams'")
        assert {row[0] for row in found} == {"creator_name_trigrams", "socialaccount_username_trigrams"}
    assert migrations.upgrade(database) == []


def test_a_later_step_that_rebuilds_the_creator_table_leaves_search_current(app, monkeypatch):
    """On SQLite, a table rebuild drops the search triggers: the upgrade must put them back."""
    database = db.database.obj
    Creator.create(name="Ava Chen")
    legacy = {"legacy": True} if isinstance(database, SqliteDatabase) else {}

    def later_step(migrator):
        # Copies the table on SQLite (triggers gone), and renames a creator meanwhile.
        migrate(migrator.drop_column("creator", "internal_only", **legacy))
        database.execute_sql("UPDATE creator SET name = 'Ava Lindqvist' WHERE name = 'Ava Chen'")
        return [migrator.add_column("creator", "internal_only", BooleanField(default=False))]

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, (migrations.LATEST + 1, later_step)])
    assert migrations.upgrade(database) == [migrations.LATEST + 1]
    assert _search_finds("lindqvist") == ["Ava Lindqvist"] and _search_finds("chen") == []
    Creator.create(name="Marco Rossi")
    marco = Creator.get(Creator.name == "Marco Rossi")
    marco.name = "Marco Bianchi"
    marco.save()
    assert _search_finds("bianchi") == ["Marco Bianchi"] and _search_finds("rossi") == []


def test_version_16_adds_reminders_to_a_database_that_had_none(app):
    from portal.db import utcnow
    from portal.invitation import ACCESS_REMINDER, REMINDERS
    from portal.models import ReminderSchedule, ReminderSent, ReminderTemplate

    database = db.database.obj
    creator = Creator.create(name="Ava Chen", email="ava@example.com")
    database.drop_tables([ReminderSent, ReminderSchedule, ReminderTemplate])
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=15)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 15]
    assert ReminderSchedule.current().invited_after_days == 7  # nothing saved: the default
    assert ReminderTemplate.current(ACCESS_REMINDER).subject == REMINDERS[ACCESS_REMINDER]["subject"]
    ReminderSent.create(creator=creator, kind=ACCESS_REMINDER, occasion_at=utcnow(), threshold=14)
    assert [r.threshold for r in Creator.get_by_id(creator.id).reminders_sent] == [14]
    assert migrations.upgrade(database) == []


def test_version_17_indexes_each_kept_figure_and_keeps_the_kept_rows(app):
    from portal.campaigns import recent
    from portal.campaigns.roster import Roster, Sort
    from portal.graph.days import meta_day
    from portal.models import RecentFigures

    database = db.database.obj
    creator = Creator.create(name="Ava Chen")
    account = SocialAccount.create(creator=creator, username="ava.creates")
    now = db.utcnow()
    span = recent.rebuild(meta_day(now))
    RecentFigures.create(account=account, views=70)
    stored = recent.STORED
    for column in stored:
        database.execute_sql(f'DROP INDEX "recentfigures_{column}"')
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=16)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 16]
    indexed = {tuple(index.columns) for index in database.get_indexes("recent_figures")}
    assert {(column,) for column in stored} <= indexed
    page = Roster(span, now).page(Sort("views", descending=True), 1, 50)
    assert [(row.username, row.figures["views"]) for row in page.items] == [("ava.creates", 70)]
    assert migrations.upgrade(database) == []


def _drop_report_version(database):
    """Make the database as version 17 left it: no report version, no triggers moving it."""
    if db.is_sqlite():
        for (name,) in database.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'report_version_%'"
        ).fetchall():
            database.execute_sql(f"DROP TRIGGER {name}")
        database.execute_sql('DROP TABLE "report_version"')
    else:
        database.execute_sql('DROP TABLE "report_version"')
        database.execute_sql("DROP FUNCTION report_version_moved() CASCADE")  # and its triggers


def test_version_18_adds_the_report_version_that_moves_with_what_reports_show(app):
    from portal.models import ReportVersion

    database = db.database.obj
    ava = Creator.create(name="Ava Chen")
    _drop_report_version(database)
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=17)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 17]
    before = ReportVersion.current()
    Creator.update(reminders_enabled=False).where(Creator.id == ava.id).execute()  # not on any report
    assert ReportVersion.current() == before
    Creator.update(name="Ava Lindqvist").where(Creator.id == ava.id).execute()
    assert ReportVersion.current() > before
    assert migrations.upgrade(database) == []


def test_a_later_step_that_rebuilds_a_table_keeps_the_report_version_moving(app, monkeypatch):
    """On SQLite, a table rebuild drops its triggers: the upgrade must put them back."""
    from portal.models import ReportVersion

    database = db.database.obj
    ava = Creator.create(name="Ava Chen")
    legacy = {"legacy": True} if isinstance(database, SqliteDatabase) else {}

    def later_step(migrator):
        migrate(migrator.drop_column("creator", "internal_only", **legacy))  # copies the table on SQLite
        return [migrator.add_column("creator", "internal_only", BooleanField(default=False))]

    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, (migrations.LATEST + 1, later_step)])
    assert migrations.upgrade(database) == [migrations.LATEST + 1]
    before = ReportVersion.current()
    Creator.update(internal_only=True).where(Creator.id == ava.id).execute()
    assert ReportVersion.current() > before


def test_version_19_indexes_the_stages_a_creator_reaches_alone_as_a_new_database_does(app):
    database = db.database.obj
    names = ("creator_page_opened", "creator_invited_not_opened")

    def stage_indexes():
        return {index.name: index.sql for index in database.get_indexes("creator") if index.name in names}

    new = stage_indexes()
    assert set(new) == set(names)
    for name in names:
        database.execute_sql(f'DROP INDEX "{name}"')
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=18)

    assert migrations.upgrade(database) == [version for version, _ in migrations.STEPS if version > 18]
    # The same definition to the letter: the funnel's counts need each WHERE to be its condition.
    assert stage_indexes() == new
    assert migrations.upgrade(database) == []


def test_version_21_moves_the_report_version_for_what_the_kept_funnel_counts_read(app):
    """A version 20 database's triggers watch what reports show; version 21 adds the funnel's columns."""
    from portal.models import MetaGrant, ReportVersion
    from portal.models.report_version import _postgres_statements, _sqlite_statements

    database = db.database.obj
    ava = Creator.create(name="Ava Chen")
    grant = MetaGrant.create(creator=ava, provider="facebook", meta_user_id="1")
    account = SocialAccount.create(creator=ava, username="ava.creates")
    # The triggers as version 18 made them, and no trigger on meta_grant.
    version_20 = {
        "creator": ("name", "internal_only"),
        "social_account": ("creator_id", "username", "status"),
    }
    if db.is_sqlite():
        for table in (*version_20, "meta_grant"):
            for name in ("insert", "update", "delete"):
                database.execute_sql(f"DROP TRIGGER IF EXISTS report_version_{table}_{name}")
        for table, columns in version_20.items():
            for statement in _sqlite_statements(table, columns):
                database.execute_sql(statement)
    else:
        database.execute_sql('DROP TRIGGER IF EXISTS report_version_meta_grant ON "meta_grant"')
        for table, columns in version_20.items():
            for statement in _postgres_statements(table, columns):
                database.execute_sql(statement)
    before = ReportVersion.current()
    Creator.update(invited_at=utcnow()).where(Creator.id == ava.id).execute()
    assert ReportVersion.current() == before  # what version 20 did not watch
    SchemaVersion.delete().execute()
    SchemaVersion.create(version=20)

    assert migrations.upgrade(database) == [21]
    moved = [ReportVersion.current()]
    Creator.update(page_first_opened_at=utcnow()).where(Creator.id == ava.id).execute()
    moved.append(ReportVersion.current())
    SocialAccount.update(grant=grant).where(SocialAccount.id == account.id).execute()
    moved.append(ReportVersion.current())
    MetaGrant.update(data_access_expires_at=utcnow()).where(MetaGrant.id == grant.id).execute()
    moved.append(ReportVersion.current())
    assert moved == sorted(set(moved)) and len(moved) == 4  # each write moved it
    Creator.update(page_last_opened_at=utcnow()).where(Creator.id == ava.id).execute()  # read by none
    assert ReportVersion.current() == moved[-1]
    assert migrations.upgrade(database) == []
