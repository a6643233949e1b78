"""Row ids as they arrive in addresses and query strings.

Both databases store ids as signed 64-bit integers: a number past that range cannot name a row,
and handing it to the driver fails (SQLite raises OverflowError, PostgreSQL an out-of-range error).
So such a number is treated like any other id that names nothing: a 404, never a 500.
"""

import re

from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,19}")


class RowId(IntegerConverter):
    """`<int:...>` in every route: ASCII digits only, 1..MAX_ID; anything else matches no route."""

    regex = r"[0-9]+"  # \d would also take other scripts' digits ("١٢" is 12 to int())

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):  # noqa: A002 (Werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def parse_id(value):
    """Return the row id a query-string value names, or None when it names none."""
    if value is None or not _ASCII_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
