"""What the simulated Meta remembers between calls: its clock, removed apps and permissions, webhooks.

Meta is not stateless: a person can remove the app, a Page can be subscribed to webhooks, and time
passes. The sandbox keeps that in one small JSON file (SANDBOX_STATE_FILE, default
instance/sandbox-state.json) shared by every process of the host: the web workers, the scheduler
and `flask --app wsgi sandbox-clock`. A write holds an exclusive lock and replaces the file whole;
a read is served from memory until the file changes, and within a request the file is looked at once.
"""

import fcntl
import json
import os
import re
import threading

from flask import current_app, g, has_request_context

CLOCK_SPEC = re.compile(r"^([+-]?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
EMPTY = {"clock_offset": 0, "removed_apps": {}, "removed_permissions": {}, "subscriptions": {}}
_KEPT = "sandbox_state"  # the state a request read (flask.g)


class StateFile:
    """The sandbox's state in one JSON file; read() is cheap enough to call on every Graph call."""

    def __init__(self, path):
        self.path = path
        self._seen = None  # (mtime_ns, size) of what _data holds
        self._data = EMPTY
        self._lock = threading.Lock()

    def read(self):
        """Return the current state (do not change it: use update).

        Within a request it is read once, as Meta answers a request at one moment: each Graph call
        of a batch asked for it (the clock, for one), and each look at the file let go of Python's
        lock, which the worker's busy threads then kept for up to 5 ms: most of a batch's time.
        """
        if not has_request_context():
            return self._read()
        kept = g.get(_KEPT)
        if kept is None:
            kept = self._read()
            setattr(g, _KEPT, kept)
        return kept

    def _read(self):
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return EMPTY
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            with self._lock:
                with open(self.path, encoding="utf-8") as handle:
                    fcntl.flock(handle, fcntl.LOCK_SH)
                    text = handle.read()
                self._data = {**EMPTY, **(json.loads(text) if text.strip() else {})}
                self._seen = seen
        return self._data

    def update(self, change):
        """Apply change(state) to a fresh copy of the state under an exclusive lock, and save it."""
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with open(self.path, encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                text = ""
            state = json.loads(json.dumps({**EMPTY, **(json.loads(text) if text.strip() else {})}))
            change(state)
            temporary = f"{self.path}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(state, handle, sort_keys=True)
            os.replace(temporary, self.path)
        if has_request_context():
            g.pop(_KEPT, None)  # this request reads what it wrote
        return state

    def clock_offset(self):
        """Return how many seconds the sandbox's clock runs ahead of (or behind) the real one."""
        return int(self.read().get("clock_offset") or 0)


def parse_clock(spec):
    """Return the seconds a spec like "+61d", "-2h", "90d12h" or "0" names, or raise ValueError."""
    if (spec or "").strip() in ("0", "+0", "-0"):
        return 0
    match = CLOCK_SPEC.match((spec or "").strip())
    if not match or not any(match.groups()[1:]):
        raise ValueError(f"{spec!r} is not a clock change: use +61d, -2h, 90d12h or 0")
    sign, days, hours, minutes = match.groups()
    seconds = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60
    return -seconds if sign == "-" else seconds


def state_file(app=None):
    """Return the state file of this app (the current one by default)."""
    app = app or current_app
    return app.extensions["sandbox_state"]


def current():
    """Return the current state of the app in hand."""
    return state_file().read()


def set_clock(seconds, relative=False, app=None):
    """Move the sandbox's clock to `seconds` ahead of real time (or by them, relative=True)."""

    def change(state):
        state["clock_offset"] = (state.get("clock_offset") or 0) + seconds if relative else seconds

    return state_file(app).update(change)["clock_offset"]


def remove_app(user_id, at):
    """Record that a Facebook user removed the app at `at`: every token issued before stops working."""

    def change(state):
        state["removed_apps"][str(user_id)] = at

    state_file().update(change)


def remove_permission(user_id, permission, at):
    """Record that a Facebook user revoked one permission at `at`."""

    def change(state):
        state["removed_permissions"].setdefault(str(user_id), {})[permission] = at

    state_file().update(change)


def removed_at(user_id):
    """Return when this user removed the app, or None."""
    return current()["removed_apps"].get(str(user_id))


def revoked_permissions(user_id, issued_at):
    """Return the permissions this user revoked after a token was issued at issued_at."""
    revoked = current()["removed_permissions"].get(str(user_id), {})
    return {name for name, at in revoked.items() if at >= (issued_at or 0)}


def subscribe_page(page_id, fields):
    """Record the app's webhook subscription on a Page (POST /{page-id}/subscribed_apps)."""

    def change(state):
        state["subscriptions"][str(page_id)] = sorted(fields)

    state_file().update(change)


def unsubscribe_page(page_id):
    """Forget the app's webhook subscription on a Page (DELETE /{page-id}/subscribed_apps)."""

    def change(state):
        state["subscriptions"].pop(str(page_id), None)

    state_file().update(change)


def subscriptions(app=None):
    """Return {page id: subscribed fields} of the Pages subscribed to the app's webhooks."""
    return dict(state_file(app).read()["subscriptions"])
