"""Gunicorn's hooks for the portal; gunicorn reads this file from the directory it is started in.

Only gunicorn's master knows how many workers it runs (--workers, WEB_CONCURRENCY or
GUNICORN_CMD_ARGS, whichever set it), so the check that needs that number is made here, once.
"""

from config import config_name_from_env, configs
from portal.ratelimits import split_counters_warning


def when_ready(server):
    """Warn at start when the workers of a production server would each count rate limits alone."""
    settings = configs.get(config_name_from_env())
    if settings is None:
        return  # create_app refuses the name, with the reason, in each worker
    warning = split_counters_warning(config_name_from_env(), settings.REDIS_URL, server.cfg.workers)
    if warning:
        server.log.warning(warning)
