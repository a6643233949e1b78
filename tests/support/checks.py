"""Fixtures of the security, fuzz and query-count tests: every table's rows, each route's URL, SQL counts."""

import contextlib

import pytest

from portal import create_app, db, migrations
from support import PASSWORD, database_url


@pytest.fixture
def db_rows(app):
    """Return a function that reads every table, so a test can show a request changed nothing."""
    from portal.models import MODELS

    def rows():
        return {
            model.__name__: list(model.select().order_by(model._meta.primary_key).tuples())
            for model in MODELS
        }

    return rows


@pytest.fixture
def rule_url(creator):
    """Return a function that builds a url_map rule's URL, filling its arguments from the creator."""
    from portal.db import utcnow
    from portal.models import Campaign, CreatorImport, MailJob, MetaGrant, ReportLink, Staff

    grant = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="1", candidates="[]")
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    report, report_token = ReportLink.issue(
        "Northwind", "staff:admin@example.com", utcnow(), campaign=campaign
    )
    uploader = Staff.create(email="uploader@example.com", password_hash="!")
    waiting = CreatorImport.create(
        staff=uploader, file_name="creators.csv", csv_text="name,email,instagram\n"
    )
    job = MailJob.create(key="a-mail-job-key-0123456789")
    values = {
        "job_id": job.id,
        "import_id": waiting.id,
        "campaign_id": campaign.id,
        "link_id": report.id,
        "report_token": report_token,
        "creator_id": creator.id,
        "account_id": creator.accounts().get().id,
        "token": creator.raw_link_token,
        "grant_id": grant.id,
        "story_id": 1,  # no such story: the walk only needs the address
        "code": "no-such-confirmation-code",
        "kind": "invitation_reminder",
    }

    def build(rule):
        missing = rule.arguments - values.keys()
        assert not missing, f"{rule.rule}: give rule_url a value for {sorted(missing)}"
        return rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]

    return build


@pytest.fixture
def make_production_app(tmp_path):
    """Return a factory for production-config apps with their secrets set; overrides replace any."""
    from cryptography.fernet import Fernet

    def make(**overrides):
        settings = {
            "SECRET_KEY": "production-test-secret-key-0123456789abcdef",
            "TOKEN_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": database_url(tmp_path),
            "BASE_URL": "https://localhost",  # the test client's own host
            **overrides,
        }
        application = create_app("production", **settings)
        with application.app_context():
            migrations.upgrade(db.database.obj)
        return application

    yield make
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def count_queries(monkeypatch):
    """Return a context manager that records the SQL statements run inside it and yields their list."""

    @contextlib.contextmanager
    def counting():
        statements = []
        database = db.database.obj
        execute = database.execute_sql

        def record(sql, *args, **kwargs):
            statements.append(sql)
            return execute(sql, *args, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(database, "execute_sql", record)
            yield statements

    return counting


@pytest.fixture
def staff_password():
    """The password the admin and staff_member fixtures sign in with."""
    return PASSWORD
