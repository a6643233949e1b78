"""A creator's social accounts for staff: the row's actions, the metrics page, the CSV and story files."""

import csv
import datetime
import io
import json
import re
from urllib.parse import parse_qs, urlsplit

from portal.db import utcnow
from portal.graph.days import day_end as meta_day_end
from portal.graph.days import meta_day
from portal.insights import figures
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Creator,
    Media,
    MediaMetric,
    MetaGrant,
    ProfileSnapshot,
    SocialAccount,
    Story,
    StoryMetric,
)

HX = {"HX-Request": "true"}
GRAPH_BATCH = "https://graph.facebook.com/v27.0/"
IG_ID = "17841400000000001"
ADMIN_EMAIL = "admin@example.com"
FEW_FOLLOWERS = "Instagram gives no audience figures for accounts with fewer than 100 followers."
FEW_VIEWERS = "Too few people viewed this story for Instagram to report its figures."


def post(client, path, data=None, htmx=False):
    headers = {"X-CSRFToken": client.csrf_token, **(HX if htmx else {})}
    return client.post(path, data=data or {}, headers=headers)


def account_url(account, action=""):
    return f"/creators/{account.creator_id}/accounts/{account.id}{action}"


def link(account, **fields):
    """Mark the account linked through a Page token, as Connect Business leaves it; return it fresh."""
    grant = MetaGrant.create(
        creator=account.creator_id, provider="facebook", meta_user_id="1", user_token="EAAuser"
    )
    values = {
        "status": AccountStatus.LINKED,
        "ig_user_id": IG_ID,
        "grant": grant,
        "page_token": "EAAJpageToken101xyz",
        "page_name": "Ava Studio",
        "linked_by_name": "Gabriela Good",
        **fields,
    }
    SocialAccount.update(**values).where(SocialAccount.id == account.id).execute()
    return SocialAccount.get_by_id(account.id)


def ava(creator):
    return creator.accounts().get()


def day_end(days_ago):
    """The end_time Meta gives the daily metric of the (Pacific) day `days_ago` days before today."""
    return meta_day_end(meta_day(utcnow()) - datetime.timedelta(days=days_ago))


def add_views(account, days_ago, value, metric="views"):
    AccountMetric.create(
        account=account, metric=metric, end_time=day_end(days_ago), value=value, fetched_at=utcnow()
    )


def row_of(body, account):
    match = re.search(rf'<li id="account-{account.id}".*?</li>\s*(?=<li id="account-|</ul>|$)', body, re.S)
    assert match, body
    return match.group(0)


