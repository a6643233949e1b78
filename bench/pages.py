"""bench/pages: the staff pages and the Link Accounts Page under load, and their SQL per page.

    .venv/bin/python -m bench.pages [--creators 10000] [--linked 2000] [--clients 8] [--seconds 10]
                                    [--search-creators 100000]

The database gets --creators creators with --handles-per-creator Instagram handles each; the first
handle of the first --linked creators is linked, with 14 days of figures. gunicorn serves it
(--workers x --threads, as scripts/run does). Each page is then loaded on its own for --seconds by
--clients concurrent clients (threads, each with its own signed-in session and a new connection per
request, as behind a proxy), after a short warm-up: the first page of the creators list, a search,
a linked creator's Social Accounts tab, a Link Accounts Page, the overview (by name and by views), a
campaign of 500 creators sorted by views, its client report, and /healthz, a trivial endpoint on
the same server whose throughput is the yardstick. Then, on a separate database of --search-creators
creators (so the pages above keep their size), the creators list searched by a piece of a name and of
a handle, against that server's own /healthz.

Targets: p95 at most 50 ms, at least 30% of /healthz's requests per second, and as many SQL statements
per page with 100 creators as with --creators (counted in this process, on two fresh databases).
The load generator runs on the same machine as the server: both share its CPUs.
"""

import collections
import contextlib
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import common, seed
from portal.campaigns import recent
from portal.db import database, is_sqlite, utcnow
from portal.graph.days import meta_day
from portal.models import AccountStatus, Campaign, CampaignCreator, Creator, ReportLink, SocialAccount, Staff
from portal.sandbox import people

EMAIL = "bench@portal.test"
PASSWORD = "bench-portal-password"
# The bench user's hash is cheap on purpose: signing in is done once per client and is not measured.
CHEAP_HASH = "scrypt:1024:8:1"
SMALL = 100  # the creators of the small database the SQL statements are compared against
CAMPAIGN_CREATORS = 500  # a campaign's creators at any size (all of them in the small database)
SEARCH = "creator 0004"  # matches Bench Creator 00040 to 00049 at any size from 100 up
SEARCH_HANDLE = "handle.00042"  # matches the 43rd creator's handles (bench.handle.00042.0, ...) only
P95_TARGET_MS = 50
THROUGHPUT_TARGET = 0.30  # of /healthz's requests per second
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Page:
    """One endpoint under test: what it is, its path, and whether it needs a signed-in client."""

    label: str
    path: str
    staff: bool = True
    extra: bool = False  # measured for comparison; not one of the issue's pages


@dataclass
class Load:
    """What the clients saw on one page during the measured window."""

    latencies: list = field(default_factory=list)  # seconds, of 200 answers only
    failures: collections.Counter = field(default_factory=collections.Counter)  # status or error name
    elapsed: float = 0.0
    # CPU seconds used meanwhile by the load generator, by gunicorn, and by anything else on the machine.
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    other_cpu: float = 0.0

    @property
    def rps(self):
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def ms(self, fraction):
        return common.percentile(self.latencies, fraction) * 1000 if self.latencies else float("nan")


