"""Link health for staff: expiries, permissions, last reads and throttling; accounts losing access soon."""

import datetime
import html
import re

from portal import db
from portal.connections import link_health as health
from portal.db import utcnow
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Creator,
    Media,
    MetaGrant,
    ProfileSnapshot,
    SocialAccount,
    Story,
)

HX = {"HX-Request": "true"}
ALL_SCOPES = "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement,public_profile"


def plain(page):
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    return re.sub(r" ([.,;:)])", r"\1", re.sub(r"\( ", "(", text))


def days(n):
    return datetime.timedelta(days=n)


def linked(creator, username, *, status=AccountStatus.LINKED, scopes=ALL_SCOPES, **grant_fields):
    """Return a creator's account linked through a new grant with these fields."""
    grant = MetaGrant.create(
        creator=creator, provider="facebook", meta_user_id="1015", granted_scopes=scopes, **grant_fields
    )
    account = SocialAccount.get_or_none(
        (SocialAccount.creator == creator) & (SocialAccount.username == username)
    ) or SocialAccount.create(creator=creator, username=username)
    SocialAccount.update(status=status, grant=grant, granted_scopes=scopes, page_token="EAAJpage").where(
        SocialAccount.id == account.id
    ).execute()
    return SocialAccount.get_by_id(account.id)


def metrics_page(client, account):
    response = client.get(f"/creators/{account.creator_id}/accounts/{account.id}/metrics")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    start = html.index('<section class="panel" id="link-health"')
    return plain(html[start : html.index("</section>", start)])


def stamp(moment):
    return moment.strftime("%d %b %Y, %H:%M UTC")


def count_statements(monkeypatch):
    """Count the SQL statements run from now on; return the list they are appended to."""
    statements = []
    execute = db.database.obj.execute_sql
    monkeypatch.setattr(
        db.database.obj, "execute_sql", lambda *a, **k: statements.append(a) or execute(*a, **k)
    )
    return statements


# --- The link health panel on the metrics page ---


def test_health_shows_expiries_missing_scopes_last_reads_error_and_throttling(admin_client, creator):
    now = utcnow()
    scopes = "instagram_basic,pages_show_list,pages_read_engagement,business_management"
    account = linked(
        creator,
        "ava.creates",
        scopes=scopes,
        token_expires_at=now + days(40),
        data_access_expires_at=now + days(5),
    )
    wait = now + datetime.timedelta(hours=1)
    SocialAccount.update(
        last_error="Permission missing: (#10) Application does not have permission for this action",
        refresh_deferred_until=wait,
    ).where(SocialAccount.id == account.id).execute()
    read_profile, read_daily, read_media = now - days(2), now - days(1), now - datetime.timedelta(hours=3)
    ProfileSnapshot.create(account=account, taken_on=now.date() - days(3), fetched_at=now - days(3))
    ProfileSnapshot.create(account=account, taken_on=now.date() - days(2), fetched_at=read_profile)
    AccountMetric.create(account=account, metric="views", end_time=now, value=5, fetched_at=read_daily)
    Media.create(account=account, ig_media_id="1801", media_type="VIDEO", fetched_at=read_media)

    text = metrics_page(admin_client, account)
    assert "Data access ends in 5 days" in text and "Send Ava Chen their link again" in text
    # The account is read with its Page token: the user token's expiry is shown, and ends nothing.
    assert (
        "Access token Read with a Page token, which does not expire. The Facebook user's own token "
        f"expires {stamp(now + days(40))}; that ends nothing here."
    ) in text
    assert f"Data access Until {stamp(now + days(5))}" in text
    assert "Missing 1 of 4 needed:" in text
    assert "Missing: Access insights for the Instagram account (instagram_manage_insights)" in text
    assert "Granted: Access profile and posts from the Instagram account (instagram_basic)" in text
    assert "Also granted: business_management." in text
    assert "Last error Permission missing: (#10) Application does not have permission" in text
    assert f"Rate limit Meta asked us to slow down. Next refresh after {stamp(wait)}." in text
    assert f"Profile {stamp(read_profile)}" in text
    assert f"Daily metrics {stamp(read_daily)}" in text
    assert "Audience never" in text
    assert f"Posts and reels {stamp(read_media)}" in text
    assert "Stories never" in text


def test_a_page_token_does_not_expire_and_no_throttling_is_reported(admin_client, creator):
    account = linked(creator, "ava.creates", data_access_expires_at=utcnow() + days(60))
    SocialAccount.update(refresh_deferred_until=utcnow() - days(1)).where(
        SocialAccount.id == account.id
    ).execute()  # Meta's wait is over
    text = metrics_page(admin_client, account)
    assert "Access token Read with a Page token, which does not expire." in text
    assert "ends nothing" not in text  # no user token expiry on record
    assert "All 4 needed are granted." in text and "Missing" not in text
    assert "Last error None" in text and "Rate limit No throttling reported." in text
    assert "Data access ends" not in text and "Data access has ended" not in text


def test_an_account_read_with_the_user_token_ends_with_it(admin_client, creator):
    expires = utcnow() + days(20)
    account = linked(creator, "ava.creates", token_expires_at=expires)
    SocialAccount.update(page_token=None).where(SocialAccount.id == account.id).execute()
    text = metrics_page(admin_client, account)
    assert (
        f"Access token Read with the Facebook user's token: expires {stamp(expires)}, and the link with it."
        in text
    )


