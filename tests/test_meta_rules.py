"""The portal obeys Meta's v27 rules (reference §0.2) end to end, against the sandbox over HTTP.

The sandbox enforces each rule the way Meta documents it (tests/test_sandbox_rules.py); here the
portal links accounts through the simulated dialog, refreshes them and checks their grants, and
must come out the way an agency using a real Meta app would want.
"""

import pytest
from test_linking_sandbox import (
    TIMEOUT,
    account,
    connect_business,
    follow_link,
    land,
    link_path,
    log_in_as,
    submit,
)

from portal.db import utcnow
from portal.insights import figures
from portal.models import (
    AccountStatus,
    Media,
    MediaMetric,
    MetaGrant,
    ProfileSnapshot,
    SocialAccount,
    Story,
    StoryMetric,
)
from portal.sandbox import state, tokens
from portal.scheduler import jobs

pytestmark = pytest.mark.live_http

DAY = 24 * 3600


def move_clock(server, days):
    """Move the simulated Meta, and the portal with it, to `days` days after real time."""
    state.set_clock(days * DAY, app=server.app)


def refreshed(server):
    """Refresh every linked account now, as `flask --app wsgi refresh-insights` does."""
    return jobs.refresh_all(server.app)


# --- Rule 2: links stay linked as long as Meta lets data flow ---


def test_day_61_still_linked_and_refreshing_day_77_warned_day_91_broken(sandbox_server):
    connect_business(sandbox_server, "Ava Chen", "ava.creates", "Gabriela Good")
    assert refreshed(sandbox_server).refreshed == ["ava.creates"]

    move_clock(sandbox_server, 61)  # the long-lived user token died on day 60
    check = jobs.check_grants(sandbox_server.app)
    assert check.still_linked == ["ava.creates"] and not check.broken and not check.ending_soon
    assert account("Ava Chen", "ava.creates").status == AccountStatus.LINKED
    summary = refreshed(sandbox_server)
    assert summary.refreshed == ["ava.creates"] and not summary.broken

    move_clock(sandbox_server, 77)  # data access ends on day 90: staff are warned 14 days before
    assert jobs.check_grants(sandbox_server.app).ending_soon == ["ava.creates"]
    browser = staff_browser(sandbox_server)
    creators = browser.get(sandbox_server.base_url + "/creators", timeout=TIMEOUT).text
    assert "Losing data access soon" in creators and "@ava.creates" in creators

    move_clock(sandbox_server, 91)
    check = jobs.check_grants(sandbox_server.app)
    assert "data access ended" in check.broken["ava.creates"]
    broken = account("Ava Chen", "ava.creates")
    assert broken.status == AccountStatus.LINK_BROKEN and "90 days" in broken.last_error
    assert ProfileSnapshot.select().where(ProfileSnapshot.account == broken).count() >= 1  # history kept


def test_check_grants_command_prints_a_summary_line(sandbox_server):
    connect_business(sandbox_server, "Ava Chen", "ava.creates", "Gabriela Good")
    move_clock(sandbox_server, 61)
    result = sandbox_server.app.test_cli_runner().invoke(args=["check-grants"])
    assert result.exit_code == 0
    assert result.output.strip().endswith(
        "Grant check: 1 links checked: 1 still linked (0 lose data access within 14 days), 0 link broken"
    )


def staff_browser(server):
    """A requests session signed in as the demo administrator."""
    import re

    import requests

    from portal.cli import DEMO_EMAIL, DEMO_PASSWORD

    browser = requests.Session()
    login = browser.get(server.base_url + "/login", timeout=TIMEOUT)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text).group(1)
    form = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrf_token": token}
    assert browser.post(server.base_url + "/login", data=form, timeout=TIMEOUT).ok
    return browser


# --- Rule 3: one creator's revoked token never fails another's refresh ---


def remove_app(server, fb_user_id):
    """The Facebook user removes the app (DELETE /me/permissions with their own token)."""
    import requests

    grant = MetaGrant.select().where(MetaGrant.meta_user_id == fb_user_id).order_by(MetaGrant.id.desc()).get()
    secret = server.app.config["FACEBOOK_CLIENT_SECRET"]
    answer = requests.delete(
        server.base_url + "/sandbox/graph/v27.0/me/permissions",
        params={"appsecret_proof": tokens.appsecret_proof(secret, grant.user_token)},
        headers={"Authorization": f"Bearer {grant.user_token}"},
        timeout=TIMEOUT,
    )
    assert answer.json() == {"success": True}


