"""The overview's recent figures kept ahead (RecentFigures): the same table as adding up every view."""

import datetime

import pytest

from portal.campaigns import recent
from portal.campaigns.roster import COLUMN_KEYS, FILTERS, Roster, Sort, Span
from portal.db import utcnow
from portal.graph.days import day_start, meta_day
from portal.insights import refresh
from portal.models import (
    AccountStatus,
    Campaign,
    Creator,
    Media,
    MediaMetric,
    ProfileSnapshot,
    RecentFigures,
    SocialAccount,
    Story,
)
from portal.models.insights import delete_figures
from portal.scheduler import jobs
from tests.test_campaigns import html_of, linked, rows_of


def today():
    return meta_day(utcnow())


def with_reels_and_stories(account, views, watch):
    """A reel posted yesterday with its views and watch time, and a story captured the same day."""
    posted = day_start(today() - datetime.timedelta(days=1)) + datetime.timedelta(hours=3)
    reel = Media.create(
        account=account,
        ig_media_id=f"reel-{account.id}",
        media_type="VIDEO",
        media_product_type="REELS",
        posted_at=posted,
    )
    MediaMetric.create(media=reel, metric="views", value=views)
    MediaMetric.create(media=reel, metric="ig_reels_avg_watch_time", value=watch)
    Story.create(account=account, ig_media_id=f"story-{account.id}", media_type="IMAGE", posted_at=posted)


@pytest.fixture
def roster_data(app):
    """Creators of every kind: linked with figures (some older than 30 days), not linked, none yet."""
    ava, ava_account = linked("Ava Chen", "ava.creates", views=100, reach=50, interactions=5, days=40)
    with_reels_and_stories(ava_account, views=900, watch=12)
    ben, _ = linked("Ben Ortiz", "ben.bakes", views=7, reach=0, interactions=3, followers=(10, 8))
    eve, _ = linked("Eve Expiring", "eve.ends", views=30, reach=30, interactions=2, expires_in=5)  # 6.67 %
    SocialAccount.add_handle(eve, "eve.second")
    nia = Creator.create(name="Nia Internal", internal_only=True)
    SocialAccount.create(creator=nia, username="nia.quiet", status=AccountStatus.LINK_BROKEN)
    Creator.create(name="Cy Park")
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    campaign.add_creators([ava.id, eve.id, nia.id])
    return campaign


def _shown(figures):
    """Figures as the page shows them: PostgreSQL adds up in numeric, the kept sums are numbers."""
    return {key: None if value is None else round(float(value), 6) for key, value in figures.items()}


def tables(span, now, **kwargs):
    """Every filter's rows in every order, with its totals: what the pages could show."""
    shown = {}
    for status in FILTERS:
        roster = Roster(span, now, status=status, **kwargs)
        for key in COLUMN_KEYS:
            for descending in (False, True):
                rows = roster.rows(Sort(key, descending))
                shown[status, key, descending] = [
                    (r.creator_name, r.username, _shown(r.figures)) for r in rows
                ]
        page = roster.page(Sort("views", True), 1, 2)
        shown[status, "totals"] = (page.total, _shown(page.totals))
    return shown, roster.rolled_up


@pytest.mark.parametrize("whose", ["everyone", "campaign", "clients"])
def test_the_kept_figures_give_the_very_table_adding_up_gives(roster_data, whose):
    kwargs = {"campaign": {"campaign": roster_data}, "clients": {"for_clients": True}}.get(whose, {})
    now, span = utcnow(), Span.recent(today())
    computed, rolled_up = tables(span, now, **kwargs)
    assert not rolled_up  # nothing kept yet: the roster adds up

    assert recent.rebuild(today()) == span
    kept, rolled_up = tables(span, now, **kwargs)

    assert rolled_up
    assert kept == computed
    assert computed["all", "totals"][1]["views"] is not None  # the comparison is about real figures
    assert RecentFigures.select().count() == 3  # only the accounts with figures get a row


def test_a_campaign_with_dates_of_its_own_adds_up_as_before(roster_data):
    recent.rebuild(today())
    dated = Span(today() - datetime.timedelta(days=3), today() - datetime.timedelta(days=1))
    roster = Roster(dated, utcnow(), campaign=roster_data)
    assert not roster.rolled_up
    ava = next(row for row in roster.rows(Sort()) if row.username == "ava.creates")
    assert ava.figures["views"] == 300  # 3 days, not the kept 30


