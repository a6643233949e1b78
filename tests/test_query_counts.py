"""An N+1 guard: each staff and public page issues as many SQL statements with much data as with little."""

import collections
import datetime
import json

import pytest

from portal import db
from portal.db import utcnow
from portal.graph.days import day_end as meta_day_end
from portal.graph.days import meta_day
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Campaign,
    Creator,
    CreatorImport,
    LedgerEntry,
    MailJob,
    Media,
    MediaMetric,
    MetaGrant,
    OutgoingMessage,
    ProfileSnapshot,
    ReportLink,
    SocialAccount,
    Staff,
    Story,
    StoryMetric,
)

HX = {"HX-Request": "true"}
IMPORTED_CSV = "name,email,instagram\nAva Chen,,ava.creates\nNew One,new@example.com,c10.creates new.one\n"
ACTOR = "staff:admin@example.com"
HANDLE = "ava.creates"
LARGE_CREATORS = 60  # three pages of creators (PER_PAGE is 20)
LARGE_ACCOUNTS = 12  # the viewed creator's accounts at the large size
# The statuses of the viewed creator's further accounts, in turn: a listed handle, linked, a broken link...
STATUSES = (
    AccountStatus.UNLINKED,
    AccountStatus.LINKED,
    AccountStatus.LINK_BROKEN,
    AccountStatus.VERIFIED,
    AccountStatus.REVOKED,
)
AUDIENCE = [
    (metric, breakdown)
    for metric in ("follower_demographics", "engaged_audience_demographics")
    for breakdown in ("age", "gender", "country", "city")
]
AUDIENCE_DATA = {
    "age": {"18-24": 120, "25-34": 340},
    "gender": {"F": 300, "M": 160},
    "country": {"DE": 200, "FR": 90},
    "city": {"Berlin, Germany": 80, "Paris, France": 40},
}


def day_end(days_ago):
    """The end_time Meta gives the daily metric of the (Pacific) day `days_ago` days before today."""
    return meta_day_end(meta_day(utcnow()) - datetime.timedelta(days=days_ago))


def add_account(creator, username, status=AccountStatus.LINKED, data_access_days=30):
    """Give the creator an account; a linked or broken one comes with its MetaGrant, as linking leaves it."""
    now = utcnow()
    grant = None
    if status in (AccountStatus.LINKED, AccountStatus.LINK_BROKEN):
        grant = MetaGrant.create(
            creator=creator,
            provider="facebook",
            meta_user_id=f"10{creator.id}",
            meta_user_name="Gabriela Good",
            user_token="EAAuser",
            token_expires_at=now + datetime.timedelta(days=50),
            data_access_expires_at=now + datetime.timedelta(days=data_access_days),
            granted_scopes="instagram_basic,instagram_manage_insights,pages_show_list",
        )
    linked = status != AccountStatus.UNLINKED
    return SocialAccount.create(
        creator=creator,
        username=username,
        status=status,
        grant=grant,
        ig_user_id=f"178414{creator.id:04d}{len(username):04d}" if linked else None,
        page_token="EAAJpageToken101xyz" if grant else None,
        page_name="Ava Studio" if linked else None,
        linked_by_name="Gabriela Good" if linked else None,
        linked_at=now - datetime.timedelta(days=3) if linked else None,
        last_refreshed_at=now if linked else None,
        last_error="Instagram access ended: expired" if status == AccountStatus.LINK_BROKEN else None,
        followers_count=4800 if linked else None,
    )


