"""Importing creators from a CSV in real headless Chromium: upload, preview verdicts, import, the list.

Checked as in test_browser_journey: htmx loads, nothing is refused by the CSP, no script fails,
nothing leaves the machine, and axe-core finds no serious or critical violation.
"""

import pytest
from playwright.sync_api import expect

from portal.models import Creator, SocialAccount

pytestmark = [pytest.mark.browser, pytest.mark.live_http]

CSV = (
    "name,email,instagram\r\n"
    "Bo Lindqvist,bo@example.com,bo.draws; @bo.paints\r\n"
    "Cleo Park,,https://www.instagram.com/cleo.cooks/\r\n"
    "Ava Twin,,ava.creates\r\n"
    "Dot Dot,,dot..dot\r\n"
)


def test_staff_import_a_csv_see_each_rows_verdict_and_find_the_new_creators_listed(browser_session):
    session = browser_session
    SocialAccount.add_handle(Creator.create(name="Ava Chen"), "ava.creates")
    page = session.context.new_page()
    session.sign_in(page)

    page.get_by_role("link", name="Import CSV").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import creators from a CSV file")
    session.check(page, "the import page", staff=True)

    # Too large: the page refuses it before sending, with the limit.
    big = {"name": "big.csv", "mimeType": "text/csv", "buffer": b"name,email,instagram\n" + b"a" * 3_000_000}
    page.get_by_label("CSV file").set_input_files(files=[big])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#file-error")).to_have_text(
        "The file is 2.9 MB; files of up to 2 MB are accepted. Split it and import each part."
    )

    upload = {"name": "creators.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    page.get_by_label("CSV file").set_input_files(files=[upload])
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import preview")
    expect(page.get_by_text("2 new creators will be added; 2 rows will be skipped.")).to_be_visible()
    skipped = page.locator("#import-skipped tbody tr")
    expect(skipped.nth(0)).to_contain_text("@ava.creates is already listed under Ava Chen.")
    expect(skipped.nth(1)).to_contain_text("cannot have two periods in a row")
    expect(page.locator("#import-new tbody tr")).to_have_count(2)
    session.check(page, "the import preview", staff=True)

    page.evaluate("window.__marker = 1")
    page.get_by_role("button", name="Import 2 creators").click()
    expect(page.get_by_text("Imported 2 creators from creators.csv; skipped 2 rows.")).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "the summary was swapped in, not a new page"
    session.check(page, "the import summary", staff=True)

    page.get_by_role("link", name="Go to the creators list").click()
    results = page.locator("#creator-results")
    expect(results).to_contain_text("Bo Lindqvist")
    expect(results).to_contain_text("@bo.paints")
    expect(results).to_contain_text("Cleo Park")
    expect(results).not_to_contain_text("Dot Dot")
    assert session.failed_responses == []
