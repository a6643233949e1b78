"""Campaigns and the overview: creators' figures over a campaign's dates, sorted on the server, as CSV."""

import csv
import datetime
import decimal
import html as markup
import io
import re

import pytest

from portal.campaigns import recent
from portal.db import utcnow
from portal.graph.days import day_end, meta_day
from portal.models import (
    AccountMetric,
    AccountStatus,
    Campaign,
    CampaignCreator,
    Creator,
    LedgerEntry,
    MetaGrant,
    ProfileSnapshot,
    SocialAccount,
)

HX = {"HX-Request": "true"}


def today():
    return meta_day(utcnow())


def linked(name, username, views, reach, interactions, days=5, followers=(1000, 1010), expires_in=60):
    """A creator with one linked account and `days` days of daily figures ending yesterday."""
    creator = Creator.create(name=name)
    creator.issue_link_token()
    grant = MetaGrant.create(
        creator=creator,
        provider="facebook",
        meta_user_id=f"1{creator.id}",
        data_access_expires_at=utcnow() + datetime.timedelta(days=expires_in),
    )
    account = SocialAccount.create(
        creator=creator, username=username, status=AccountStatus.LINKED, grant=grant
    )
    for n in range(1, days + 1):
        day = today() - datetime.timedelta(days=n)
        for metric, value in (("views", views), ("reach", reach), ("total_interactions", interactions)):
            AccountMetric.create(account=account, metric=metric, end_time=day_end(day), value=value)
    ProfileSnapshot.create(
        account=account, taken_on=today() - datetime.timedelta(days=days), followers_count=followers[0]
    )
    ProfileSnapshot.create(
        account=account, taken_on=today() - datetime.timedelta(days=1), followers_count=followers[1]
    )
    return creator, account


