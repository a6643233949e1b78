"""The staff journey in real headless Chromium: sign in, list a handle, copy the invitation, open the link.

Every page visited is checked the way a user would meet it: htmx really loads (through its SRI hash),
nothing is refused by the CSP, no script fails, nothing leaves the machine, and axe-core finds no
serious or critical accessibility violation.
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.live_http]


def add_creator(session, page, name):
    """Add a creator through the form; the portal lands on their Social Accounts tab."""
    page.get_by_role("link", name="Add creator").click()
    expect(page.get_by_role("heading", name="Add a creator")).to_be_visible()
    session.check(page, "the Add a creator form", staff=True)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add creator").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", name="Social Accounts")).to_be_visible()


def test_staff_list_a_handle_copy_the_invitation_and_the_creator_opens_the_link(browser_session):
    session = browser_session
    session.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=session.base_url)
    page = session.context.new_page()

    session.sign_in(page)
    expect(page.get_by_text("No creators yet.")).to_be_visible()
    session.check(page, "the creators list", staff=True)

    add_creator(session, page, "Jamie Rivera")
    expect(page.get_by_role("status").filter(has_text="Jamie Rivera was added.")).to_be_visible()
    session.check(page, "the Social Accounts tab", staff=True)
    tab_url = page.url

    # A handle is added in place: the page is not reloaded, and it is stored bare and lower case.
    page.evaluate("window.__marker = 1")
    handle_box = page.get_by_label("Instagram username or profile address")
    handle_box.fill("@Jamie.Rivera")
    page.get_by_role("button", name="Add account").click()
    expect(page.locator("#account-list .handle")).to_have_text(["@jamie.rivera"])
    expect(page.locator("#account-list .badge")).to_have_text(["Not linked"])
    expect(handle_box).to_have_value("")
    assert page.evaluate("window.__marker") == 1, "adding a handle reloaded the page"
    assert page.url == tab_url

    # A handle Instagram would refuse: the reason shows beside the field, the typed text is kept.
    handle_box.fill("jamie rivera!")
    page.get_by_role("button", name="Add account").click()
    error = page.locator("#account-list .field").locator(".field-error")
    expect(error).to_have_text("Instagram usernames use only letters, numbers, periods and underscores.")
    expect(handle_box).to_have_value("jamie rivera!")
    expect(handle_box).to_have_attribute("aria-invalid", "true")
    expect(handle_box).to_have_accessible_description(re.compile("only letters, numbers, periods"))
    expect(page.locator("#account-list .handle")).to_have_text(["@jamie.rivera"])
    assert page.evaluate("window.__marker") == 1, "a refused handle reloaded the page"
    session.check(page, "the Social Accounts tab with a refused handle", staff=True)

    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the Social Accounts tab")
    page.set_viewport_size(session.DESKTOP)

    # The Actions menu opens the Link Accounts Page panel in place and closes behind itself.
    page.get_by_text("Actions", exact=True).click()
    menu_item = page.get_by_role("link", name="Link Accounts Page")
    expect(menu_item).to_be_visible()
    menu_item.click()
    expect(page.get_by_role("heading", name="Link Accounts Page")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/creators/\d+/link-accounts$"))
    expect(menu_item).to_be_hidden()
    assert page.evaluate("window.__marker") == 1, "opening the panel reloaded the page"
    session.check(page, "the Link Accounts Page panel", staff=True)

    link = page.get_by_label("Link for Jamie Rivera").input_value()
    assert re.fullmatch(re.escape(session.base_url) + r"/link/[A-Za-z0-9_-]{40,}", link), link
    invitation = page.get_by_label("Invitation text").input_value()

    page.get_by_role("button", name="Copy invitation").click()
    expect(page.locator("#invitation-copy-status")).to_have_text("Copied")
    expect(page.locator("#invitation-copy-status")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == invitation
    assert copied.startswith("Welcome, Jamie Rivera!")
    assert f"Link your accounts here: {link}\n" in copied
    assert "Acme Talent will never post on your behalf" in copied

    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#link-copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    session.check(page, "the Link Accounts Page panel after copying", staff=True)

    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the Link Accounts Page panel")

    # The creator's helper opens the link on a phone: no login, the handle is listed.
    public = session.context.new_page()
    public.set_viewport_size(session.PHONE)
    public.goto(link)
    expect(public.get_by_role("heading", level=1)).to_have_text("Link Instagram accounts for Jamie Rivera")
    accounts = public.get_by_role("region", name="Instagram accounts")
    expect(accounts.locator(".handle")).to_have_text(["@jamie.rivera"])
    expect(accounts.locator(".badge")).to_have_text(["Not linked"])
    expect(public.get_by_text("Owner, Admin, Analyst or Advertiser")).to_be_visible()
    session.assert_fits(public, "the Link Accounts Page")
    session.check(public, "the Link Accounts Page")

    # The only refused request was the invalid handle, answered 422 with the reason.
    assert [status for _method, _path, status in session.failed_responses] == [422]


def test_names_with_html_characters_are_shown_as_typed(browser_session):
    session = browser_session
    name = 'Jamie <b>Rivera</b> & "Co"'
    page = session.context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"the page opened a dialog: {dialog.message}"))

    session.sign_in(page)
    add_creator(session, page, name)
    assert page.locator("h1 b").count() == 0
    session.check(page, "the Social Accounts tab of a creator named with HTML", staff=True)

    page.get_by_role("link", name="Creators", exact=True).first.click()
    expect(page.locator("#creator-results").get_by_role("link", name=name)).to_be_visible()
    assert page.locator("#creator-results b").count() == 0

    page.get_by_role("link", name=name).click()
    page.get_by_text("Actions", exact=True).click()
    page.get_by_role("link", name="Link Accounts Page").click()
    expect(page.get_by_role("heading", name="Link Accounts Page")).to_be_visible()
    expect(page.locator("#link-accounts")).to_contain_text(f"whoever manages {name}'s Instagram account")
    assert page.get_by_label("Invitation text").input_value().startswith(f"Welcome, {name}!")
    link = page.get_by_label(f"Link for {name}").input_value()

    public = session.context.new_page()
    public.goto(link)
    expect(public.get_by_role("heading", level=1)).to_have_text(f"Link Instagram accounts for {name}")
    assert public.locator("main b").count() == 0
    session.check(public, "the Link Accounts Page of a creator named with HTML")


def test_actions_menu_works_from_the_keyboard_with_visible_focus(browser_session):
    session = browser_session
    page = session.context.new_page()
    session.sign_in(page)
    add_creator(session, page, "Jamie Rivera")

    summary = page.get_by_text("Actions", exact=True)
    menu_item = page.get_by_role("link", name="Link Accounts Page")
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu_item).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu_item).to_be_hidden()
    expect(summary).to_be_focused()

    # Keyboard focus shows (the portal draws focus as a box-shadow ring).
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(summary).to_be_focused()
    assert summary.evaluate("el => getComputedStyle(el).boxShadow") != "none"

    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(menu_item).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Link Accounts Page")).to_be_visible()
    expect(menu_item).to_be_hidden()
    session.check(page, "the Link Accounts Page panel reached by keyboard", staff=True)


def test_htmx_altered_on_its_way_is_refused_by_the_integrity_hash(browser_session):
    session = browser_session
    tampered = session.htmx_bytes + b"\n;window.__tampered = true;"

    session.context.route(
        session.htmx_url,
        lambda route: route.fulfill(
            status=200,
            body=tampered,
            headers={"Content-Type": "application/javascript", "Access-Control-Allow-Origin": "*"},
        ),
    )
    page = session.context.new_page()
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("typeof window.htmx") == "undefined"
    assert page.evaluate("window.__tampered") is None
    assert any("integrity" in text for text in session.console_errors), session.console_errors
