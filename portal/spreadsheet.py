"""CSV files the portal writes, safe to open in a spreadsheet. No Flask.

Every CSV the portal hands out (figures, the overview, client reports, the import sample) goes
through csv_text, so none of them can carry a formula. A spreadsheet runs a cell that starts with
=, +, - or @ (or a tab or carriage return in front of one) as a formula: a creator named
`=HYPERLINK("http://evil.example")` would become a link in the agency's or a client's sheet.
OWASP's remedy is a leading single quote, which makes the cell text.

Only text is neutralised. A figure is written as the number it is (int, float, Decimal), so -5
stays a number a sheet can add up; a name that happens to read "-5" is text and gets its quote.
"""

import csv
import decimal
import io

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBERS = (int, float, decimal.Decimal)


def csv_cell(value):
    """Return a value as a CSV cell: numbers as they are, text that could run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(rows):
    """Return rows (iterables of values) as CSV text, every cell through csv_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()