def test_revoking_the_first_account_of_a_batch_leaves_the_others_refreshing(sandbox_server):
    connect_business(sandbox_server, "Ava Chen", "ava.creates", "Gabriela Good")
    connect_business(sandbox_server, "Marco Rossi", "marco_cooks", "Andre Analyst")
    connect_business(sandbox_server, "Priya Natarajan", "priya.fit", "Bianca Business")
    first = account("Ava Chen", "ava.creates")
    assert (
        SocialAccount.refreshable(utcnow()).order_by(SocialAccount.id).first() == first
    )  # first in the batch
    remove_app(sandbox_server, first.linked_by_fb_user_id)

    summary = refreshed(sandbox_server)
    assert sorted(summary.refreshed) == ["marco_cooks", "priya.fit"]
    assert "not authorized application" in summary.broken["ava.creates"]
    for creator, username in (("Marco Rossi", "marco_cooks"), ("Priya Natarajan", "priya.fit")):
        assert (
            ProfileSnapshot.select().where(ProfileSnapshot.account == account(creator, username)).count() == 1
        )
    assert account("Ava Chen", "ava.creates").status == AccountStatus.LINK_BROKEN


# --- Rule 4: throttling is per Instagram account ---


def test_one_accounts_instagram_limit_defers_it_alone(start_sandbox_server):
    server = start_sandbox_server(SANDBOX_FAULTS={"ig:marco_cooks": "throttle"})
    connect_business(server, "Ava Chen", "ava.creates", "Gabriela Good")
    connect_business(server, "Marco Rossi", "marco_cooks", "Andre Analyst")
    summary = refreshed(server)
    assert summary.refreshed == ["ava.creates"] and list(summary.waiting) == ["marco_cooks"]
    assert summary.throttled_until is None
    marco = account("Marco Rossi", "marco_cooks")
    assert marco.refresh_deferred_until and "Instagram's limit for this account" in marco.deferred_reason


def test_the_whole_apps_limit_defers_everyone(start_sandbox_server):
    server = start_sandbox_server()
    connect_business(server, "Ava Chen", "ava.creates", "Gabriela Good")
    server.app.config["SANDBOX_FAULTS"] = {"app": "throttle"}  # Meta limits the app from now on
    summary = refreshed(server)
    assert summary.throttled_until and summary.deferred == 1 and not summary.refreshed
    assert "limited the whole app" in account("Ava Chen", "ava.creates").deferred_reason


# --- Rule 5: Business Portfolio access needs ads_read ---


def test_declining_ads_read_through_a_portfolio_says_so_and_asking_again_links(sandbox_server):
    browser, page, _query = connect_business(sandbox_server, "Priya Natarajan", "priya.fit", "Nora Noads")
    assert "Meta needs one more read-only permission for “Priya Fit”" in page.text
    assert account("Priya Natarajan", "priya.fit").status == AccountStatus.UNLINKED
    again = follow_link(browser, page, "Ask again, with that permission switched on")
    callback, query = log_in_as(browser, again, "Nora Noads")
    assert query["auth_type"] == ["rerequest"] and "ads_read" in query["scope"][0]
    landed = land(browser, callback, link_path(sandbox_server, "Priya Natarajan"))
    assert "Linked: @priya.fit." in landed.text
    assert refreshed(sandbox_server).refreshed == ["priya.fit"]


def test_the_link_accounts_page_says_why_ads_read_is_asked(sandbox_server):
    import requests

    page = requests.get(sandbox_server.link_url("Ava Chen"), timeout=TIMEOUT).text
    assert (
        "<code>ads_read</code>): Meta requires it to read an Instagram account whose Page you reach" in page
    )


# --- Rule 6: Pages missing from /me/accounts are still found ---


def test_an_analyst_links_a_page_that_me_accounts_leaves_out_and_it_refreshes(sandbox_server):
    _browser, page, _query = connect_business(sandbox_server, "Marco Rossi", "marco_cooks", "Andre Analyst")
    assert "Linked: @marco_cooks." in page.text
    marco = account("Marco Rossi", "marco_cooks")
    assert marco.status == AccountStatus.LINKED and marco.page_token  # its own Page token, by id
    assert refreshed(sandbox_server).refreshed == ["marco_cooks"]