def html_of(client, url, **kwargs):
    """GET a page that must answer 200 (an error page could still hold a flashed name); return its HTML."""
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def rows_of(html):
    """Return the roster's body rows as lists of cell texts."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            markup.unescape(" ".join(re.sub(r"<[^>]+>", " ", cell).split()))
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def test_staff_create_a_campaign_and_bad_dates_are_explained(admin_client):
    form = {
        "name": "Spring launch",
        "client": "Northwind",
        "starts_on": "2026-11-10",
        "ends_on": "2026-11-01",
    }
    response = admin_client.post("/campaigns/new", data={**form, "csrf_token": admin_client.csrf_token})
    assert response.status_code == 422
    assert "The campaign cannot end before it starts." in response.get_data(as_text=True)
    assert Campaign.select().count() == 0

    form["ends_on"] = "2026-11-30"
    response = admin_client.post("/campaigns/new", data={**form, "csrf_token": admin_client.csrf_token})
    campaign = Campaign.get()
    assert response.status_code == 302 and response.headers["Location"] == f"/campaigns/{campaign.id}"
    assert (campaign.starts_on, campaign.ends_on) == (
        datetime.date(2026, 11, 10),
        datetime.date(2026, 11, 30),
    )
    listing = admin_client.get("/campaigns")
    assert listing.status_code == 200
    assert rows_of(listing.get_data(as_text=True)) == [
        ["Spring launch", "Northwind", "10 Nov 2026 – 30 Nov 2026", "0"]
    ]
    assert LedgerEntry.select().where(LedgerEntry.action == "campaign_created").count() == 1


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_no_instagram_figure_can_have_is_refused(admin_client, day):
    form = {"name": "X", "client": "Y", "starts_on": day, "csrf_token": admin_client.csrf_token}
    response = admin_client.post("/campaigns/new", data=form)
    assert response.status_code == 422 and "between the years 2000 and 2100" in response.get_data(
        as_text=True
    )


def test_creators_are_added_several_at_once_from_the_list_one_from_a_profile_and_removed(admin_client):
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    ava, ben, cy = (Creator.create(name=name) for name in ("Ava Chen", "Ben Ortiz", "Cy Park"))
    listing = html_of(admin_client, "/creators")
    # The ticked boxes belong to one form; "Add to campaign" sends them to the campaign.
    assert 'form="chosen-creators"' in listing and 'formaction="/campaigns/add"' in listing
    assert "Spring launch (Northwind)" in listing

    form = {"campaign": campaign.id, "creator": [ava.id, ben.id], "back": "list"}
    response = admin_client.post("/campaigns/add", data={**form, "csrf_token": admin_client.csrf_token})
    assert response.status_code == 302 and response.headers["Location"] == "/creators"
    # Added again from a profile: only Cy is new.
    profile = html_of(admin_client, f"/creators/{cy.id}")
    assert "Add Cy Park to a campaign" in profile
    form = {"campaign": campaign.id, "creator": [cy.id, ava.id], "back": "profile"}
    admin_client.post("/campaigns/add", data={**form, "csrf_token": admin_client.csrf_token})
    members = {m.creator_id for m in CampaignCreator.select()}
    assert members == {ava.id, ben.id, cy.id}

    page = html_of(admin_client, f"/campaigns/{campaign.id}")
    assert all(name in page for name in ("Ava Chen", "Ben Ortiz", "Cy Park"))
    response = admin_client.post(
        f"/campaigns/{campaign.id}/creators/{ben.id}/remove", data={"csrf_token": admin_client.csrf_token}
    )
    assert response.status_code == 302
    remaining = [row[0] for row in rows_of(html_of(admin_client, f"/campaigns/{campaign.id}"))]
    assert remaining == ["Ava Chen", "Cy Park"]
    assert "Spring launch" in html_of(admin_client, f"/creators/{ava.id}")


def test_the_campaign_page_shows_figures_over_its_dates_with_totals_and_says_why_rows_are_empty(admin_client):
    ava, _ = linked("Ava Chen", "ava.creates", views=100, reach=50, interactions=5, days=10)
    ben = Creator.create(name="Ben Ortiz")
    SocialAccount.add_handle(ben, "ben.bakes")
    cy = Creator.create(name="Cy Park")
    # The campaign covers the last three days only: 3 x 100 views, not 10 x 100.
    campaign = Campaign.create(
        name="Spring launch",
        client="Northwind",
        starts_on=today() - datetime.timedelta(days=3),
        ends_on=today() - datetime.timedelta(days=1),
    )
    campaign.add_creators([ava.id, ben.id, cy.id])
    page = html_of(admin_client, f"/campaigns/{campaign.id}")
    rows = {row[0]: row for row in rows_of(page)}
    ava_row = rows["Ava Chen"]
    assert ava_row[1] == "@ava.creates" and ava_row[2] == "Linked"
    assert ava_row[4:10] == [
        "not given",
        "300",
        "150",
        "not given",
        "15",
        "10.00 %",
    ]  # one reading: no change
    assert rows["Ben Ortiz"][3] == "Not linked yet: send the creator their link."
    assert rows["Cy Park"][3] == "No Instagram handle yet: add one on the creator's profile."
    totals = page.split("<tfoot>", 1)[1]
    assert "Totals (3 rows)" in totals and ">300<" in totals
    assert "interactions ÷ reach × 100" in page  # the engagement rate's formula is stated


def totals_row(html):
    """The roster's totals row as cell texts, its heading first."""
    foot = html.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", foot, re.S)
    return [markup.unescape(" ".join(re.sub(r"<[^>]+>", " ", cell).split())) for cell in cells]


