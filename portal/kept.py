"""Answers kept in each web process until the data they were read from moves. No Flask.

Some answers cost much to work out and change rarely: a roster's totals (adding up the figures of
every account it shows: 1 ms of the overview's 4 at 10,000 creators on SQLite), the funnel's count
of every creator at each stage (1.3 ms of PostgreSQL's CPU a creators list). They are the same for
every sort, page and reader until a row they read is written; and every such write moves the
report version (portal/models/report_version.py watches those tables and columns), in every process
and host at once. So each is kept under the version read before working it out: a write made
meanwhile keeps it, at worst, under a number already gone.
"""

import threading
from collections import OrderedDict

# An answer is a dozen numbers; an agency has a few campaigns, filters and sort keys.
MOST_KEPT = 512


class Kept:
    """A bounded store of answers (dicts) by key, safe to share between a process's threads."""

    def __init__(self, most=MOST_KEPT):
        self.most = most
        self._kept = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """Return a copy of the answer kept under key, or None."""
        with self._lock:
            answer = self._kept.get(key)
            if answer is None:
                return None
            self._kept.move_to_end(key)
        return dict(answer)

    def keep(self, key, answer):
        """Keep a copy of answer under key (the least recently read go past MOST_KEPT)."""
        with self._lock:
            self._kept[key] = dict(answer)
            self._kept.move_to_end(key)
            while len(self._kept) > self.most:
                self._kept.popitem(last=False)

    def answer(self, key, work_out):
        """Return the answer kept under key, or work_out()'s, kept; key None: work it out, keep nothing."""
        answer = self.get(key) if key is not None else None
        if answer is None:
            answer = work_out()
            if key is not None:
                self.keep(key, answer)
        return dict(answer)
