"""bench/refresh: the portal's insights refresh against a naive one-call-at-a-time loop.

    .venv/bin/python -m bench.refresh [--accounts 2000] [--latency-ms 50] [--naive-accounts 50]
    .venv/bin/python -m bench.refresh --accounts 20000 --naive-accounts 0   # the portal's alone

The simulated Meta runs under gunicorn with every Graph answer (a single call or a whole batch)
delayed by the latency. Both refreshes plan the same calls and write the same rows; the naive
loop sends them one by one, the portal sends them as batches of 50 over a few connections.
Each runs on its own fresh database, twice: the first refresh (30 days of history) and the next
one (the new days only). The naive loop is timed on --naive-accounts accounts and scaled to
--accounts: one call at a time shares nothing between accounts, so its time grows linearly.
--naive-accounts 0 skips it (it takes minutes and tells nothing about the portal's memory).
"""

import math
import multiprocessing
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from bench import common, seed
from portal import create_app
from portal.db import database, utcnow
from portal.graph import GraphError, facebook_graph
from portal.graph.batch import BATCH_SIZE, CONNECTIONS
from portal.insights import refresh as insights
from portal.models import SocialAccount
from portal.models.insights import AccountMetric, AudienceSnapshot, Media, MediaMetric, Story, StoryMetric
from portal.scheduler import jobs


def row_counts(accounts):
    """Count the rows stored for the first `accounts` accounts: the naive loop's accounts, in both runs."""
    ids = SocialAccount.select(SocialAccount.id).order_by(SocialAccount.id).limit(accounts)
    counts = {}
    for model in (AccountMetric, AudienceSnapshot, Media, Story):
        counts[model._meta.table_name] = model.select().where(model.account.in_(ids)).count()
    media = Media.select(Media.id).where(Media.account.in_(ids))
    stories = Story.select(Story.id).where(Story.account.in_(ids))
    counts["media_metric"] = MediaMetric.select().where(MediaMetric.media.in_(media)).count()
    counts["story_metric"] = StoryMetric.select().where(StoryMetric.story.in_(stories)).count()
    return counts


def naive_refresh(app, accounts, archive):
    """Refresh like a first draft would: each planned call is its own HTTP request, one at a time."""
    client = facebook_graph(app.config)
    summary, now, requests = insights.Summary(), utcnow(), 0

    def send(calls, answers):
        nonlocal requests
        for call in calls:
            requests += 1
            try:
                answers[call.key] = client.get(call.path, call.token, **call.params)
            except GraphError as error:
                answers[call.key] = error

    for account in accounts:
        token, answers = insights.account_token(account), {}
        calls = insights.first_calls(account, token, now)
        while calls:
            send(calls, answers)
            calls = insights.next_calls(account, token, answers)
        insights.finish_account(account, answers, now, summary, archive)
    summary.http_requests = summary.graph_calls = requests
    return summary


def refresh_alone(url, base_url, archive, secret_key, token_keys):
    """Refresh every account in this fresh process; return (wall seconds, Summary, MiB before, peak MiB).

    Run in a process of its own, as the scheduler's: the bench's own process also seeded the
    accounts and holds the simulated Meta's people, which no refreshing process holds.
    """
    # This process imported bench.common afresh, with keys of its own: the tokens need the seeder's.
    keys = {"SECRET_KEY": secret_key, "TOKEN_KEYS": token_keys, "STORY_ARCHIVE": archive}
    app = create_app("development", **common.settings(url, base_url, **keys))
    before = common.peak_rss_mib()  # the imports and the app: any portal process holds them
    started = time.perf_counter()
    with app.app_context():
        summary = jobs.refresh_all(app)
    return time.perf_counter() - started, summary, before, common.peak_rss_mib()


def run_refresh(app, count, naive, archive, compared):
    """Seed `count` linked accounts, refresh them twice; return [(wall s, Summary, rows, MiB, MiB before)].

    rows are counted on the first `compared` accounts, the ones both refreshes read. MiB is the
    peak resident memory of the process the portal's refresh runs in (a fresh one each time), and
    what it held before the refresh began; the naive loop runs in this process and has neither.
    """
    results = []
    with app.app_context(), database.connection_context():
        seed.seed(app, count, linked=count)
    for _ in ("first", "next"):
        with app.app_context():
            peak = before = None
            if naive:
                started = time.perf_counter()
                with database.connection_context():
                    accounts = list(SocialAccount.refreshable(utcnow()).order_by(SocialAccount.id))
                    summary = naive_refresh(app, accounts, archive)
                wall = time.perf_counter() - started
            else:
                spawn = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
                    where = (app.config["DATABASE_URL"], app.config["BASE_URL"], archive)
                    alone = child.submit(refresh_alone, *where, common.SECRET_KEY, common.TOKEN_KEYS)
                    wall, summary, before, peak = alone.result()
            with database.connection_context():
                rows = row_counts(compared)
        problems = {**summary.failed, **summary.broken}
        if problems or len(summary.refreshed) != count:
            raise SystemExit(f"The refresh did not refresh every account: {summary.line()} {problems}")
        results.append((wall, summary, rows, peak, before))
    if database.obj is not None and not database.is_closed():
        database.close()
    return results


