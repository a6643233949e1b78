"""What the bench scripts share: a portal served by gunicorn, its database, and figures.

Every script runs from the repository root with the project's virtual environment:
    .venv/bin/python -m bench.refresh --help
The database is a fresh SQLite file in a temporary folder unless --database-url names a
PostgreSQL database, whose public schema is EMPTIED first (use one kept for benchmarks).
"""

import argparse
import contextlib
import math
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from portal import create_app, db, migrations

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# One secret for the in-process app and the gunicorn servers: sandbox tokens are signed with it.
SECRET_KEY = "bench-" + Fernet.generate_key().decode()
TOKEN_KEYS = Fernet.generate_key().decode()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def machine():
    """One line naming the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


@contextlib.contextmanager
def database_url(url=None):
    """Yield the URL of an empty database: a temporary SQLite file, or the named PostgreSQL one emptied."""
    if url:
        if url.startswith("sqlite"):
            raise SystemExit("--database-url is for PostgreSQL; SQLite runs use a fresh temporary file.")
        database = db.open_database(url, pooled=False)
        database.execute_sql("DROP SCHEMA public CASCADE")
        database.execute_sql("CREATE SCHEMA public")
        database.close()
        yield url
        return
    folder = tempfile.mkdtemp(prefix="portal-bench-")
    try:
        yield f"sqlite:///{folder}/portal.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def settings(url, base_url, **overrides):
    """Return the app settings a bench portal runs with: sandbox on, rate limits off."""
    return {
        "SECRET_KEY": SECRET_KEY,
        "TOKEN_KEYS": TOKEN_KEYS,
        "DATABASE_URL": url,
        "SANDBOX": True,
        "BASE_URL": base_url,
        # The load comes from one address; per-address limits would measure the limiter.
        "RATELIMIT_ENABLED": False,
        **overrides,
    }


def make_app(url, base_url, **overrides):
    """Create the portal in this process (for seeding and the refresh) with its schema in place."""
    app = create_app("development", **settings(url, base_url, **overrides))
    with app.app_context():
        migrations.upgrade(db.database.obj)
    return app


class Server:
    """The portal under gunicorn (several worker processes), as an operator runs it."""

    def __init__(self, url, workers=2, threads=4, log=None, **overrides):
        self.log = log  # a file for gunicorn's and the portal's log lines (default: this terminal)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.url, self.workers, self.threads = url, workers, threads
        self.overrides = settings(url, self.base_url, **overrides)
        self.process = None

    def __enter__(self):
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.overrides.items())
        command = [
            GUNICORN,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--backlog",
            "1024",
            # Each gunicorn would otherwise claim the same ~/.gunicorn/gunicorn.ctl.
            "--no-control-socket",
            "--log-level",
            "warning",
            f"portal:create_app('development', {arguments})",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, start_new_session=True, stderr=self.log, stdout=self.log
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base_url + "/healthz", timeout=2).ok:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise SystemExit("gunicorn did not answer /healthz within 60 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def arguments(doc, refresh=False):
    """Return the bench's argument parser: --help shows the script's docstring; --database-url always.

    refresh=True adds what the refresh benchmarks share: --accounts and --latency-ms.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL database to use (EMPTIED first)")
    if refresh:
        parser.add_argument("--accounts", type=int, default=2000, help="linked accounts (default 2000)")
        parser.add_argument("--latency-ms", type=int, default=50, help="Graph round trip, ms (default 50)")
    return parser


def reset_peak_rss():
    """Start this process's peak RSS afresh (Linux: clear_refs 5), so it measures what follows alone."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib():
    """Return this process's peak resident memory in MiB since reset_peak_rss (or its start)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # never reset: an upper bound


def load_average():
    """Return the 1, 5 and 15-minute load averages as text: timings mean little on a busy machine."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values, fraction):
    """The nearest-rank percentile of values (fraction in (0, 1])."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def seconds(value):
    return f"{value:,.1f} s" if value >= 10 else f"{value:,.2f} s"
