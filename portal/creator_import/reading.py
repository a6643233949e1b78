"""Reading an uploaded creators CSV: its size, encoding, header and cells, with the line of each problem.

A problem with the whole file (too large, not UTF-8, the wrong header, no rows) is a BadFile and
nothing is imported; a problem with one row (a cell too long, too many cells) rides on that Row and
only that row is skipped.
"""

import csv
import io
from dataclasses import dataclass

from portal.spreadsheet import csv_text

COLUMNS = ("name", "email", "instagram")
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
# The longest cell each column takes: the add-creator form's name and e-mail limits, and room for
# ten handles as profile addresses. Beyond them a cell is refused with its length, never cut short.
CELL_LIMITS = {"name": 120, "email": 254, "instagram": 500}
SAMPLE_ROWS = (
    ("Ava Chen", "ava@example.com", "ava.creates; @ava.travels"),
    ("Marco Rossi", "", "https://www.instagram.com/marco_cooks/"),
    ("Nina Brooks", "nina@example.com", ""),
)


class BadFile(ValueError):
    """The file cannot be imported at all; the message says why and what to do."""


@dataclass
class Row:
    """One creator's line of the file, its cells stripped; problem says why it cannot be imported."""

    line: int
    name: str
    email: str
    instagram: str
    problem: str | None = None


def sample_csv():
    """Return the sample file staff download: the header and a few rows in the forms accepted."""
    return csv_text([COLUMNS, *SAMPLE_ROWS])


def read_file(data):
    """Return the rows of an uploaded file's bytes, or raise BadFile."""
    return read_text(file_text(data))


def file_text(data):
    """Return an uploaded file's bytes as text, or raise BadFile if it is too large or not UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise BadFile(too_large_message(len(data)))
    return decode(data)


def too_large_message(size):
    """Say that a file of this many bytes is over the limit, and what to do."""
    return (
        f"The file is {size / 1024 / 1024:.1f} MB; files of up to {MAX_FILE_BYTES // 1024 // 1024} MB "
        f"({MAX_ROWS:,} creators) are accepted. Split it and import each part."
    )


def decode(data):
    """Return the file's text: UTF-8, with or without Excel's byte order mark; else raise BadFile."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadFile(
            f"Line {line} is not UTF-8 text (byte 0x{data[exc.start]:02X}). Save the file as "
            "“CSV UTF-8” (in Excel: Save As, CSV UTF-8; in Google Sheets: Download, CSV) and upload it again."
        ) from exc


def read_text(text):
    """Return the rows of a file's text, or raise BadFile (the text is what decode() returned)."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise BadFile(
            f"Line {line} holds a NUL character, which no text can hold. Is this really a CSV file?"
        )
    if not text.strip():
        raise BadFile("The file is empty. The first line names the columns: name,email,instagram.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        positions = _header_positions(_first_record(reader))
        rows = _rows(reader, positions)
    except csv.Error as exc:
        raise BadFile(f"Line {reader.line_num} cannot be read as CSV ({exc}).") from exc
    if not rows:
        raise BadFile("The file has the header line but no creators under it.")
    return rows


def _first_record(reader):
    for record in reader:
        if any(cell.strip() for cell in record):
            return record
    return []


def _header_positions(record):
    found = [cell.strip().lower() for cell in record]
    if sorted(found) != sorted(COLUMNS):
        hint = (
            " It looks separated by semicolons: save it as CSV with commas." if ";" in "".join(found) else ""
        )
        shown = ", ".join(cell.strip() or "(empty)" for cell in record)
        raise BadFile(
            f"The first line must name the columns {', '.join(COLUMNS)} (in any order); "
            f"this file's first line has: {shown[:200]}.{hint}"
        )
    return {column: found.index(column) for column in COLUMNS}


def _rows(reader, positions):
    rows = []
    line = reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            if len(rows) == MAX_ROWS:
                raise BadFile(
                    f"The file has more than {MAX_ROWS:,} creators; import at most {MAX_ROWS:,} at a time "
                    "(split the file)."
                )
            rows.append(_row(line, record, positions))
        line = reader.line_num + 1  # a quoted cell may span lines: the next record starts after it
    return rows


def _row(line, record, positions):
    cells = {column: (record[at] if at < len(record) else "").strip() for column, at in positions.items()}
    row = Row(line, **cells)
    if any(cell.strip() for cell in record[len(COLUMNS) :]):
        row.problem = (
            f"This line has {len(record)} cells; the columns are {', '.join(COLUMNS)}. "
            "(A comma inside a name needs the name in double quotes.)"
        )
    for column, limit in CELL_LIMITS.items():
        if len(cells[column]) > limit:
            row.problem = (
                f"The {column} is {len(cells[column]):,} characters long; at most {limit} are taken."
            )
    return row
