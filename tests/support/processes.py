"""Real server processes for the tests that need them: redis-server, and gunicorn serving the portal."""

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import requests

from support import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_SECONDS = 30
# Settings the servers get from the test alone, never from the environment the suite runs in.
OWN_SETTINGS = ("PORTAL_", "FACEBOOK_", "INSTAGRAM_", "GRAPH_", "META_", "SANDBOX_", "WEB_CONCURRENCY")


class RedisServer:
    """A redis-server of the test's own on a free port, keeping nothing on disk."""

    def __init__(self, workdir):
        binary = shutil.which("redis-server")
        if binary is None:
            # CI installs it (.ci/run); a missing server must fail the tests, never skip them.
            pytest.fail("These tests need redis-server (Debian/Ubuntu: sudo apt-get install redis-server).")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = workdir / f"redis-{self.port}.log"
        command = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [*command, "--dir", str(workdir)], stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_until_answering()

    def _wait_until_answering(self):
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"redis-server exited:\n{self.log.read_text()}"
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail(f"redis-server did not answer in {START_SECONDS}s:\n{self.log.read_text()}")

    def stop(self):
        """Stop the server at once, as a crash or a network cut would (the test may go on without it)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    """Start a redis-server for this test; yield it (.url, .stop())."""
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def server_env(**settings):
    """Return the environment of a portal process: this one's, less the portal's settings, plus these."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(OWN_SETTINGS)}
    return {**env, **{name: str(value) for name, value in settings.items()}}


@contextmanager
def gunicorn(env, log, *, workers=1, threads=2, wait_for=None):
    """Serve wsgi:app with gunicorn from the repository on a free port; yield its URL.

    Waits until /healthz answers, or, with wait_for, until that text is in the log (a server that
    answers on no address of ours, such as production's HTTPS-only one). The log gets its output.
    """
    url = f"http://127.0.0.1:{free_port()}"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "--bind", url.removeprefix("http://")),
                *("--workers", str(workers), "--threads", str(threads), "--access-logfile", "-"),
                # Gunicorn's control socket defaults to one path per user: two servers would fight.
                *("--no-control-socket", "wsgi:app"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(process, url, log, wait_for)
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: its workers with it
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_ready(process, url, log, wait_for):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url} exited:\n{log.read_text()}"
        if wait_for is not None:
            if wait_for in log.read_text():
                return
        else:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or too busy booting to answer
                pass
        time.sleep(0.1)
    pytest.fail(f"{url} was not ready in {START_SECONDS}s:\n{log.read_text()}")
