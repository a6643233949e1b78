"""The one scheduler process: build_scheduler(app) and the lock that keeps it single.

Never started by create_app: `flask --app wsgi scheduler` runs it in its own
process, so web workers and tests never run jobs.
"""

import fcntl
import logging
import os
import time

from apscheduler.schedulers.blocking import BlockingScheduler

from portal.db import open_database, utcnow
from portal.scheduler import jobs

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    "coalesce": True,  # one catch-up run after a pause, not a burst that burns Meta quota
    "max_instances": 1,  # a slow run never overlaps itself
    "misfire_grace_time": 300,  # APScheduler's 1 s default drops runs after any hiccup
}


# (fixed id, job, interval, run at start). The refresh job looks every minute and takes only what
# is due (a newly linked account at once, the others every PORTAL_REFRESH_MINUTES), so a restart
# simply carries on; stories are captured hourly, inside Instagram's 24 hours; the overview's
# recent figures move on within a minute of the Meta day turning. Mail queued by staff goes out
# within seconds, and a message waiting to be retried when its wait is over. Reminders are looked
# for hourly: a creator's day-7 reminder goes within the hour, never twice (see mail/reminders.py).
JOBS = [
    ("send-mail", jobs.send_mail, {"seconds": 5}, True),
    ("refresh-insights", jobs.refresh_due, {"minutes": 1}, True),
    ("capture-stories", jobs.capture_stories, {"hours": 1}, True),
    ("roll-up-figures", jobs.roll_up_figures, {"minutes": 1}, True),
    ("purge-revoked", jobs.purge_revoked, {"days": 1}, False),
    ("check-grants", jobs.check_grants, {"days": 1}, False),
    ("send-reminders", jobs.send_reminders, {"hours": 1}, True),
]


def build_scheduler(app):
    """Return a scheduler with the portal's jobs registered under fixed ids."""
    scheduler = BlockingScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    for job_id, func, every, at_start in JOBS:
        start = {"next_run_time": utcnow()} if at_start else {}
        scheduler.add_job(func, "interval", **every, args=[app], id=job_id, replace_existing=True, **start)
    return scheduler


class SchedulerLock:
    """An exclusive lock on a file; only the process holding it runs jobs."""

    def __init__(self, path):
        self.path = path
        self._file = None

    def acquire(self):
        """Take the lock without waiting; return False if another process holds it."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return True

    def release(self):
        """Let another scheduler take over."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock, held on a connection of its own for the process's life.

    Every scheduler of a deployment sharing one PostgreSQL database contends for the same key,
    whatever host it runs on; when the holder dies, its connection closes and the lock is free.
    """

    KEY = 7_406_311_870  # "the portal's scheduler", an arbitrary constant shared by every process

    def __init__(self, url):
        self.url = url
        self.path = f"PostgreSQL advisory lock {self.KEY}"
        self._db = None

    def acquire(self):
        """Take the lock without waiting; return False if another process holds it."""
        db = open_database(self.url, pooled=False)  # its close must end the session and the lock
        db.connect()
        if db.execute_sql("SELECT pg_try_advisory_lock(%s)", (self.KEY,)).fetchone()[0]:
            self._db = db
            return True
        db.close()
        return False

    def release(self):
        """Let another scheduler take over."""
        if self._db is not None:
            self._db.execute_sql("SELECT pg_advisory_unlock(%s)", (self.KEY,))
            self._db.close()
            self._db = None


def lock_path(app):
    """Return the lock file every scheduler of this deployment contends for."""
    return app.config.get("SCHEDULER_LOCK_FILE") or os.path.join(app.instance_path, "scheduler.lock")


def scheduler_lock(app):
    """Return the lock that elects one scheduler: advisory on PostgreSQL, a file lock on SQLite."""
    url = app.config["DATABASE_URL"]
    if url.startswith("postgres"):
        return AdvisoryLock(url)
    return SchedulerLock(lock_path(app))


def run_scheduler(app, standby_seconds=None):
    """Run the scheduler in the foreground once it holds the lock.

    With standby_seconds, a scheduler that finds the lock taken waits and tries again that
    often, so it takes over when the other stops; without, it gives up at once.
    """
    lock = scheduler_lock(app)
    if not lock.acquire():
        log.warning("Another scheduler holds the %s; this one runs no jobs while it does.", lock.path)
        if not standby_seconds:
            return False
        while not lock.acquire():
            time.sleep(standby_seconds)
        log.info("The other scheduler stopped; this one takes over.")
    scheduler = build_scheduler(app)
    log.info("Scheduler started with jobs: %s", [job.id for job in scheduler.get_jobs()] or "none yet")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lock.release()
    return True
