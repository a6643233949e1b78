"""bench/soak: 200 concurrent Link Accounts Page clients while a refresh of every account runs.

    .venv/bin/python -m bench.soak [--accounts 2000] [--clients 200] [--database-url postgresql://...]

The portal serves the Link Accounts Pages under gunicorn (2 workers x 4 threads, like
scripts/run) from the database the refresh writes to; the refresh runs here, against the
simulated Meta (its own gunicorn, 50 ms a round trip). Pass means: no 5xx and no failed
request, no "database is locked" anywhere in the logs, every account refreshed, and each
table holding exactly the figures the simulated Meta sent.
"""

import collections
import logging
import multiprocessing
import random
import tempfile
import threading
import time

import requests

from bench import common, seed
from portal.db import database
from portal.graph import GraphError
from portal.insights import refresh as insights
from portal.insights.rows import metric_value
from portal.models import Creator
from portal.models.insights import AccountMetric, AudienceSnapshot, Media, MediaMetric, Story, StoryMetric
from portal.scheduler import jobs

LOCKED = "database is locked"


def _listing(answer):
    return answer.get("data", []) if isinstance(answer, dict) else []


def figures_sent(account, answers):
    """Count, per table, the figures one account's answers carry: what must end up stored."""
    answers, a = insights.unpack(account, answers), account.id
    sent = collections.Counter()
    for key, answer in answers.items():
        if key[0] != a or isinstance(answer, GraphError):
            continue
        values = [item for item in _listing(answer) if metric_value(item) is not None]
        if key[1] == "day":
            sent["account_metric"] += len(values)
        elif key[1] == "media_insights":
            sent["media_metric"] += len(values)
        elif key[1] == "story_insights":
            sent["story_metric"] += len(values)
    sent["audience_snapshot"] += sum(1 for key in answers if key[0] == a and key[1] == "audience")
    sent["media"] += len(_listing(answers.get((a, "media"))))
    sent["story"] += len(_listing(answers.get((a, "stories"))))
    return sent


def stored():
    tables = (AccountMetric, AudienceSnapshot, Media, MediaMetric, Story, StoryMetric)
    return collections.Counter({model._meta.table_name: model.select().count() for model in tables})


def load(urls, clients, stop, results):
    """Run in its own process: `clients` threads fetching Link Accounts Pages until stop is set."""
    tally, lock, examples = collections.Counter(), threading.Lock(), {}

    def client():
        session = requests.Session()
        # A connection per request, as nginx opens to its upstream by default. With keep-alive,
        # gunicorn's threaded worker closes connections it could not serve within --keep-alive
        # (2 s) under this load; a browser retries those, requests does not.
        session.headers["Connection"] = "close"
        while not stop.is_set():
            try:
                status = session.get(random.choice(urls), timeout=60).status_code
            except requests.RequestException as error:
                status = type(error).__name__
                with lock:
                    examples.setdefault(status, str(error)[:300])
            with lock:
                tally[status] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((dict(tally), examples))


class LogLines(logging.Handler):
    """Keep this process's log lines, to look for "database is locked" in them."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def soak(args, work):
    """Seed, start the page load, refresh everything; return what happened."""
    n, captured, sent, tally = args.accounts, LogLines(), collections.Counter(), {}
    logging.getLogger().addHandler(captured)
    real_finish = insights.finish_account

    def counting_finish(account, answers, *rest, **kwargs):
        sent.update(figures_sent(account, answers))
        return real_finish(account, answers, *rest, **kwargs)

    insights.finish_account = counting_finish  # refresh_many looks it up on the module at each call
    meta_settings = {"SANDBOX_LATENCY_MS": args.latency_ms, "SANDBOX_BENCH_ACCOUNTS": n}
    with (
        common.database_url() as meta_url,
        common.Server(meta_url, threads=8, **meta_settings) as meta,
        common.database_url(args.database_url) as url,
        open(f"{work}/web.log", "w") as web_log,
    ):
        app = common.make_app(url, meta.base_url, SANDBOX_BENCH_ACCOUNTS=n, STORY_ARCHIVE=f"{work}/stories")
        with app.app_context(), database.connection_context():
            seed.seed(app, n, linked=n)
            tokens = [creator.link_token for creator in Creator.select()]
            before = stored()
        with common.Server(url, log=web_log) as web:
            urls = [f"{web.base_url}/link/{token}" for token in tokens]
            spawn = multiprocessing.get_context("spawn")  # a process of its own: no GIL shared with us
            stop, results = spawn.Event(), spawn.Queue()
            loader = spawn.Process(target=load, args=(urls, args.clients, stop, results))
            loader.start()
            loading = time.perf_counter()
            time.sleep(3)  # let every client get going before the refresh starts
            started = time.perf_counter()
            with app.app_context():
                summary = jobs.refresh_all(app)
            seconds = time.perf_counter() - started
            stop.set()
            tally["seconds"] = time.perf_counter() - loading
            counts, examples = results.get(timeout=120)
            tally.update(counts)
            tally["examples"] = examples
            loader.join()
        with app.app_context(), database.connection_context():
            added = stored() - before
    insights.finish_account = real_finish
    logs = open(f"{work}/web.log").read().splitlines() + captured.lines
    return summary, seconds, tally, sent, added, sum(LOCKED in line for line in logs)


def main():
    parser = common.arguments(__doc__, refresh=True)
    parser.add_argument("--clients", type=int, default=200, help="concurrent page clients (default 200)")
    args = parser.parse_args()
    print(f"Machine: {common.machine()}")
    kind = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.accounts:,} accounts refreshed while {args.clients} clients load Link Accounts Pages")
    print(f"Database: {kind}; web: gunicorn 2 workers x 4 threads")
    summary, seconds, tally, sent, added, locked = soak(args, tempfile.mkdtemp(prefix="portal-bench-soak-"))

    load_seconds, examples = tally.pop("seconds"), tally.pop("examples")
    pages = sum(tally.values())
    failed = {status: count for status, count in tally.items() if status != 200}
    errors = sum(count for status, count in tally.items() if isinstance(status, int) and status >= 500)
    lost = {t: sent[t] - added[t] for t in sorted(sent | added) if sent[t] != added[t]}
    everyone = len(summary.refreshed) == args.accounts and not summary.failed and not summary.broken
    print(f"\nRefresh: {summary.line()} in {common.seconds(seconds)}")
    rate = pages / load_seconds
    print(f"Link Accounts Pages served: {pages:,} in {load_seconds:,.0f} s ({rate:,.0f} per second)")
    print(f"  5xx: {errors}   any other failure: {failed or 'none'}")
    for kind, example in examples.items():
        print(f"  e.g. {kind}: {example}")
    print(f'  "{LOCKED}" in the logs: {locked}')
    print(f"Figures the simulated Meta sent: {dict(sorted(sent.items()))}")
    print(f"Rows added to the database:      {dict(sorted(added.items()))}")
    print(f"Figures lost: {lost or 'none'}")
    ok = not failed and not locked and not lost and everyone
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
