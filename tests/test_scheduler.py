import threading

from apscheduler.schedulers.blocking import BlockingScheduler

from portal.scheduler import JOB_DEFAULTS, SchedulerLock, build_scheduler, run_scheduler, scheduler_lock


def test_create_app_starts_no_scheduler_thread(make_app, monkeypatch):
    before = {t.ident for t in threading.enumerate()}
    make_app()
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    make_app()
    started = [t for t in threading.enumerate() if t.ident not in before]
    # The rate limiter's in-memory storage expires keys with a threading.Timer; nothing else may start.
    assert [t for t in started if not isinstance(t, threading.Timer)] == []


def test_build_scheduler_uses_safe_job_defaults(app):
    scheduler = build_scheduler(app)
    assert isinstance(scheduler, BlockingScheduler)
    assert not scheduler.running
    assert JOB_DEFAULTS["coalesce"] is True and JOB_DEFAULTS["max_instances"] == 1
    assert JOB_DEFAULTS["misfire_grace_time"] >= 60
    assert scheduler._job_defaults == JOB_DEFAULTS


def test_only_one_scheduler_holds_the_lock(tmp_path):
    first = SchedulerLock(str(tmp_path / "scheduler.lock"))
    second = SchedulerLock(str(tmp_path / "scheduler.lock"))
    assert first.acquire()
    assert not second.acquire()
    first.release()  # as when the first process stops
    assert second.acquire()
    second.release()


def test_second_scheduler_refuses_to_run_and_says_why(app, caplog):
    holder = scheduler_lock(app)  # a file lock on SQLite, the advisory lock on PostgreSQL
    assert holder.acquire()
    try:
        with caplog.at_level("WARNING"):
            assert run_scheduler(app) is False
        assert "Another scheduler holds" in caplog.text and "runs no jobs" in caplog.text
    finally:
        holder.release()


def test_build_scheduler_registers_the_documented_jobs(app):
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "send-mail",
        "refresh-insights",
        "capture-stories",
        "roll-up-figures",
        "check-grants",
        "purge-revoked",
        "send-reminders",
    }
    assert jobs["send-mail"].trigger.interval.total_seconds() == 5  # queued mail goes out within seconds
    assert jobs["capture-stories"].trigger.interval.total_seconds() == 3600
    assert jobs["check-grants"].trigger.interval.days == 1
    assert jobs["send-reminders"].trigger.interval.total_seconds() == 3600
    for job in jobs.values():
        assert job.func.__module__ == "portal.scheduler.jobs"  # importable module-level callables
    # Not started, the jobs wait to be added with the scheduler's defaults (coalesce, one instance).
    assert all(replace for _, _, replace in scheduler._pending_jobs)
    assert scheduler._job_defaults == JOB_DEFAULTS


def test_a_job_in_a_worker_thread_closes_its_database_connection(app):
    from portal import db
    from portal.scheduler import jobs

    seen = {}

    def run():
        jobs.refresh_due(app)  # nothing is linked: no call to Meta, but the database is used
        seen["closed"] = db.database.is_closed()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)
    assert seen == {"closed": True}


def test_a_refresh_round_that_did_nothing_logs_at_debug_and_one_that_did_something_at_info(
    meta_app, creator, no_network, caplog
):
    import logging

    from test_staff_accounts import GRAPH_BATCH, FakeMeta, link

    from portal.models import SocialAccount
    from portal.scheduler import jobs

    def lines():
        found = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "portal.scheduler.jobs"]
        caplog.clear()
        return found

    caplog.set_level(logging.DEBUG, logger="portal.scheduler.jobs")
    jobs.refresh_due(meta_app)  # the creator's one handle is not linked: nothing is due
    assert lines() == [(logging.DEBUG, "Scheduled refresh: 0 refreshed, 0 link broken, 0 failed, 0 deferred")]

    account = link(creator.accounts().get())
    no_network.post(GRAPH_BATCH, json=FakeMeta())
    assert jobs.refresh_due(meta_app).refreshed == ["ava.creates"]
    assert lines() == [(logging.INFO, "Scheduled refresh: 1 refreshed, 0 link broken, 0 failed, 0 deferred")]
    jobs.refresh_due(meta_app)  # refreshed a moment ago: not due again
    assert [level for level, _ in lines()] == [logging.DEBUG]

    SocialAccount.update(last_refreshed_at=None).where(SocialAccount.id == account.id).execute()
    refused = {"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100}}
    no_network.post(GRAPH_BATCH, json=FakeMeta(fault=(400, refused)))
    assert jobs.refresh_due(meta_app).refreshed == []  # nothing refreshed, but one failed: worth a note
    assert lines() == [(logging.INFO, "Scheduled refresh: 0 refreshed, 0 link broken, 1 failed, 0 deferred")]


def test_retention_purge_deletes_only_figures_of_accounts_revoked_long_ago(app, creator):
    import datetime

    from portal.models import AccountStatus, LedgerEntry, ProfileSnapshot, SocialAccount
    from portal.scheduler import jobs

    now = datetime.datetime(2026, 11, 29, tzinfo=datetime.UTC)
    old = creator.accounts().get()
    recent = SocialAccount.create(creator=creator, username="recent.one")
    for account, days in ((old, 91), (recent, 10)):
        SocialAccount.update(
            status=AccountStatus.REVOKED, revoked_at=now - datetime.timedelta(days=days)
        ).where(SocialAccount.id == account.id).execute()
        ProfileSnapshot.create(account=account, taken_on=now.date(), followers_count=5)

    assert jobs.purge_revoked(app, now=now) == 1
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == old).count() == 0
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == recent).count() == 1
    event = LedgerEntry.get(LedgerEntry.action == "retention_purge")
    assert event.account_id == old.id and "5" not in event.details  # counts only, no figures
    assert jobs.purge_revoked(app, now=now) == 0  # nothing left: no second entry
    assert LedgerEntry.select().where(LedgerEntry.action == "retention_purge").count() == 1


def test_a_second_scheduler_process_stands_by_and_takes_over(make_app, tmp_path):
    """Two `flask scheduler` processes on one database: one runs, the other takes over when it stops.

    On SQLite they contend for a file lock; in the PostgreSQL pass, for an advisory lock.
    """
    import os
    import subprocess
    import sys
    import time

    app = make_app()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {
        **os.environ,
        "PORTAL_CONFIG": "testing",
        "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
        "PORTAL_SCHEDULER_LOCK_FILE": str(tmp_path / "scheduler.lock"),
        "PORTAL_SCHEDULER_STANDBY_SECONDS": "1",
    }
    logs = {name: tmp_path / f"{name}.log" for name in ("first", "second")}
    processes = {}

    def start(name):
        with open(logs[name], "w") as out:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
                cwd=root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_for(name, text, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in logs[name].read_text():
                return True
            time.sleep(0.2)
        return False

    try:
        start("first")
        assert wait_for("first", "Scheduler started"), logs["first"].read_text()
        start("second")
        assert wait_for("second", "this one runs no jobs while it does"), logs["second"].read_text()
        assert "Scheduler started" not in logs["second"].read_text()
        processes["first"].kill()  # as a crash would: the lock goes with the process
        processes["first"].wait(timeout=10)
        assert wait_for("second", "this one takes over"), logs["second"].read_text()
        assert wait_for("second", "Scheduler started")
    finally:
        for process in processes.values():
            process.kill()
            process.wait(timeout=10)