def main():
    parser = common.arguments(__doc__, refresh=True)
    parser.add_argument(
        "--naive-accounts", type=int, default=50, help="accounts the naive loop is timed on (0: skip it)"
    )
    parser.add_argument("--sandbox-workers", type=int, default=2, help="gunicorn workers for the fake Meta")
    args = parser.parse_args()
    n, latency = args.accounts, args.latency_ms / 1000
    naive_n = min(args.naive_accounts, n)
    connections = CONNECTIONS
    print(f"Machine: {common.machine()}")
    print(f"Load average at the start: {common.load_average()}")
    print(f"{n:,} linked accounts, {args.latency_ms} ms per Graph round trip, {connections} connections")
    archive = tempfile.mkdtemp(prefix="portal-bench-stories-")
    # The fake Meta needs no tables of its own; it gets an empty SQLite file.
    with (
        common.database_url() as meta_url,
        common.Server(
            meta_url,
            workers=args.sandbox_workers,
            threads=8,
            SANDBOX_LATENCY_MS=args.latency_ms,
            SANDBOX_BENCH_ACCOUNTS=n,
        ) as meta,
    ):
        overrides = {"SANDBOX_BENCH_ACCOUNTS": n, "STORY_ARCHIVE": archive}
        with common.database_url(args.database_url) as url:
            portal = run_refresh(common.make_app(url, meta.base_url, **overrides), n, False, archive, naive_n)
        naive = [None, None]
        if naive_n:
            with common.database_url(args.database_url) as url:
                naive = run_refresh(
                    common.make_app(url, meta.base_url, **overrides), naive_n, True, archive, naive_n
                )
    shutil.rmtree(archive, ignore_errors=True)  # 20,000 accounts leave about 240 MB of story files
    for label, (wall, summary, rows, peak, before), naive_run in zip(
        ("First refresh (30 days of history)", "Next refresh (the new days)"), portal, naive, strict=True
    ):
        calls_per_account = summary.graph_calls / n
        floor = math.ceil(n * calls_per_account / BATCH_SIZE) * latency / connections
        print(f"\n{label}")
        print(f"  Graph calls per account (c):   {calls_per_account:.1f}")
        requests = f"{summary.http_requests:,} HTTP requests"
        print(f"  portal refresh:                {common.seconds(wall)}  ({requests})")
        print(f"  floor ceil(N*c/50)*L/k:        {common.seconds(floor)}")
        print(f"  portal / floor:                {wall / floor:.1f}x  (target: at most 3x)")
        print(f"  HTTP requests per account:     {summary.http_requests / n:.2f}  (target: at most 0.2)")
        print(f"  peak RSS of the refresh:       {peak:,.0f} MiB  (fresh process; {before:,.0f} MiB before)")
        if naive_run:
            print_naive(n, wall, rows, naive_n, naive_run)
    print(f"\nLoad average at the end: {common.load_average()}")


def print_naive(n, wall, rows, naive_n, naive_run):
    """Print the naive loop's figures beside the portal's (rows counted on the accounts both read)."""
    naive_wall, naive_summary, naive_rows, *_ = naive_run
    naive_scaled = naive_wall * n / naive_n
    print(
        f"  naive loop:                    {common.seconds(naive_scaled)}  "
        f"(measured {common.seconds(naive_wall)} on {naive_n:,} accounts, scaled to {n:,})"
    )
    print(f"  naive / portal:                {naive_scaled / wall:.1f}x  (target: at least 20x)")
    print(f"  naive HTTP requests / account: {naive_summary.http_requests / naive_n:.1f}")
    portal_rows = {k: round(v / naive_n, 1) for k, v in rows.items()}
    naive_rows = {k: round(v / naive_n, 1) for k, v in naive_rows.items()}
    print(f"  rows per account after, on the {naive_n:,} accounts both read:")
    print(f"                                 portal {portal_rows}")
    print(f"                                 naive  {naive_rows}")


if __name__ == "__main__":
    main()
