"""Fixtures shared by the test modules: an app per test, signed-in clients, no network."""

import os
import re

import pytest
import requests_mock

from portal import create_app, db, migrations
from portal.models import Creator, SocialAccount, Staff

ADMIN_EMAIL = "admin@example.com"
STAFF_EMAIL = "staff@example.com"
PASSWORD = "correct horse battery"
TEST_HASH = "scrypt:1024:8:1"

_CSRF_IN_HEADERS = re.compile(r'"X-CSRFToken": "([^"]+)"')
_CSRF_IN_FORM = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def database_url(tmp_path):
    """Return the database a test app uses: a temporary SQLite file unless CI asks for another."""
    return os.environ.get("PORTAL_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'portal.sqlite3'}"


@pytest.fixture(autouse=True)
def no_network(request):
    """Fail any outbound HTTP call a test did not mock (live-server tests opt out)."""
    if request.node.get_closest_marker("live_http"):
        yield None
        return
    with requests_mock.Mocker() as mocker:
        yield mocker


@pytest.fixture
def make_app(tmp_path):
    """Return a factory for apps on this test's database, migrated to the latest schema."""

    def make(**overrides):
        overrides.setdefault("DATABASE_URL", database_url(tmp_path))
        overrides.setdefault("SCHEDULER_LOCK_FILE", str(tmp_path / "scheduler.lock"))
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


# --- Live server and browser (browser tests) ---

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NODE_MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node_modules")
HTMX_FILE = os.path.join(NODE_MODULES, "htmx.org", "dist", "htmx.min.js")
AXE_FILE = os.path.join(NODE_MODULES, "axe-core", "axe.min.js")


@pytest.fixture
def live_server(make_app):
    """Serve a fresh app (with an administrator) over real HTTP on 127.0.0.1; yield its base URL."""
    import threading

    from werkzeug.serving import make_server

    application = make_app()
    Staff.register(ADMIN_EMAIL, PASSWORD, is_admin=True, method=TEST_HASH)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        if not db.database.is_closed():
            db.database.close()


@pytest.fixture(scope="session")
def chromium():
    """The Debian Chromium, headless, driven through Playwright's sync API (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        yield browser
        browser.close()


_SERVER_STATUS = re.compile(r"Failed to load resource: the server responded with a status of \d{3}\b")


class BrowserSession:
    """A browser context on the live server that records what would go wrong in front of a user.

    htmx is served from node_modules in place of the CDN (the page's SRI hash is still checked);
    any other request that leaves 127.0.0.1 is aborted and recorded.
    """

    def __init__(self, context, base_url):
        from portal.security import HTMX_URL

        self.context = context
        self.base_url = base_url
        self.admin_email = ADMIN_EMAIL  # the administrator live_server registered
        self.admin_password = PASSWORD
        self.console_errors = []  # console errors, including CSP reports ("Refused to ...")
        self.page_errors = []  # uncaught JavaScript exceptions
        self.blocked = []  # requests that tried to leave the machine
        self.failed_responses = []  # (method, path, status) of every 4xx/5xx answer
        with open(HTMX_FILE, "rb") as handle:
            self.htmx_bytes = handle.read()
        with open(AXE_FILE, encoding="utf-8") as handle:
            self.axe_source = handle.read()
        self.htmx_url = HTMX_URL
        context.route("**/*", self._route)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))
        context.on("response", self._response)

    def _route(self, route):
        url = route.request.url
        if url == self.htmx_url:
            route.fulfill(
                status=200,
                body=self.htmx_bytes,
                headers={"Content-Type": "application/javascript", "Access-Control-Allow-Origin": "*"},
            )
        elif url.startswith(self.base_url + "/"):
            route.fallback()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def _response(self, response):
        if response.status >= 400 and response.url.startswith(self.base_url):
            path = response.url[len(self.base_url) :]
            self.failed_responses.append((response.request.method, path, response.status))

    def problems(self):
        """Return what went wrong so far: CSP refusals, script errors, requests that left the machine.

        "Failed to load resource: the server responded with a status of ..." is left out here:
        failed_responses holds those answers, and tests say which ones they expect.
        """
        found = [f"console: {text}" for text in self.console_errors if not _SERVER_STATUS.match(text)]
        found += [f"script error: {text}" for text in self.page_errors]
        found += [f"outside request: {url}" for url in self.blocked]
        return found


@pytest.fixture
def browser_session(chromium, live_server):
    """A fresh browser context (desktop size) on the live server; see BrowserSession."""
    context = chromium.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    session = BrowserSession(context, live_server)
    yield session
    context.close()


# --- Security test fixtures ---


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
    from portal.models import MetaGrant

    grant = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="1", candidates="[]")
    values = {
        "creator_id": creator.id,
        "account_id": creator.accounts().get().id,
        "token": creator.raw_link_token,
        "grant_id": grant.id,
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
def staff_password():
    """The password the admin and staff_member fixtures sign in with."""
    return PASSWORD
