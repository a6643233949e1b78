"""Insights for staff in real headless Chromium: the account row's actions and the metrics page.

The switch and the metrics page run on figures stored directly in the database; "Refresh stats"
runs against the built-in sandbox (simulated Meta) after linking an account through its dialog.
Every page is checked as in test_browser_journey: htmx loads, nothing is refused by the CSP, no
script fails, nothing leaves the machine, and axe-core finds no serious or critical violation.
"""

import datetime
import json
import re

import pytest
from playwright.sync_api import expect

from portal.db import utcnow
from portal.graph.days import day_end, meta_day
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Creator,
    Media,
    MediaMetric,
    ProfileSnapshot,
    SocialAccount,
)

pytestmark = [pytest.mark.browser, pytest.mark.live_http]

NO_ENGAGED_AUDIENCE = (
    "Instagram gives no engaged-audience figures when too few people engaged with the account "
    "in the last 30 days."
)
# Records whether a row's progress indicator was ever shown while its request ran.
WATCH_PROGRESS = """() => {
  window.__sawProgress = false;
  new MutationObserver((records) => {
    for (const record of records) {
      const el = record.target;
      if (el.classList && el.classList.contains("row-progress") && el.classList.contains("htmx-request")
          && getComputedStyle(el).display !== "none") {
        window.__sawProgress = true;
      }
    }
  }).observe(document.body, {attributes: true, attributeFilter: ["class"], subtree: true});
}"""


def seed_linked_creator():
    """A creator with a linked @ava.creates holding a month of figures and an audience; return the account."""
    creator = Creator.create(name="Ava Chen")
    account = SocialAccount.create(
        creator=creator,
        username="ava.creates",
        status=AccountStatus.LINKED,
        ig_user_id="17841400000000001",
        followers_count=48230,
        last_refreshed_at=utcnow(),
        linked_by_name="Gabriela Good",
        page_name="Ava Chen Creates",
    )
    today = utcnow().date()
    for days_ago in range(0, 30, 3):
        ProfileSnapshot.create(
            account=account,
            taken_on=today - datetime.timedelta(days=days_ago),
            followers_count=48230 - days_ago * 9,
        )
    meta_today = meta_day(utcnow())
    for days_ago in range(1, 30):
        if days_ago in (7, 8):
            continue  # two days Instagram gave nothing for: a gap in the chart
        end_time = day_end(meta_today - datetime.timedelta(days=days_ago))  # as Meta reports its days
        AccountMetric.create(account=account, metric="views", end_time=end_time, value=5000 + days_ago * 37)
        AccountMetric.create(account=account, metric="reach", end_time=end_time, value=3000 + days_ago * 11)
    for breakdown, data in (
        ("age", {"18-24": 9000, "25-34": 21000, "35-44": 8000}),
        ("gender", {"F": 30000, "M": 17000, "U": 1230}),
        ("country", {"US": 20000, "GB": 9000, "CA": 4000}),
        ("city", {"London, England": 5000, "New York, New York": 4200}),
    ):
        AudienceSnapshot.create(
            account=account, metric="follower_demographics", breakdown=breakdown, data=json.dumps(data)
        )
        AudienceSnapshot.create(
            account=account,
            metric="engaged_audience_demographics",
            breakdown=breakdown,
            data="{}",
            available=False,
            note=NO_ENGAGED_AUDIENCE,
        )
    reel = Media.create(
        account=account,
        ig_media_id="18000000000000001",
        media_type="VIDEO",
        media_product_type="REELS",
        caption="Morning routine",
        permalink="https://www.instagram.com/reel/abc/",
        posted_at=utcnow() - datetime.timedelta(days=2),
    )
    for metric, value in (("views", 8800), ("reach", 6100), ("ig_reels_avg_watch_time", 12345)):
        MediaMetric.create(media=reel, metric=metric, value=value)
    return account


def account_row(page, handle):
    return page.locator("#account-list li.account").filter(has_text=f"@{handle}")


def open_menu(row):
    row.locator("summary").click()


