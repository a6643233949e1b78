import threading

from portal import db


def pragmas_of_this_thread():
    database = db.database.obj
    database.connect(reuse_if_open=True)
    try:
        return {
            name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    finally:
        database.close()


def test_sqlite_pragmas_apply_to_every_connection(make_app, tmp_path):
    # Always SQLite here, even when the suite runs against PostgreSQL.
    make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    seen = {}
    worker = threading.Thread(target=lambda: seen.update(pragmas_of_this_thread()))
    worker.start()
    worker.join(timeout=10)
    for pragmas in (pragmas_of_this_thread(), seen):
        assert pragmas["journal_mode"] == "wal"
        assert pragmas["foreign_keys"] == 1
        assert pragmas["busy_timeout"] >= 10000


def test_utcnow_is_timezone_aware():
    assert db.utcnow().utcoffset().total_seconds() == 0


def test_stream_yields_every_row_in_order_while_the_caller_commits(app, creator):
    from portal.models import Creator

    for n in range(450):  # more than two of stream's pages
        Creator.create(name=f"Streamed {n:03d}", email=f"s{n}@example.com")
    query = Creator.select().where(Creator.name.startswith("Streamed")).order_by(Creator.id)
    seen = []
    for row in db.stream(query, size=200):
        with db.database.atomic():  # a refresh commits each chunk while reading on
            Creator.update(name="Renamed " + row.name).where(Creator.id == row.id).execute()
        seen.append(row.name)
    assert seen == [f"Streamed {n:03d}" for n in range(450)]
    assert Creator.select().where(Creator.name.startswith("Renamed")).count() == 450


def test_a_pooled_sqlite_connection_serves_another_thread_and_carries_no_open_transaction(make_app, tmp_path):
    from portal.models import Creator

    make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    database = db.database.obj
    database.connect(reuse_if_open=True)
    database.execute_sql("BEGIN")
    Creator.create(name="Never committed", email="never@example.com")
    left_open = database.connection()
    database.close()  # a request that ended inside a transaction hands its connection back

    def next_request():
        database.connect()
        try:
            seen["same connection"] = database.connection() is left_open
            seen["creators"] = Creator.select().count()
        finally:
            database.close()

    seen = {}
    worker = threading.Thread(target=next_request)
    worker.start()
    worker.join(timeout=10)
    # The pool handed the connection to another thread, and nothing of the first request stayed.
    assert seen == {"same connection": True, "creators": 0}