def test_kept_totals_follow_every_change_at_once(admin_client, count_queries):
    # A roster's totals are kept between views (portal/kept.py): any write to what
    # they add up must show on the next view, on the campaign's own dates and on the overview's kept
    # figures alike.
    ava, account = linked("Ava Chen", "ava.creates", views=100, reach=50, interactions=5, days=5)
    ben = Creator.create(name="Ben Ortiz")
    SocialAccount.add_handle(ben, "ben.bakes")
    dated = Campaign.create(
        name="Dated", client="Northwind", starts_on=today() - datetime.timedelta(days=5), ends_on=today()
    )
    dated.add_creators([ava.id])
    url = f"/campaigns/{dated.id}?sort=views&order=desc"
    with count_queries() as first:
        shown = totals_row(html_of(admin_client, url))
    assert shown[:5] == ["Totals (1 row)", "1,010", "+10", "500", "250"]
    with count_queries() as again:
        html_of(admin_client, f"/campaigns/{dated.id}?sort=reach&order=asc")  # another sort: same totals
    adding_up = [sql for sql in first if 'AS "accounts"' in sql]
    assert len(adding_up) == 1 and not any('AS "accounts"' in sql for sql in again)
    assert len(again) == len(first) - 1

    dated.add_creators([ben.id])
    assert totals_row(html_of(admin_client, url))[0] == "Totals (2 rows)"
    AccountMetric.create(account=account, metric="views", end_time=day_end(today()), value=1000)
    assert totals_row(html_of(admin_client, url))[3] == "1,500"
    SocialAccount.update(status=AccountStatus.REVOKED).where(SocialAccount.id == account.id).execute()
    assert totals_row(html_of(admin_client, url))[3] == "1,500"  # what was read before stays counted
    account.delete_instance(recursive=True)
    assert totals_row(html_of(admin_client, url))[:4] == ["Totals (2 rows)", "—", "—", "—"]
    dated.remove_creator(ben.id)
    assert totals_row(html_of(admin_client, url))[0] == "Totals (1 row)"

    # The overview, from the figures the scheduler keeps (portal/campaigns/recent.py).
    cy, cy_account = linked("Cy Park", "cy.cooks", views=10, reach=5, interactions=1, days=30)
    recent.rebuild(today())
    overview = totals_row(html_of(admin_client, "/overview?sort=views&order=desc"))
    assert overview[:5] == ["Totals (3 rows)", "1,010", "—", "290", "145"]  # 29 of its 30 days in the span
    Creator.update(name="Cy Park-Lee").where(Creator.id == cy.id).execute()  # moves nothing it adds up
    AccountMetric.update(value=20).where(AccountMetric.account == cy_account).execute()
    recent.rebuild(today())
    assert totals_row(html_of(admin_client, "/overview?sort=views&order=desc"))[3] == "580"
    SocialAccount.add_handle(cy, "cy.second")
    assert totals_row(html_of(admin_client, "/overview"))[0] == "Totals (4 rows)"


def test_sorting_by_a_figure_happens_on_the_server_across_pages(admin_client, monkeypatch):
    from portal.staff import campaigns

    monkeypatch.setattr(campaigns, "PER_PAGE", 2)
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    creators = [
        linked(f"Creator {n}", f"c{n}.creates", views=100 * n, reach=10, interactions=1)[0]
        for n in (3, 1, 4, 2)
    ]
    campaign.add_creators([c.id for c in creators])
    first = admin_client.get(f"/campaigns/{campaign.id}?sort=views&order=desc", headers=HX)
    html = first.get_data(as_text=True)
    assert "<html" not in html  # htmx swaps the table only
    assert [row[0] for row in rows_of(html)] == ["Creator 4", "Creator 3"]
    assert 'aria-sort="descending"' in html
    second = html_of(admin_client, f"/campaigns/{campaign.id}?sort=views&order=desc&page=2")
    assert [row[0] for row in rows_of(second)] == ["Creator 2", "Creator 1"]
    ascending = html_of(admin_client, f"/campaigns/{campaign.id}?sort=views&order=asc")
    assert [row[0] for row in rows_of(ascending)] == ["Creator 1", "Creator 2"]


