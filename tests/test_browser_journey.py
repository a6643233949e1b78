"""The staff journey in real headless Chromium: sign in, list a handle, copy the invitation, open the link.

Every page visited is checked the way a user would meet it: htmx really loads (through its SRI hash),
nothing is refused by the CSP, no script fails, nothing leaves the machine, and axe-core finds no
serious or critical accessibility violation.
"""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.live_http]

PHONE = {"width": 375, "height": 740}

# Run in the page through DevTools (the CSP forbids inline scripts, and is left on).
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


def serious_accessibility_violations(session, page):
    """Return axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(session.axe_source)
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in ("serious", "critical")]


def check_page(session, page, what, staff=True):
    """Assert the page works as a user meets it; `what` names it in failure messages."""
    if staff:
        assert page.evaluate("typeof window.htmx") == "object", f"htmx did not load on {what}"
    violations = serious_accessibility_violations(session, page)
    assert not violations, f"axe-core on {what}:\n" + "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}): {v['nodes']}" for v in violations
    )
    assert session.problems() == [], f"on {what}"


def assert_no_horizontal_scroll(page, what):
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways on a phone (content {widths[0]}px wide)"


def sign_in(session, page):
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_page(session, page, "the sign-in page")
    page.get_by_label("Email").fill(session.admin_email)
    page.get_by_label("Password").fill(session.admin_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Creators", exact=True)).to_be_visible()


def add_creator(session, page, name):
    """Add a creator through the form; the portal lands on their Social Accounts tab."""
    page.get_by_role("link", name="Add creator").click()
    expect(page.get_by_role("heading", name="Add a creator")).to_be_visible()
    check_page(session, page, "the Add a creator form")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add creator").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("heading", name="Social Accounts")).to_be_visible()


def test_staff_list_a_handle_copy_the_invitation_and_the_creator_opens_the_link(browser_session):
    session = browser_session
    session.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=session.base_url)
    page = session.context.new_page()

    sign_in(session, page)
    expect(page.get_by_text("No creators yet.")).to_be_visible()
    check_page(session, page, "the creators list")

    add_creator(session, page, "Jamie Rivera")
    expect(page.get_by_role("status").filter(has_text="Jamie Rivera was added.")).to_be_visible()
    check_page(session, page, "the Social Accounts tab")
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
    check_page(session, page, "the Social Accounts tab with a refused handle")

    page.set_viewport_size(PHONE)
    assert_no_horizontal_scroll(page, "the Social Accounts tab")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The Actions menu opens the Link Accounts Page panel in place and closes behind itself.
    page.get_by_text("Actions", exact=True).click()
    menu_item = page.get_by_role("link", name="Link Accounts Page")
    expect(menu_item).to_be_visible()
    menu_item.click()
    expect(page.get_by_role("heading", name="Link Accounts Page")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/creators/\d+/link-accounts$"))
    expect(menu_item).to_be_hidden()
    assert page.evaluate("window.__marker") == 1, "opening the panel reloaded the page"
    check_page(session, page, "the Link Accounts Page panel")

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
    check_page(session, page, "the Link Accounts Page panel after copying")

    page.set_viewport_size(PHONE)
    assert_no_horizontal_scroll(page, "the Link Accounts Page panel")

    # The creator's helper opens the link on a phone: no login, the handle is listed.
    public = session.context.new_page()
    public.set_viewport_size(PHONE)
    public.goto(link)
    expect(public.get_by_role("heading", level=1)).to_have_text("Link Instagram accounts for Jamie Rivera")
    accounts = public.get_by_role("region", name="Instagram accounts")
    expect(accounts.locator(".handle")).to_have_text(["@jamie.rivera"])
    expect(accounts.locator(".badge")).to_have_text(["Not linked"])
    expect(public.get_by_text("Owner, Admin, Analyst or Advertiser")).to_be_visible()
    assert_no_horizontal_scroll(public, "the Link Accounts Page")
    check_page(session, public, "the Link Accounts Page", staff=False)

    # The only refused request was the invalid handle, answered 422 with the reason.
    assert [status for _method, _path, status in session.failed_responses] == [422]


def test_names_with_html_characters_are_shown_as_typed(browser_session):
    session = browser_session
    name = 'Jamie <b>Rivera</b> & "Co"'
    page = session.context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"the page opened a dialog: {dialog.message}"))

    sign_in(session, page)
    add_creator(session, page, name)
    assert page.locator("h1 b").count() == 0
    check_page(session, page, "the Social Accounts tab of a creator named with HTML")

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
    check_page(session, public, "the Link Accounts Page of a creator named with HTML", staff=False)


def test_actions_menu_works_from_the_keyboard_with_visible_focus(browser_session):
    session = browser_session
    page = session.context.new_page()
    sign_in(session, page)
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
    check_page(session, page, "the Link Accounts Page panel reached by keyboard")


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