def add_figures(account, days, items, breakdowns):
    """Store `days` days of profile and daily figures, `items` reels and stories, and some audience."""
    now = utcnow()
    for days_ago in range(1, days + 1):
        ProfileSnapshot.create(account=account, taken_on=now.date() - datetime.timedelta(days=days_ago))
        for metric, value in (("views", 4321 + days_ago), ("reach", 987)):
            AccountMetric.create(account=account, metric=metric, end_time=day_end(days_ago), value=value)
    for n in range(items):
        posted = now - datetime.timedelta(hours=n + 1)
        media = Media.create(
            account=account,
            ig_media_id=f"m-{account.id}-{n}",
            media_type="VIDEO",
            media_product_type="REELS",
            caption=f"Reel {n} of @{account.username}",
            posted_at=posted,
        )
        story = Story.create(
            account=account, ig_media_id=f"s-{account.id}-{n}", media_type="IMAGE", posted_at=posted
        )
        for metric in ("views", "reach", "shares"):
            MediaMetric.create(media=media, metric=metric, value=100 + n)
            StoryMetric.create(story=story, metric=metric, value=10 + n)
    for metric, breakdown in breakdowns:
        data = json.dumps(AUDIENCE_DATA[breakdown])
        AudienceSnapshot.create(account=account, metric=metric, breakdown=breakdown, data=data)


def record(action, creator, account=None, hours_ago=0):
    """Add a ledger entry about the creator (and account) dated `hours_ago` hours ago."""
    event = LedgerEntry.record(action, ACTOR, creator=creator, account=account, reason="test")
    moment = utcnow() - datetime.timedelta(hours=hours_ago)
    LedgerEntry.update(at=moment).where(LedgerEntry.id == event.id).execute()


def add_message(creator, job, failed=False, minutes_ago=0):
    """Record an invitation to the creator in the bulk job: sent into the outbox, or failed."""
    when = utcnow() - datetime.timedelta(minutes=minutes_ago)
    return OutgoingMessage.create(
        key=f"invitation:{creator.id}:{when.date()}",
        kind="invitation",
        creator=creator,
        job=job,
        sender="portal@localhost",
        recipient=f"c{creator.id}@creators.test",
        reply_to="admin@example.com",
        subject=f"Link your Instagram account, {creator.name}",
        text_body="Welcome!",
        html_body="<p>Welcome!</p>",
        message_id=f"<{creator.id}@localhost>",
        status="failed" if failed else "sent",
        via=None if failed else "outbox",
        last_error="550 5.1.1 Mailbox unavailable" if failed else None,
        queued_at=when,
        sent_at=None if failed else when,
    )


def build_small():
    """Store a few creators with one linked account and a little data each; return the viewed ones."""
    with db.database.atomic():
        ava = Creator.create(name="Ava Chen", email="ava@creators.test")
        ava.raw_link_token = ava.issue_link_token()
        account = add_account(ava, HANDLE, data_access_days=5)  # ends soon: the creators list warns
        add_figures(account, days=2, items=1, breakdowns=AUDIENCE[:1])
        for n in range(2):
            other = Creator.create(name=f"Creator {n:02d}")
            other.issue_link_token()
            add_figures(add_account(other, f"c{n:02d}.creates"), days=1, items=1, breakdowns=AUDIENCE[:1])
            record("linked", other, hours_ago=n + 1)
        record("linked", ava, account)
        # Every creator so far works on one campaign; the large size adds the rest.
        campaign = Campaign.create(name="Spring launch", client="Northwind")
        campaign.add_creators([c.id for c in Creator.select(Creator.id)])
        _, ava.report_token = ReportLink.issue("Northwind", ACTOR, utcnow(), days=90, campaign=campaign)
        job = MailJob.create(key="query-count-job-key-0123")
        for n, creator in enumerate(Creator.select().order_by(Creator.id)):
            add_message(creator, job, failed=creator.id == ava.id, minutes_ago=100 - n)
    return ava, account