def test_campaigns_of_the_same_shape_each_show_their_own_creators_and_dates(admin_client):
    # The roster's SQL is built once per shape and kept (portal/prepared.py): the second campaign's
    # page runs the first's SQL, and must show its own members, over its own dates, on each page.
    ava, _ = linked("Ava Chen", "ava.creates", views=100, reach=50, interactions=5, days=10)
    ben, _ = linked("Ben Ortiz", "ben.bakes", views=7, reach=7, interactions=1, days=10)
    cy, _ = linked("Cy Park", "cy.cooks", views=1, reach=1, interactions=1, days=10)
    short = Campaign.create(
        name="Short", client="Northwind", starts_on=today() - datetime.timedelta(days=2), ends_on=today()
    )
    short.add_creators([ava.id])
    longer = Campaign.create(
        name="Longer", client="Contoso", starts_on=today() - datetime.timedelta(days=5), ends_on=today()
    )
    longer.add_creators([ben.id, cy.id])
    for _ in range(2):  # each campaign after the other's SQL was kept
        first = rows_of(html_of(admin_client, f"/campaigns/{short.id}?sort=views&order=desc"))
        assert [(row[0], row[5]) for row in first] == [("Ava Chen", "200")]
        second = rows_of(html_of(admin_client, f"/campaigns/{longer.id}?sort=views&order=desc"))
        assert [(row[0], row[5]) for row in second] == [("Ben Ortiz", "35"), ("Cy Park", "5")]


def test_the_overview_filters_by_link_state_and_campaign(admin_client):
    ava, _ = linked("Ava Chen", "ava.creates", views=10, reach=5, interactions=1)
    eve, _ = linked("Eve Expiring", "eve.ends", views=10, reach=5, interactions=1, expires_in=5)
    ben = Creator.create(name="Ben Ortiz")
    SocialAccount.add_handle(ben, "ben.bakes")
    vera = Creator.create(name="Vera Verified")
    SocialAccount.create(creator=vera, username="vera.proves", status=AccountStatus.VERIFIED)
    broken = Creator.create(name="Bo Broken")
    SocialAccount.create(creator=broken, username="bo.broke", status=AccountStatus.LINK_BROKEN)
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    campaign.add_creators([ava.id, ben.id])

    def names(query):
        return [row[0] for row in rows_of(html_of(admin_client, f"/overview{query}"))]

    assert names("") == ["Ava Chen", "Ben Ortiz", "Bo Broken", "Eve Expiring", "Vera Verified"]
    assert names("?status=linked") == ["Ava Chen", "Eve Expiring"]
    assert names("?status=not_linked") == ["Ben Ortiz", "Vera Verified"]
    statuses = {row[0]: row[2] for row in rows_of(html_of(admin_client, "/overview?status=not_linked"))}
    assert statuses == {"Ben Ortiz": "Not linked yet", "Vera Verified": "Verified"}
    assert names("?status=broken") == ["Bo Broken"]
    assert names("?status=expiring") == ["Eve Expiring"]
    badges = {row[0]: row[2] for row in rows_of(html_of(admin_client, "/overview?status=linked"))}
    ends = (utcnow() + datetime.timedelta(days=5)).strftime("%d %b")
    assert badges == {"Ava Chen": "Linked", "Eve Expiring": f"Linked Data access ends {ends}"}
    assert names(f"?campaign={campaign.id}") == ["Ava Chen", "Ben Ortiz"]
    assert names("?status=nonsense&campaign=99999999999999999999") == names("")
    # The worklist row carries the link to send again.
    worklist = html_of(admin_client, "/overview?status=not_linked")
    assert re.search(r'value="http://localhost/link/[\w-]{43}"', worklist) is None  # Ben has no link yet
    ben.issue_link_token()
    worklist = html_of(admin_client, "/overview?status=not_linked")
    assert re.search(r'value="http://localhost/link/[\w-]{43}"', worklist)
    # A link issued for a time that is over is not one to send again.
    ben.issue_link_token(valid_for=datetime.timedelta(days=1))
    Creator.update(link_expires_at=utcnow() - datetime.timedelta(minutes=1)).where(
        Creator.id == ben.id
    ).execute()
    worklist = html_of(admin_client, "/overview?status=not_linked")
    assert re.search(r'value="http://localhost/link/[\w-]{43}"', worklist) is None
    assert "Their link has expired" in worklist and f"/creators/{ben.id}/link" in worklist


