import pytest

from portal.connections.handles import InvalidHandle, add_creator, normalise_handle, split_handles
from portal.models import Creator, DuplicateHandle, LedgerEntry, SocialAccount


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("ava.creates", "ava.creates"),
        ("@Ava.Creates", "ava.creates"),
        ("  @ava_creates  ", "ava_creates"),
        ("https://www.instagram.com/Ava.Creates/", "ava.creates"),
        ("http://instagram.com/ava.creates?igsh=abc123", "ava.creates"),
        ("instagram.com/ava.creates", "ava.creates"),
        ("www.instagram.com/ava.creates/reels/", "ava.creates"),
        ("A" * 30, "a" * 30),
        ("x", "x"),
    ],
)
def test_accepted_forms_are_stored_bare_and_lower_case(typed, stored):
    assert normalise_handle(typed) == stored


@pytest.mark.parametrize(
    "typed, reason",
    [
        ("", "Enter an Instagram username"),
        ("   ", "Enter an Instagram username"),
        ("@", "only letters, numbers, periods and underscores"),
        ("a" * 31, "at most 30 characters"),
        ("ava creates", "only letters, numbers, periods and underscores"),
        ("ava-creates", "only letters, numbers, periods and underscores"),
        ("<script>", "only letters, numbers, periods and underscores"),
        ("ävä", "only letters, numbers, periods and underscores"),
        (".ava", "cannot start or end with a period"),
        ("ava.", "cannot start or end with a period"),
        ("ava..creates", "two periods in a row"),
        ("https://www.instagram.com/", "no username"),
        ("https://www.instagram.com/p/Cx12ab/", "not to a profile"),
        ("https://example.com/ava", "only letters, numbers, periods and underscores"),
    ],
)
def test_what_instagram_would_refuse_is_refused_with_a_reason(typed, reason):
    with pytest.raises(InvalidHandle, match=reason):
        normalise_handle(typed)


def test_handles_are_split_by_line_and_comma_with_their_line_numbers():
    typed = " ava.creates , @ava.travels\r\n\n,,https://www.instagram.com/ava.eats/\n   "
    assert split_handles(typed) == [
        (1, "ava.creates"),
        (1, "@ava.travels"),
        (3, "https://www.instagram.com/ava.eats/"),
    ]
    assert split_handles("") == split_handles(None) == []


def test_a_creator_and_their_handles_are_added_together_or_not_at_all(app):
    creator = add_creator("Bo Lindqvist", None, ["bo.lind", "bo.eats"], "staff:admin@example.com")
    assert [a.username for a in creator.accounts()] == ["bo.eats", "bo.lind"]
    with pytest.raises(DuplicateHandle):
        add_creator("Cy Park", None, ["cy.park", "cy.park"], "staff:admin@example.com")
    assert [c.name for c in Creator.select()] == ["Bo Lindqvist"]
    assert SocialAccount.select().count() == 2
    assert (
        LedgerEntry.select().where(LedgerEntry.creator.is_null() | (LedgerEntry.creator != creator)).count()
        == 0
    )
