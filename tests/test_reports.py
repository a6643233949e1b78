"""Clients' read-only reports at /r/<token>: what they show, what they never show, and when they stop."""

import csv
import datetime
import io
import re
import sys

import pytest
from markupsafe import Markup
from test_campaigns import html_of, linked, rows_of

from portal import db
from portal.campaigns.roster import COLUMN_KEYS
from portal.connections.linking import unlink
from portal.db import utcnow
from portal.graph.days import day_end, meta_day
from portal.insights import rows
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Campaign,
    Creator,
    LedgerEntry,
    Media,
    MediaMetric,
    ReportLink,
    SocialAccount,
    Story,
    StoryMetric,
)
from portal.reports.rendered import RenderedPage, RenderedPages

REPORT_URL = re.compile(r'id="new-report-link" type="text" readonly value="http://localhost(/r/[\w-]{43})"')


@pytest.fixture
def campaign(app):
    """A campaign of Ava (linked, with figures), Ben (not linked) and Ivy (linked, internal only)."""
    ava, account = linked("Ava Chen", "ava.creates", views=100, reach=40, interactions=4)
    ava.email = "ava@creators.test"
    ava.save()
    ivy, _ = linked("Ivy Inside", "ivy.inside", views=7, reach=3, interactions=1)
    Creator.update(internal_only=True).where(Creator.id == ivy.id).execute()
    ben = Creator.create(name="Ben Ortiz")
    SocialAccount.add_handle(ben, "ben.bakes")
    yesterday = day_end(meta_day(utcnow()) - datetime.timedelta(days=1)) - datetime.timedelta(hours=3)
    reel = Media.create(
        account=account, ig_media_id="r1", media_type="VIDEO", media_product_type="REELS", posted_at=yesterday
    )
    MediaMetric.create(media=reel, metric="views", value=321)
    story = Story.create(
        account=account, ig_media_id="s1", media_type="IMAGE", posted_at=yesterday, archived_file="s1.jpg"
    )
    StoryMetric.create(story=story, metric="reach", value=55)
    AudienceSnapshot.create(
        account=account, metric="follower_demographics", breakdown="country", data='{"DE": 120, "FR": 30}'
    )
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    campaign.add_creators([ava.id, ben.id, ivy.id])
    return campaign


def make_link(admin_client, campaign, **form):
    """Make a report link on the campaign page as staff do; return its path (shown this once)."""
    data = {"label": "Northwind marketing", "days": "90", **form, "csrf_token": admin_client.csrf_token}
    response = admin_client.post(f"/campaigns/{campaign.id}/reports", data=data)
    assert response.status_code == 200, response.status_code
    match = REPORT_URL.search(response.get_data(as_text=True))
    assert match, "the new report link is not shown"
    return match.group(1)