def seed_portal(app, creators, handles, linked):
    """Seed the database and the bench staff user; return the pages to measure on it."""
    with app.app_context(), database.connection_context():
        seed.seed(app, creators, handles_per_creator=handles, linked=linked, metric_days=14)
        Staff.register(EMAIL, PASSWORD, is_admin=True, method=CHEAP_HASH)
        # A creator from the middle of the linked ones: its Social Accounts tab shows figures.
        with_link = (
            Creator.select()
            .join(SocialAccount)
            .where(SocialAccount.status == AccountStatus.LINKED)
            .order_by(Creator.id)
        )
        creator = with_link.offset(linked // 2).first() or Creator.select().order_by(Creator.id).first()
        token = creator.link_token
        # A campaign of CAMPAIGN_CREATORS creators, every one of them linked where there are enough.
        campaign = Campaign.create(name="Bench campaign", client="Bench client")
        campaign.add_creators([c.id for c in with_link.limit(CAMPAIGN_CREATORS)])
        missing = CAMPAIGN_CREATORS - CampaignCreator.select().count()
        campaign.add_creators(
            [c.id for c in Creator.select(Creator.id).order_by(Creator.id.desc()).limit(missing)]
        )
        _, report_token = ReportLink.issue("Bench client", "bench", utcnow(), days=90, campaign=campaign)
        # What the scheduler's roll-up-figures job does within a minute of starting.
        recent.rebuild(meta_day(utcnow()))
        settle()
    return [
        Page("/healthz", "/healthz", staff=False),
        Page("creators list", "/creators"),
        Page("creators search", f"/creators?q={SEARCH.replace(' ', '+')}", extra=True),
        Page("Social Accounts tab", f"/creators/{creator.id}/accounts"),
        Page("Link Accounts Page", f"/link/{token}", staff=False),
        Page("overview", "/overview"),
        Page("overview by views", "/overview?sort=views&order=desc"),
        Page(f"campaign of {CAMPAIGN_CREATORS}", f"/campaigns/{campaign.id}?sort=views&order=desc"),
        Page("its client report", f"/r/{report_token}", staff=False),
    ]


def settle():
    """On PostgreSQL, what autovacuum does within a minute of rows this many arriving: VACUUM ANALYZE.

    Once everything is seeded (the campaign too: analyzed before it, its 500 members were thought
    3). PostgreSQL 13 and later vacuum tables that only grew as well, which lets a count or a list
    read an index without visiting each row.
    """
    if not is_sqlite():
        database.execute_sql("VACUUM ANALYZE")


def seed_search(app, creators, handles):
    """Seed creators with handles (none linked) and the bench staff user; return the search pages."""
    with app.app_context(), database.connection_context():
        seed.seed(app, creators, handles_per_creator=handles)
        Staff.register(EMAIL, PASSWORD, is_admin=True, method=CHEAP_HASH)
        settle()
    return [
        Page("/healthz", "/healthz", staff=False),
        Page("search by name", f"/creators?q={SEARCH.replace(' ', '+')}"),
        Page("search by handle", f"/creators?q={SEARCH_HANDLE}"),
    ]


def csrf_token(html):
    match = _CSRF.search(html)
    if not match:
        raise SystemExit("The sign-in page carries no CSRF token.")
    return match.group(1)


def signed_in(client, base_url=""):
    """Sign a client (a requests.Session or a Flask test client) in through the real /login form."""
    login = client.get(base_url + "/login")
    html = login.text if hasattr(login, "text") else login.get_data(as_text=True)
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": csrf_token(html)}
    if isinstance(client, requests.Session):
        answer = client.post(base_url + "/login", data=form, allow_redirects=False)
    else:
        answer = client.post("/login", data=form)
    if answer.status_code != 302:
        raise SystemExit(f"Signing the bench user in failed with {answer.status_code}.")
    return client


def sessions(base_url, page, count):
    """Return one client session per thread, signed in beforehand if the page is for staff."""
    made = [requests.Session() for _ in range(count)]
    for session in made:
        # A new connection per request, as from a proxy in front: a kept-alive connection stays with
        # the gunicorn worker that accepted it, and with few clients one worker may get most of them.
        session.headers["Connection"] = "close"
    return [signed_in(s, base_url) if page.staff else s for s in made]


def hammer(url, clients, seconds):
    """Have each client GET url back to back for `seconds`, all starting together; return the Load."""
    load, lock = Load(), threading.Lock()
    start = threading.Barrier(len(clients) + 1)
    finished = []

    def run(client):
        latencies, failures = [], collections.Counter()
        start.wait()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                status = client.get(url, allow_redirects=False, timeout=60).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            if status == 200:
                latencies.append(time.perf_counter() - began)
            else:
                failures[status] += 1
        with lock:
            load.latencies += latencies
            load.failures.update(failures)
            finished.append(time.perf_counter())

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    # The window lasts until the last answer: requests still running at the deadline count.
    load.elapsed = max(finished) - began
    return load


def cpu_seconds(server_pid):
    """Return the CPU seconds used so far by this process, by gunicorn (master, workers), by the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    server = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # the process ended meanwhile
            # The fields after "pid (name)": ppid is the 2nd, utime and stime the 12th and 13th.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if server_pid in (int(entry.name), int(fields[1])):
                server += int(fields[11]) + int(fields[12])
    # The first line of /proc/stat: "cpu user nice system idle iowait irq softirq ..." in ticks.
    ticks = [int(value) for value in Path("/proc/stat").read_text().split()[1:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return time.process_time(), server / tick, busy / tick


def measure(server, pages, clients, seconds):
    """Load each page on its own, after a warm-up (caches, gunicorn's lazy imports), and note the CPU used."""
    results = {}
    for page in pages:
        url = server.base_url + page.path
        connected = sessions(server.base_url, page, clients)
        hammer(url, connected, min(2.0, seconds / 3))
        before = cpu_seconds(server.process.pid)
        load = hammer(url, connected, seconds)
        after = cpu_seconds(server.process.pid)
        load.client_cpu, load.server_cpu, machine = (b - a for a, b in zip(before, after, strict=True))
        # Whatever else ran meanwhile (another benchmark, a test run; PostgreSQL's own work too).
        load.other_cpu = max(0.0, machine - load.client_cpu - load.server_cpu)
        results[page.label] = load
        for session in connected:
            session.close()
    return results


@contextlib.contextmanager
def recorded_statements():
    """Record the SQL statements run inside the block, as tests/conftest.py's count_queries does."""
    executed, target = [], database.obj
    real_execute = target.execute_sql

    def record(sql, *args, **kwargs):
        executed.append(sql)
        return real_execute(sql, *args, **kwargs)

    # Patching the instance sees every statement peewee runs, whichever model or helper issues it.
    target.execute_sql = record
    try:
        yield executed
    finally:
        del target.execute_sql


def statements_per_page(app, pages):
    """GET each page once in this process and return {label: SQL statements it ran}."""
    staff, public = signed_in(app.test_client()), app.test_client()
    counts = {}
    for page in pages:
        with recorded_statements() as executed:
            status = (staff if page.staff else public).get(page.path).status_code
        if status != 200:
            raise SystemExit(f"{page.path} answered {status} in the SQL count")
        counts[page.label] = len(executed)
    return counts


def seeded(url, creators, handles, linked, accounts):
    """Seed a fresh database; return the pages to measure on it and the SQL statements each runs."""
    app = common.make_app(url, "http://127.0.0.1", SANDBOX_BENCH_ACCOUNTS=accounts)
    pages = seed_portal(app, creators, handles, linked)
    return pages, statements_per_page(app, pages)


def print_load(pages, results, clients, seconds):
    yardstick = results["/healthz"].rps
    print(f"\nUnder load: {clients} concurrent clients, {seconds:g} s per page after a warm-up")
    print(
        f"  {'page':<22}{'requests':>9}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'of /healthz':>12}"
        f"{'server CPU':>11}{'client':>7}{'other':>7}  targets: p95 <= {P95_TARGET_MS} ms, "
        f">= {THROUGHPUT_TARGET:.0%} of /healthz"
    )
    for page in pages:
        load = results[page.label]
        share = load.rps / yardstick if yardstick else 0.0
        met = load.ms(0.95) <= P95_TARGET_MS and (page.label == "/healthz" or share >= THROUGHPUT_TARGET)
        label = page.label + (" *" if page.extra else "")
        latency = "".join(f"{load.ms(fraction):>8.1f}" for fraction in (0.5, 0.95, 0.99))
        per_request = f"{load.server_cpu / max(1, len(load.latencies)) * 1000:.1f} ms"
        cpu = "".join(f"{used / load.elapsed:>7.0%}" for used in (load.client_cpu, load.other_cpu))
        print(
            f"  {label:<22}{len(load.latencies):>9,}{load.rps:>7,.0f}{latency}{share:>12.0%}{per_request:>11}"
            f"{cpu}  {'met' if met else 'MISSED'}"
        )
    if any(page.extra for page in pages):
        print("  * not one of the issue's pages (the search is measured at --search-creators below).")
    print("  server CPU: gunicorn's CPU time per request. client, other: the CPU the load generator and")
    print("  everything else used meanwhile, in % of one CPU; PostgreSQL counts as other, and so does any")
    print("  other run on the machine, which makes the figures beside it not comparable.")
    for label, load in results.items():
        if load.failures:
            print(f"  {label}: answers other than 200: {dict(load.failures)}")
    if not any(load.failures for load in results.values()):
        print("  Every answer was 200.")


def print_statements(small, large, creators):
    print(f"\nSQL statements per page (one GET, in-process): {SMALL} creators against {creators:,}")
    print(f"  {'page':<22}{f'at {SMALL}':>10}{f'at {creators:,}':>12}  same (target)")
    for label in small:
        same = small[label] == large[label]
        print(f"  {label:<22}{small[label]:>10}{large[label]:>12}  {'yes' if same else 'NO'}")


def main():
    parser = common.arguments(__doc__)
    parser.add_argument("--creators", type=int, default=10000, help="creators seeded (default 10000)")
    parser.add_argument("--handles-per-creator", type=int, default=3, help="handles per creator (default 3)")
    parser.add_argument(
        "--linked", type=int, default=2000, help="linked accounts, at most 7999 (default 2000)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per page (default 10)")
    parser.add_argument(
        "--search-creators",
        type=int,
        default=100000,
        help="creators of the separate database the search is measured on (default 100000; 0: skip)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4)")
    args = parser.parse_args()
    n, handles = args.creators, args.handles_per_creator
    linked = min(args.linked, n)
    if not (SMALL <= n and 0 <= linked <= people.BENCH_MAX and handles >= 1):
        parser.error(
            f"--creators needs at least {SMALL}, --linked at most {people.BENCH_MAX}, 1 handle or more"
        )
    # The small database keeps the large one's shape: as many handles, the same share linked.
    small_linked = max(1, round(linked * SMALL / n)) if linked else 0
    accounts = max(linked, 1)  # the simulated bench agency behind the linked accounts' Page tokens
    print(f"Machine: {common.machine()}")
    kind = f"PostgreSQL ({args.database_url.partition(':')[0]}://)" if args.database_url else "SQLite"
    print(f"Database: {kind}")
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads; {n:,} creators, "
        f"{n * handles:,} accounts, {linked:,} of them linked with 14 days of figures"
    )
    with common.database_url(args.database_url) as url:
        _, small = seeded(url, SMALL, handles, small_linked, accounts)
    with common.database_url(args.database_url) as url:
        pages, large = seeded(url, n, handles, linked, accounts)
        with common.Server(
            url, workers=args.workers, threads=args.threads, SANDBOX_BENCH_ACCOUNTS=accounts
        ) as server:
            results = measure(server, pages, args.clients, args.seconds)
    print_load(pages, results, args.clients, args.seconds)
    print_statements(small, large, n)
    if args.search_creators:
        measure_search(args, handles)


def measure_search(args, handles):
    """Measure the search pages on their own database of --search-creators creators."""
    count = args.search_creators
    print(f"\nSearch: {count:,} creators, {count * handles:,} handles, in a database of their own")
    with common.database_url(args.database_url) as url:
        app = common.make_app(url, "http://127.0.0.1")
        started = time.perf_counter()
        pages = seed_search(app, count, handles)
        print(f"  seeded in {time.perf_counter() - started:.0f} s")
        with common.Server(url, workers=args.workers, threads=args.threads) as server:
            results = measure(server, pages, args.clients, args.seconds)
    print_load(pages, results, args.clients, args.seconds)


if __name__ == "__main__":
    main()
