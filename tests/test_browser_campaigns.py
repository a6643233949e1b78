"""Campaigns and the overview in real headless Chromium: create, add creators, sort by a figure.

Checked as in test_browser_journey: htmx loads, nothing is refused by the CSP, no script fails,
nothing leaves the machine, and axe-core finds no serious or critical violation.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect
from support.browser import BrowserSession

from portal.db import utcnow
from portal.graph.days import day_end, meta_day
from portal.models import AccountMetric, AccountStatus, Creator, ReportLink, SocialAccount

pytestmark = [pytest.mark.browser, pytest.mark.live_http]


def seed_creators():
    """Three creators with a linked account and daily views (Ava the fewest), and one not linked yet."""
    yesterday = meta_day(utcnow()) - datetime.timedelta(days=1)
    for name, username, views in (
        ("Ava Chen", "ava.creates", 120),
        ("Bo Lindqvist", "bo.draws", 4800),
        ("Cleo Park", "cleo.cooks", 950),
    ):
        creator = Creator.create(name=name)
        account = SocialAccount.create(creator=creator, username=username, status=AccountStatus.LINKED)
        for metric, value in (("views", views), ("reach", views // 2), ("total_interactions", views // 20)):
            AccountMetric.create(account=account, metric=metric, end_time=day_end(yesterday), value=value)
    SocialAccount.add_handle(Creator.create(name="Dev Patel"), "dev.runs")


def test_staff_create_a_campaign_add_creators_from_the_list_and_sort_by_views(browser_session):
    session = browser_session
    seed_creators()
    page = session.context.new_page()
    session.sign_in(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaigns")
    session.check(page, "the campaigns list (empty)", staff=True)
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign name").fill("Spring launch")
    page.get_by_label("Client").fill("Northwind")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring launch")
    expect(page.get_by_text("No creators here yet.")).to_be_visible()

    # Several at once, from the creators list.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Creators").click()
    for name in ("Ava Chen", "Bo Lindqvist", "Cleo Park", "Dev Patel"):
        page.get_by_label(f"Choose {name}").check()
    page.get_by_label("Add the ticked creators to").select_option(label="Spring launch (Northwind)")
    page.get_by_role("button", name="Add to campaign").click()
    expect(page.get_by_text("4 creators added to “Spring launch”.")).to_be_visible()
    session.check(page, "the creators list with the campaign picker", staff=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="Spring launch").click()
    rows = page.locator("#roster tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(3)).to_contain_text("Not linked yet: send the creator their link.")
    session.check(page, "the campaign page", staff=True)

    page.evaluate("window.__marker = 1")
    page.locator("#roster thead").get_by_role(
        "link", name="Views", exact=True
    ).click()  # figures sort largest first
    expect(rows.first).to_contain_text("Bo Lindqvist")
    expect(page.locator("#roster th[aria-sort='descending']")).to_contain_text("Views")
    expect(page).to_have_url(re.compile(r"sort=views&order=desc"))
    assert [rows.nth(n).locator("td").first.inner_text() for n in range(3)] == [
        "Bo Lindqvist",
        "Cleo Park",
        "Ava Chen",
    ]
    page.locator("#roster thead").get_by_role("link", name="Views", exact=True).click()
    expect(rows.first).to_contain_text("Ava Chen")
    assert page.evaluate("window.__marker") == 1, "sorting reloaded the page"
    expect(page.locator("#roster tfoot")).to_contain_text("5,870")  # 120 + 4,800 + 950

    # Each row's button posts the table's one removal form (with its CSRF token) to its own address,
    # in the table htmx swapped in.
    page.get_by_role("button", name="Remove Dev Patel from the campaign").click()
    expect(page.get_by_text("Dev Patel was taken off “Spring launch”.")).to_be_visible()
    expect(rows).to_have_count(3)
    expect(page.locator("#roster tfoot")).to_contain_text("Totals (3 rows)")

    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the campaign page")
    session.check(page, "the campaign page on a phone", staff=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    page.get_by_label("Show").select_option(label="Not linked yet")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#roster tbody tr")).to_have_count(1)
    expect(page.locator("#roster tbody tr").first).to_contain_text("Dev Patel")
    session.assert_fits(page, "the overview")
    session.check(page, "the overview on a phone", staff=True)
    assert session.failed_responses == []


def test_a_client_opens_a_report_link_without_signing_in_prints_it_and_loses_it_when_revoked(
    browser_session, chromium, live_server, tmp_path
):
    session = browser_session
    seed_creators()
    ivy = Creator.get(Creator.name == "Cleo Park")
    Creator.update(internal_only=True).where(Creator.id == ivy.id).execute()  # never in a report
    page = session.context.new_page()
    session.sign_in(page)
    page.goto("/campaigns/new")
    page.get_by_label("Campaign name").fill("Spring launch")
    page.get_by_label("Client").fill("Northwind")
    page.get_by_role("button", name="Create campaign").click()
    page.goto("/creators")
    for name in ("Ava Chen", "Bo Lindqvist", "Cleo Park"):
        page.get_by_label(f"Choose {name}").check()
    page.get_by_role("button", name="Add to campaign").click()
    page.goto("/campaigns")
    page.get_by_role("link", name="Spring launch").click()

    # The form comes when asked for, in place (htmx swaps the section).
    page.evaluate("window.__marker = 1")
    page.get_by_role("link", name="Make a report link for a client").click()
    expect(page.get_by_label("Who it is for")).to_be_focused()
    assert page.evaluate("window.__marker") == 1, "asking for the form reloaded the page"
    page.get_by_label("Who it is for").fill("Northwind marketing")
    page.get_by_role("button", name="Make a report link").click()
    address = page.get_by_label("New report link").input_value()
    assert re.fullmatch(re.escape(live_server) + r"/r/[\w-]{43}", address)
    session.check(page, "the campaign page with a new report link", staff=True)

    # The client: a fresh browser, no session at all.
    client = BrowserSession(
        chromium.new_context(base_url=live_server, viewport=BrowserSession.DESKTOP), live_server
    )
    report = client.context.new_page()
    report.goto(address)
    expect(report.get_by_role("heading", level=1)).to_have_text("Spring launch")
    rows = report.locator("table.roster tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Ava Chen")
    expect(report.locator("body")).not_to_contain_text("Cleo Park")  # internal only
    expect(report.locator("body")).not_to_contain_text("Dev Patel")  # not in the campaign
    expect(report.locator("#account-1-daily-chart")).to_be_visible()
    client.check(report, "the client's report")
    assert report.evaluate("typeof window.htmx") == "undefined"  # a report runs no staff script
    with report.expect_download() as download:
        report.get_by_role("link", name="Download CSV").click()
    path = tmp_path / "report.csv"
    download.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("creator,account,status,followers") and len(lines) == 3
    shown_views = rows.nth(1).locator("td").nth(5).inner_text().replace(",", "")
    assert lines[2].split(",")[5] == shown_views  # Bo's views, as the page shows them

    report.emulate_media(media="print")
    pdf = report.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    report.set_viewport_size(BrowserSession.PHONE)
    report.emulate_media(media="screen")
    client.assert_fits(report, "the client's report on a phone")

    page.get_by_role("button", name="Revoke the link for Northwind marketing").click()
    expect(page.get_by_text("The report link for “Northwind marketing” no longer works.")).to_be_visible()
    assert report.goto(address).status == 404
    expect(report.get_by_role("heading", name="Page not found")).to_be_visible()

    # A second link, for a day; a day later it is the same plain 404.
    page.get_by_role("link", name="Make a report link for a client").click()
    page.get_by_label("Who it is for").fill("Northwind, one day")
    page.get_by_label("Works for (days)").fill("1")
    page.get_by_role("button", name="Make a report link").click()
    second = page.get_by_label("New report link").input_value()
    assert report.goto(second).status == 200
    ReportLink.update(expires_at=utcnow() - datetime.timedelta(minutes=1)).where(
        ReportLink.label == "Northwind, one day"
    ).execute()
    assert report.goto(second).status == 404
    page.goto(page.url.removesuffix("/reports"))  # the campaign page again (not the form's answer)
    expect(page.get_by_role("row", name=re.compile("Northwind, one day"))).to_contain_text("Expired")
    client.context.close()
