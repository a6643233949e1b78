"""Rosters' counts and totals as last added up, kept in each web process until the data moves. No Flask.

Adding up the figures of every account a roster shows is the costliest query of the overview and
of a campaign's page (1 ms of the overview's 4 at 10,000 creators on SQLite), yet it gives the
same answer for every sort and every page of that roster until a row it reads is written. Every
such write moves the report version (portal/models/report_version.py watches the creators, their
accounts, campaigns and every figure table), so totals are kept under the version read before
adding up: a write made meanwhile keeps them at worst under a number already gone.
"""

import threading
from collections import OrderedDict

# A roster's totals are a dozen numbers; an agency has a few campaigns, filters and sort keys.
MOST_KEPT = 512


class KeptTotals:
    """A bounded store of totals (dicts) by key, safe to share between a process's threads."""

    def __init__(self, most=MOST_KEPT):
        self.most = most
        self._kept = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """Return a copy of the totals kept under key, or None."""
        with self._lock:
            totals = self._kept.get(key)
            if totals is None:
                return None
            self._kept.move_to_end(key)
        return dict(totals)

    def keep(self, key, totals):
        """Keep a copy of totals under key (the least recently read go past MOST_KEPT)."""
        with self._lock:
            self._kept[key] = dict(totals)
            self._kept.move_to_end(key)
            while len(self._kept) > self.most:
                self._kept.popitem(last=False)