def test_each_not_linked_row_carries_its_own_creators_link(admin_client):
    # A page opens each creator's link once for all their rows (Row.opened): every row still shows
    # its own creator's link, never a neighbour's.
    links = {}
    for name in ("Ana Two", "Bo Three"):
        creator = Creator.create(name=name)
        for n in range(2 if name == "Ana Two" else 3):
            SocialAccount.add_handle(creator, f"{name.split()[0].lower()}.{n}")
        links[name] = creator.issue_link_token()
    worklist = html_of(admin_client, "/overview?status=not_linked")
    shown = re.findall(
        r'Link for ([^<]+)</label><input[^>]*value="http://localhost/link/([\w-]{43})"', worklist
    )
    assert shown == [("Ana Two", links["Ana Two"])] * 2 + [("Bo Three", links["Bo Three"])] * 3


def test_the_overview_csv_holds_what_the_page_shows(admin_client):
    linked("Ava Chen", "ava.creates", views=120, reach=40, interactions=6)
    linked("=Mallory", "mal.lory", views=30, reach=0, interactions=2)
    Creator.create(name="Cy Park")
    page = html_of(admin_client, "/overview?sort=views&order=desc")
    response = admin_client.get("/overview.csv?sort=views&order=desc")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, lines = table[0], table[1:]
    assert header[:8] == [
        "creator",
        "account",
        "status",
        "followers",
        "followers_change",
        "views",
        "reach",
        "accounts_engaged",
    ]
    assert [line[0] for line in lines] == ["Ava Chen", "'=Mallory", "Cy Park"]  # a formula stays text
    shown = {row[0]: row for row in rows_of(page)}
    for line in lines[:2]:
        name = line[0].lstrip("'")
        assert line[5] == shown[name][5].replace(",", "")  # views as the page shows them
    assert lines[0][header.index("engagement_rate")] == "15"  # 6 x 5 / (40 x 5) x 100
    assert lines[1][header.index("engagement_rate")] == ""  # no reach: no rate, not 0


def test_the_overview_csv_quotes_hostile_names_and_keeps_a_fall_in_followers_a_number(admin_client):
    linked('=HYPERLINK("http://x")', "mal.lory", views=30, reach=10, interactions=2, followers=(1000, 995))
    linked("@SUM(1)", "sum.one", views=20, reach=10, interactions=1)
    table = list(csv.reader(io.StringIO(admin_client.get("/overview.csv").get_data(as_text=True))))
    header, lines = table[0], {line[1]: line for line in table[1:]}
    assert lines["mal.lory"][0] == '\'=HYPERLINK("http://x")'
    assert lines["sum.one"][0] == "'@SUM(1)"
    assert lines["mal.lory"][header.index("followers_change")] == "-5"  # a figure, not text


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("views", 1234567, "1,234,567"),
        ("views", decimal.Decimal("31797"), "31,797"),  # PostgreSQL adds up in numeric
        ("followers_change", 10, "+10"),
        ("followers_change", -3, "-3"),
        ("followers_change", 0, "0"),
        ("engagement_rate", 6.666666, "6.67 %"),
        ("reels_watch", 10041.67, "10.0 s"),  # milliseconds, as Instagram gives them
    ],
)
def test_a_roster_figure_reads_as_the_page_shows_it(kind, value, shown):
    from portal.numbers import format_total

    assert format_total(kind, value) == shown
