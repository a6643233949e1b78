import datetime
import re

from portal.models import Creator, LedgerEntry, SocialAccount


def test_link_page_shows_requirements_permissions_and_accounts(client, creator):
    response = client.get(f"/link/{creator.raw_link_token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Link Instagram accounts for Ava Chen" in page
    assert "@ava.creates" in page and "Not linked" in page
    assert "professional account" in page and "linked to a Facebook Page" in page
    assert "Owner, Admin, Analyst or Advertiser" in page
    assert re.search(r'href="https://www\.facebook\.com/help/[^"]+"', page)
    assert "never post on your behalf, follow pages, or like content" in page
    assert "remove the link to your account" in page


def test_link_page_needs_no_staff_login_and_is_kept_out_of_caches_and_search(client, creator):
    response = client.get(f"/link/{creator.raw_link_token}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_unknown_and_replaced_links_get_the_same_plain_404(client, creator):
    replaced = creator.raw_link_token
    creator.issue_link_token()
    unknown = client.get("/link/" + "A" * 43)
    old = client.get(f"/link/{replaced}")
    assert unknown.status_code == old.status_code == 404
    assert unknown.get_data() == old.get_data()

    # Rate-limit counters tick down with every request, whichever link it was; nothing else may differ.
    def same_for_both(headers):
        return {k: v for k, v in headers.items() if not k.startswith("X-RateLimit-")}

    assert same_for_both(unknown.headers) == same_for_both(old.headers)
    assert "X-RateLimit-Remaining" in unknown.headers
    assert "Ava" not in old.get_data(as_text=True)


def test_odd_link_paths_are_404_not_errors(client, creator):
    for path in ("/link/", "/link/%00", "/link/" + "x" * 5000, "/link/a/b", "/link/%F0%9F%98%80"):
        assert client.get(path).status_code == 404, path


def test_link_page_escapes_a_creator_name_with_markup(client):
    creator = Creator.create(name="<script>alert(1)</script>")
    token = creator.issue_link_token()
    page = client.get(f"/link/{token}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_guessing_link_tokens_is_rate_limited(client):
    answers = [client.get(f"/link/guess{n:040d}").status_code for n in range(61)]
    assert answers[:60] == [404] * 60
    assert answers[60] == 429


def test_starting_logins_is_rate_limited_per_address(make_app, creator):
    app = make_app(
        FACEBOOK_CLIENT_ID="fb", FACEBOOK_CLIENT_SECRET="secret", BASE_URL="https://portal.example"
    )
    browser = app.test_client()
    browser.get(f"/link/{creator.raw_link_token}")
    account = creator.accounts().get()
    codes = [browser.get(f"/link/accounts/{account.id}/connect").status_code for _ in range(21)]
    assert codes[:20] == [302] * 20 and codes[20] == 429


def test_link_page_states_the_retention_policy(make_app, creator):
    page = (
        make_app(RETENTION_DAYS=45)
        .test_client()
        .get(f"/link/{creator.raw_link_token}")
        .get_data(as_text=True)
    )
    assert "The access you gave is deleted at once" in page
    assert "kept for 45 days" in page and "deletes them at once" in page


def expire_link(creator, hours_ago=1):
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=hours_ago)
    Creator.update(link_expires_at=moment).where(Creator.id == creator.id).execute()


def test_an_expired_link_gets_a_friendly_410_that_says_nothing_of_the_creator(client, creator):
    SocialAccount.add_handle(creator, "ava.cooks")
    expire_link(creator)
    response = client.get(f"/link/{creator.raw_link_token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This link has expired" in page and "Please ask Acme Talent for a new link." in page
    for secret in ("Ava", "Chen", "ava.creates", "ava.cooks", "ava@creators.test"):
        assert secret not in page, secret
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    # Another creator's expired link gets the very same page: it names no one.
    other = Creator.create(name="Bo Lindqvist", email="bo@creators.test")
    token = other.issue_link_token()
    expire_link(other, hours_ago=500)
    assert client.get(f"/link/{token}").get_data() == response.get_data()


def test_an_expired_link_opens_no_link_session_and_notes_no_opening(client, creator):
    expire_link(creator)
    assert client.get(f"/link/{creator.raw_link_token}").status_code == 410
    assert client.get("/link/add").status_code == 400  # no link session: "open your link again"
    stored = Creator.get_by_id(creator.id)
    assert stored.page_first_opened_at is None and stored.page_last_opened_at is None


def test_a_link_that_has_not_expired_yet_opens_the_page(client, creator):
    in_an_hour = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    Creator.update(link_expires_at=in_an_hour).where(Creator.id == creator.id).execute()
    response = client.get(f"/link/{creator.raw_link_token}")
    assert response.status_code == 200 and "Link Instagram accounts for Ava Chen" in response.get_data(
        as_text=True
    )


def test_opening_the_page_notes_the_first_and_last_opening_and_the_ledger_the_first(client, creator):
    before = datetime.datetime.now(datetime.UTC)
    assert client.get(f"/link/{creator.raw_link_token}").status_code == 200
    first = Creator.get_by_id(creator.id).page_first_opened_at
    assert first >= before
    an_hour_ago = first - datetime.timedelta(hours=1)
    Creator.update(page_first_opened_at=an_hour_ago, page_last_opened_at=an_hour_ago).where(
        Creator.id == creator.id
    ).execute()
    assert client.get(f"/link/{creator.raw_link_token}").status_code == 200
    stored = Creator.get_by_id(creator.id)
    assert stored.page_first_opened_at == an_hour_ago and stored.page_last_opened_at >= first
    opened = LedgerEntry.select().where(LedgerEntry.action == "page_opened")
    assert [(e.creator_id, e.actor) for e in opened] == [(creator.id, "link page")]


def test_staff_checking_the_link_do_not_count_as_the_page_being_opened(admin_client, creator):
    assert admin_client.get(f"/link/{creator.raw_link_token}").status_code == 200
    stored = Creator.get_by_id(creator.id)
    assert stored.page_first_opened_at is None and stored.page_last_opened_at is None
    assert LedgerEntry.select().where(LedgerEntry.action == "page_opened").count() == 0
