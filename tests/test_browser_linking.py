"""Linking Instagram accounts in real headless Chromium, against the built-in sandbox (simulated Meta).

A helper opens a demo creator's Link Accounts Page, goes through the simulated Facebook or Instagram
Login dialog as one of the fictional users of portal/sandbox/people.py, and lands back on the page.
Every page met on the way is checked as in test_browser_journey: nothing refused by the CSP, no
script error, nothing leaving the machine, and no serious or critical axe-core violation.
"""

import re

import pytest
from playwright.sync_api import expect

from portal.models import AccountStatus, Creator, SocialAccount

pytestmark = [pytest.mark.browser, pytest.mark.live_http]


def open_link_page(session, creator_name, page=None):
    """Open a demo creator's Link Accounts Page (as the helper holding the link) and check it."""
    page = page or session.context.new_page()
    page.goto(session.server.link_url(creator_name))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Link Instagram accounts for {creator_name}")
    session.check_once(page, f"{creator_name}'s Link Accounts Page at {page.viewport_size['width']}px")
    return page


def account_item(page, handle):
    """The account's entry in the page's list of Instagram accounts."""
    accounts = page.get_by_role("region", name="Instagram accounts")
    return accounts.get_by_role("listitem").filter(has_text=f"@{handle}")


def connect_business(page, handle):
    page.get_by_role("link", name=f"Connect Business for @{handle}").click()


