"""Many Graph calls at once: batches of 50, a few connections, retries, and throttling. No Flask.

The insights refresh hands in calls keyed by what they are for and gets back, for each key, the
decoded answer or the GraphError it ended with. Meta limits the app as a whole (codes 4, 17, 32,
613, X-App-Usage) and each Instagram account on its own (code 80002, X-Business-Use-Case-Usage
keyed by the account's id): the first stops everything, the second only that account's calls.
"""

import datetime
import json
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from portal.db import utcnow
from portal.graph.client import GraphError

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # Meta's limit per batch request
USAGE_LIMIT = 90  # percent of a rate limit at which we stop and wait
CONNECTIONS = 4  # batches in flight at once
DEFAULT_WAIT_MINUTES = 15  # when Meta throttles without saying for how long


class Throttled(Exception):
    """Meta asked the whole app to slow down; nothing more should be sent before `until`."""

    def __init__(self, until, reason):
        super().__init__(reason)
        self.until = until
        self.reason = reason


@dataclass
class Call:
    """One Graph GET: what it is for (key), its path, parameters and token."""

    key: tuple
    path: str
    params: dict
    token: str


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter (AWS's "Exponential Backoff and Jitter")."""

    base: float = 1.0
    cap: float = 30.0
    attempts: int = 4
    sleep: callable = time.sleep
    rand: callable = random.uniform
    waits: list = field(default_factory=list)

    def wait(self, attempt):
        """Sleep a random time in [0, min(cap, base * 2**attempt)] and record it."""
        seconds = self.rand(0, min(self.cap, self.base * 2**attempt))
        self.waits.append(seconds)
        self.sleep(seconds)


def app_usage(headers):
    """Return the highest percentage X-App-Usage reports (0 without the header)."""
    try:
        return max((int(v) for v in json.loads(headers.get("X-App-Usage") or "{}").values()), default=0)
    except (ValueError, TypeError, AttributeError):
        return 0


def business_usage(headers):
    """Return {object id: (highest usage %, minutes to regain access)} from X-Business-Use-Case-Usage."""
    usage = {}
    try:
        for object_id, entries in json.loads(headers.get("X-Business-Use-Case-Usage") or "{}").items():
            for entry in entries:
                values = [int(entry.get(k) or 0) for k in ("call_count", "total_cputime", "total_time")]
                minutes = int(entry.get("estimated_time_to_regain_access") or 0)
                percent, wait = usage.get(str(object_id), (0, 0))
                usage[str(object_id)] = (max(percent, *values), max(wait, minutes))
    except (ValueError, TypeError, AttributeError):
        return {}
    return usage


def wait_until(minutes):
    """Return when access comes back, `minutes` from now (Meta's estimate, or our default)."""
    return utcnow() + datetime.timedelta(minutes=minutes or DEFAULT_WAIT_MINUTES)


class BatchRunner:
    """Sends calls as Graph batches over a small pool of connections, retrying transient failures.

    After run(), limited holds {object id: until} for every object (an Instagram account) Meta
    throttled or reported at 90% or more of its own limit; a throttled call's answer is its error.
    Several threads may run() at once (the refresh fetches two chunks together): they share the
    `connections`, so no more batches than that are ever in flight.
    """

    def __init__(self, client, connections=CONNECTIONS, backoff=None):
        self.client = client
        self.connections = connections
        self.backoff = backoff or Backoff()
        self.http_requests = 0
        self.calls = 0
        self.limited = {}
        self._in_flight = threading.BoundedSemaphore(connections)
        self._lock = threading.Lock()  # the counts and limited, written by each running thread
        self._stopped = None  # the Throttled that stopped the whole app: no thread sends after it

    def _send(self, chunk):
        items = [(call.path, call.params, call.token) for call in chunk]
        try:
            with self._in_flight:
                return self.client.batch(items)
        except GraphError as error:
            if error.app_throttled:
                raise Throttled(wait_until(0), error.message) from error
            # The batch as a whole was refused: no single account is to blame for it.
            refused = GraphError(
                f"Facebook refused the whole batch: {error.message}",
                transient=error.transient,
                status=error.status,
            )
            return [refused] * len(chunk), {}, [{}] * len(chunk)

    def _note_limits(self, headers):
        for object_id, (percent, minutes) in business_usage(headers).items():
            if percent >= USAGE_LIMIT:
                with self._lock:
                    self.limited[object_id] = max(self.limited.get(object_id, utcnow()), wait_until(minutes))

    def _round(self, pending):
        """Send one round of calls; return (their answers, the calls to retry)."""
        try:
            return self._sent_round(pending)
        except Throttled as throttled:
            self._stopped = self._stopped or throttled
            raise

    def _sent_round(self, pending):
        if self._stopped:  # another thread's round met it: this one sends nothing more
            raise Throttled(self._stopped.until, self._stopped.reason)
        chunks = [pending[i : i + BATCH_SIZE] for i in range(0, len(pending), BATCH_SIZE)]
        with self._lock:  # counted here, not in the sending threads: once each
            self.http_requests += len(chunks)
            self.calls += len(pending)
        with ThreadPoolExecutor(max_workers=max(1, min(self.connections, len(chunks)))) as pool:
            sent = list(pool.map(self._send, chunks))
        answers, retry = {}, []
        for chunk, (results, headers, item_headers) in zip(chunks, sent, strict=True):
            percent = app_usage(headers)
            if percent >= USAGE_LIMIT:
                raise Throttled(wait_until(0), f"the app's rate limit usage is at {percent}%")
            for call, answer, answer_headers in zip(chunk, results, item_headers, strict=True):
                self._note_limits(answer_headers)
                if isinstance(answer, GraphError):
                    if answer.app_throttled:
                        raise Throttled(wait_until(0), answer.message)
                    if answer.transient and not answer.throttled:
                        retry.append(call)
                answers[call.key] = answer
        return answers, retry

    def run(self, calls):
        """Return {key: answer or GraphError} for calls; raise Throttled if Meta stops the whole app."""
        results, pending = {}, list(calls)
        for attempt in range(self.backoff.attempts):
            answers, pending = self._round(pending)
            results.update(answers)
            if not pending or attempt + 1 == self.backoff.attempts:
                break
            self.backoff.wait(attempt)
        return results