def grow_to_large(ava, account):
    """Add many creators, accounts in every status, figures and ledger entries around the viewed ones."""
    with db.database.atomic():
        for n in range(1, LARGE_ACCOUNTS):
            status = STATUSES[n % len(STATUSES)]
            extra = add_account(ava, f"ava.creates.{n:02d}", status, data_access_days=n)
            if status in (AccountStatus.LINKED, AccountStatus.LINK_BROKEN):
                add_figures(extra, days=3, items=2, breakdowns=AUDIENCE[:2])
            record("refresh_enabled", ava, extra, hours_ago=n)
        add_figures(account, days=0, items=0, breakdowns=AUDIENCE[1:])
        for days_ago in range(3, 41):  # the days build_small left out
            ProfileSnapshot.create(
                account=account, taken_on=utcnow().date() - datetime.timedelta(days=days_ago)
            )
            AccountMetric.create(account=account, metric="views", end_time=day_end(days_ago), value=days_ago)
            AccountMetric.create(account=account, metric="reach", end_time=day_end(days_ago), value=days_ago)
        for n in range(1, 40):
            media = Media.create(
                account=account, ig_media_id=f"m-more-{n}", media_type="VIDEO", posted_at=None
            )
            MediaMetric.create(media=media, metric="views", value=n)
            story = Story.create(account=account, ig_media_id=f"s-more-{n}", media_type="VIDEO")
            StoryMetric.create(story=story, metric="views", value=n)
        for n in range(2, LARGE_CREATORS - 1):
            other = Creator.create(name=f"Creator {n:02d}")
            other.issue_link_token()
            handle = add_account(other, f"c{n:02d}.creates", data_access_days=n % 20)
            add_figures(handle, days=2, items=1, breakdowns=AUDIENCE[:1])
            add_account(other, f"c{n:02d}.second", AccountStatus.UNLINKED)
            # Listed under Ava too: her tab says so on that row, and offers to move it.
            add_account(other, f"ava.creates.{n % LARGE_ACCOUNTS:02d}", AccountStatus.UNLINKED)
            record("linked", other, handle, hours_ago=n)
            record("refreshed", other, handle, hours_ago=n)
        record("linked", ava, account)  # the newest entry again
        Campaign.get().add_creators([c.id for c in Creator.select(Creator.id)])
        for n, creator in enumerate(
            Creator.select().where(Creator.name.startswith("Creator ")).order_by(Creator.id)
        ):
            if creator.id > 3:  # the first ones have theirs already
                add_message(creator, MailJob.get(), failed=n % 2 == 0, minutes_ago=60 - n)


ALL_60 = 'All <span class="count">60</span>'  # the funnel's count of every creator listed
# What the page is, its path, whether it is the htmx swap, a text it shows from the data at both sizes,
# and one it shows only at the large size (None for a page whose content does not grow with the data).
PAGES = [
    ("the creators list", "/creators", False, "Ava Chen", ALL_60),
    ("the creators list swap", "/creators", True, "Ava Chen", ALL_60),
    ("a creators search", "/creators?q=creates", False, "@ava.creates", ALL_60),
    ("a creators search swap", "/creators?q=creates", True, "@ava.creates", ALL_60),
    # The funnel's stages: counted in one GROUP BY, a stage's rows filtered in the page's own query.
    ("the creators at one stage", "/creators?stage=linked", False, "Creator 00", "Creator 15"),
    ("the creators at one stage swap", "/creators?q=creates&stage=linked", True, "Creator 01", "Creator 15"),
    ("the profile Overview", "/creators/{creator}", False, "@ava.creates", "@ava.creates.11"),
    ("the profile Overview swap", "/creators/{creator}", True, "@ava.creates", "@ava.creates.11"),
    ("the Social Accounts tab", "/creators/{creator}/accounts", False, "4,322", "@ava.creates.11"),
    ("the Social Accounts tab swap", "/creators/{creator}/accounts", True, "4,322", "Also listed under"),
    ("the Link Accounts Page tab", "/creators/{creator}/link-accounts", False, "/link/{token}", None),
    ("the Link Accounts Page tab swap", "/creators/{creator}/link-accounts", True, "/link/{token}", None),
    ("the account metrics page", "/creators/{creator}/accounts/{account}/metrics", False, "Reel 0", "Berlin"),
    ("the ledger", "/audit", False, "@ava.creates", "@ava.creates.01"),
    ("the outbox", "/outbox", False, "Link your Instagram account", "page 1 of 3"),
    # What the next reminder run would send, found in one query however many creators are due.
    ("the reminders", "/reminders", False, "Ava Chen", "Creator 12"),
    ("the reminders swap", "/reminders", True, "Ava Chen", "Creator 12"),
    (
        "a bulk invitation's progress",
        "/invitations/{job}",
        False,
        "Ava Chen (c1@creators.test)",
        "Creator 10",
    ),
    (
        "a bulk invitation's progress swap",
        "/invitations/{job}",
        True,
        "Ava Chen (c1@creators.test)",
        "Creator 10",
    ),
    ("the ledger swap", "/audit", True, "@ava.creates", "@ava.creates.01"),
    ("the Link Accounts Page", "/link/{token}", False, "@ava.creates", "@ava.creates.11"),
    ("the overview", "/overview", False, "@ava.creates", "@c10.creates"),
    ("the overview sorted by views", "/overview?sort=views&order=desc", True, "@ava.creates", "@c10.creates"),
    ("the overview of those not linked yet", "/overview?status=not_linked", False, "Overview", "@c10.second"),
    ("a campaign", "/campaigns/{campaign}", False, "@ava.creates", "@c10.creates"),
    ("a client's report", "/r/{report}", False, "@ava.creates", "@ava.creates.01"),
    # Judged against the portal as it is: @c10.creates is another creator's only at the large size.
    ("an import preview", "/creators/import/{upload}", False, "Ava Chen", "already listed under Creator 10"),
    (
        "a campaign swap sorted by reach",
        "/campaigns/{campaign}?sort=reach&order=desc",
        True,
        "Totals",
        None,
    ),
]


