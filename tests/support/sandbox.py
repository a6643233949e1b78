"""The portal in sandbox mode on a live port (calling its simulated Meta over real HTTP), and a browser."""

import pytest

from portal import db
from portal.models import Creator
from support import free_port
from support.browser import BrowserSession


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


@pytest.fixture
def start_sandbox_server(make_app):
    """Return a function that serves the portal with PORTAL_SANDBOX on and these settings.

    Threaded (it calls itself back), on this test's database, seeded with the demo creators;
    stopped when the test ends.
    """
    import threading

    from werkzeug.serving import make_server

    servers = []

    def start(**settings):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        application = make_app(SANDBOX=True, BASE_URL=base_url, **settings)
        seeded = application.test_cli_runner().invoke(args=["seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        server = make_server("127.0.0.1", port, application, threaded=True)
        # A short poll interval keeps shutdown() quick: one server per test stays cheap.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-server", daemon=True
        )
        thread.start()
        servers.append((server, thread))
        return SandboxServer(application, base_url)

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def sandbox_server(start_sandbox_server):
    """The portal with PORTAL_SANDBOX on, on a live port, with the default settings."""
    return start_sandbox_server()


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