def facebook_dialog_as(session, page, user_name, press=None):
    """In the simulated Facebook Login: pick the fictional user, then press Continue (or `press`)."""
    on_phone = page.viewport_size == session.PHONE
    expect(page.get_by_role("heading", name="Log in to Facebook")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("This is a SIMULATION of Facebook Login.")
    session.check_once(page, "the simulated Facebook Login: choose a user")
    if on_phone:
        session.assert_fits(page, "the simulated Facebook Login")
    page.get_by_role("link", name=user_name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Continue as {user_name}?")
    session.check_once(page, f"the simulated Facebook Login: continue as {user_name}")
    if on_phone:
        session.assert_fits(page, f"the simulated Facebook Login as {user_name}")
    page.get_by_role("button", name=press or f"Continue as {user_name}", exact=True).click()


def expect_problem(page, handle, heading):
    """The account's entry explains the problem under this heading; return the explanation."""
    problem = account_item(page, handle).get_by_role("alert")
    expect(problem.get_by_role("heading", level=3)).to_have_text(heading)
    expect(account_item(page, handle).locator(".badge")).to_have_text("Not linked")
    return problem


def expect_linked(page, handle, linked_by, page_name):
    item = account_item(page, handle)
    expect(item.locator(".badge")).to_have_text("Linked")
    expect(item).to_contain_text(f"Linked by {linked_by} through the Page “{page_name}”")
    expect(item.get_by_role("link", name=f"Unlink @{handle}")).to_be_visible()
    expect(item.get_by_role("link", name=f"Connect Business for @{handle}")).to_have_count(0)


def stored(creator_name, handle):
    creator = Creator.get(Creator.name == creator_name)
    return SocialAccount.get((SocialAccount.creator == creator) & (SocialAccount.username == handle))


def test_connect_business_as_gabriela_good_links_ava_creates(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Ava Chen")
    expect(account_item(page, "ava.creates").locator(".badge")).to_have_text("Not linked")

    connect_business(page, "ava.creates")
    facebook_dialog_as(session, page, "Gabriela Good")

    expect(page.get_by_role("status")).to_have_text(
        "Linked: @ava.creates. Acme Talent can now read its Insights."
    )
    expect_linked(page, "ava.creates", "Gabriela Good", "Ava Chen Creates")
    expect(account_item(page, "ava.travels").locator(".badge")).to_have_text("Not linked")
    session.check(page, "the Link Accounts Page after linking")
    assert stored("Ava Chen", "ava.creates").status == AccountStatus.LINKED
    assert session.failed_responses == []


def test_add_instagram_business_account_links_the_two_accounts_chosen(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Ava Chen")

    page.get_by_role("link", name="Add Instagram Business account", exact=True).click()
    facebook_dialog_as(session, page, "Gabriela Good")

    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the accounts to link for Ava Chen")
    expect(page.get_by_text("Logged in to Facebook as Gabriela Good.")).to_be_visible()
    choices = page.get_by_role("group", name="Instagram accounts").get_by_role("checkbox")
    expect(choices).to_have_count(3)  # ava.creates, ava.travels and Tiny Steps' tiny.steps
    session.check(page, "the choose page")

    page.get_by_role("checkbox", name=re.compile(r"^@ava\.creates\b")).check()
    page.get_by_role("checkbox", name=re.compile(r"^@ava\.travels\b")).check()
    page.get_by_role("button", name="Link the chosen accounts").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Link Instagram accounts for Ava Chen")
    expect(page.get_by_role("status")).to_have_text(
        "Linked: @ava.creates, @ava.travels. Acme Talent can now read their Insights."
    )
    expect_linked(page, "ava.creates", "Gabriela Good", "Ava Chen Creates")
    expect_linked(page, "ava.travels", "Gabriela Good", "Ava Travels")
    expect(account_item(page, "tiny.steps")).to_have_count(0)  # not chosen, so not added
    session.check(page, "the Link Accounts Page after choosing")
    assert session.failed_responses == []


def test_verify_instagram_account_as_leo_sketches(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Leo Park")

    page.get_by_role("link", name="Verify Instagram account", exact=True).click()
    expect(page.get_by_role("heading", name="Log in with Instagram")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("This is a SIMULATION of Instagram Login.")
    expect(page.get_by_role("radio", name=re.compile(r"@sam\.okafor\.art"))).to_be_disabled()
    session.check_once(page, "the simulated Instagram Login")
    page.get_by_role("radio", name=re.compile(r"@leo\.sketches")).check()
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("status")).to_have_text(
        "Verified: you control @leo.sketches. (Verification adds no Insights.)"
    )
    item = account_item(page, "leo.sketches")
    expect(item.locator(".badge")).to_have_text("Verified")
    expect(item).to_contain_text("Verified through Instagram Login")
    # Verification proves control only: Connect Business is still offered for the Insights.
    expect(item.get_by_role("link", name="Connect Business for @leo.sketches")).to_be_visible()
    session.check(page, "the Link Accounts Page after verifying")
    assert stored("Leo Park", "leo.sketches").status == AccountStatus.VERIFIED


def test_cancelled_login_says_so_and_links_nothing(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Ava Chen")

    connect_business(page, "ava.creates")
    facebook_dialog_as(session, page, "Gabriela Good", press="Cancel")

    problem = expect_problem(page, "ava.creates", "You cancelled the login")
    expect(problem).to_contain_text("Nothing was linked and nothing was shared.")
    session.check(page, "the Link Accounts Page with a cancelled login")
    assert stored("Ava Chen", "ava.creates").status == AccountStatus.UNLINKED


def test_declined_permission_is_named_and_asking_again_ticks_it(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Ava Chen")

    connect_business(page, "ava.creates")
    facebook_dialog_as(session, page, "Dana Declines")

    problem = expect_problem(page, "ava.creates", "A permission we need was not granted")
    expect(problem.get_by_role("listitem")).to_have_text(
        ["Access insights for the Instagram account (instagram_manage_insights)"]
    )
    session.check(page, "the Link Accounts Page with a declined permission")

    problem.get_by_role("link", name="Ask for the permissions again").click()
    expect(page.get_by_role("heading", name="Log in to Facebook")).to_be_visible()
    page.get_by_role("link", name="Dana Declines", exact=True).click()
    expect(page.get_by_role("checkbox", name=re.compile("instagram_manage_insights"))).to_be_checked()
    session.check_once(page, "the simulated Facebook Login asking Dana again")
    page.get_by_role("button", name="Continue as Dana Declines", exact=True).click()

    expect_linked(page, "ava.creates", "Dana Declines", "Ava Chen Creates")
    expect(page.get_by_role("alert")).to_have_count(0)
    session.check(page, "the Link Accounts Page after asking again")


def test_page_without_the_instagram_account_says_which_page_is_missing(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Ava Chen")

    connect_business(page, "ava.creates")
    facebook_dialog_as(session, page, "Paula Pageonly")

    problem = expect_problem(page, "ava.creates", "No Facebook Page you shared has @ava.creates linked")
    expect(problem.get_by_role("link", name="Facebook Help: link a Page to Instagram")).to_be_visible()
    session.check(page, "the Link Accounts Page with no Page found")


def test_personal_account_is_not_found_and_the_reachable_accounts_are_listed(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Sam Okafor")

    connect_business(page, "sam.okafor.art")
    facebook_dialog_as(session, page, "Gabriela Good")

    problem = expect_problem(page, "sam.okafor.art", "No Facebook Page you shared has @sam.okafor.art linked")
    expect(problem).to_contain_text("Personal accounts cannot share Insights.")
    expect(problem).to_contain_text(
        "Instagram accounts this login did reach: @ava.creates, @ava.travels, @tiny.steps."
    )
    expect(
        problem.get_by_role("link", name="Facebook Help: switch to a professional account")
    ).to_be_visible()
    session.check(page, "the Link Accounts Page for a personal account")


def test_moderator_role_is_too_low_to_read_insights(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Marco Rossi")

    connect_business(page, "marco_cooks")
    facebook_dialog_as(session, page, "Morgan Moderator")

    problem = expect_problem(page, "marco_cooks", "Your role on the Page “Marco Cooks” cannot read Insights")
    expect(problem).to_contain_text("(messaging, moderate)")
    expect(problem).to_contain_text("Owner, Admin, Analyst or Advertiser")
    session.check(page, "the Link Accounts Page with a role too low")
    assert stored("Marco Rossi", "marco_cooks").status == AccountStatus.UNLINKED


def test_analyst_role_is_enough(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Marco Rossi")

    connect_business(page, "marco_cooks")
    facebook_dialog_as(session, page, "Andre Analyst")

    expect_linked(page, "marco_cooks", "Andre Analyst", "Marco Cooks")
    session.check(page, "the Link Accounts Page linked by an Analyst")
    assert stored("Marco Rossi", "marco_cooks").status == AccountStatus.LINKED


def test_business_portfolio_not_shared_says_to_tick_the_business(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Priya Natarajan")

    connect_business(page, "priya.fit")
    facebook_dialog_as(session, page, "Portia Portfolio")

    problem = expect_problem(page, "priya.fit", "The Page is in a Business Portfolio you did not share")
    expect(problem).to_contain_text("tick the business that owns the Page")
    expect(problem.get_by_role("link", name="Connect again")).to_be_visible()
    session.check(page, "the Link Accounts Page with a portfolio not shared")


def test_facebook_error_is_reported_in_facebooks_words(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Ava Chen")

    connect_business(page, "ava.creates")
    facebook_dialog_as(session, page, "Erin Error")

    problem = expect_problem(page, "ava.creates", "Facebook returned an error")
    expect(problem).to_contain_text("Facebook said: “(#2) Service temporarily unavailable”")
    expect(problem).to_contain_text("Please try again in a few minutes.")
    session.check(page, "the Link Accounts Page with a Facebook error")


def test_unlink_keeps_or_deletes_the_figures_after_confirming(sandbox_browser):
    session = sandbox_browser
    page = open_link_page(session, "Ava Chen")
    page.get_by_role("link", name="Add Instagram Business account", exact=True).click()
    facebook_dialog_as(session, page, "Gabriela Good")
    page.get_by_role("checkbox", name=re.compile(r"^@ava\.creates\b")).check()
    page.get_by_role("checkbox", name=re.compile(r"^@ava\.travels\b")).check()
    page.get_by_role("button", name="Link the chosen accounts").click()
    expect_linked(page, "ava.travels", "Gabriela Good", "Ava Travels")

    # "Keep it linked" changes nothing.
    page.get_by_role("link", name="Unlink @ava.creates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unlink @ava.creates?")
    session.check(page, "the unlink page")
    page.get_by_role("link", name="Keep it linked").click()
    expect_linked(page, "ava.creates", "Gabriela Good", "Ava Chen Creates")

    page.get_by_role("link", name="Unlink @ava.creates").click()
    page.get_by_role("button", name="Unlink", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("@ava.creates is unlinked: its access has been deleted.")
    expect(account_item(page, "ava.creates").locator(".badge")).to_have_text("Revoked")
    expect(page.get_by_role("link", name="Connect Business for @ava.creates")).to_be_visible()
    session.check(page, "the Link Accounts Page after unlinking")
    kept = stored("Ava Chen", "ava.creates")
    assert kept.status == AccountStatus.REVOKED and kept.page_token is None
    assert kept.followers_count == 48200  # the figures collected so far are kept

    page.get_by_role("link", name="Unlink @ava.travels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unlink @ava.travels?")
    page.get_by_role("button", name="Unlink and delete my data").click()
    expect(page.get_by_role("status")).to_have_text(
        "@ava.travels is unlinked: its access has been deleted, and so have its stored figures."
    )
    expect(account_item(page, "ava.travels").locator(".badge")).to_have_text("Revoked")
    session.check(page, "the Link Accounts Page after unlinking and deleting")
    deleted = stored("Ava Chen", "ava.travels")
    assert deleted.status == AccountStatus.REVOKED and deleted.page_token is None
    assert deleted.followers_count is None and deleted.display_name is None
    # With both accounts unlinked, nothing relies on Gabriela's user token any more.
    assert deleted.grant.user_token is None
    assert session.failed_responses == []


def test_link_page_fits_a_phone_with_a_problem_shown_and_while_choosing(sandbox_browser):
    session = sandbox_browser
    page = session.context.new_page()
    page.set_viewport_size(session.PHONE)
    open_link_page(session, "Nina Brooks", page)
    session.assert_fits(page, "the Link Accounts Page")

    connect_business(page, "nina.bakes")
    facebook_dialog_as(session, page, "Gabriela Good")  # her Pages do not have Nina's account
    expect_problem(page, "nina.bakes", "No Facebook Page you shared has @nina.bakes linked")
    session.assert_fits(page, "the Link Accounts Page with a problem shown")
    session.check(page, "the Link Accounts Page on a phone with a problem shown")

    # Nina's own account (staff list it under her): one another creator's link could not take.
    page.get_by_role("link", name="Add Instagram Business account", exact=True).click()
    facebook_dialog_as(session, page, "Manny Manager")  # 120 Pages to tick: the longest dialog
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the accounts to link for Nina Brooks")
    session.assert_fits(page, "the choose page")
    page.get_by_role("checkbox", name=re.compile(r"^@nina\.bakes\b")).check()
    page.get_by_role("button", name="Link the chosen accounts").click()
    expect_linked(page, "nina.bakes", "Manny Manager", "Nina Bakes")
    session.assert_fits(page, "the Link Accounts Page with a linked account")