def test_throttling_of_this_account_alone_says_so(admin_client, creator):
    account = linked(creator, "ava.creates")
    wait = utcnow() + datetime.timedelta(minutes=30)
    reason = f"Instagram's limit for this account: Meta asked us to wait until {wait:%Y-%m-%d %H:%M} UTC."
    SocialAccount.update(refresh_deferred_until=wait, deferred_reason=reason).where(
        SocialAccount.id == account.id
    ).execute()
    assert f"Rate limit {reason} Next refresh after {stamp(wait)}." in metrics_page(admin_client, account)


def test_stories_are_polled_only_while_story_webhooks_are_off(admin_client, creator):
    text = metrics_page(admin_client, linked(creator, "ava.creates"))
    assert "Stories Polling only: live stories are read every hour (story webhooks are off" in text


def test_data_access_that_has_ended_says_so(admin_client, creator):
    ended = utcnow() - days(2)
    account = linked(creator, "ava.creates", status=AccountStatus.LINK_BROKEN, data_access_expires_at=ended)
    text = metrics_page(admin_client, account)
    assert "Data access has ended" in text and f"Data access Ended {stamp(ended)}" in text


def test_an_account_without_a_link_has_no_access_to_check(admin_client, creator):
    account = creator.accounts().get()
    text = metrics_page(admin_client, account)
    assert "has no Business Insights link (not linked): there is no access to check." in text
    assert "Access token" not in text


def test_last_reads_of_every_kind_for_many_accounts_come_from_one_query(app, creator, monkeypatch):
    now = utcnow()
    first = creator.accounts().get()
    second = SocialAccount.add_handle(creator, "ava.travels")
    AudienceSnapshot.create(account=first, metric="follower_demographics", breakdown="age", fetched_at=now)
    AudienceSnapshot.create(
        account=first, metric="follower_demographics", breakdown="city", fetched_at=now - days(1)
    )
    Story.create(account=second, ig_media_id="1799", media_type="IMAGE", fetched_at=now - days(4))
    statements = count_statements(monkeypatch)
    latest = health.latest_fetches([first.id, second.id])
    assert len(statements) == 1
    assert latest == {first.id: {"audience": now}, second.id: {"stories": now - days(4)}}


# --- Accounts losing data access soon, on the creators page ---


def test_creators_page_lists_accounts_losing_data_access_with_the_creators_link(admin_client, creator):
    now = utcnow()
    bo = Creator.create(name="Bo Lindqvist")
    bo_token = bo.issue_link_token()
    soon = linked(creator, "ava.creates", data_access_expires_at=now + days(5))
    ended = linked(bo, "bo.bakes", data_access_expires_at=now - days(2))
    linked(creator, "ava.later", data_access_expires_at=now + days(20))
    linked(bo, "bo.gone", status=AccountStatus.REVOKED, data_access_expires_at=now + days(3))
    linked(bo, "bo.unknown")  # Facebook never said when

    html = admin_client.get("/creators").get_data(as_text=True)
    start = html.index('id="losing-access"')
    panel = html[start : html.index("</section>", start)]
    text = plain(panel)
    assert "Losing data access soon" in text
    assert re.findall(r"@[a-z.]+", text) == ["@bo.bakes", "@ava.creates"]  # soonest (or already over) first
    assert f"Ended {stamp(now - days(2))}" in text and stamp(now + days(5)) in text
    assert f'value="http://localhost/link/{bo_token}"' in panel
    assert f'value="http://localhost/link/{creator.raw_link_token}"' in panel
    assert f'data-copy="relink-{soon.id}"' in panel and f'id="relink-{ended.id}-status"' in panel
    assert f'href="/creators/{soon.creator_id}/accounts/{soon.id}/metrics"' in panel

    swap = admin_client.get("/creators?q=ava", headers=HX).get_data(as_text=True)
    assert "Losing data access soon" not in swap


def test_an_expired_link_is_not_offered_to_send_again(admin_client, creator):
    linked(creator, "ava.creates", data_access_expires_at=utcnow() + days(5))
    Creator.update(link_expires_at=utcnow() - days(1)).where(Creator.id == creator.id).execute()
    html = admin_client.get("/creators").get_data(as_text=True)
    panel = html[html.index('id="losing-access"') :]
    panel = panel[: panel.index("</section>")]
    assert creator.raw_link_token not in html
    assert "Issue a new link</a> (the current one has expired or can’t be shown)" in panel


def test_no_panel_when_no_account_is_losing_access(admin_client, creator):
    linked(creator, "ava.creates", data_access_expires_at=utcnow() + days(15))
    assert "Losing data access soon" not in admin_client.get("/creators").get_data(as_text=True)


def test_accounts_losing_access_come_with_their_creator_and_grant_in_one_query(app, monkeypatch):
    for n in range(5):
        person = Creator.create(name=f"Creator {n}")
        person.issue_link_token()
        linked(person, f"handle.{n}", data_access_expires_at=utcnow() + days(n))
    statements = count_statements(monkeypatch)
    rows = [
        (a.creator.name, a.creator.link_token is not None, a.grant.data_access_expires_at)
        for a in health.losing_data_access(utcnow())
    ]
    assert len(statements) == 1 and len(rows) == 5
    assert [name for name, _, _ in rows] == [f"Creator {n}" for n in range(5)]