def test_a_report_shows_the_campaigns_linked_shareable_creators_and_nothing_of_the_staff_area(
    app, admin_client, campaign, tmp_path
):
    path = make_link(admin_client, campaign)
    client = app.test_client()  # a fresh browser: no session of any kind
    response = client.get(path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "Content-Security-Policy" in response.headers
    assert [row[:2] for row in rows_of(page)] == [["Ava Chen", "@ava.creates"]]
    assert "Ivy Inside" not in page  # internal only
    assert "Ben Ortiz" not in page  # nothing linked
    assert re.search(r'<td data-label="Views">321</td>', page)  # the reel
    assert "Followers by country" in page and ">DE<" in page  # the audience
    assert 'id="account-1-daily-chart"' in page  # the daily chart
    assert "Taps and swipes" in page and ">55<" in page  # the story's figures
    assert "admin@" not in page and "ava@creators.test" not in page and "staff:" not in page
    assert 'href="/creators' not in page and 'href="/campaigns' not in page and "/audit" not in page
    assert "csrf" not in page.lower()


def test_each_opening_is_counted_and_written_in_the_ledger(app, admin_client, campaign):
    path = make_link(admin_client, campaign)
    client = app.test_client()
    client.get(path)
    client.get(path + "/figures.csv")
    link = ReportLink.get()
    assert link.opened_count == 2 and link.last_opened_at is not None
    openings = LedgerEntry.select().where(LedgerEntry.action == "report_opened").order_by(LedgerEntry.id)
    assert [entry.detail_items["what"] for entry in openings] == ["page", "CSV"]
    listing = html_of(admin_client, f"/campaigns/{campaign.id}")
    assert "(2 openings)" in listing and "Working" in listing


def test_revoking_a_report_link_makes_it_a_404_at_once(app, admin_client, campaign):
    path = make_link(admin_client, campaign)
    client = app.test_client()
    assert client.get(path).status_code == 200
    link = ReportLink.get()
    response = admin_client.post(f"/reports/{link.id}/revoke", data={"csrf_token": admin_client.csrf_token})
    assert response.status_code == 302
    assert client.get(path).status_code == 404
    assert client.get(path + "/figures.csv").status_code == 404
    assert "Revoked" in html_of(admin_client, f"/campaigns/{campaign.id}")


def test_an_expired_report_link_is_the_same_404_as_an_unknown_one(app, admin_client, campaign):
    path = make_link(admin_client, campaign, days="1")
    ReportLink.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    client = app.test_client()
    expired, unknown = client.get(path), client.get("/r/" + "A" * 43)
    assert expired.status_code == unknown.status_code == 404
    assert expired.get_data() == unknown.get_data()


def test_only_a_fingerprint_of_the_token_is_kept(admin_client, campaign):
    path = make_link(admin_client, campaign)
    token = path.rsplit("/", 1)[1]
    link = ReportLink.get()
    assert token not in str(list(ReportLink.select().tuples()))
    assert link.token_hash and link.expires_at is not None


def test_unlinking_or_marking_internal_only_removes_a_creator_at_once(app, admin_client, campaign):
    path = make_link(admin_client, campaign)
    client = app.test_client()
    ava = Creator.get(Creator.name == "Ava Chen")
    response = admin_client.post(
        f"/creators/{ava.id}/internal-only",
        data={"internal_only": "1", "csrf_token": admin_client.csrf_token},
    )
    assert response.status_code == 302
    assert "Ava Chen" not in client.get(path).get_data(as_text=True)
    admin_client.post(
        f"/creators/{ava.id}/internal-only",
        data={"internal_only": "0", "csrf_token": admin_client.csrf_token},
    )
    assert "Ava Chen" in client.get(path).get_data(as_text=True)
    SocialAccount.update(status=AccountStatus.REVOKED).where(SocialAccount.creator == ava).execute()
    assert "Ava Chen" not in client.get(path).get_data(as_text=True)


def test_the_report_csv_holds_the_reports_rows(app, admin_client, campaign):
    path = make_link(admin_client, campaign)
    response = app.test_client().get(path + "/figures.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, rows = lines[0], lines[1:]
    assert [row[0] for row in rows] == ["Ava Chen"]
    assert rows[0][header.index("views")] == "500"  # 5 days x 100


def test_a_story_file_is_served_only_for_a_story_the_report_shows(app, admin_client, campaign, tmp_path):
    app.config["STORY_ARCHIVE"] = str(tmp_path)
    (tmp_path / "s1.jpg").write_bytes(b"\xff\xd8\xff a picture")
    path = make_link(admin_client, campaign)
    story = Story.get()
    client = app.test_client()
    assert f"{path}/stories/{story.id}" in client.get(path).get_data(as_text=True)
    assert client.get(f"{path}/stories/{story.id}").data.startswith(b"\xff\xd8")
    assert ReportLink.get().opened_count == 1  # a picture is not another opening
    campaign.remove_creator(story.account.creator_id)  # off the campaign: off the report
    assert client.get(f"{path}/stories/{story.id}").status_code == 404
    campaign.add_creators([story.account.creator_id])
    assert client.get(f"{path}/stories/{story.id}").status_code == 200
    Creator.update(internal_only=True).execute()
    assert client.get(f"{path}/stories/{story.id}").status_code == 404


def test_a_creator_report_link_from_the_profile_shows_that_creator_only(app, admin_client, campaign):
    ava = Creator.get(Creator.name == "Ava Chen")
    data = {"label": "Ava's sponsor", "days": "", "csrf_token": admin_client.csrf_token}
    response = admin_client.post(f"/creators/{ava.id}/reports", data=data)
    assert response.status_code == 200
    path = REPORT_URL.search(response.get_data(as_text=True)).group(1)
    assert ReportLink.get().expires_at is None  # empty: no end date
    page = app.test_client().get(path).get_data(as_text=True)
    assert [row[0] for row in rows_of(page)] == ["Ava Chen"] and "Spring launch" not in page


def test_the_form_for_a_new_report_link_comes_when_asked_for_in_place_or_on_its_page(admin_client, campaign):
    ava = Creator.get(Creator.name == "Ava Chen")
    for owner in (f"/campaigns/{campaign.id}", f"/creators/{ava.id}"):
        new = "/reports/new"
        page = admin_client.get(owner).get_data(as_text=True)
        assert "Who it is for" not in page and f'href="{owner}{new}"' in page
        whole = admin_client.get(owner + new)  # no script: the page, with the form open
        text = whole.get_data(as_text=True)
        assert whole.status_code == 200 and "<html" in text and 'name="label"' in text and "autofocus" in text
        swap = admin_client.get(owner + new, headers={"HX-Request": "true"})  # the section alone
        text = swap.get_data(as_text=True)
        assert swap.status_code == 200 and "<html" not in text and text.lstrip().startswith("<section")
        assert f'action="{owner}/reports"' in text and 'name="csrf_token"' in text
    assert admin_client.get("/campaigns/999999/reports/new").status_code == 404
    assert admin_client.get("/creators/999999/reports/new").status_code == 404


@pytest.mark.parametrize("form", [{"label": ""}, {"days": "0"}, {"days": "100000"}])
def test_a_report_link_form_with_bad_values_explains_and_makes_nothing(admin_client, campaign, form):
    data = {"label": "Northwind", "days": "90", **form, "csrf_token": admin_client.csrf_token}
    response = admin_client.post(f"/campaigns/{campaign.id}/reports", data=data)
    assert response.status_code == 422
    assert ReportLink.select().count() == 0
    assert 'class="field-error"' in response.get_data(as_text=True)  # the form, open, says what is wrong


def test_a_long_report_comes_in_pages_with_totals_and_csv_over_every_account(
    app, admin_client, campaign, monkeypatch
):
    from portal import reports

    monkeypatch.setattr(reports, "PER_PAGE", 1)
    zoe, _ = linked("Zoe Zhang", "zoe.zooms", views=50, reach=20, interactions=2)
    campaign.add_creators([zoe.id])
    path = make_link(admin_client, campaign)
    client = app.test_client()
    first = client.get(path).get_data(as_text=True)
    second = client.get(path + "?page=2").get_data(as_text=True)
    assert [row[0] for row in rows_of(first)] == ["Ava Chen"]
    assert [row[0] for row in rows_of(second)] == ["Zoe Zhang"]
    assert "Totals (2 accounts)" in first and ">750<" in first  # 5 x 100 + 5 x 50 views, on every page
    assert "page 1 of 2; the CSV holds them all" in first
    lines = client.get(path + "/figures.csv").get_data(as_text=True).splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["Ava Chen", "Zoe Zhang"]


def test_the_report_csv_quotes_a_hostile_creator_name(app, admin_client, campaign):
    Creator.update(name='=HYPERLINK("http://x")').where(Creator.name == "Ava Chen").execute()
    mallory, _ = linked("@SUM(1)", "sum.one", views=20, reach=10, interactions=1)
    campaign.add_creators([mallory.id])
    path = make_link(admin_client, campaign)
    lines = list(csv.reader(io.StringIO(app.test_client().get(path + "/figures.csv").get_data(as_text=True))))
    assert sorted(row[0] for row in lines[1:]) == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]


def _new_figures(campaign):
    """Yesterday's views of Ava become 1,100, written as the refresh writes them (a multi-row upsert)."""
    account = SocialAccount.get(SocialAccount.username == "ava.creates")
    yesterday = day_end(meta_day(utcnow()) - datetime.timedelta(days=1))
    key = [AccountMetric.account, AccountMetric.metric, AccountMetric.period, AccountMetric.end_time]
    row = {"account": account.id, "metric": "views", "period": "day", "end_time": yesterday}
    rows.upsert(AccountMetric, [{**row, "value": 1100, "fetched_at": utcnow()}], key, [AccountMetric.value])


def _internal_only(campaign):
    Creator.update(internal_only=True).where(Creator.name == "Ava Chen").execute()


def _unlinked(campaign):
    unlink(SocialAccount.get(SocialAccount.username == "ava.creates"), actor="staff:ann@agency.test")


def _removed_from_the_campaign(campaign):
    campaign.remove_creator(Creator.get(Creator.name == "Ava Chen").id)


def _handle_deleted(campaign):
    SocialAccount.get(SocialAccount.username == "ava.creates").delete_instance()


def _renamed(campaign):
    ava = Creator.get(Creator.name == "Ava Chen")
    ava.name = "Ava Lindqvist"
    ava.save()


def _campaign_renamed(campaign):
    campaign.name = "Autumn launch"
    campaign.save()


def _views_of_ava(page):
    return rows_of(page)[0][COLUMN_KEYS.index("views")]


KEPT_PAGE_CHANGES = [
    (_new_figures, lambda page: _views_of_ava(page) == "1,500"),
    (_internal_only, lambda page: "Ava Chen" not in page),
    (_unlinked, lambda page: "Ava Chen" not in page),
    (_removed_from_the_campaign, lambda page: "Ava Chen" not in page),
    (_handle_deleted, lambda page: "Ava Chen" not in page),
    (_renamed, lambda page: "Ava Lindqvist" in page and "Ava Chen" not in page),
    (_campaign_renamed, lambda page: "<h1>Autumn launch</h1>" in page and "Spring launch" not in page),
]


@pytest.mark.parametrize(
    ("change", "shown"), KEPT_PAGE_CHANGES, ids=[c.__name__[1:] for c, _ in KEPT_PAGE_CHANGES]
)
def test_a_report_page_shows_each_change_at_the_next_opening(app, admin_client, campaign, change, shown):
    path = make_link(admin_client, campaign)
    client = app.test_client()
    before = client.get(path).get_data(as_text=True)
    assert _views_of_ava(before) == "500" and "Ava Chen" in before and "<h1>Spring launch</h1>" in before
    assert client.get(path).get_data(as_text=True) == before  # nothing changed: the same page
    change(campaign)
    assert shown(client.get(path).get_data(as_text=True))


def test_a_change_made_through_another_process_shows_at_the_next_opening(make_app, admin_client, campaign):
    """Each process keeps the pages it drew; what another wrote reaches it through the database."""
    path = make_link(admin_client, campaign)
    reader, writer = make_app().test_client(), make_app().test_client()
    assert "Ava Chen" in reader.get(path).get_data(as_text=True)
    assert "Ava Chen" in writer.get(path).get_data(as_text=True)
    ava = Creator.get(Creator.name == "Ava Chen")
    response = admin_client.post(  # from the staff's own process
        f"/creators/{ava.id}/internal-only",
        data={"internal_only": "1", "csrf_token": admin_client.csrf_token},
    )
    assert response.status_code == 302
    assert "Ava Chen" not in reader.get(path).get_data(as_text=True)
    assert "Ava Chen" not in writer.get(path).get_data(as_text=True)


def test_a_report_link_revoked_or_expired_after_an_opening_is_a_404_at_the_next(app, admin_client, campaign):
    path = make_link(admin_client, campaign)
    client = app.test_client()
    assert client.get(path).status_code == 200
    ReportLink.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert client.get(path).status_code == 404
    ReportLink.update(expires_at=None).execute()
    assert client.get(path).status_code == 200
    ReportLink.update(revoked_at=utcnow()).execute()
    assert client.get(path).status_code == 404


def test_a_report_page_follows_the_meta_day_as_it_turns(app, admin_client, campaign, monkeypatch):
    path = make_link(admin_client, campaign)
    client = app.test_client()
    today = meta_day(utcnow())
    assert f"to {today.strftime('%d %b %Y')} (30 days" in client.get(path).get_data(as_text=True)
    monkeypatch.setattr(db, "_clock_offset", lambda: 24 * 3600)
    tomorrow = today + datetime.timedelta(days=1)
    assert f"to {tomorrow.strftime('%d %b %Y')} (30 days" in client.get(path).get_data(as_text=True)


def test_the_kept_pages_stay_within_their_bound_the_least_recently_read_going_first():
    first, second, third = (RenderedPage("t", None, Markup(text * 400)) for text in "abc")
    pages = RenderedPages(most_bytes=2 * sys.getsizeof(first.body) + 10)  # room for two
    pages.keep(1, first)
    pages.keep(2, second)
    assert pages.get(1) is first  # read again: now the most recent
    pages.keep(3, third)  # no room for three: the least recently read goes
    assert pages.get(2) is None and pages.get(1) is first and pages.get(3) is third
    pages.keep(None, second)  # no version read: nothing is kept
    assert pages.get(None) is None
    wide = RenderedPage("t", None, Markup("\U0001f600" * 400))  # 4 bytes a character: too large
    assert pages.keep(4, wide) is wide and pages.get(4) is None and pages.get(1) is first
