"""One page of a listing: what a pager needs, whatever the query behind it."""

import math
from dataclasses import dataclass


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
