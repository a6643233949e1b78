"""E-mailing invitations in real headless Chromium, in sandbox mode (as ./scripts/run serves it).

Checked as in test_browser_journey: htmx loads, nothing is refused by the CSP, no script fails,
nothing leaves the machine, and axe-core finds no serious or critical violation.
"""

import re
import threading

import pytest
from playwright.sync_api import expect

from portal.db import database
from portal.mail import delivery
from portal.mail.settings import mail_settings

pytestmark = [pytest.mark.browser, pytest.mark.live_http]


class Sender:
    """Stands in for the scheduler's send-mail job: sends what is queued every 0.2 s, once started."""

    def __init__(self, app):
        self.settings = mail_settings(app.config)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="mail-sender", daemon=True)

    def run(self):
        while not self.stopped.wait(0.2):
            with database.connection_context():
                delivery.send_due(self.settings)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)


@pytest.fixture
def sender(sandbox_browser):
    scheduler = Sender(sandbox_browser.server.app)
    yield scheduler
    scheduler.stop()


def open_creator(page, name):
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_staff_send_one_invitation_from_the_link_accounts_page_and_see_it_sent(sandbox_browser, sender):
    session = sandbox_browser
    sender.start()
    page = session.context.new_page()
    session.sign_in(page)

    open_creator(page, "Sam Okafor")  # the demo creator with no e-mail address
    page.get_by_text("Actions", exact=True).click()
    page.get_by_role("link", name="Link Accounts Page").click()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("Sam Okafor has no e-mail address")
    session.failed_responses.clear()  # that 422 was the answer expected

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Creators").click()
    open_creator(page, "Ava Chen")
    page.get_by_text("Actions", exact=True).click()
    page.get_by_role("link", name="Link Accounts Page").click()
    expect(page.get_by_text("No invitation e-mailed yet.")).to_be_visible()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation to ava@example.com queued.")).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"Invitation sent to ava@example\.com on .* into the outbox"))
    ).to_be_visible()
    session.check(page, "the Link Accounts Page panel after sending", staff=True)
    assert session.failed_responses == []


def test_staff_send_invitations_in_bulk_and_watch_them_go(sandbox_browser, sender):
    session = sandbox_browser
    page = session.context.new_page()
    session.sign_in(page)

    for name in ("Ava Chen", "Marco Rossi", "Sam Okafor"):
        page.get_by_label(f"Choose {name}").check()
    page.get_by_role("button", name="Send invitations").click()
    expect(page.get_by_role("heading", name="2 invitations to send")).to_be_visible()
    expect(page.get_by_text("Sam Okafor: no e-mail address")).to_be_visible()
    expect(page.get_by_role("heading", name="The message Ava Chen will get")).to_be_visible()
    expect(page.get_by_label("Text of the message")).to_contain_text("Welcome, Ava Chen!")
    session.check(page, "the bulk invitation preview", staff=True)

    page.get_by_role("button", name="Send 2 invitations").dblclick()  # a double click queues one job
    expect(page.get_by_role("heading", name="Sending…")).to_be_visible()
    expect(page.locator("#count-waiting")).to_have_text("2")
    session.check(page, "a bulk invitation while it waits", staff=True)

    sender.start()  # the scheduler's turn: the page learns of it by polling, without a reload
    page.evaluate("window.__marker = 1")
    expect(page.get_by_role("heading", name="Done")).to_be_visible()
    expect(page.locator("#count-sent")).to_have_text("2")
    expect(page.locator("#count-skipped")).to_have_text("1")
    assert page.evaluate("window.__marker") == 1, "the progress reloaded the page"
    expect(page.locator("#count-waiting")).to_have_text("0")
    session.check(page, "a bulk invitation when done", staff=True)
    page.get_by_role("link", name="outbox", exact=True).click()
    expect(page.get_by_role("article")).to_have_count(2)  # Ava's and Marco's, once each


def test_the_outbox_in_sandbox_mode_shows_the_messages_as_they_would_be_sent(sandbox_browser, sender):
    session = sandbox_browser
    sender.start()
    page = session.context.new_page()
    session.sign_in(page)
    page.get_by_label("Choose Marco Rossi").check()
    page.get_by_role("button", name="Send invitations").click()
    page.get_by_role("button", name="Send 1 invitation").click()
    expect(page.get_by_role("heading", name="Done")).to_be_visible()

    page.get_by_role("link", name="outbox", exact=True).click()  # "the messages go to the outbox"
    expect(page.get_by_role("heading", name="Outbox", level=1)).to_be_visible()
    expect(page.get_by_text("No mail server is set up (sandbox mode)")).to_be_visible()
    message = page.get_by_role("article")
    expect(message.get_by_role("heading")).to_have_text("Link your Instagram account with Acme Talent")
    expect(message.locator("p.muted")).to_have_text(
        re.compile(r"To marco@example\.com ·\s+sent .* into the outbox")
    )
    expect(message.get_by_label(re.compile("Text of"))).to_contain_text("Welcome, Marco Rossi!")
    message.get_by_text("Headers").click()
    expect(message.get_by_text("Reply-To", exact=True)).to_be_visible()
    expect(message.get_by_text(session.admin_email, exact=True)).to_be_visible()
    message.get_by_text("HTML", exact=True).click()
    expect(message.get_by_label(re.compile("HTML of"))).to_contain_text('<a href="http://127.0.0.1')
    session.check(page, "the outbox", staff=True)
    page.set_viewport_size(session.PHONE)
    session.assert_fits(page, "the outbox")
