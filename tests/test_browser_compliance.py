"""The consent ledger and link health in real headless Chromium.

Checked as in test_browser_journey: htmx loads, nothing is refused by the CSP, no script fails,
nothing leaves the machine, and axe-core finds no serious or critical violation.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from portal.db import utcnow
from portal.models import AccountStatus, Creator, LedgerEntry, MetaGrant, SocialAccount

pytestmark = [pytest.mark.browser, pytest.mark.live_http]

SCOPES = "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement"


def seed_ledger():
    """Two creators and a few entries of the ledger, as the portal would have written them."""
    ava = Creator.create(name="Ava Chen")
    bo = Creator.create(name="Bo Lindqvist")
    account = SocialAccount.add_handle(ava, "ava.creates")
    staff = "staff:admin@example.com"
    LedgerEntry.record("invited", staff, creator=ava, name="Ava Chen")
    LedgerEntry.record("invited", staff, creator=bo, name="Bo Lindqvist")
    LedgerEntry.record(
        "linked",
        "facebook:10158812345678901 Gabriela Good",
        creator=ava,
        account=account,
        username="ava.creates",
        page_name="Ava Chen Creates",
        scopes=SCOPES.split(","),
        role="Admin",
    )
    LedgerEntry.record("refresh_disabled", staff, creator=ava, account=account)


def test_the_ledger_filter_swaps_the_results_in_place(browser_session):
    session = browser_session
    seed_ledger()
    page = session.context.new_page()
    session.sign_in(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Ledger").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ledger")
    rows = page.locator("#audit-results tbody tr")
    expect(rows).to_have_count(5)  # the four above and this sign-in
    session.check(page, "the ledger", staff=True)

    page.evaluate("window.__marker = 1")
    page.get_by_label("Action").select_option(label="Account linked")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Gabriela Good (Facebook user 10158812345678901)")
    expect(rows.first).to_contain_text("through the Page “Ava Chen Creates” with instagram_basic")
    expect(rows.first).to_contain_text("role: Admin")
    expect(rows.first.get_by_role("link", name="@ava.creates")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/audit\?action=linked$"))

    page.get_by_label("Action").select_option(label="All actions")
    page.get_by_label("Creator’s name").fill("lindq")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Creator added, with their link")
    expect(rows.first.get_by_role("link", name="Bo Lindqvist")).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "filtering reloaded the page"
    session.check(page, "the ledger after filtering", staff=True)

    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the ledger")
    session.check(page, "the ledger on a phone", staff=True)
    assert session.failed_responses == []


def test_an_account_losing_data_access_is_flagged_on_the_creators_page_and_its_health_panel(browser_session):
    session = browser_session
    session.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=session.base_url)
    creator = Creator.create(name="Ava Chen")
    token = creator.issue_link_token()
    ends = utcnow() + datetime.timedelta(days=5)
    grant = MetaGrant.create(
        creator=creator,
        provider="facebook",
        meta_user_id="10158812345678901",
        granted_scopes=SCOPES,
        data_access_expires_at=ends,
    )
    account = SocialAccount.create(
        creator=creator,
        username="ava.creates",
        status=AccountStatus.LINKED,
        grant=grant,
        granted_scopes=SCOPES,
        page_name="Ava Chen Creates",
    )
    page = session.context.new_page()
    session.sign_in(page)

    losing = page.get_by_role("region", name="Losing data access soon")
    expect(losing).to_contain_text("@ava.creates")
    expect(losing).to_contain_text(ends.strftime("%d %b %Y"))
    link = f"{session.base_url}/link/{token}"
    expect(losing.get_by_label("Link for Ava Chen")).to_have_value(link)
    losing.get_by_role("button", name="Copy link for Ava Chen").click()
    expect(losing.get_by_role("status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    session.check(page, "the creators page with an account losing access", staff=True)
    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the creators page with an account losing access")
    page.set_viewport_size(session.DESKTOP)

    losing.get_by_role("link", name="@ava.creates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("@ava.creates")
    health = page.get_by_role("region", name="Link health")
    expect(health).to_contain_text("Data access ends in 5 days")
    expect(health).to_contain_text("Send Ava Chen their link again")
    expect(health).to_contain_text("All 4 needed are granted.")
    expect(health).to_contain_text("No throttling reported.")
    expect(health.get_by_role("link", name="Link Accounts Page of Ava Chen")).to_be_visible()
    assert page.url.endswith(f"/creators/{creator.id}/accounts/{account.id}/metrics")
    session.check(page, "the link health panel", staff=True)

    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the metrics page with link health")
    assert session.failed_responses == []
