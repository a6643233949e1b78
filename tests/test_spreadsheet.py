"""CSV cells the portal writes: text that a spreadsheet would run as a formula is quoted, figures are not."""

import csv
import decimal
import io

import pytest

from portal.spreadsheet import csv_cell, csv_text

HOSTILE_NAMES = ('=HYPERLINK("http://x")', "@SUM(1)", "+1+cmd|' /C calc'!A0", "-2+3", "\t=1", "\r=1")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_text_that_starts_like_a_formula_is_quoted(name):
    assert csv_cell(name) == "'" + name


@pytest.mark.parametrize("text", ["Ava Chen", "ava.creates", "", "Paris, France", "a=b", "1-2"])
def test_ordinary_text_is_written_as_it_is(text):
    assert csv_cell(text) == text


def test_figures_stay_numbers_and_none_is_empty():
    assert [csv_cell(v) for v in (-5, 0, 12, -1.5, decimal.Decimal("-0.25"), None)] == [
        "-5",
        "0",
        "12",
        "-1.5",
        "-0.25",
        "",
    ]


def test_text_that_reads_like_a_negative_number_is_still_text():
    # A name is text: "-5" typed as a name is quoted, so the sheet shows what was typed.
    assert csv_cell("-5") == "'-5"


def test_csv_text_reads_back_with_each_cell_neutralised():
    text = csv_text([["name", "change"], ['=HYPERLINK("http://x")', -5], ["@SUM(1)", 3]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "change"],
        ['\'=HYPERLINK("http://x")', "-5"],
        ["'@SUM(1)", "3"],
    ]
