"""The invitation funnel and links that expire, in real headless Chromium.

Checked as in test_browser_journey: htmx loads, nothing is refused by the CSP, no script fails,
nothing leaves the machine, and axe-core finds no serious or critical violation.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from portal.db import utcnow
from portal.models import AccountStatus, Creator, SocialAccount

pytestmark = [pytest.mark.browser, pytest.mark.live_http]


def seed_funnel():
    """Creators at five of the stages: two not invited, one each invited, opened, linked, broken."""
    now = utcnow()
    Creator.create(name="Ava Chen").issue_link_token()
    Creator.create(name="Noah Quiet")
    Creator.create(name="Ines Invited", invited_at=now - datetime.timedelta(days=2))
    Creator.create(name="Otto Opened", invited_at=now, page_first_opened_at=now)
    for name, status in (("Lena Linked", AccountStatus.VERIFIED), ("Bea Broken", AccountStatus.LINK_BROKEN)):
        creator = Creator.create(name=name)
        SocialAccount.create(creator=creator, username=name.split()[0].lower(), status=status)


def test_the_funnel_counts_each_stage_and_filters_the_list_in_place(browser_session):
    session = browser_session
    seed_funnel()
    page = session.context.new_page()
    session.sign_in(page)
    funnel = page.get_by_role("navigation", name="Invitation funnel")
    expected = {
        "All": 6,
        "Not invited": 2,
        "Invited": 1,
        "Page opened": 1,
        "Linked or verified": 1,
        "Access ending": 0,
        "Link broken": 1,
    }
    for label, count in expected.items():
        expect(funnel.get_by_role("link", name=f"{label} {count}", exact=True)).to_be_visible()
    rows = page.locator("#creator-results tbody tr")
    expect(rows).to_have_count(6)
    session.check(page, "the creators list with its funnel", staff=True)

    page.evaluate("window.__marker = 1")
    funnel.get_by_role("link", name="Not invited 2").click()
    expect(page).to_have_url(re.compile(r"/creators\?stage=not_invited$"))
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Ava Chen")
    expect(rows.nth(1)).to_contain_text("Noah Quiet")
    expect(rows.nth(0)).to_contain_text("Not invited")
    expect(funnel.get_by_role("link", name="Not invited 2")).to_have_attribute("aria-current", "true")

    # The search keeps the chosen stage, and the counts follow the search.
    page.get_by_label("Search by name or Instagram handle").fill("noah")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Noah Quiet")
    expect(funnel.get_by_role("link", name="All 1", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/creators\?q=noah&stage=not_invited$"))

    page.get_by_label("Search by name or Instagram handle").fill("")
    funnel.get_by_role("link", name="Link broken 1").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bea Broken")
    expect(rows.first).to_contain_text("@bea")
    assert page.evaluate("window.__marker") == 1, "filtering reloaded the page"
    session.check(page, "the creators list filtered by stage", staff=True)

    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the creators list with its funnel")
    assert session.failed_responses == []


def test_marking_invited_and_issuing_a_link_that_expires_on_the_panel(browser_session):
    session = browser_session
    seed_funnel()
    ava = Creator.get(Creator.name == "Ava Chen")
    page = session.context.new_page()
    session.sign_in(page)
    page.goto(f"/creators/{ava.id}/link-accounts")
    panel = page.get_by_role("region", name="Link Accounts Page")
    expect(panel).to_contain_text("Not recorded as invited yet.")
    expect(panel).to_contain_text("This link does not expire.")
    session.check(page, "the Link Accounts panel", staff=True)

    panel.get_by_role("button", name="Mark as invited").click()
    expect(panel).to_contain_text("Ava Chen is marked as invited.")
    expect(panel).to_contain_text("by admin@example.com.")

    page.on("dialog", lambda dialog: dialog.accept())  # "Issue a new link? ..."
    panel.get_by_label("Valid for (days)").fill("400")
    panel.get_by_role("button", name="Issue a new link").click()
    expect(panel.get_by_label("Valid for (days)")).to_have_attribute("aria-invalid", "true")
    expect(panel).to_contain_text("Enter a whole number of days from 1 to 365")
    panel.get_by_label("Valid for (days)").fill("3")
    panel.get_by_role("button", name="Issue a new link").click()
    expect(panel).to_contain_text("A new link was issued.")
    ends = Creator.get_by_id(ava.id).link_expires_at
    expect(panel).to_contain_text(f"This link works until {ends.strftime('%d %b %Y, %H:%M UTC')}.")
    session.check(page, "the Link Accounts panel with an expiring link", staff=True)

    page.goto(f"/creators/{ava.id}")
    expect(page.locator("#funnel-progress")).to_contain_text("Invited")
    expect(page.locator("#funnel-progress")).to_contain_text("by admin@example.com")
    # The 422 of the refused number is the one failed answer, and it was expected.
    assert [status for _method, _path, status in session.failed_responses] == [422]


def test_an_expired_link_shows_a_friendly_page_that_names_no_one(browser_session):
    session = browser_session
    creator = Creator.create(name="Ava Chen", email="ava@creators.test")
    token = creator.issue_link_token(datetime.timedelta(days=1))
    SocialAccount.add_handle(creator, "ava.creates")
    Creator.update(link_expires_at=utcnow() - datetime.timedelta(minutes=1)).where(
        Creator.id == creator.id
    ).execute()
    page = session.context.new_page()
    response = page.goto(f"/link/{token}")
    assert response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has expired")
    expect(page.get_by_role("main")).to_contain_text("Please ask Acme Talent for a new link.")
    text = page.content()
    for secret in ("Ava", "Chen", "ava.creates", "ava@creators.test"):
        assert secret not in text, secret
    session.check(page, "the expired link page")
    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the expired link page")
    assert session.failed_responses == [("GET", f"/link/{token}", 410)]
