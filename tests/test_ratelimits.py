"""Rate limits hold across processes when PORTAL_REDIS_URL names a Redis, and the portal says when not.

The servers are real gunicorn processes on one database, as two hosts behind a load balancer
would be; the Redis is a redis-server of the test's own.
"""

import secrets

import pytest
import requests
from conftest import find_csrf_token
from cryptography.fernet import Fernet
from support import database_url
from support.processes import gunicorn, server_env

from portal import db, ratelimits

pytestmark = pytest.mark.live_http

TIMEOUT = 10
SIGN_INS_A_MINUTE = 10  # Config.LOGIN_RATE_LIMIT
STORAGE_DOWN = "Rate limits (Redis at {}): Rate limit storage unreachable - falling back to in-memory storage"


@pytest.fixture
def portal_env(make_app, tmp_path):
    """Return a function giving the environment of a portal process on this test's database."""
    url = database_url(tmp_path)
    make_app(DATABASE_URL=url)  # the schema, as `flask init-db` makes it
    db.database.close()
    keys = {"PORTAL_SECRET_KEY": secrets.token_hex(32), "PORTAL_TOKEN_KEYS": Fernet.generate_key().decode()}

    def env(**settings):
        return server_env(PORTAL_DATABASE_URL=url, **keys, **settings)

    return env


def failed_sign_in(browser, url):
    """Sign in at url with a wrong password, as a browser would (the form's page, then the form)."""
    page = browser.get(f"{url}/login", timeout=TIMEOUT)
    assert page.status_code == 200
    form = {"email": "someone@agency.test", "password": "wrong", "csrf_token": find_csrf_token(page.text)}
    return browser.post(f"{url}/login", data=form, timeout=TIMEOUT)


def test_the_sign_in_limit_holds_across_two_web_processes_sharing_redis(portal_env, redis_server, tmp_path):
    env = portal_env(PORTAL_CONFIG="testing", PORTAL_REDIS_URL=redis_server.url)
    with (
        gunicorn(env, tmp_path / "web-a.log") as a,
        gunicorn(env, tmp_path / "web-b.log") as b,
    ):
        browser = requests.Session()
        answers = [failed_sign_in(browser, (a, b)[attempt % 2]).status_code for attempt in range(10)]
        assert answers == [422] * SIGN_INS_A_MINUTE  # five on each process: 10 in all

        for url in (a, b):  # each process alone has counted only five; together they refuse
            refused = failed_sign_in(browser, url)
            assert refused.status_code == 429, url
            assert "Too many attempts" in refused.text
            assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_without_redis_the_portal_keeps_serving_counts_in_memory_and_says_so(
    portal_env, redis_server, tmp_path
):
    log = tmp_path / "web.log"
    down = STORAGE_DOWN.format(ratelimits.redis_address(redis_server.url))
    with gunicorn(portal_env(PORTAL_CONFIG="testing", PORTAL_REDIS_URL=redis_server.url), log) as url:
        browser = requests.Session()
        assert [failed_sign_in(browser, url).status_code for _ in range(3)] == [422] * 3
        assert down not in log.read_text()

        redis_server.stop()
        # Served as before, the limit counted in this process's memory from here on ...
        answers = [failed_sign_in(browser, url).status_code for _ in range(SIGN_INS_A_MINUTE + 1)]
        assert answers == [422] * SIGN_INS_A_MINUTE + [429]
        assert browser.get(f"{url}/healthz", timeout=TIMEOUT).status_code == 200
    # ... and the log says once why.
    assert log.read_text().count(down) == 1
    assert "Traceback" not in log.read_text()


def production_env(portal_env, **settings):
    return portal_env(PORTAL_CONFIG="production", PORTAL_BASE_URL="https://portal.agency.example", **settings)


def test_production_with_several_workers_and_no_redis_warns_at_start(portal_env, tmp_path):
    log = tmp_path / "web.log"
    with gunicorn(production_env(portal_env), log, workers=2, wait_for="Booting worker"):
        pass
    text = log.read_text()
    assert "[WARNING] PORTAL_REDIS_URL is not set: each of the 2 gunicorn workers counts rate limits" in text
    assert text.count("PORTAL_REDIS_URL is not set") == 1  # once, by the master, not by every worker


def test_production_with_several_workers_sharing_redis_does_not_warn(portal_env, redis_server, tmp_path):
    log = tmp_path / "web.log"
    env = production_env(portal_env, PORTAL_REDIS_URL=redis_server.url)
    with gunicorn(env, log, workers=2, wait_for="Booting worker"):
        pass
    assert "PORTAL_REDIS_URL is not set" not in log.read_text()


@pytest.mark.parametrize(
    ("config_name", "redis_url", "workers", "warns"),
    [
        ("production", None, 2, True),
        ("production", None, 1, False),  # one process: its memory is all the counters there are
        ("production", "redis://cache.internal:6379/0", 4, False),
        ("development", None, 4, False),  # ./scripts/run's two workers on one laptop
    ],
)
def test_only_production_workers_that_would_count_apart_are_warned_about(
    config_name, redis_url, workers, warns
):
    assert bool(ratelimits.split_counters_warning(config_name, redis_url, workers)) is warns


def test_a_redis_address_in_a_log_line_carries_no_password():
    assert ratelimits.redis_address("redis://:s3cret@cache.internal:6380/2") == "cache.internal:6380/2"
    assert ratelimits.redis_address("redis://cache.internal") == "cache.internal:6379/0"