def test_the_overview_shows_the_kept_figures_and_a_refresh_rewrites_them(admin_client, roster_data):
    recent.rebuild(today())
    before = {row[1]: row for row in rows_of(html_of(admin_client, "/overview"))}
    assert before["@ava.creates"][5] == "2,900"  # the 29 days of the last 30 with figures, 100 a day

    # New figures arrive for Ava: once the refresh has written its chunk, the overview has them.
    ava = SocialAccount.get(SocialAccount.username == "ava.creates")
    from portal.models import AccountMetric

    AccountMetric.update(value=200).where(
        (AccountMetric.account == ava) & (AccountMetric.metric == "views")
    ).execute()
    stale = {row[1]: row for row in rows_of(html_of(admin_client, "/overview"))}
    assert stale["@ava.creates"][5] == "2,900"  # kept until the refresh says so
    assert recent.update([ava.id], today())
    after = {row[1]: row for row in rows_of(html_of(admin_client, "/overview"))}
    assert after["@ava.creates"][5] == "5,800"
    assert after["@ben.bakes"] == before["@ben.bakes"]


def test_the_refresh_rewrites_the_kept_figures_of_each_chunk_it_wrote(roster_data, monkeypatch):
    recent.rebuild(today())
    updated = []
    monkeypatch.setattr(refresh, "finish_account", lambda account, *args, **kwargs: None)
    monkeypatch.setattr(recent, "update", lambda ids, day: updated.append((sorted(ids), day)))
    accounts = list(SocialAccount.select().where(SocialAccount.status == AccountStatus.LINKED))
    tokens = {account.id: "token" for account in accounts[:2]}  # the third has no stored access

    refresh._write_chunk(accounts, tokens, {}, {}, utcnow(), refresh.Summary(), None, refresh.FULL)

    assert updated == [(sorted(tokens), today())]


def test_when_the_meta_day_turns_the_roster_adds_up_until_the_scheduler_rebuilds(app, roster_data):
    recent.rebuild(today())
    tomorrow = utcnow() + datetime.timedelta(days=1)
    span = Span.recent(meta_day(tomorrow))
    assert not Roster(span, tomorrow).rolled_up  # yesterday's sums are never shown under today's dates
    assert not recent.update([1], meta_day(tomorrow))  # nor rewritten for the wrong span

    jobs.roll_up_figures(app, now=tomorrow)

    assert Roster(span, tomorrow).rolled_up
    assert not recent.keep_current(meta_day(tomorrow))  # the next minute's round has nothing to do


def test_deleting_an_account_s_figures_deletes_its_kept_sums(admin_client, roster_data):
    recent.rebuild(today())
    ben = SocialAccount.get(SocialAccount.username == "ben.bakes")
    delete_figures(ben)
    ProfileSnapshot.delete().where(ProfileSnapshot.account == ben).execute()
    rows = {row[1]: row for row in rows_of(html_of(admin_client, "/overview"))}
    assert rows["@ben.bakes"][3] == "No figures read for these dates yet."
    assert not RecentFigures.select().where(RecentFigures.account == ben).exists()


def everything_of(row):
    """All a roster row holds: what its cells, links and badges are made of."""
    fixed = (row.creator_id, row.creator_name, row.account_id, row.username, row.status)
    return (*fixed, row.data_access_expires_at, row.link_token, row.link_expires_at, _shown(row.figures))


def pages_of(roster, sort, per_page):
    """Every page of a roster, one after another, and one past the last: what a pager reads."""
    read, number = [], 1
    while True:
        page = roster.page(sort, number, per_page)
        read.append([everything_of(row) for row in page.items])
        if number > page.pages:
            return read, page.total
        number += 1


@pytest.mark.parametrize("whose", ["everyone", "campaign", "clients"])
def test_pages_sorted_by_a_kept_figure_are_the_whole_sorted_table_cut_in_pages(roster_data, whose):
    """A figure-sorted page reads the kept figures first, then the rows without: the same cut."""
    kwargs = {"campaign": {"campaign": roster_data}, "clients": {"for_clients": True}}.get(whose, {})
    # A creator whose figures equal Eve's: equal figures are ordered by name, as on every sort.
    abe, _ = linked("Abe Equal", "abe.equal", views=30, reach=30, interactions=2, expires_in=5)
    roster_data.add_creators([abe.id])
    now, span = utcnow(), Span.recent(today())
    recent.rebuild(today())
    for status in FILTERS:
        roster = Roster(span, now, status=status, **kwargs)
        assert roster.rolled_up
        for key in COLUMN_KEYS:
            for descending in (False, True):
                sort = Sort(key, descending)
                whole = [everything_of(row) for row in roster.rows(sort)]
                for per_page in (1, 3, 50):  # pages of one part each, and pages across both
                    read, total = pages_of(roster, sort, per_page)
                    cut = [whole[n : n + per_page] for n in range(0, len(whole), per_page)] or [[]]
                    assert read == cut + [[]], (status, key, descending, per_page)
                    assert total == len(whole)
