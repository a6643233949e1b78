"""Fixtures shared by the test modules: an app per test, signed-in clients, no network."""

import os
import re

import pytest
import requests_mock
from support import ADMIN_EMAIL, PASSWORD, STAFF_EMAIL, TEST_HASH, database_url
from support.graph_rules import legacy_features

from portal import create_app, db, migrations
from portal.models import Creator, SocialAccount, Staff

pytest_plugins = [
    "support.meta",
    "support.browser",
    "support.sandbox",
    "support.checks",
    "support.smtp",
    "support.processes",
]

_CSRF_IN_HEADERS = re.compile(r'"X-CSRFToken": "([^"]+)"')
_CSRF_IN_FORM = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(autouse=True)
def fresh_database():
    """Give each test an empty database: a new SQLite file by default, an emptied schema on PostgreSQL."""
    url = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        database = db.open_database(url, pooled=False)
        database.execute_sql("DROP SCHEMA public CASCADE")
        database.execute_sql("CREATE SCHEMA public")
        database.close()
    yield


@pytest.fixture(autouse=True)
def no_network(request):
    """Fail any outbound HTTP call a test did not mock (live-server tests opt out)."""
    if request.node.get_closest_marker("live_http"):
        yield None
        return
    with requests_mock.Mocker() as mocker:
        yield mocker


@pytest.fixture(autouse=True)
def graph_calls_use_no_legacy_feature(no_network):
    """Fail a test whose code sent Meta a feature new apps may not use (?ids=, aliases, ...)."""
    yield
    if no_network is None:
        return  # live tests: the sandbox itself refuses each of them, as Meta does
    used = [(r.method, r.url, legacy_features(r.url, r.text)) for r in no_network.request_history]
    used = [entry for entry in used if entry[2]]
    assert not used, f"legacy Graph features sent to Meta: {used}"


@pytest.fixture
def make_app(tmp_path):
    """Return a factory for apps on this test's database, migrated to the latest schema."""

    def make(**overrides):
        overrides.setdefault("DATABASE_URL", database_url(tmp_path))
        overrides.setdefault("SCHEDULER_LOCK_FILE", str(tmp_path / "scheduler.lock"))
        # The sandbox's clock and memory (removed apps, subscriptions) belong to this test alone.
        overrides.setdefault("SANDBOX_STATE_FILE", str(tmp_path / "sandbox-state.json"))
        application = create_app("testing", **overrides)
        with application.app_context():
            migrations.upgrade(db.database.obj)
        return application

    return make


@pytest.fixture
def app(make_app):
    # No app context is held open: requests must each get their own, as in production
    # (a shared one would let Flask-WTF reuse a CSRF token cached in g).
    application = make_app()
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(app):
    return Staff.register(ADMIN_EMAIL, PASSWORD, is_admin=True, method=TEST_HASH)


@pytest.fixture
def staff_member(app):
    return Staff.register(STAFF_EMAIL, PASSWORD, is_admin=False, method=TEST_HASH)


def find_csrf_token(html):
    """Return the CSRF token a page carries, in hx-headers or a form field."""
    match = _CSRF_IN_HEADERS.search(html) or _CSRF_IN_FORM.search(html)
    assert match, "page carries no CSRF token"
    return match.group(1)


@pytest.fixture
def csrf():
    """Return a function that fetches a page with a client and returns its CSRF token."""

    def token(client, path="/login"):
        return find_csrf_token(client.get(path).get_data(as_text=True))

    return token


@pytest.fixture
def sign_in(csrf):
    """Return a function that signs a client in and returns the CSRF token for the new session."""

    def do(client, email, password=PASSWORD):
        response = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": csrf(client)}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return csrf(client, "/creators")

    return do


@pytest.fixture
def admin_client(client, admin, sign_in):
    """A client signed in as an administrator, with .csrf_token set."""
    client.csrf_token = sign_in(client, ADMIN_EMAIL)
    return client


@pytest.fixture
def staff_client(client, staff_member, sign_in):
    """A client signed in as ordinary staff, with .csrf_token set."""
    client.csrf_token = sign_in(client, STAFF_EMAIL)
    return client


@pytest.fixture
def creator(app):
    """A creator with one Instagram handle and a current link; .raw_link_token holds the link."""
    person = Creator.create(name="Ava Chen", email="ava@creators.test")
    person.raw_link_token = person.issue_link_token()
    SocialAccount.add_handle(person, "ava.creates")
    return person
