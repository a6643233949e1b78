"""Many Graph calls at once: batches of 50, a few connections, retries, and throttling.

No Flask. The insights refresh hands in calls keyed by what they are for and
gets back, for each key, the decoded answer or the GraphError it ended with.
"""

import json
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from portal.db import utcnow
from portal.graph.client import GraphError

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # Meta's limit per batch request
USAGE_LIMIT = 90  # percent of a rate limit at which we stop and wait
CONNECTIONS = 4  # batches in flight at once


class Throttled(Exception):
    """Meta asked us to slow down; nothing more should be sent before `until`."""

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


def usage_percent(headers):
    """Return the highest usage percentage in X-App-Usage / X-Business-Use-Case-Usage, and the wait."""
    highest, wait_minutes = 0, 0
    app = headers.get("X-App-Usage")
    if app:
        try:
            highest = max(int(v) for v in json.loads(app).values())
        except (ValueError, TypeError, AttributeError):
            pass
    buc = headers.get("X-Business-Use-Case-Usage")
    if buc:
        try:
            for entries in json.loads(buc).values():
                for entry in entries:
                    values = [entry.get(k, 0) for k in ("call_count", "total_cputime", "total_time")]
                    highest = max(highest, *[int(v) for v in values])
                    wait_minutes = max(wait_minutes, int(entry.get("estimated_time_to_regain_access") or 0))
        except (ValueError, TypeError, AttributeError):
            pass
    return highest, wait_minutes


class BatchRunner:
    """Sends calls as Graph batches over a small pool of connections, retrying transient failures."""

    def __init__(self, client, connections=CONNECTIONS, backoff=None, default_throttle_minutes=15):
        self.client = client
        self.connections = connections
        self.backoff = backoff or Backoff()
        self.default_throttle_minutes = default_throttle_minutes
        self.http_requests = 0
        self.calls = 0

    def _send(self, chunk):
        items = [(call.path, call.params, call.token) for call in chunk]
        try:
            answers, headers = self.client.batch(items, chunk[0].token)
        except GraphError as error:
            return [error] * len(chunk), {}
        return answers, headers

    def _throttle_until(self, minutes):
        from datetime import timedelta

        return utcnow() + timedelta(minutes=minutes or self.default_throttle_minutes)

    def run(self, calls):
        """Return {key: answer or GraphError} for calls; raise Throttled if Meta says stop."""
        results, pending = {}, list(calls)
        for attempt in range(self.backoff.attempts):
            chunks = [pending[i : i + BATCH_SIZE] for i in range(0, len(pending), BATCH_SIZE)]
            # Counted here, not in the sending threads, so the counts never race.
            self.http_requests += len(chunks)
            self.calls += len(pending)
            with ThreadPoolExecutor(max_workers=max(1, min(self.connections, len(chunks)))) as pool:
                sent = list(pool.map(self._send, chunks))
            retry = []
            for chunk, (answers, headers) in zip(chunks, sent, strict=True):
                percent, minutes = usage_percent(headers)
                for call, answer in zip(chunk, answers, strict=True):
                    if isinstance(answer, GraphError) and answer.throttled:
                        wait = max(minutes, usage_percent(answer.headers)[1])
                        raise Throttled(self._throttle_until(wait), answer.message)
                    if isinstance(answer, GraphError) and answer.transient:
                        retry.append(call)
                    results[call.key] = answer
                if percent >= USAGE_LIMIT:
                    raise Throttled(self._throttle_until(minutes), f"rate limit usage at {percent}%")
            if not retry:
                break
            pending = retry
            if attempt + 1 < self.backoff.attempts:
                self.backoff.wait(attempt)
            else:
                break
        return results