def test_scheduled_refresh_switch_flips_in_place_and_survives_a_reload(browser_session):
    session = browser_session
    account = seed_linked_creator()
    page = session.context.new_page()
    session.sign_in(page)
    page.goto(f"/creators/{account.creator_id}/accounts")
    row = account_row(page, "ava.creates")
    expect(row.get_by_role("img", name="Linked")).to_be_visible()
    expect(row).to_contain_text("Followers 48,230")
    expect(row).to_contain_text("as of")
    session.check(page, "the Social Accounts tab with a linked account", staff=True)

    page.evaluate("window.__marker = 1")
    open_menu(row)
    switch = row.get_by_role("switch", name=re.compile("^Scheduled refresh"))
    expect(switch).to_be_checked()
    session.check(page, "the account row's open menu", staff=True)
    switch.click()
    expect(row.get_by_text("Scheduled refresh off")).to_be_visible()
    expect(row.get_by_role("status")).to_have_text("Scheduled refresh is off for @ava.creates.")
    expect(row.locator("summary")).to_be_focused()  # the keyboard user is not thrown back to the top
    assert page.evaluate("window.__marker") == 1, "the switch reloaded the page"
    assert SocialAccount.get_by_id(account.id).refresh_enabled is False

    page.reload()
    row = account_row(page, "ava.creates")
    expect(row.get_by_text("Scheduled refresh off")).to_be_visible()
    open_menu(row)
    switch = row.get_by_role("switch", name=re.compile("^Scheduled refresh"))
    expect(switch).not_to_be_checked()
    switch.click()
    expect(row.get_by_text("Scheduled refresh off")).to_have_count(0)
    assert SocialAccount.get_by_id(account.id).refresh_enabled is True
    session.check(page, "the Social Accounts tab after switching back on", staff=True)
    assert session.failed_responses == []


