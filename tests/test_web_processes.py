"""OAuth logins started on one web process and finished on another: nothing per process in the session.

Two gunicorn processes (one worker each) serve one database with the same secrets, as two servers
behind a load balancer would. Both are told the same public address, PORTAL_BASE_URL, and it is
process B's: the OAuth redirect_uri and the simulated Meta's URLs derive from it. So the creator's
browser opens the Link Accounts Page and presses Connect Business on process A, A sends it to the
sandbox dialog on B, and Meta's redirect brings it back to the callback on B. Everything A wrote
into the session (the link session, the pending login's intent, Authlib's OAuth state) has to be
read by B from the cookie alone.

The browser is a requests.Session: cookies belong to a host, not to a port (RFC 6265 §8.5), so its
one session cookie travels to both processes, like one browser's cookie behind a load balancer.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from support import database_url
from support import free_port as _free_port
from test_linking_sandbox import follow_link, submit

from portal import db
from portal.models import AccountStatus, Creator, SocialAccount
from portal.sandbox import people

pytestmark = pytest.mark.live_http

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 10
START_SECONDS = 30
CALLBACK_PATH = "/link/facebook/callback"
# Settings the web processes get from this test alone, never from the environment it runs in.
OWN_SETTINGS = ("PORTAL_", "FACEBOOK_", "INSTAGRAM_", "GRAPH_", "META_", "SANDBOX_")


def _flask(env, *args):
    """Run a `flask --app wsgi` command with the web processes' settings; fail with its output."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _wait_until_serving(process, url, log):
    """Wait until the process answers /healthz; fail with its log if it stops or takes too long."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url} exited:\n{log.read_text()}"
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer /healthz in {START_SECONDS}s:\n{log.read_text()}")


@contextmanager
def web_processes(tmp_path, settings):
    """Seed a database and serve it from two gunicorn processes; yield {"A": url, "B": url}, logs.

    Both get the settings' secrets and database, and the same PORTAL_BASE_URL (B's address); each
    writes an access log.
    """
    urls = {name: f"http://127.0.0.1:{_free_port()}" for name in ("A", "B")}
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(OWN_SETTINGS)},
        # The development config reads the secrets from the environment, as a deployment does
        # (the testing config carries fixed ones).
        "PORTAL_CONFIG": "development",
        "PORTAL_SECRET_KEY": settings["SECRET_KEY"],
        "PORTAL_TOKEN_KEYS": settings["TOKEN_KEYS"],
        "PORTAL_SANDBOX": "1",
        "PORTAL_BASE_URL": urls["B"],
        "PORTAL_DATABASE_URL": settings["DATABASE_URL"],
        "PORTAL_COMPANY_NAME": "Acme Talent",
    }
    _flask(env, "init-db")
    logs = {name: tmp_path / f"web-{name}.log" for name in urls}
    processes = {}
    try:
        for name, url in urls.items():
            with open(logs[name], "w") as out:
                processes[name] = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "gunicorn", "--bind", urlsplit(url).netloc),
                        # B calls its own sandbox during the callback: it needs a second thread.
                        *("--workers", "1", "--threads", "4", "--access-logfile", "-"),
                        # Gunicorn's control socket defaults to one path per user (~/.gunicorn):
                        # two servers would take it from each other.
                        *("--no-control-socket", "wsgi:app"),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        _flask(env, "seed-demo")  # while the servers boot
        for name, url in urls.items():
            _wait_until_serving(processes[name], url, logs[name])
        yield urls, logs
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: the worker with it
        for process in processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def requests_served(log):
    """Return (method, path) of each request in a gunicorn access log, in order."""
    served = []
    for line in log.read_text().splitlines():
        if ' HTTP/1.1" ' in line:
            method, path = line.split('"', 2)[1].split(" ")[:2]
            served.append((method, path))
    return served


def shared_settings(tmp_path):
    """Return this test's database and fresh secrets, for the web processes and the test to share.

    The test reads the database with the same keys: the link tokens there are encrypted with them.
    """
    return {
        "DATABASE_URL": database_url(tmp_path),
        "SECRET_KEY": secrets.token_hex(32),
        "TOKEN_KEYS": Fernet.generate_key().decode(),
    }


def open_link_page_on_a(browser, urls, creator_name):
    """Open the creator's Link Accounts Page on process A; return the page."""
    token = Creator.get(Creator.name == creator_name).link_token
    opened = browser.get(f"{urls['A']}/link/{token}", timeout=TIMEOUT)
    assert opened.status_code == 200
    return opened


