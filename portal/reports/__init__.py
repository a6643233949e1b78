"""Clients' read-only reports: what a report link shows, and nothing more. No Flask.

A report shows the linked accounts of its campaign's creators (or of its one creator) who may be
shown to clients: a creator staff marked internal only never appears, and an account stops
appearing the moment its link is removed. It names no staff, shows no e-mail address or token, and
links to nothing in the staff area. Everything is read in a fixed number of queries, whatever the
number of creators.
"""

from dataclasses import dataclass

from peewee import prefetch

from portal.campaigns.roster import Roster, Sort, Span
from portal.graph.days import day_end, day_start, meta_day
from portal.insights import figures
from portal.models import AccountStatus, Creator, Media, MediaMetric, SocialAccount, Story, StoryMetric

# Accounts a report page shows in full (table row, chart, reels, audience, stories); the totals and
# the CSV cover them all. A campaign of hundreds would otherwise make one page of megabytes.
PER_PAGE = 20
REEL_LIMIT = 200  # reels listed for one account, newest first; the totals count them all
STORY_LIMIT = 200


@dataclass
class ReportAccount:
    """One linked account in a report, with its figures over the report's days."""

    row: object  # campaigns.roster.Row
    daily: figures.Series
    reels: list
    audience: list
    stories: list


@dataclass
class Report:
    title: str
    client: str | None
    span: Span
    accounts: list
    totals: dict
    page: object  # paging.Page of the rows shown


def span_of(link, now):
    """The days a report covers: its campaign's, or the last 30 for a creator's report."""
    today = meta_day(now)
    return Span.of_campaign(link.campaign, today) if link.campaign_id else Span.recent(today)


def shared_roster(link, now):
    """The roster a report link may show: linked accounts of creators who may be shown to clients."""
    return Roster(
        span_of(link, now),
        now,
        campaign=link.campaign if link.campaign_id else None,
        creator=link.creator_id if link.creator_id else None,
        status="linked",
        for_clients=True,
    )


def _in_span(column, span):
    return (column >= day_start(span.first)) & (column < day_end(span.last))


def _by_account(items, limit):
    grouped = {}
    for item in items:
        grouped.setdefault(item.row.account_id, [])
        if len(grouped[item.row.account_id]) < limit:
            grouped[item.row.account_id].append(item)
    return grouped


def build(link, now, page_number=1):
    """Return one page of the Report a working report link shows (the totals cover every page)."""
    roster = shared_roster(link, now)
    span = roster.span
    page = roster.page(Sort("creator"), page_number, PER_PAGE)
    rows = page.items
    ids = [row.account_id for row in rows]
    reels = Media.select().where(
        Media.account.in_(ids) & (Media.media_product_type == "REELS") & _in_span(Media.posted_at, span)
    )
    stories = Story.select().where(Story.account.in_(ids) & _in_span(Story.posted_at, span))
    newest_reels = _by_account(
        figures.with_metrics(prefetch(reels.order_by(Media.posted_at.desc(), Media.id.desc()), MediaMetric)),
        REEL_LIMIT,
    )
    newest_stories = _by_account(
        figures.with_metrics(
            prefetch(stories.order_by(Story.posted_at.desc(), Story.id.desc()), StoryMetric)
        ),
        STORY_LIMIT,
    )
    daily = figures.daily_series_of(ids, span.first, span.last)
    audience = figures.audience_of(ids)
    accounts = [
        ReportAccount(
            row=row,
            daily=daily[row.account_id],
            reels=newest_reels.get(row.account_id, []),
            audience=audience[row.account_id],
            stories=newest_stories.get(row.account_id, []),
        )
        for row in rows
    ]
    if link.campaign_id:
        title, client = link.campaign.name, link.campaign.client
    else:
        title, client = link.creator.name, None
    return Report(title=title, client=client, span=span, accounts=accounts, totals=page.totals, page=page)


def every_row(link, now):
    """Every row of the report, for its CSV."""
    return shared_roster(link, now).rows(Sort("creator"))


def shown_story(link, story_id, now):
    """Return the story with this id if the report link shows it (its account and days), else None.

    One query, with the roster's own rule for who may be shown (a report page asks this per picture).
    """
    roster = shared_roster(link, now)
    return (
        Story.select()
        .join(SocialAccount)
        .join(Creator)
        .where(
            (Story.id == story_id)
            & (SocialAccount.status == AccountStatus.LINKED)
            & roster.wanted
            & _in_span(Story.posted_at, roster.span)
        )
        .first()
    )
