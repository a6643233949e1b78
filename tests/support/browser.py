"""Browser tests: the portal on a live port, the Debian Chromium through Playwright, BrowserSession."""

import os
import re

import pytest

from portal import db
from portal.models import Staff
from support import ADMIN_EMAIL, PASSWORD, TEST_HASH

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NODE_MODULES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "node_modules"
)
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
        # Measured once the page has loaded: a page just navigated to may have its rows before its
        # stylesheet, and an unstyled table is wider than a phone (seen once under load).
        page.wait_for_load_state("load")
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
