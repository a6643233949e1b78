"""Report pages as rendered, kept in each web process until anything they show changes. No Flask.

A report page is the same for every reader (it is read-only and names no reader), and drawing one
page of 20 accounts with their charts cost 20 ms and more of CPU. A page is kept under a key made of
the link, the page number, the Meta day (the days a report covers move with it) and the database's
report version (portal/models/report_version.py), which triggers move whenever a row the report
shows is written. The key is read from the database on each opening, before anything is drawn, so
a page drawn from older rows is never kept under a newer number, and every process and host drops
what it kept at the same moment. Whether the link still works is checked before, on each opening.
"""

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass

# Measured as Python holds the text (1, 2 or 4 bytes a character: one emoji in a name makes a page
# four times larger). About 200 pages of 20 accounts with their charts; the least recently read go.
MOST_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class RenderedPage:
    """What one page of a report shows: its title, its client, and its body as HTML."""

    title: str
    client: str | None
    body: str


def page_key(link, today, page_number, version):
    """Return the key of one page of a report, or None when nothing may be kept (no version read)."""
    return None if version is None else (link.id, page_number, today, version)


class RenderedPages:
    """A bounded store of rendered pages by key, safe to share between a process's threads."""

    def __init__(self, most_bytes=MOST_BYTES):
        self.most_bytes = most_bytes
        self._pages = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        """Return the page kept under key, or None."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def keep(self, key, page):
        """Keep a RenderedPage under key, unless key is None; return it."""
        size = sys.getsizeof(page.body)
        if key is None or size > self.most_bytes:
            return page
        with self._lock:
            old = self._pages.pop(key, None)
            self._bytes += size - (sys.getsizeof(old.body) if old else 0)
            self._pages[key] = page
            while self._bytes > self.most_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= sys.getsizeof(dropped.body)
        return page
