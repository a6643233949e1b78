"""Helpers for the test suite: shared values here, fixtures in the modules conftest.py loads.

meta (Meta's documented answers on requests-mock), browser (live server, Chromium, BrowserSession),
sandbox (the portal with its simulated Meta on a live port), checks (security and query counts).
"""

import os
import socket

ADMIN_EMAIL = "admin@example.com"
STAFF_EMAIL = "staff@example.com"
PASSWORD = "correct horse battery"
TEST_HASH = "scrypt:1024:8:1"  # a cheap scrypt: tests sign in often


def database_url(tmp_path):
    """Return the database a test app uses: a temporary SQLite file unless CI asks for another."""
    return os.environ.get("PORTAL_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'portal.sqlite3'}"


def free_port():
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