# --- Rule 8: every page of every list ---


def test_with_pages_of_two_the_twelve_latest_posts_and_their_reels_are_read(start_sandbox_server):
    server = start_sandbox_server(SANDBOX_PAGE_SIZE=2)
    connect_business(server, "Ava Chen", "ava.creates", "Gabriela Good")
    summary = refreshed(server)
    assert summary.refreshed == ["ava.creates"]
    ava = account("Ava Chen", "ava.creates")
    assert Media.select().where(Media.account == ava).count() == 12
    reels = Media.select().where((Media.account == ava) & (Media.media_product_type == "REELS"))
    watched = MediaMetric.select().where(
        MediaMetric.media.in_(reels) & (MediaMetric.metric == "ig_reels_avg_watch_time")
    )
    assert reels.count() and watched.count() == reels.count()  # the reels column is filled
    shown = figures.recent_videos(ava)
    assert all(
        item.metrics.get("ig_reels_avg_watch_time")
        for item in shown
        if item.row.media_product_type == "REELS"
    )


# --- Rule 9: webhooks need a Page subscription ---


def test_story_webhooks_subscribe_the_page_at_link_and_unsubscribe_at_unlink(start_sandbox_server):
    server = start_sandbox_server(STORY_WEBHOOKS=True)
    browser, page, query = connect_business(server, "Ava Chen", "ava.creates", "Gabriela Good")
    assert "pages_manage_metadata" in query["scope"][0]
    ava = account("Ava Chen", "ava.creates")
    assert ava.webhooks_subscribed_at is not None and ava.webhook_problem is None
    assert state.subscriptions(server.app) == {ava.page_id: ["feed"]}
    # Unlinking from the Link Accounts Page removes the subscription while the Page token exists.
    unlink = follow_link(browser, page, "Unlink @ava.creates")
    submit(browser, unlink, "Unlink")
    assert account("Ava Chen", "ava.creates").status == AccountStatus.REVOKED
    assert state.subscriptions(server.app) == {}


def test_an_analyst_cannot_subscribe_the_page_and_link_health_says_polling_only(start_sandbox_server):
    server = start_sandbox_server(STORY_WEBHOOKS=True)
    connect_business(server, "Marco Rossi", "marco_cooks", "Andre Analyst")
    marco = account("Marco Rossi", "marco_cooks")
    assert marco.status == AccountStatus.LINKED and marco.webhooks_subscribed_at is None
    assert "administrator, editor, or moderator" in marco.webhook_problem
    assert state.subscriptions(server.app) == {}


def test_eve_expiring_is_warned_at_once_and_broken_when_data_access_ends(sandbox_server):
    """The README's Eve Expiring: a 3-day user token ends nothing; 5 days of data access do."""
    connect_business(sandbox_server, "Theo Small", "tiny.steps", "Eve Expiring")
    assert jobs.check_grants(sandbox_server.app).ending_soon == ["tiny.steps"]
    move_clock(sandbox_server, 4)  # her user token is over, her Page token is not
    assert jobs.check_grants(sandbox_server.app).still_linked == ["tiny.steps"]
    assert refreshed(sandbox_server).refreshed == ["tiny.steps"]
    move_clock(sandbox_server, 6)
    assert "data access ended" in jobs.check_grants(sandbox_server.app).broken["tiny.steps"]


def test_sandbox_webhooks_command_delivers_story_insights_the_portal_stores(start_sandbox_server):
    server = start_sandbox_server(STORY_WEBHOOKS=True)
    connect_business(server, "Ava Chen", "ava.creates", "Gabriela Good")
    assert jobs.capture_stories(server.app).refreshed == ["ava.creates"]  # the stories it will hear of
    result = server.app.test_cli_runner().invoke(args=["sandbox-webhooks"])
    assert result.exit_code == 0 and "Sent 1 story_insights deliveries" in result.output
    assert "answers [200]" in result.output
    ava = account("Ava Chen", "ava.creates")
    stories = Story.select().where(Story.account == ava)
    merged = StoryMetric.select().where(
        StoryMetric.story.in_(stories) & (StoryMetric.metric == "taps_forward")
    )
    assert merged.count() == stories.count() > 0  # a webhook-only figure, on every live story