def plain(html):
    """The text of some HTML, tags dropped and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


class FakeMeta:
    """Answers a Graph batch the way Meta documents it: a profile, daily metrics, an audience, no media."""

    def __init__(self, fault=None):
        self.fault = fault  # (status, error body) for every call, or None
        self.items = []

    def answer(self, path, query):
        if self.fault:
            return self.fault
        if path == IG_ID:
            return 200, {"id": IG_ID, "username": "ava.creates", "followers_count": 1500, "media_count": 40}
        if path.endswith("/insights") and "breakdown" in query:
            if query["breakdown"] != "age":
                return 200, {"data": []}
            results = [
                {"dimension_values": ["25-34"], "value": 700},
                {"dimension_values": ["18-24"], "value": 300},
            ]
            part = {"dimension_keys": ["age"], "results": results}
            return 200, {"data": [{"name": query["metric"], "total_value": {"breakdowns": [part]}}]}
        if path.endswith("/insights"):
            metrics = query["metric"].split(",")
            data = [{"name": m, "period": "day", "total_value": {"value": 4321}} for m in metrics]
            return 200, {"data": data}
        return 200, {"data": []}  # media and stories

    def __call__(self, request, context):
        answers = []
        for entry in json.loads(parse_qs(request.text)["batch"][0]):
            url = urlsplit(entry["relative_url"])
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            self.items.append(url.path)
            status, body = self.answer(url.path, query)
            answers.append({"code": status, "body": json.dumps(body)})
        return answers


def signed_in(application, sign_in):
    """Return a test client of this app signed in as the administrator."""
    browser = application.test_client()
    browser.csrf_token = sign_in(browser, ADMIN_EMAIL)
    return browser


# --- The Social Accounts tab: one row per account ---


def test_each_account_is_a_row_with_status_followers_views_and_as_of(admin_client, creator):
    account = link(ava(creator), followers_count=48200, last_refreshed_at=utcnow())
    add_views(account, 2, 900)
    add_views(account, 1, 1234)
    SocialAccount.add_handle(creator, "ava.travels")

    body = admin_client.get(f"/creators/{creator.id}/accounts").get_data(as_text=True)
    linked_row = row_of(body, account)
    assert 'hx-target="this"' in linked_row and 'hx-swap="outerHTML"' in linked_row
    assert 'role="img" aria-label="Linked"' in linked_row
    assert "Followers 48,200" in plain(linked_row) and "Views 1,234 on" in plain(linked_row)
    assert "as of" in plain(linked_row) and "Refresh stats" in linked_row and "Unlink" in linked_row
    other = row_of(body, SocialAccount.get(SocialAccount.username == "ava.travels"))
    assert 'aria-label="Linked"' not in other and "Not linked" in other
    assert "Refresh stats" not in other and "Remove" in other


def test_unknown_followers_and_views_say_not_available_never_zero(admin_client, creator):
    account = link(ava(creator), followers_count=None)
    row = plain(row_of(admin_client.get(f"/creators/{creator.id}/accounts").get_data(as_text=True), account))
    assert "Followers not available" in row and "Views not available" in row
    assert "never refreshed" in row and " 0 " not in f" {row} "


def test_last_error_is_shown_in_plain_words(admin_client, creator):
    account = link(
        ava(creator), status=AccountStatus.LINK_BROKEN, last_error="Instagram access ended: expired"
    )
    row = row_of(admin_client.get(f"/creators/{creator.id}/accounts").get_data(as_text=True), account)
    assert "Last refresh failed: Instagram access ended: expired" in row and "Link broken" in row


def test_latest_views_of_every_row_come_from_one_query(app, creator, count_queries):
    accounts = [link(ava(creator))] + [SocialAccount.add_handle(creator, f"extra.{n}") for n in range(3)]
    for n, account in enumerate(accounts[:3]):
        add_views(account, 3, 10 + n)
        add_views(account, 1, 100 + n)
        add_views(account, 1, 5, metric="reach")
    with count_queries() as statements:
        latest = figures.latest_views(accounts)
    assert len(statements) == 1
    assert {account_id: row.value for account_id, row in latest.items()} == {
        accounts[0].id: 100,
        accounts[1].id: 101,
        accounts[2].id: 102,
    }


# --- Scheduled refresh switch ---


def test_switch_flips_only_refresh_enabled_and_swaps_the_row(admin_client, creator):
    account = link(ava(creator), followers_count=48200, last_error="old problem")
    before = SocialAccount.select().where(SocialAccount.id == account.id).dicts().get()

    response = post(admin_client, account_url(account, "/toggle"), {"enabled": "0"}, htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith(f'<li id="account-{account.id}"')
    assert 'role="switch"' in body and 'aria-checked="false"' in body and "Scheduled refresh off" in body
    after = SocialAccount.select().where(SocialAccount.id == account.id).dicts().get()
    assert after.pop("refresh_enabled") is False and before.pop("refresh_enabled") is True
    assert after == before
    assert "HX-Request" in response.headers["Vary"]


def test_switch_without_htmx_redirects_and_the_page_keeps_the_state(admin_client, creator):
    account = link(ava(creator))
    response = post(admin_client, account_url(account, "/toggle"), {"enabled": "0"})
    assert response.status_code == 302 and response.location.endswith(f"/creators/{creator.id}/accounts")
    page = admin_client.get(response.location).get_data(as_text=True)
    assert "<html" in page and "Scheduled refresh is off for @ava.creates." in page
    assert 'aria-checked="false"' in row_of(page, account)
    post(admin_client, account_url(account, "/toggle"), {"enabled": "1"})
    assert SocialAccount.get_by_id(account.id).refresh_enabled is True


def test_switch_with_no_state_given_flips_it(admin_client, creator):
    account = link(ava(creator))
    post(admin_client, account_url(account, "/toggle"), htmx=True)
    assert SocialAccount.get_by_id(account.id).refresh_enabled is False


# --- Refresh stats ---


def test_refresh_of_a_linked_account_swaps_in_fresh_figures(meta_app, creator, admin, sign_in, no_network):
    account = link(ava(creator), followers_count=900)
    add_views(account, 0, 12)  # read before: only the days since (and two late ones) are asked again
    meta = FakeMeta()
    no_network.post(GRAPH_BATCH, json=meta)
    browser = signed_in(meta_app, sign_in)

    response = post(browser, account_url(account, "/refresh"), htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith(f'<li id="account-{account.id}"')
    text = plain(body)
    assert "Stats refreshed." in text and "Followers 1,500" in text and "Views 4,321 on" in text
    assert f"as of {utcnow():%d %b %Y}" in text
    assert IG_ID in meta.items and no_network.call_count == 1
    assert SocialAccount.get_by_id(account.id).last_refreshed_at is not None


def test_refresh_without_htmx_redirects_to_the_tab_with_the_outcome(
    meta_app, creator, admin, sign_in, no_network
):
    account = link(ava(creator))
    no_network.post(GRAPH_BATCH, json=FakeMeta())
    browser = signed_in(meta_app, sign_in)
    response = post(browser, account_url(account, "/refresh"))
    assert response.status_code == 302
    page = browser.get(response.location).get_data(as_text=True)
    assert (
        "<html" in page and "Stats refreshed." in page and "Followers 1,500" in plain(row_of(page, account))
    )


def test_refresh_that_fails_shows_the_reason_in_the_row(meta_app, creator, admin, sign_in, no_network):
    account = link(ava(creator), followers_count=900)
    expired = {"error": {"message": "Error validating access token: Session has expired", "code": 190}}
    no_network.post(GRAPH_BATCH, json=FakeMeta(fault=(400, expired)))
    browser = signed_in(meta_app, sign_in)

    response = post(browser, account_url(account, "/refresh"), htmx=True)
    text = plain(response.get_data(as_text=True))
    assert response.status_code == 200
    assert (
        "Refresh failed. Instagram access ended: Error validating access token: Session has expired" in text
    )
    assert "Link broken" in text and "Followers 900" in text  # the figures read before are kept
    assert SocialAccount.get_by_id(account.id).status == AccountStatus.LINK_BROKEN


def test_an_account_that_is_not_linked_cannot_be_refreshed(admin_client, creator, no_network):
    account = ava(creator)
    response = post(admin_client, account_url(account, "/refresh"), htmx=True)
    assert response.status_code == 409
    assert "Only linked accounts can be refreshed; @ava.creates is not linked." in response.get_data(
        as_text=True
    )
    assert no_network.call_count == 0


def test_refresh_stats_is_rate_limited_per_account(admin_client, creator):
    account = ava(creator)
    other = SocialAccount.add_handle(creator, "ava.travels")
    for _ in range(6):
        assert post(admin_client, account_url(account, "/refresh"), htmx=True).status_code == 409
    refused = post(admin_client, account_url(account, "/refresh"), htmx=True)
    assert refused.status_code == 429
    body = refused.get_data(as_text=True)
    assert body.lstrip().startswith(f'<li id="account-{account.id}"') and "wait a minute" in body
    assert post(admin_client, account_url(other, "/refresh"), htmx=True).status_code == 409
    plain_post = post(admin_client, account_url(account, "/refresh"))
    assert plain_post.status_code == 302  # back to the tab, which says why
    assert "Refreshed several times just now" in admin_client.get(plain_post.location).get_data(as_text=True)


# --- Unlink ---


def test_unlink_from_the_row_deletes_the_access_and_keeps_the_figures(admin_client, creator):
    account = link(ava(creator), followers_count=48200)
    add_views(account, 1, 77)
    response = post(admin_client, account_url(account, "/unlink"), htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(f'<li id="account-{account.id}"')
    assert "Revoked" in body and 'aria-label="Linked"' not in body and "Remove" in body
    stored = SocialAccount.get_by_id(account.id)
    assert stored.status == AccountStatus.REVOKED and stored.page_token is None
    assert AccountMetric.select().count() == 1 and stored.followers_count == 48200


def test_unlink_of_an_account_never_linked_changes_nothing(admin_client, creator, db_rows):
    before = db_rows()
    response = post(admin_client, account_url(ava(creator), "/unlink"), htmx=True)
    assert response.status_code == 409 and "there is no link to remove" in response.get_data(as_text=True)
    assert db_rows() == before


def test_actions_on_an_account_of_another_creator_are_404(admin_client, creator):
    account = link(ava(creator))
    other = Creator.create(name="Marco Rossi")
    for action in ("/refresh", "/toggle", "/unlink"):
        assert post(admin_client, f"/creators/{other.id}/accounts/{account.id}{action}").status_code == 404
    for action in ("/metrics", "/metrics.csv", "/stories/1/file"):
        assert admin_client.get(f"/creators/{other.id}/accounts/{account.id}{action}").status_code == 404
    assert SocialAccount.get_by_id(account.id).refresh_enabled is True


# --- The metrics page ---


def seed_figures(account, *, audience=True):
    """Store a little of everything: followers, days, audience, a reel and a story."""
    now = utcnow()
    for days_ago, followers in ((2, 48100), (0, 48230)):
        ProfileSnapshot.create(
            account=account,
            taken_on=now.date() - datetime.timedelta(days=days_ago),
            followers_count=followers,
        )
    add_views(account, 3, 5100)
    add_views(account, 1, 6200)
    add_views(account, 1, 3900, metric="reach")
    age = {"18-24": 3000, "25-34": 4500}
    AudienceSnapshot.create(
        account=account,
        metric="follower_demographics",
        breakdown="age",
        data=json.dumps(age if audience else {}),
        available=audience,
        note=None if audience else FEW_FOLLOWERS,
    )
    AudienceSnapshot.create(
        account=account,
        metric="follower_demographics",
        breakdown="city",
        data=json.dumps({"=HYPERLINK(1)": 12, "London, England": 900}),
    )
    reel = Media.create(
        account=account,
        ig_media_id="18000000000000001",
        media_type="VIDEO",
        media_product_type="REELS",
        caption="Morning <b>routine</b>",
        permalink="https://www.instagram.com/reel/abc/",
        posted_at=now - datetime.timedelta(days=2),
    )
    for metric, value in (
        ("views", 8800),
        ("reach", 6100),
        ("saved", 42),
        ("ig_reels_avg_watch_time", 12345),
    ):
        MediaMetric.create(media=reel, metric=metric, value=value)
    MediaMetric.create(media=reel, metric="ig_reels_video_view_total_time", value=7_509_000)
    story = Story.create(
        account=account,
        ig_media_id="17900000000000001",
        media_type="IMAGE",
        posted_at=now,
        insights_note=FEW_VIEWERS,
    )
    return reel, story


def test_metrics_page_shows_charts_videos_audience_and_stories(admin_client, creator):
    account = link(ava(creator), followers_count=48230, last_refreshed_at=utcnow())
    seed_figures(account)
    response = admin_client.get(account_url(account, "/metrics"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in body
    assert f'href="/creators/{creator.id}/accounts"' in body  # the way back to the creator
    for heading in ("Followers over time", "Daily views and reach (last 30 days)", "Recent videos and reels"):
        assert heading in body
    assert body.count('role="img" aria-labelledby=') >= 4  # followers, daily, age, city
    assert "<td>6,200</td>" in body and "<td>3,900</td>" in body  # the daily chart's table
    text = plain(body)
    assert "12.3 s" in text and "2 h 05 m 09 s" in text  # watch time in seconds, and h/m/s
    assert "Morning &lt;b&gt;routine&lt;/b&gt;" in body and "<b>routine" not in body
    assert "Followers by age" in text and "<td>4,500</td>" in body
    assert "Figures not available. " + FEW_VIEWERS in text
    assert "Download CSV" in body and f"{account_url(account, '/metrics.csv')}" in body


def test_metrics_page_says_why_audience_is_missing_and_never_shows_zero(admin_client, creator):
    account = link(ava(creator), followers_count=None)
    seed_figures(account, audience=False)
    body = admin_client.get(account_url(account, "/metrics")).get_data(as_text=True)
    text = plain(body)
    assert "Not available. " + FEW_FOLLOWERS in text
    assert "Followers not available" in text
    reel_row = re.search(r"<tr>\s*<td data-label=\"Posted\">.*?</tr>", body, re.S).group(0)
    assert 'data-label="Shares"><span class="not-available">not available</span>' in reel_row
    assert ">0<" not in reel_row
    # The engaged audience was never read: it says so instead of drawing empty charts.
    assert "No audience figures have been read yet" in text
    assert "Taps and swipes not available" in text  # the story's figures Instagram would not give


def test_metrics_page_of_an_account_with_no_figures_yet(admin_client, creator):
    body = admin_client.get(account_url(ava(creator), "/metrics")).get_data(as_text=True)
    text = plain(body)
    assert "No follower counts have been read yet." in text
    assert "No daily figures have been read yet." in text
    assert "No videos or reels have been read yet." in text and "No stories have been captured yet." in text


# --- CSV ---


def test_csv_holds_every_figure_as_an_attachment(admin_client, creator):
    account = link(ava(creator))
    seed_figures(account)
    response = admin_client.get(account_url(account, "/metrics.csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="ava.creates-figures.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == [
        "kind",
        "item",
        "metric",
        "breakdown",
        "period",
        "day",
        "end_time",
        "value",
        "fetched_at",
        "note",
    ]
    kinds = {row["kind"] for row in rows}
    assert kinds == {"profile", "daily", "audience", "media", "story"}
    followers = [
        row["value"] for row in rows if row["kind"] == "profile" and row["metric"] == "followers_count"
    ]
    assert followers == ["48100", "48230"]
    views = [r for r in rows if r["kind"] == "daily" and r["metric"] == "views"]
    assert [r["value"] for r in views] == ["5100", "6200"] and all(r["fetched_at"] for r in views)
    # Each daily figure is labelled with Meta's day (a Pacific date) and ends at Meta's end_time.
    today = meta_day(utcnow())
    assert [r["day"] for r in views] == [str(today - datetime.timedelta(days=n)) for n in (3, 1)]
    assert [r["end_time"] for r in views] == [day_end(n).isoformat() for n in (3, 1)]
    ages = {r["item"]: r["value"] for r in rows if r["kind"] == "audience" and r["breakdown"] == "age"}
    assert ages == {"18-24": "3000", "25-34": "4500"}
    story = [r for r in rows if r["kind"] == "story"]
    assert story == [{**story[0], "value": "", "note": FEW_VIEWERS}]
    watch = [r for r in rows if r["metric"] == "ig_reels_video_view_total_time"]
    assert watch[0]["value"] == "7509000" and watch[0]["item"] == "18000000000000001"


def test_csv_keeps_third_party_text_from_running_as_a_formula(admin_client, creator):
    account = link(ava(creator))
    seed_figures(account)
    rows = list(
        csv.reader(io.StringIO(admin_client.get(account_url(account, "/metrics.csv")).get_data(as_text=True)))
    )
    cities = [row[1] for row in rows if row[3] == "city"]
    assert "'=HYPERLINK(1)" in cities and "London, England" in cities


# --- Archived story files ---


def test_archived_story_image_is_served_to_staff(app, admin_client, creator, tmp_path):
    archive = tmp_path / "stories"
    (archive / "1").mkdir(parents=True)
    (archive / "1" / "17900000000000001.jpg").write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    app.config["STORY_ARCHIVE"] = str(archive)
    account = link(ava(creator))
    _, story = seed_figures(account)
    Story.update(archived_file=str(archive / "1" / "17900000000000001.jpg")).where(
        Story.id == story.id
    ).execute()

    page = admin_client.get(account_url(account, "/metrics")).get_data(as_text=True)
    file_url = account_url(account, f"/stories/{story.id}/file")
    assert f'<img src="{file_url}"' in page
    response = admin_client.get(file_url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.get_data() == b"\xff\xd8\xff\xe0 a jpeg"
    StoryMetric.create(story=story, metric="views", value=3)  # the page still renders with figures
    assert admin_client.get(account_url(account, "/metrics")).status_code == 200


def test_story_file_refuses_paths_outside_the_archive(app, admin_client, creator, tmp_path):
    archive = tmp_path / "stories"
    archive.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for staff eyes")
    app.config["STORY_ARCHIVE"] = str(archive)
    account = link(ava(creator))
    _, story = seed_figures(account)
    for stored in (
        str(secret),
        "../secret.txt",
        str(archive / ".." / "secret.txt"),
        str(archive / "missing.jpg"),
    ):
        Story.update(archived_file=stored).where(Story.id == story.id).execute()
        response = admin_client.get(account_url(account, f"/stories/{story.id}/file"))
        assert response.status_code == 404, stored
        assert "not for staff eyes" not in response.get_data(as_text=True)


# --- Signing in ---


def test_account_pages_and_actions_need_a_signed_in_staff_member(client, creator, csrf, db_rows):
    account = link(ava(creator))
    before = db_rows()
    for action in ("/metrics", "/metrics.csv", "/stories/1/file"):
        response = client.get(account_url(account, action))
        assert response.status_code == 302 and response.location.startswith("/login"), action
    token = csrf(client)
    for action in ("/refresh", "/toggle", "/unlink"):
        response = client.post(account_url(account, action), headers={"X-CSRFToken": token})
        assert response.status_code == 302 and response.location.startswith("/login"), action
        htmx = client.post(account_url(account, action), headers={"X-CSRFToken": token, **HX})
        assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    assert db_rows() == before
