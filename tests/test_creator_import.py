"""The creator import service: reading a CSV, a verdict per row, and the bulk import."""

import pytest

from portal.creator_import import judging, reading, saving
from portal.creator_import.reading import BadFile
from portal.models import AccountStatus, Creator, LedgerEntry, SocialAccount

HEADER = "name,email,instagram\r\n"
ACTOR = "staff:admin@example.com"


def verdicts_of(app, text):
    """Return (line, kind, why, usernames) for each row of a file's text."""
    return [(v.row.line, v.kind, v.why, v.usernames) for v in judging.judge(reading.read_file(text.encode()))]


def test_a_byte_order_mark_is_accepted_and_columns_may_come_in_any_order(app):
    rows = reading.read_file(b"\xef\xbb\xbfInstagram,Name,EMAIL\r\n@Ava.Creates,Ava Chen,ava@example.com\r\n")
    assert [(r.line, r.name, r.email, r.instagram) for r in rows] == [
        (2, "Ava Chen", "ava@example.com", "@Ava.Creates")
    ]


def test_handles_are_split_on_spaces_and_semicolons_and_normalised_as_the_form_does(app):
    text = HEADER + "Ava,,@Ava.Creates; https://www.instagram.com/ava.travels/  ava.creates\r\n"
    assert verdicts_of(app, text) == [(2, "new", "", ["ava.creates", "ava.travels"])]


def test_a_row_with_a_5000_character_cell_is_refused_with_its_length(app):
    text = HEADER + f"{'A' * 5000},,ava\r\nBo,,bo.draws\r\n"
    (line, kind, why, _), second = verdicts_of(app, text)
    assert (line, kind) == (
        2,
        "invalid",
    ) and why == "The name is 5,000 characters long; at most 120 are taken."
    assert second[1] == "new"


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ('"=HYPERLINK(""http://x"")",,', "The name starts with “=”, which a spreadsheet runs as a formula."),
        ("@SUM(1),,", "The name starts with “@”"),
        ("-Ava,,", "The name starts with “-”"),
        ("Ava,+ava@example.com,", "The e-mail starts with “+”"),
        ("Ava,not-an-address,", "“not-an-address” is not an e-mail address like name@example.com."),
        (",ava@example.com,ava", "The name is missing."),
        ("Ava,,ava.creates/p/x", "Instagram handle “ava.creates/p/x”: Instagram usernames use only"),
        (
            "Ava,,instagram.com/reel/abc",
            "Instagram handle “instagram.com/reel/abc”: That is a link to a post",
        ),
        ("Ava,," + " ".join(f"h{n}" for n in range(11)), "11 Instagram handles; at most 10 a row are taken."),
        ("Ava,,ava,extra", "This line has 4 cells; the columns are name, email, instagram."),
    ],
)
def test_a_row_that_cannot_be_a_creator_says_why(app, row, why):
    [(line, kind, said, _)] = verdicts_of(app, HEADER + row + "\r\n")
    assert (line, kind) == (2, "invalid") and said.startswith(why), said


def test_duplicates_name_the_creator_who_has_the_email_or_handle_and_a_revoked_listing_claims_nothing(app):
    ava = Creator.create(name="Ava Chen", email="Ava@Example.com")
    SocialAccount.add_handle(ava, "ava.creates")
    gone = SocialAccount.add_handle(Creator.create(name="Old Owner"), "old.handle")
    SocialAccount.update(status=AccountStatus.REVOKED).where(SocialAccount.id == gone.id).execute()
    text = HEADER + "A,ava@example.com,\r\nB,,https://instagram.com/ava.creates\r\nC,,old.handle\r\n"
    assert [v[1:3] for v in verdicts_of(app, text)] == [
        ("duplicate", "ava@example.com is already the e-mail of Ava Chen."),
        ("duplicate", "@ava.creates is already listed under Ava Chen."),
        ("new", ""),
    ]


def test_a_creator_twice_in_the_file_is_imported_once(app):
    text = (
        HEADER + 'Ava,ava@example.com,ava\r\n"Ava\r\nChen",AVA@example.com,\r\nBo,,bo @ava\r\nBad,,x..y\r\n'
    )
    assert [v[:3] for v in verdicts_of(app, text)] == [
        (2, "new", ""),
        (3, "duplicate", "Same e-mail as line 2 of this file."),  # a quoted cell spans lines 3-4
        (5, "duplicate", "@ava is also on line 2 of this file."),
        (6, "invalid", "Instagram handle “x..y”: Instagram usernames cannot have two periods in a row."),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\r\n  \r\n", "The file is empty."),
        (HEADER.encode(), "The file has the header line but no creators under it."),
        (b"name,email\r\nAva,a@example.com\r\n", "this file's first line has: name, email."),
        (HEADER.encode() + b"Ava,,ava\r\nB\x00o,,bo\r\n", "Line 3 holds a NUL character"),
        (HEADER.encode() + b"Ava,,ava\r\n\xff,,bo\r\n", "Line 3 is not UTF-8 text (byte 0xFF)."),
        (HEADER.encode() + b"a" * (reading.MAX_FILE_BYTES), "files of up to 2 MB (10,000 creators)"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(app, data, message):
    with pytest.raises(BadFile) as refused:
        reading.read_file(data)
    assert message in str(refused.value)


def test_the_portal_is_asked_as_often_for_300_rows_as_for_3(app, count_queries):
    def statements(count):
        text = HEADER + "".join(f"C{n},c{n}@example.com,c{n}.creates c{n}.more\r\n" for n in range(count))
        rows = reading.read_file(text.encode())
        with count_queries() as sql:
            judging.judge(rows)
        return len(sql)

    assert statements(3) == statements(300) == 2  # the e-mails, then the handles


def test_the_import_adds_creators_with_links_handles_and_ledger_entries_in_bulk(app, count_queries):
    text = HEADER + "".join(f"Creator {n},c{n}@example.com,c{n}.one;c{n}.two\r\n" for n in range(600))
    rows = reading.read_file((text + "Creator 0 again,c0@example.com,\r\n").encode())
    with count_queries() as sql:
        result = saving.import_creators(rows, ACTOR, "big.csv")
    assert [c.name for c in result.created[:2]] == ["Creator 0", "Creator 1"] and len(result.created) == 600
    assert [(v.row.line, v.why) for v in result.skipped] == [(602, "Same e-mail as line 2 of this file.")]
    first = Creator.get_by_id(result.created[0].id)
    assert Creator.by_link_token(result.created[0].link_token).id == first.id  # the link works
    assert [a.username for a in first.accounts()] == ["c0.one", "c0.two"]
    assert SocialAccount.select().count() == 1200
    actions = [e.action for e in LedgerEntry.select()]
    assert actions.count("invited") == 600 and actions.count("account_added") == 1200
    assert actions.count("creators_imported") == 1
    inserts = [s for s in sql if str(s).lstrip().upper().startswith("INSERT")]
    assert len(inserts) <= 2 + 3 + 4, len(inserts)  # chunks of 500, not a statement per row


def test_an_upload_is_imported_once(app, staff_member):
    from portal.models import CreatorImport

    waiting = CreatorImport.create(staff=staff_member, file_name="a.csv", csv_text=HEADER + "Ava,,ava\r\n")
    assert len(saving.import_pending(waiting, ACTOR).created) == 1
    assert saving.import_pending(waiting, ACTOR) is None
    assert Creator.select().count() == 1
