"""The one scheduler process: build_scheduler(app) and the lock that keeps it single.

Never started by create_app: `flask --app wsgi scheduler` runs it in its own
process, so web workers and tests never run jobs.
"""

import fcntl
import logging
import os

from apscheduler.schedulers.blocking import BlockingScheduler

from portal import jobs
from portal.db import utcnow

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    "coalesce": True,  # one catch-up run after a pause, not a burst that burns Meta quota
    "max_instances": 1,  # a slow run never overlaps itself
    "misfire_grace_time": 300,  # APScheduler's 1 s default drops runs after any hiccup
}


def build_scheduler(app):
    """Return a scheduler with the portal's jobs registered under fixed ids."""
    scheduler = BlockingScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
    # The refresh job looks every minute and takes only what is due (a newly linked account
    # at once, the others every PORTAL_REFRESH_MINUTES), so a restart simply carries on.
    scheduler.add_job(
        jobs.refresh_due,
        "interval",
        minutes=1,
        args=[app],
        id="refresh-insights",
        replace_existing=True,
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        jobs.capture_stories,
        "interval",
        hours=1,
        args=[app],
        id="capture-stories",
        replace_existing=True,
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        jobs.purge_revoked, "interval", days=1, args=[app], id="purge-revoked", replace_existing=True
    )
    scheduler.add_job(
        jobs.check_grants, "interval", days=1, args=[app], id="check-grants", replace_existing=True
    )
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


def lock_path(app):
    """Return the lock file every scheduler of this deployment contends for."""
    return app.config.get("SCHEDULER_LOCK_FILE") or os.path.join(app.instance_path, "scheduler.lock")


def run_scheduler(app):
    """Run the scheduler in the foreground if no other scheduler holds the lock."""
    lock = SchedulerLock(lock_path(app))
    if not lock.acquire():
        log.warning(
            "Another scheduler holds %s; this one runs no jobs. Stop the other first.",
            lock.path,
        )
        return False
    scheduler = build_scheduler(app)
    log.info("Scheduler started with jobs: %s", [job.id for job in scheduler.get_jobs()] or "none yet")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        lock.release()
    return True
