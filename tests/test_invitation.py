from urllib.parse import parse_qs, urlsplit

from portal.invitation import DEFAULT_BODY, DEFAULT_SUBJECT, mailto_url, render_text, unknown_placeholders

FILL = {"name": "Ava Chen", "company": "Acme Talent", "link": "https://portal.test/link/abc"}


def test_default_invitation_fills_name_company_and_link():
    text = render_text(DEFAULT_BODY, **FILL)
    assert text.startswith("Welcome, Ava Chen!")
    assert "link your social accounts with Acme Talent" in text
    assert "https://portal.test/link/abc" in text
    assert "[" not in text
    assert render_text(DEFAULT_SUBJECT, **FILL) == "Link your Instagram account with Acme Talent"


def test_default_invitation_states_permissions_and_what_never_happens():
    text = render_text(DEFAULT_BODY, **FILL)
    assert "Read-only access to your Instagram Insights data" in text
    assert "never post on your behalf, follow pages, or like content" in text
    assert "remove the link to your account" in text


def test_values_are_filled_once_and_not_read_as_placeholders():
    text = render_text("Hi [Name], see [Link]", name="[Link]", company="", link="L")
    assert text == "Hi [Link], see L"


def test_plain_text_keeps_a_name_with_markup_as_typed():
    # Plain text for the clipboard and mailto:; escaping is the HTML template's job.
    assert render_text("Hi [Name]", name="<b>x</b>", company="", link="") == "Hi <b>x</b>"


def test_unknown_placeholders_are_reported_in_order_once():
    assert unknown_placeholders("Hi [Nmae] [Name]", "[Compnay] and [Nmae] [1]") == ["Nmae", "Compnay"]
    assert unknown_placeholders(DEFAULT_SUBJECT, DEFAULT_BODY) == []


def test_mailto_opens_a_message_with_subject_and_body():
    url = mailto_url(
        "ava@creators.test", "Link with Acme & co", "Line one\nLine two: https://x.test/?a=1&b=2"
    )
    parts = urlsplit(url)
    assert parts.scheme == "mailto" and parts.path == "ava@creators.test"
    query = parse_qs(parts.query)
    assert query["subject"] == ["Link with Acme & co"]
    assert query["body"] == ["Line one\nLine two: https://x.test/?a=1&b=2"]


def test_mailto_without_an_address_still_fills_the_message():
    assert mailto_url(None, "S", "B") == "mailto:?subject=S&body=B"