def page_statements(client, count_queries, path, htmx, shows):
    """GET the page, check it is the real page with the data in it; return its statements and its body."""
    with count_queries() as statements:
        response = client.get(path, headers=HX if htmx else {})
    body = response.get_data(as_text=True)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    assert shows in body, f"{path} does not show {shows!r}"
    assert ("<html" in body) != htmx, f"{path}: the {'swap' if htmx else 'full page'} has the wrong shape"
    return statements, body


def repeated(statements):
    """Describe the statements that ran more than once, the usual sign of a query per row."""
    counts = collections.Counter(" ".join(str(sql).split()) for sql in statements)
    return "\n".join(f"{n} x {sql[:200]}" for sql, n in counts.most_common() if n > 1) or "none"


@pytest.mark.parametrize(("what", "path", "htmx", "shows", "grown"), PAGES, ids=[page[0] for page in PAGES])
def test_a_page_runs_as_many_queries_with_much_data_as_with_little(
    app, admin_client, count_queries, what, path, htmx, shows, grown
):
    ava, account = build_small()
    campaign = Campaign.get()
    values = {
        "creator": ava.id,
        "account": account.id,
        "token": ava.raw_link_token,
        "campaign": campaign.id,
        "report": ava.report_token,
        "upload": CreatorImport.create(staff=Staff.get(), file_name="creators.csv", csv_text=IMPORTED_CSV).id,
        "job": MailJob.get().id,
    }
    path, shows = path.format(**values), shows.format(**values)
    # The Link Accounts Page is public: it is read by a browser that is not signed in.
    client = app.test_client() if path.startswith(("/link/", "/r/")) else admin_client
    if path.startswith("/link/"):
        an_hour_ago = utcnow() - datetime.timedelta(hours=1)  # opened before: see below
        Creator.update(page_first_opened_at=an_hour_ago, page_last_opened_at=an_hour_ago).where(
            Creator.id == ava.id
        ).execute()

    small, small_body = page_statements(client, count_queries, path, htmx, shows)
    grow_to_large(ava, account)
    if path.startswith("/link/"):
        # Each opening a minute or more after the last notes its time (one UPDATE); one sooner writes
        # nothing. Measured both times as a later opening, so the clock decides nothing here.
        an_hour_ago = utcnow() - datetime.timedelta(hours=1)
        Creator.update(page_last_opened_at=an_hour_ago).where(Creator.id == ava.id).execute()
    large, large_body = page_statements(client, count_queries, path, htmx, shows)

    if grown:
        assert grown not in small_body and grown in large_body, f"{what} does not grow with the data"
    assert len(large) == len(small), (
        f"{what} ({path}) ran {len(small)} SQL statements with little data and {len(large)} with much;"
        f" repeated with much data:\n{repeated(large)}"
    )
