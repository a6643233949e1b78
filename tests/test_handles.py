import pytest

from portal.connections.handles import InvalidHandle, normalise_handle


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