def test_metrics_page_shows_views_reels_and_audience_charts(browser_session):
    session = browser_session
    account = seed_linked_creator()
    page = session.context.new_page()
    session.sign_in(page)
    page.goto(f"/creators/{account.creator_id}/accounts")
    open_menu(account_row(page, "ava.creates"))
    page.get_by_role("link", name=re.compile("^View metrics")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("@ava.creates")
    expect(page.get_by_role("link", name="Ava Chen")).to_be_visible()  # the way back
    expect(page.get_by_role("img", name="Daily views and reach")).to_be_visible()
    expect(page.get_by_role("img", name="Followers over time")).to_be_visible()
    daily = page.locator("#daily-chart")
    expect(daily.locator("polyline")).to_have_count(4)  # views and reach, each broken by the gap
    expect(daily.get_by_role("table")).to_contain_text("not available")
    videos = page.get_by_role("region", name="Recent videos and reels")
    expect(videos.get_by_role("row")).to_have_count(2)
    expect(videos).to_contain_text("8,800")
    expect(videos).to_contain_text("12.3 s")
    audience = page.get_by_role("region", name="Audience")
    for breakdown in ("age", "gender", "country", "city"):
        expect(audience.get_by_role("img", name=f"Followers by {breakdown}")).to_be_visible()
    expect(audience).to_contain_text("Not available. Instagram gives no engaged-audience figures")
    session.check(page, "the metrics page", staff=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "ava.creates-figures.csv"

    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the metrics page")
    session.check(page, "the metrics page on a phone", staff=True)
    assert session.failed_responses == []


# Each chart's box, and the smallest text in it as drawn: its font size times the SVG's scale.
CHART_GEOMETRY = """() => Array.from(document.querySelectorAll("figure.chart svg")).map((svg) => {
  const box = svg.getBoundingClientRect();
  const texts = Array.from(svg.querySelectorAll("text"));
  const scale = svg.getScreenCTM().a;
  const rects = texts.map((t) => t.getBoundingClientRect());
  const lefts = rects.map((r) => r.left);
  const rights = rects.map((r) => r.right);
  // Pairs of labels drawn over each other (more than a pixel each way).
  const overlaps = rects.flatMap((a, i) => rects.slice(i + 1).filter((b) =>
    Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
    && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1).map((b) => [a.top, b.top]));
  return {
    id: svg.closest("figure").id,
    left: box.left,
    right: box.right,
    texts: texts.length,
    font: Math.min(...texts.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale)),
    tallest: Math.max(...texts.map((t) => t.getBoundingClientRect().height)),
    textLeft: Math.min(...lefts),
    textRight: Math.max(...rights),
    overlaps: overlaps.length,
  };
})"""


def test_charts_shrink_to_a_phone_and_their_labels_stay_legible(browser_session):
    session = browser_session
    account = seed_linked_creator()
    page = session.context.new_page()
    page.set_viewport_size({"width": 375, "height": 800})
    session.sign_in(page)
    page.goto(f"/creators/{account.creator_id}/accounts/{account.id}/metrics")
    expect(page.get_by_role("img", name="Daily views and reach")).to_be_visible()

    charts = page.evaluate(CHART_GEOMETRY)
    breakdowns = ("age", "gender", "country", "city")
    expected = {"followers-chart", "daily-chart", *(f"follower_demographics-{b}-chart" for b in breakdowns)}
    assert {chart["id"] for chart in charts} == expected
    for chart in charts:
        assert chart["texts"] >= 2, chart
        assert 0 <= chart["left"] and chart["right"] <= 375, chart  # the SVG shrank to the phone
        assert 0 <= chart["textLeft"] and chart["textRight"] <= 375, chart  # no label spills off the screen
        assert chart["font"] >= 10, chart  # axis labels and values at least 10 CSS px on the phone
        assert chart["tallest"] >= 10, chart
        assert chart["overlaps"] == 0, chart  # no label drawn over another
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the metrics page scrolls sideways on a phone ({widths[0]}px wide)"
    session.check(page, "the metrics page at 375 px", staff=True)
    assert session.failed_responses == []


def link_through_the_sandbox(session, creator_name, handle, user_name):
    """As the helper holding the creator's link: Connect Business as a fictional Facebook user."""
    page = session.context.new_page()
    page.goto(session.server.link_url(creator_name))
    page.get_by_role("link", name=f"Connect Business for @{handle}").click()
    expect(page.get_by_role("heading", name="Log in to Facebook")).to_be_visible()
    page.get_by_role("link", name=user_name, exact=True).click()
    page.get_by_role("button", name=f"Continue as {user_name}", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Linked: @{handle}.")
    page.close()


def test_refresh_stats_swaps_the_row_with_a_progress_indicator(sandbox_browser):
    session = sandbox_browser
    link_through_the_sandbox(session, "Ava Chen", "ava.creates", "Gabriela Good")
    creator = Creator.get(Creator.name == "Ava Chen")
    page = session.context.new_page()
    session.sign_in(page)
    page.goto(f"/creators/{creator.id}/accounts")
    row = account_row(page, "ava.creates")
    expect(row.get_by_role("img", name="Linked")).to_be_visible()
    expect(row).to_contain_text("never refreshed")

    page.evaluate("window.__marker = 1")
    page.evaluate(WATCH_PROGRESS)
    open_menu(row)
    row.get_by_role("button", name=re.compile("^Refresh stats")).click()
    # The notice, not the indicator: for htmx's settle delay (20 ms) the new row's indicator
    # still carries the old one's classes, so both are briefly a visible status.
    expect(row.locator("p[role=status]")).to_have_text("Stats refreshed.", timeout=30_000)
    assert page.evaluate("window.__sawProgress"), "no progress indicator showed while refreshing"
    assert page.evaluate("window.__marker") == 1, "refreshing reloaded the page"
    expect(row).to_contain_text(re.compile(r"Views [\d,]+ on"))
    expect(row).to_contain_text(f"as of {utcnow():%d %b %Y}")
    expect(row.locator(".row-progress")).to_be_hidden()
    session.check(page, "the Social Accounts tab after a refresh", staff=True)

    page.goto(f"/creators/{creator.id}/accounts/{row.get_attribute('id').split('-')[1]}/metrics")
    expect(page.get_by_role("img", name="Daily views and reach")).to_be_visible()
    expect(page.get_by_role("img", name="Followers by age")).to_be_visible()
    session.check(page, "the metrics page of a sandbox account", staff=True)
    assert session.failed_responses == []
