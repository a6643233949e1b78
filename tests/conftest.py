"""Fixtures shared by the test modules: an app per test, signed-in clients, no network."""

import contextlib
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

# axe-core's run, in the page through DevTools (the CSP forbids inline scripts, and is left on).
_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


class BrowserSession:
    """A browser context on the live server that records what would go wrong in front of a user.

    htmx is served from node_modules in place of the CDN (the page's SRI hash is still checked);
    any other request that leaves 127.0.0.1 is aborted and recorded.

    check() asserts a page works as a user meets it (axe-core finds no serious or critical
    violation, and nothing in problems()); assert_fits() that it does not scroll sideways.
    """

    PHONE = {"width": 375, "height": 740}
    DESKTOP = {"width": 1280, "height": 900}
    _checked_once = set()  # what check_once() has run axe-core on in this test run

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

    def accessibility_violations(self, page):
        """Return axe-core's serious and critical violations on the page as it is now."""
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(self.axe_source)
        return [v for v in page.evaluate(_RUN_AXE) if v["impact"] in ("serious", "critical")]

    def check(self, page, what, staff=False):
        """Assert the page works as a user meets it; `what` names it in failure messages.

        staff=True, for the staff pages, also asserts htmx loaded (through its SRI hash).
        """
        # A page's heading can show before its deferred scripts (htmx among them) have run;
        # they have all run, or been refused, once DOMContentLoaded has fired.
        page.wait_for_load_state("domcontentloaded")
        if staff:
            assert page.evaluate("typeof window.htmx") == "object", f"htmx did not load on {what}"
        violations = self.accessibility_violations(page)
        assert not violations, f"axe-core on {what}:\n" + "\n".join(
            f"{v['impact']} {v['id']} ({v['help']}): {v['nodes']}" for v in violations
        )
        assert self.problems() == [], f"on {what}"

    def check_once(self, page, what):
        """check() for a page that is the same in every test (a sandbox dialog, an untouched link page).

        axe-core runs on it once per test run (injecting it costs a third of a second a page);
        the CSP, script and outside-request checks still run every time.
        """
        if what in BrowserSession._checked_once:
            assert self.problems() == [], f"on {what}"
            return
        self.check(page, what)
        BrowserSession._checked_once.add(what)

    def assert_fits(self, page, what):
        """Assert the page does not scroll sideways (the tests call it at PHONE size)."""
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{what} scrolls sideways on a phone (content {widths[0]}px wide)"

    def sign_in(self, page, email=None, password=None):
        """Sign in through the form (checking it) as the administrator unless told otherwise."""
        from playwright.sync_api import expect

        page.goto("/login")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        self.check(page, "the sign-in page", staff=True)
        page.get_by_label("Email").fill(email or self.admin_email)
        page.get_by_label("Password").fill(password or self.admin_password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Creators", exact=True)).to_be_visible()


@pytest.fixture
def browser_session(chromium, live_server):
    """A fresh browser context (desktop size) on the live server; see BrowserSession."""
    context = chromium.new_context(base_url=live_server, viewport=BrowserSession.DESKTOP)
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
        "story_id": 1,  # no such story: the walk only needs the address
        "code": "no-such-confirmation-code",
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


# --- Meta mocks ---

META_APP_SETTINGS = {
    "BASE_URL": "https://portal.example",
    "FACEBOOK_CLIENT_ID": "fb-app",
    "FACEBOOK_CLIENT_SECRET": "fb-secret",
    "INSTAGRAM_CLIENT_ID": "ig-app",
    "INSTAGRAM_CLIENT_SECRET": "ig-secret",
}
ADMIN_TASKS = ("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE")


def _form_fields(**expected):
    """Return a requests-mock matcher for a form-encoded body holding these fields."""
    from urllib.parse import parse_qs

    def match(request):
        form = parse_qs(request.text or "")
        return all(form.get(name) == [value] for name, value in expected.items())

    return match


def _bearer(token):
    """Return Facebook's token endpoint answer for a token (§1.2, §1.3)."""
    return {"access_token": token, "token_type": "bearer", "expires_in": 5183944}


class MetaMock:
    """Meta's documented answers (reference/meta-graph-api.md), registered on the no_network mocker.

    Each method registers one endpoint and returns its requests-mock matcher, so a test can
    check call_count and request_history per endpoint.
    """

    graph = "https://graph.facebook.com/v27.0"
    instagram_api = "https://api.instagram.com"
    instagram_graph = "https://graph.instagram.com/v27.0"
    app_id = META_APP_SETTINGS["FACEBOOK_CLIENT_ID"]
    app_secret = META_APP_SETTINGS["FACEBOOK_CLIENT_SECRET"]
    ig_app_id = META_APP_SETTINGS["INSTAGRAM_CLIENT_ID"]
    ig_app_secret = META_APP_SETTINGS["INSTAGRAM_CLIENT_SECRET"]
    short_token = "EAABshortLivedUserToken0001xyz"
    long_token = "EAABlongLivedUserToken0002xyz"
    ig_token = "IGAAshortLivedInstagramToken0003xyz"
    user_id = "10158812345678901"
    user_name = "Ava Chen"
    ig_user_id = "17841400000000001"
    scopes = (
        "instagram_basic",
        "instagram_manage_insights",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
    )
    expires_at = 1785000000
    data_access_expires_at = 1790000000

    def __init__(self, mocker):
        self.mocker = mocker

    @staticmethod
    def page_token(page_id):
        """Return the Page token Meta hands out for a Page in these mocks."""
        return f"EAAJpageToken{page_id}xyz"

    @classmethod
    def page(cls, page_id, name, username=None, *, tasks=ADMIN_TASKS, ig_id=None, with_token=True):
        """Return one /me/accounts entry; username=None is a Page without an Instagram account."""
        entry = {"id": str(page_id), "name": name}
        if with_token:
            entry["access_token"] = cls.page_token(page_id)
        if tasks is not None:
            entry["tasks"] = list(tasks)
        if username:
            entry["instagram_business_account"] = {
                "id": ig_id or f"178414{page_id}",
                "username": username,
                "name": username.replace(".", " ").title(),
                "profile_picture_url": f"https://scontent.example/{username}.jpg",
                "followers_count": 1234,
                "media_count": 87,
            }
        return entry

    def graph_get(self, path, **response):
        """Register a GET on graph.facebook.com/v27.0/<path>."""
        return self.mocker.get(f"{self.graph}/{path}", **response)

    def paged(self, path, *pages):
        """Register a paged edge: each argument is one page of results, linked by `after` cursors."""
        matchers = []
        for number, data in enumerate(pages):
            cursor = f"qvfihcursor{number}"
            cursors = {"before": f"qvfihbefore{number}", "after": cursor}
            body = {"data": list(data), "paging": {"cursors": cursors}}
            if number < len(pages) - 1:
                # Meta's next URL embeds the user token: a client must not follow it as is.
                body["paging"]["next"] = (
                    f"{self.graph}/{path}?access_token={self.long_token}&limit=25&after={cursor}"
                )
            query = f"?after=qvfihcursor{number - 1}" if number else ""
            matchers.append(self.mocker.get(f"{self.graph}/{path}{query}", json=body))
        return matchers

    def code_exchange(self, **response):
        """Facebook's token endpoint answering an authorization code (manual flow, §1.2)."""
        if not {"json", "text", "content", "body", "exc"} & response.keys():
            response["json"] = _bearer(self.short_token)
        return self.mocker.post(
            f"{self.graph}/oauth/access_token",
            additional_matcher=_form_fields(grant_type="authorization_code"),
            **response,
        )

    def long_lived_exchange(self, **response):
        """Facebook's token endpoint swapping a short-lived user token (fb_exchange_token, §1.3)."""
        if not {"json", "text", "content", "body", "exc"} & response.keys():
            response["json"] = _bearer(self.long_token)
        return self.mocker.post(
            f"{self.graph}/oauth/access_token",
            additional_matcher=_form_fields(grant_type="fb_exchange_token"),
            **response,
        )

    def me(self, user_id=None, name=None):
        return self.graph_get("me", json={"id": user_id or self.user_id, "name": name or self.user_name})

    def permissions(self, declined=(), expired=(), never_asked=()):
        """/me/permissions: every scope granted unless listed as declined, expired or never asked."""
        data = []
        for scope in self.scopes:
            if scope in never_asked:
                continue
            status = "declined" if scope in declined else "expired" if scope in expired else "granted"
            data.append({"permission": scope, "status": status})
        data.append({"permission": "public_profile", "status": "granted"})
        return self.graph_get("me/permissions", json={"data": data})

    def debug_token(self, shared_page_ids=(), ig_ids=(), expires_at=None, data_access_expires_at=None):
        """debug_token for the long-lived user token, with the Pages ticked in granular_scopes."""
        data = {
            "app_id": self.app_id,
            "type": "USER",
            "application": "Acme Talent Portal",
            "data_access_expires_at": data_access_expires_at or self.data_access_expires_at,
            "expires_at": self.expires_at if expires_at is None else expires_at,
            "is_valid": True,
            "issued_at": 1780000000,
            "scopes": list(self.scopes),
            "granular_scopes": [
                {"scope": "pages_show_list", "target_ids": [str(i) for i in shared_page_ids]},
                {"scope": "instagram_basic", "target_ids": [str(i) for i in ig_ids]},
            ],
            "user_id": self.user_id,
        }
        return self.graph_get("debug_token", json={"data": data})

    def grant(self, declined=(), shared_page_ids=(), never_asked=()):
        """Register what read_grant asks: the long-lived exchange, /me, /me/permissions, debug_token."""
        self.long_lived_exchange()
        self.me()
        self.permissions(declined=declined, never_asked=never_asked)
        self.debug_token(shared_page_ids=shared_page_ids)

    def accounts(self, *pages):
        """/me/accounts over one or more result pages (one positional argument per page).

        /me/businesses answers with no Business Portfolio until businesses() says otherwise.
        """
        self.mocker.get(f"{self.graph}/me/businesses", json={"data": []})
        return self.paged("me/accounts", *(pages or ([],)))

    def businesses(self, *businesses):
        """/me/businesses and each portfolio's owned_pages/client_pages.

        Each business is a dict: id, name, and optional owned_pages / client_pages lists.
        """
        self.paged("me/businesses", [{"id": b["id"], "name": b["name"]} for b in businesses])
        for business in businesses:
            for edge in ("owned_pages", "client_pages"):
                self.paged(f"{business['id']}/{edge}", business.get(edge, []))

    def facebook_login(self, *account_pages, declined=(), shared_page_ids=()):
        """Register a whole Facebook Login: the code exchange, the grant and /me/accounts."""
        exchange = self.code_exchange()
        self.grant(declined=declined, shared_page_ids=shared_page_ids)
        self.accounts(*account_pages)
        return exchange

    def instagram_code_exchange(self, **response):
        """Instagram's token endpoint; by default the documented {"data": [...]} wrapping (§9)."""
        if not {"json", "text", "content", "body", "exc"} & response.keys():
            response["json"] = {
                "data": [
                    {
                        "access_token": self.ig_token,
                        "user_id": self.ig_user_id,
                        "permissions": "instagram_business_basic",
                    }
                ]
            }
        return self.mocker.post(f"{self.instagram_api}/oauth/access_token", **response)

    def instagram_me(self, username, account_type="BUSINESS", user_id=None):
        """graph.instagram.com/me for the Instagram user who logged in."""
        body = {
            "id": "26000000000000001",  # app-scoped; user_id is the professional account's id
            "user_id": user_id or self.ig_user_id,
            "username": username,
            "name": username.replace(".", " ").title(),
            "account_type": account_type,
        }
        return self.mocker.get(f"{self.instagram_graph}/me", json=body)


@pytest.fixture
def meta(no_network):
    """Register Meta's documented answers on the no_network mocker; see MetaMock."""
    return MetaMock(no_network)


@pytest.fixture
def graph_client():
    """The portal's graph.facebook.com client, built from the testing settings and the mocks' app."""
    from config import TestingConfig
    from portal.graph import facebook_graph

    return facebook_graph(
        {
            "FACEBOOK_GRAPH_URL": "https://graph.facebook.com",
            "GRAPH_API_VERSION": "v27.0",
            "FACEBOOK_CLIENT_ID": MetaMock.app_id,
            "FACEBOOK_CLIENT_SECRET": MetaMock.app_secret,
            "GRAPH_TIMEOUT": TestingConfig.GRAPH_TIMEOUT,
        }
    )


@pytest.fixture
def meta_app(make_app):
    """An app with Facebook and Instagram Login configured, answering at https://portal.example."""
    application = make_app(**META_APP_SETTINGS)
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def meta_callbacks_app(make_app):
    """An app answering Meta's callbacks: meta_app's secrets and address plus a webhook verify token."""
    application = make_app(**META_APP_SETTINGS, META_WEBHOOK_VERIFY_TOKEN="verify-me")
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def link_browser(meta_app, creator):
    """A test client of meta_app that has opened the creator's link (so it holds a link session)."""
    browser = meta_app.test_client()
    assert browser.get(f"/link/{creator.raw_link_token}").status_code == 200
    return browser


# --- Sandbox live server ---


class SandboxServer:
    """The portal in sandbox mode on a live port, seeded with the demo creators (cli.DEMO_CREATORS).

    Its BASE_URL is its own address, so OAuth redirect URIs and the simulated Meta's URLs point at
    it: during a callback the portal calls its own sandbox over real HTTP.
    """

    def __init__(self, app, base_url):
        self.app = app
        self.base_url = base_url

    def link_url(self, creator_name):
        """Return the Link Accounts Page address of the demo creator with this name."""
        return f"{self.base_url}/link/{Creator.get(Creator.name == creator_name).link_token}"


def _free_port():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sandbox_server(make_app):
    """Serve the portal with PORTAL_SANDBOX on, threaded (it calls itself back), on a fresh database."""
    import threading

    from werkzeug.serving import make_server

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    application = make_app(SANDBOX=True, BASE_URL=base_url)
    seeded = application.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    server = make_server("127.0.0.1", port, application, threaded=True)
    # A short poll interval keeps shutdown() quick: one server per test stays cheap.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-server", daemon=True
    )
    thread.start()
    try:
        yield SandboxServer(application, base_url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        if not db.database.is_closed():
            db.database.close()


@pytest.fixture
def sandbox_browser(chromium, sandbox_server):
    """A fresh browser context (desktop size) on the sandbox server; see BrowserSession."""
    from portal.cli import DEMO_EMAIL, DEMO_PASSWORD

    base_url = sandbox_server.base_url
    context = chromium.new_context(base_url=base_url, viewport=BrowserSession.DESKTOP)
    context.set_default_timeout(10_000)
    session = BrowserSession(context, base_url)
    session.admin_email, session.admin_password = DEMO_EMAIL, DEMO_PASSWORD  # seed-demo's administrator
    session.server = sandbox_server
    yield session
    context.close()
