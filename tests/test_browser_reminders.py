"""Reminders in real headless Chromium, in sandbox mode: the due list, a creator's switch, a run's result.

Checked as in test_browser_journey: htmx loads, nothing is refused by the CSP, no script fails,
nothing leaves the machine, and axe-core finds no serious or critical violation.
"""

import datetime

import pytest
from playwright.sync_api import expect

from portal.db import database, utcnow
from portal.models import Creator
from portal.scheduler import jobs

pytestmark = [pytest.mark.browser, pytest.mark.live_http]


def test_staff_switch_a_creators_reminders_off_and_on_and_see_the_run_send_it(sandbox_browser):
    session = sandbox_browser
    app = session.server.app
    eight_days_ago = utcnow() - datetime.timedelta(days=8)
    Creator.update(invited_at=eight_days_ago).where(Creator.name == "Ava Chen").execute()
    page = session.context.new_page()
    session.sign_in(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reminders").click()
    due = page.locator("#reminders-due")
    expect(due.get_by_role("row", name="Ava Chen")).to_contain_text("invited 8 days ago and not linked yet")
    session.check(page, "the reminders page", staff=True)

    due.get_by_role("link", name="Ava Chen").click()
    switch = page.get_by_role("switch", name="Reminders: on")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.get_by_role("switch", name="Reminders: off")).to_have_attribute("aria-checked", "false")
    expect(page.get_by_text("Ava Chen gets no reminder from the portal.")).to_be_visible()
    session.check(page, "the Link Accounts Page panel with reminders off", staff=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reminders").click()
    expect(page.locator("#reminders-skipped").get_by_role("row", name="Ava Chen")).to_contain_text(
        "reminders are off for this creator"
    )
    expect(page.get_by_text("No reminder is due.")).to_be_visible()

    page.go_back()
    page.get_by_role("switch", name="Reminders: off").click()
    expect(page.get_by_role("switch", name="Reminders: on")).to_be_visible()
    with database.connection_context():  # the scheduler's two jobs, run once each
        assert [name for name, _ in jobs.send_reminders(app).queued] == ["Ava Chen"]
        assert jobs.send_mail(app).sent == 1
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reminders").click()
    sent = page.locator("#reminders-sent").get_by_role("row", name="Ava Chen")
    expect(sent).to_contain_text("Invitation reminder")
    expect(sent).to_contain_text("into the outbox")
    expect(page.get_by_text("No reminder is due.")).to_be_visible()
    session.check(page, "the reminders page after a run", staff=True)
    assert session.failed_responses == []
