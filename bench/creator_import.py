"""bench/creator_import: a CSV of 10,000 creators previewed and imported, on SQLite or PostgreSQL.

    .venv/bin/python -m bench.creator_import [--rows 10000] [--existing 10000] [--database-url ...]

The portal first holds --existing creators with a handle each. The file has --rows creators with two
handles each; one row in a hundred lists a handle an existing creator has (a duplicate to report).
Each step runs as staff meet it, through the portal's own views in this process (Flask's test
client: no HTTP server, so the figures are the portal's work alone): the upload (read, checked and
kept), the preview page (every row judged against the portal, the page rendered), the import (judged
again, then inserted in one transaction). The service's own read and judgement are timed apart.
Target: the import of 10,000 rows in seconds, with statements in chunks, never one per row.
"""

import io
import re
import time

from bench import common, seed
from portal.creator_import import judging, reading
from portal.db import database
from portal.models import Creator, LedgerEntry, SocialAccount, Staff

EMAIL = "bench@portal.test"
PASSWORD = "bench-portal-password"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csv_bytes(rows, existing):
    """Return the file: rows creators with two handles each, every 100th listing an existing handle."""
    lines = ["name,email,instagram"]
    for n in range(rows):
        second = f"bench.handle.{n % existing:05d}.0" if existing and n % 100 == 99 else f"import.{n:05d}.b"
        lines.append(f"Imported Creator {n:05d},import{n}@example.com,import.{n:05d}; @{second}")
    return ("\r\n".join(lines) + "\r\n").encode()


def timed(label, action, results):
    """Run action, note its time in results under label, return what it returned."""
    start = time.perf_counter()
    value = action()
    results[label] = time.perf_counter() - start
    return value


def counting_statements(action):
    """Run action and return (its value, the SQL statements it ran)."""
    statements = []
    execute = database.obj.execute_sql

    def record(sql, *args, **kwargs):
        statements.append(sql)
        return execute(sql, *args, **kwargs)

    database.obj.execute_sql = record
    try:
        return action(), statements
    finally:
        database.obj.execute_sql = execute


def run(url, rows, existing):
    app = common.make_app(url, "http://127.0.0.1")
    data = csv_bytes(rows, existing)
    results = {}
    with app.app_context():
        seed.seed(app, existing, handles_per_creator=1)
        Staff.register(EMAIL, PASSWORD, is_admin=True, method="scrypt:1024:8:1")
        parsed = timed("service: read the file", lambda: reading.read_file(data), results)
        verdicts = timed("service: judge every row", lambda: judging.judge(parsed), results)
    client = app.test_client()
    token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    token = _CSRF.search(client.get("/creators/import").get_data(as_text=True)).group(1)

    def upload():
        form = {"file": (io.BytesIO(data), "creators.csv"), "csrf_token": token}
        return client.post("/creators/import", data=form, content_type="multipart/form-data")

    response = timed("upload (read, checked, kept)", upload, results)
    path = response.headers["Location"]
    preview = timed("preview page (judged, rendered)", lambda: client.get(path), results)
    with app.app_context():
        (done, statements) = timed(
            "import (judged again, inserted)",
            lambda: counting_statements(lambda: client.post(path, data={"csrf_token": token})),
            results,
        )
        added = Creator.select().count() - existing
        accounts = SocialAccount.select().count() - existing
        entries = LedgerEntry.select().count()
    assert preview.status_code == 200 and done.status_code == 200, (preview.status_code, done.status_code)
    new = sum(1 for verdict in verdicts if verdict.is_new)
    inserts = sum(1 for sql in statements if str(sql).lstrip().upper().startswith("INSERT"))
    return results, new, added, accounts, entries, len(statements), inserts, len(data)


def main():
    parser = common.arguments(__doc__)
    parser.add_argument("--rows", type=int, default=10000, help="creators in the file (default 10000)")
    parser.add_argument("--existing", type=int, default=10000, help="creators already there (default 10000)")
    args = parser.parse_args()
    if not 1 <= args.rows <= reading.MAX_ROWS:
        parser.error(f"--rows must be between 1 and {reading.MAX_ROWS}")
    print(f"Machine: {common.machine()}")
    kind = f"PostgreSQL ({args.database_url.partition(':')[0]}://)" if args.database_url else "SQLite"
    print(f"Database: {kind}; {args.existing:,} creators there already")
    with common.database_url(args.database_url) as url:
        results, new, added, accounts, entries, statements, inserts, size = run(url, args.rows, args.existing)
    print(
        f"File: {args.rows:,} rows, {size / 1024 / 1024:.2f} MB; {new:,} new, {args.rows - new:,} duplicates"
    )
    for label, seconds in results.items():
        print(f"  {label:<36}{seconds:>8.2f} s")
    print(f"Added {added:,} creators, {accounts:,} handles, {entries:,} ledger entries")
    print(f"The import ran {statements:,} SQL statements, {inserts:,} of them INSERTs (chunks of 500 rows)")


if __name__ == "__main__":
    main()
