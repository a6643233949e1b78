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
    """One page of a listing, with what the pager needs."""

    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self):
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self):
        return self.number > 1

    @property
    def has_next(self):
        return self.number < self.pages
