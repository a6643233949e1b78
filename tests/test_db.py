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