def log_in_on_b(browser, urls, start, user_name):
    """From a login started on A, log in on the dialog on B as the user; return B's callback answer."""
    assert start.url.startswith(urls["A"] + "/link/"), start.url
    assert start.status_code == 302, start.text[:500]
    # A sends the browser to the dialog at the public address, B's.
    dialog_url = start.headers["Location"]
    assert dialog_url.startswith(urls["B"] + "/sandbox/facebook/"), dialog_url
    dialog = browser.get(dialog_url, allow_redirects=False, timeout=TIMEOUT)
    assert "Log in to Facebook" in dialog.text
    confirm = follow_link(browser, dialog, user_name)
    assert f"Continue as {user_name}?" in confirm.text
    answer = submit(browser, confirm, f"Continue as {user_name}")
    assert answer.status_code in (302, 303), answer.text[:500]
    callback_url = urljoin(answer.url, answer.headers["Location"])
    assert callback_url.startswith(urls["B"] + CALLBACK_PATH + "?"), callback_url
    callback = browser.get(callback_url, allow_redirects=False, timeout=TIMEOUT)
    assert callback.status_code == 302, callback.text[:500]
    return callback


def account(creator_name, username):
    return SocialAccount.get(
        (SocialAccount.creator == Creator.get(Creator.name == creator_name))
        & (SocialAccount.username == username)
    )


@contextmanager
def login_from_a_to_b(make_app, tmp_path, button):
    """Open Ava Chen's Link Accounts Page on A, press `button` there and log in to B's sandbox.

    Yields (urls, logs, browser, opened, start, callback) with both processes still serving.
    """
    settings = shared_settings(tmp_path)
    try:
        with web_processes(tmp_path, settings) as (urls, logs):
            make_app(**settings)  # binds the database the processes share, for reading it here
            browser = requests.Session()
            opened = open_link_page_on_a(browser, urls, "Ava Chen")
            start = follow_link(browser, opened, button)
            callback = log_in_on_b(browser, urls, start, "Gabriela Good")
            yield urls, logs, browser, opened, start, callback
    finally:
        if not db.database.is_closed():
            db.database.close()


def test_connect_business_started_on_one_web_process_finishes_on_another(make_app, tmp_path):
    button = "Connect Business for @ava.creates"
    with login_from_a_to_b(make_app, tmp_path, button) as (urls, logs, browser, opened, start, callback):
        page = browser.get(urljoin(callback.url, callback.headers["Location"]), timeout=TIMEOUT)

        assert page.url == urls["B"] + urlsplit(opened.url).path  # back on the Link Accounts Page
        assert page.status_code == 200
        assert "Linked: @ava.creates. Acme Talent can now read its Insights." in page.text
        assert "Linked by Gabriela Good through the Page “Ava Chen Creates”" in page.text

        # The processes' own records: the login started on A, and its callback ran on B.
        on_a, on_b = requests_served(logs["A"]), requests_served(logs["B"])
        connect = ("GET", urlsplit(start.url).path)
        assert connect in on_a and connect not in on_b, (on_a, on_b)
        assert not any(path.startswith(CALLBACK_PATH) for _method, path in on_a), on_a
        assert any(path.startswith(CALLBACK_PATH) for _method, path in on_b), on_b

        linked = account("Ava Chen", "ava.creates")
        assert linked.status == AccountStatus.LINKED
        assert linked.linked_by_name == "Gabriela Good"
        assert linked.ig_user_id == people.instagram_account("ava.creates").id


def test_accounts_chosen_on_one_web_process_after_a_login_started_on_the_other(make_app, tmp_path):
    """Add Instagram Business account: started on A, the callback and the choice shown on B.

    The choice is then sent to A, as a load balancer may route it: the form's CSRF token, made on
    B, must hold on A too.
    """
    button = "Add Instagram Business account"
    with login_from_a_to_b(make_app, tmp_path, button) as (urls, logs, browser, opened, _start, callback):
        choose = browser.get(urljoin(callback.url, callback.headers["Location"]), timeout=TIMEOUT)
        assert choose.url.startswith(urls["B"] + "/link/choose/"), choose.url
        assert "Logged in to Facebook as Gabriela Good" in choose.text

        choose.url = urls["A"] + urlsplit(choose.url).path  # the balancer sends the choice to A
        travels = people.instagram_account("ava.travels").id
        chosen = submit(browser, choose, "Link the chosen accounts", tick={travels})
        assert chosen.status_code == 302, chosen.text[:500]
        page = browser.get(urljoin(chosen.url, chosen.headers["Location"]), timeout=TIMEOUT)

        assert page.url == urls["A"] + urlsplit(opened.url).path
        assert "Linked: @ava.travels. Acme Talent can now read its Insights." in page.text

        on_a, on_b = requests_served(logs["A"]), requests_served(logs["B"])
        assert ("GET", "/link/add") in on_a and ("GET", "/link/add") not in on_b, (on_a, on_b)
        assert any(path.startswith(CALLBACK_PATH) for _method, path in on_b), on_b
        choice = ("POST", urlsplit(choose.url).path)
        assert choice in on_a and choice not in on_b, (on_a, on_b)

        assert account("Ava Chen", "ava.travels").status == AccountStatus.LINKED
        assert account("Ava Chen", "ava.creates").status == AccountStatus.UNLINKED  # not chosen
