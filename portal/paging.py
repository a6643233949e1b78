"""One page of a listing: what a pager needs, whatever the query behind it."""

import math
import re
from dataclasses import dataclass

LAST_PAGE = 99999  # a pager past this is a typo or a probe
_PAGE = re.compile(r"[0-9]{1,5}")


def page_number(value):
    """Return the page a ?page= value asks for: ASCII digits within 1..LAST_PAGE, else page 1.

    str.isdigit() is no guard: it accepts "²", which int() then refuses.
    """
    if value is None or not _PAGE.fullmatch(value):
        return 1
    return int(value) or 1


@dataclass
class Page:
    """One page of a listing, with what the pager needs.

    A counted listing knows its total (and so its last page). One read with of_rows() knows only
    whether a next page exists: counting every matching row on each view is what it spares.
    """

    items: list
    number: int
    per_page: int
    total: int | None = None  # None: not counted; `more` says whether a next page exists
    more: bool = False

    @classmethod
    def of_rows(cls, rows, number, per_page):
        """Return the page from up to per_page + 1 rows read for it: an extra row means a next page."""
        rows = list(rows)
        return cls(items=rows[:per_page], number=number, per_page=per_page, more=len(rows) > per_page)

    @property
    def pages(self):
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.more if self.total is None else self.number < self.pages
