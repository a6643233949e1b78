"""Facebook Login and Instagram Login from a Link Accounts Page, through the browser's eyes."""

import datetime
import hashlib
import hmac
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from portal.connections.discovery import LinkProblem
from portal.models import AccountStatus, Creator, LedgerEntry, MetaGrant, SocialAccount

FACEBOOK_CALLBACK = "https://portal.example/link/facebook/callback"
INSTAGRAM_CALLBACK = "https://portal.example/link/instagram/callback"
FACEBOOK_SCOPE = (
    "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement,business_management,"
    "ads_read"
)
CODE = "AQDvX9authorizationCodeFromMeta123"
STATE = re.compile(r"^[A-Za-z0-9_-]{22,}$")


def ava(creator):
    """Return the creator's @ava.creates, the account staff listed."""
    return SocialAccount.get((SocialAccount.creator == creator) & (SocialAccount.username == "ava.creates"))


def connect_path(account):
    return f"/link/accounts/{account.id}/connect"


def start(browser, path, **kwargs):
    """Start a login as the browser would; return the provider URL's parts and its query."""
    response = browser.get(path, **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    return location, {name: values[0] for name, values in parse_qs(location.query).items()}


def state_of(browser, path):
    """Start a login and return the state the provider would send back."""
    return start(browser, path)[1]["state"]


def come_back(browser, provider, state, code=CODE, **params):
    """Land on the callback as the provider's redirect would (state=None leaves it out)."""
    query = {"code": code, **params}
    if state is not None:
        query["state"] = state
    return browser.get(f"/link/{provider}/callback", query_string=query)


def page_after(browser, response):
    """Follow a callback's redirect to the Link Accounts Page and return its HTML."""
    assert response.status_code == 302, response.get_data(as_text=True)
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def connect_business(browser, creator):
    """Run Connect Business for @ava.creates to the end; return the Link Accounts Page HTML."""
    state = state_of(browser, connect_path(ava(creator)))
    return page_after(browser, come_back(browser, "facebook", state))


def session_of(app, browser):
    """Decode the browser's session cookie as the app signed it."""
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value, app.session_interface.get_signing_serializer(app).loads(cookie.value)


def only_the_failure_noted(rows_before, rows_after, code):
    """Assert a failed login changed nothing but one ledger entry: link_failed with its problem code."""
    ledger_before, ledger_after = rows_before.pop("LedgerEntry"), rows_after.pop("LedgerEntry")
    assert rows_after == rows_before
    assert len(ledger_after) == len(ledger_before) + 1
    event = LedgerEntry.select().order_by(LedgerEntry.id.desc()).get()
    assert (event.action, event.detail_items) == ("link_failed", {"problem": code})


def token_endpoints(meta):
    """Return the number of calls made to Facebook's and Instagram's token endpoints."""
    return sum(1 for request in meta.mocker.request_history if request.path.endswith("/oauth/access_token"))


# --- Starting a login ---


def test_connect_business_redirects_to_the_facebook_dialog_with_the_documented_parameters(meta_app, creator):
    # The browser reached the portal under a spoofed Host: the redirect_uri must not follow it.
    browser = meta_app.test_client()
    spoofed = {
        "base_url": "http://evil.example",
        "headers": {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
    }
    assert browser.get(f"/link/{creator.raw_link_token}", **spoofed).status_code == 200
    location, query = start(browser, connect_path(ava(creator)), **spoofed)
    assert location.scheme == "https" and location.netloc == "www.facebook.com"
    assert location.path == "/v27.0/dialog/oauth"
    assert query["client_id"] == "fb-app"
    assert query["response_type"] == "code"
    assert STATE.match(query["state"])
    assert query["redirect_uri"] == FACEBOOK_CALLBACK
    assert query["scope"] == FACEBOOK_SCOPE
    assert "auth_type" not in query and "client_secret" not in query


def test_rerequest_asks_facebook_again_for_declined_permissions(link_browser, creator):
    _, connect = start(link_browser, connect_path(ava(creator)) + "?rerequest=1")
    _, add = start(link_browser, "/link/add?rerequest=1")
    assert connect["auth_type"] == add["auth_type"] == "rerequest"


def test_each_login_gets_a_fresh_state(link_browser, creator):
    states = {state_of(link_browser, connect_path(ava(creator))) for _ in range(3)}
    assert len(states) == 3


def test_add_business_account_redirects_to_the_same_facebook_dialog(link_browser):
    location, query = start(link_browser, "/link/add")
    assert location.netloc == "www.facebook.com" and query["redirect_uri"] == FACEBOOK_CALLBACK
    assert query["scope"] == FACEBOOK_SCOPE and query["response_type"] == "code"


def test_verify_instagram_redirects_to_instagram_login_with_the_instagram_app(link_browser, creator):
    location, query = start(link_browser, f"/link/verify?account={ava(creator).id}")
    assert (location.netloc, location.path) == ("www.instagram.com", "/oauth/authorize")
    assert query["client_id"] == "ig-app" and query["response_type"] == "code"
    assert query["redirect_uri"] == INSTAGRAM_CALLBACK
    assert query["scope"] == "instagram_business_basic"
    assert STATE.match(query["state"])


# --- Connect Business, end to end ---


def test_connect_business_links_the_account_and_the_page_says_linked(link_browser, creator, meta):
    code_exchange = meta.code_exchange()
    long_lived = meta.long_lived_exchange()
    meta.me()
    meta.permissions()
    meta.debug_token()
    first, second = meta.accounts(
        [meta.page(102, "Ava Recipes", "ava.cooks")],
        [meta.page(101, "Ava Studio", "ava.creates")],
    )
    page = connect_business(link_browser, creator)

    assert code_exchange.call_count == 1
    request = code_exchange.last_request
    form = parse_qs(request.text)
    # client_secret_post: the app's credentials travel as form fields, not HTTP Basic.
    assert form["client_id"] == ["fb-app"] and form["client_secret"] == ["fb-secret"]
    assert form["code"] == [CODE] and form["redirect_uri"] == [FACEBOOK_CALLBACK]
    assert form["grant_type"] == ["authorization_code"]
    assert "Authorization" not in request.headers and request.query == ""
    assert parse_qs(long_lived.last_request.text)["fb_exchange_token"] == [meta.short_token]
    assert first.call_count == 1 and second.call_count == 1

    account = ava(creator)
    assert account.status == AccountStatus.LINKED and account.page_name == "Ava Studio"
    assert account.page_token == meta.page_token(101)
    assert "Linked: @ava.creates." in page
    assert '<span class="badge badge-linked">Linked</span>' in page
    assert "Linked by Ava Chen through the Page “Ava Studio”" in page


# --- The state: missing, wrong, replayed, from the other provider ---


@pytest.mark.parametrize(
    "state",
    [None, "", "forgedStateThatThisBrowserNeverSaw123"],
    ids=["missing", "empty", "wrong"],
)
def test_callback_without_this_browsers_state_is_rejected_before_any_token_request(
    link_browser, creator, meta, db_rows, state
):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state_of(link_browser, connect_path(ava(creator)))
    before = db_rows()
    response = come_back(link_browser, "facebook", state)
    assert response.status_code == 400
    assert "This login can't be completed" in response.get_data(as_text=True)
    assert meta.mocker.call_count == 0
    assert db_rows() == before


def test_a_replayed_callback_is_rejected_and_the_code_is_exchanged_once(link_browser, creator, meta, db_rows):
    code_exchange = meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state = state_of(link_browser, connect_path(ava(creator)))
    assert come_back(link_browser, "facebook", state).status_code == 302
    after_first = db_rows()
    replay = come_back(link_browser, "facebook", state)
    assert replay.status_code == 400
    assert code_exchange.call_count == 1
    assert db_rows() == after_first


def test_a_replayed_state_during_a_newer_login_is_rejected(link_browser, creator, meta):
    code_exchange = meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    old_state = state_of(link_browser, connect_path(ava(creator)))
    state_of(link_browser, connect_path(ava(creator)))  # started again: the old login is abandoned
    assert come_back(link_browser, "facebook", old_state).status_code == 400
    assert code_exchange.call_count == 0


def test_a_state_minted_for_instagram_is_rejected_by_the_facebook_callback(
    link_browser, creator, meta, db_rows
):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    meta.instagram_code_exchange()
    instagram_state = state_of(link_browser, f"/link/verify?account={ava(creator).id}")
    before = db_rows()
    assert come_back(link_browser, "facebook", instagram_state).status_code == 400
    assert token_endpoints(meta) == 0 and db_rows() == before


def test_a_state_minted_for_facebook_is_rejected_by_the_instagram_callback(
    link_browser, creator, meta, db_rows
):
    meta.instagram_code_exchange()
    meta.instagram_me("ava.creates")
    facebook_state = state_of(link_browser, connect_path(ava(creator)))
    before = db_rows()
    assert come_back(link_browser, "instagram", facebook_state).status_code == 400
    assert meta.mocker.call_count == 0 and db_rows() == before


# --- The helper cancels, or Facebook fails ---


def test_cancelling_on_facebook_shows_the_cancel_message_and_changes_nothing(
    link_browser, creator, meta, db_rows
):
    code_exchange = meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state = state_of(link_browser, connect_path(ava(creator)))
    before = db_rows()
    response = link_browser.get(
        "/link/facebook/callback",
        query_string={
            "error": "access_denied",
            "error_reason": "user_denied",
            "error_description": "Permissions error",
            "state": state,
        },
    )
    page = page_after(link_browser, response)
    assert "<h3>You cancelled the login</h3>" in page
    assert "Nothing was linked and nothing was shared." in page
    assert code_exchange.call_count == 0
    only_the_failure_noted(before, db_rows(), LinkProblem.CANCELLED)


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 500, "text": "<html><body>Internal Server Error</body></html>"},
        {"exc": requests.exceptions.ConnectTimeout},
        {"exc": requests.exceptions.ReadTimeout},
        {"status_code": 200, "text": '{"access_token": "EAABtrunc'},
        {"status_code": 200, "text": ""},
    ],
    ids=["http-500", "connect-timeout", "read-timeout", "truncated-json", "empty-body"],
)
def test_token_endpoint_failure_explains_and_leaves_no_grant_or_link(
    link_browser, creator, meta, db_rows, answer
):
    meta.code_exchange(**answer)
    state = state_of(link_browser, connect_path(ava(creator)))
    before = db_rows()
    page = page_after(link_browser, come_back(link_browser, "facebook", state))
    assert "<h3>Facebook returned an error</h3>" in page
    assert "Please try again in a few minutes." in page
    assert MetaGrant.select().count() == 0 and ava(creator).status == AccountStatus.UNLINKED
    only_the_failure_noted(before, db_rows(), LinkProblem.FACEBOOK_ERROR)


def test_a_refused_code_shows_facebooks_own_words(link_browser, creator, meta):
    meta.code_exchange(
        status_code=400,
        json={
            "error": {
                "message": "This authorization code has expired.",
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": "AXyZ12",
            }
        },
    )
    page = connect_business(link_browser, creator)
    assert "<h3>Facebook returned an error</h3>" in page
    assert "Facebook said: “This authorization code has expired.”" in page
    assert "fbtrace_id" not in page and "OAuthException" not in page
    assert MetaGrant.select().count() == 0


# --- The creator comes from the link session ---


def test_the_creator_comes_from_the_link_session_not_from_the_query(link_browser, creator, meta):
    other = Creator.create(name="Ben Ortiz")
    other.issue_link_token()
    SocialAccount.add_handle(other, "ava.creates")
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state = state_of(link_browser, connect_path(ava(creator)) + f"?creator_id={other.id}")
    response = come_back(link_browser, "facebook", state, creator_id=str(other.id))
    assert response.status_code == 302
    assert ava(creator).status == AccountStatus.LINKED
    assert ava(other).status == AccountStatus.UNLINKED
    assert MetaGrant.select().where(MetaGrant.creator == other).count() == 0


def test_without_a_link_session_nothing_starts_and_no_callback_completes(meta_app, creator, meta, db_rows):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    stranger = meta_app.test_client()
    before = db_rows()
    assert stranger.get(connect_path(ava(creator))).status_code == 400
    assert stranger.get("/link/add").status_code == 400
    response = come_back(stranger, "facebook", "someStateFromAnotherBrowser1234")
    assert response.status_code == 400
    assert "Open your link again" in response.get_data(as_text=True)
    assert meta.mocker.call_count == 0 and db_rows() == before


def test_issuing_a_new_link_ends_the_old_link_session(link_browser, creator, meta, db_rows):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state = state_of(link_browser, connect_path(ava(creator)))
    creator.issue_link_token()
    before = db_rows()
    response = come_back(link_browser, "facebook", state)
    assert response.status_code == 400
    assert "Open your link again" in response.get_data(as_text=True)
    assert link_browser.get(connect_path(ava(creator))).status_code == 400
    assert meta.mocker.call_count == 0 and db_rows() == before


def test_a_link_session_cannot_act_on_another_creators_account(link_browser, creator, meta, db_rows, csrf):
    other = Creator.create(name="Ben Ortiz")
    other.issue_link_token()
    theirs = SocialAccount.create(
        creator=other, username="ben.builds", status=AccountStatus.LINKED, page_token="EAAJbensPageToken"
    )
    before = db_rows()
    assert link_browser.get(connect_path(theirs)).status_code == 404
    assert link_browser.get(f"/link/verify?account={theirs.id}").status_code == 404
    assert link_browser.get(f"/link/accounts/{theirs.id}/unlink").status_code == 404
    token = csrf(link_browser, f"/link/accounts/{ava(creator).id}/unlink")
    response = link_browser.post(f"/link/accounts/{theirs.id}/unlink", data={"csrf_token": token})
    assert response.status_code == 404
    assert db_rows() == before
    assert SocialAccount.get_by_id(theirs.id).page_token == "EAAJbensPageToken"
    assert meta.mocker.call_count == 0


def test_a_link_session_cannot_open_another_creators_choices(link_browser, creator):
    other = Creator.create(name="Ben Ortiz")
    grant = MetaGrant.create(creator=other, provider="facebook", meta_user_id="999", candidates="[]")
    assert link_browser.get(f"/link/choose/{grant.id}").status_code == 404


# --- The session cookie ---


def test_the_session_cookie_never_holds_a_token_or_secret(meta_app, link_browser, creator, meta):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state = state_of(link_browser, connect_path(ava(creator)))
    come_back(link_browser, "facebook", state)
    raw, session = session_of(meta_app, link_browser)
    decoded = repr(session)
    for secret in (meta.short_token, meta.long_token, meta.page_token(101), "fb-secret", CODE):
        assert secret not in decoded and secret not in raw
    assert session["link"]["creator"] == creator.id  # it is the session we think it is


def test_the_session_cookie_stays_small_after_twenty_abandoned_logins(meta_app, link_browser, creator):
    for number in range(20):
        path = connect_path(ava(creator)) if number % 2 else f"/link/verify?account={ava(creator).id}"
        start(link_browser, path)
    raw, session = session_of(meta_app, link_browser)
    assert len(raw) < 4093
    assert len([key for key in session if key.startswith("_state_")]) == 1


# --- Add Instagram Business account ---


def test_add_business_account_lists_candidates_with_verdicts_and_links_the_chosen(
    link_browser, creator, meta, csrf
):
    meta.facebook_login(
        [
            meta.page(101, "Ava Studio", "ava.creates"),
            meta.page(102, "Ava Recipes", "ava.cooks", tasks=("ANALYZE",)),
            meta.page(103, "Ava Travel", "ava.travels", tasks=("MODERATE", "MESSAGING")),
        ]
    )
    state = state_of(link_browser, "/link/add")
    response = come_back(link_browser, "facebook", state)
    assert response.status_code == 302
    grant = MetaGrant.get(MetaGrant.creator == creator)
    assert urlsplit(response.headers["Location"]).path == f"/link/choose/{grant.id}"

    choose = link_browser.get(f"/link/choose/{grant.id}").get_data(as_text=True)
    assert "Logged in to Facebook as Ava Chen" in choose
    assert choose.count("Ready to link.") == 2
    assert "Your role on this Page cannot read Insights (messaging, moderate)" in choose
    assert re.search(r'value="178414103"[^>]*\bdisabled\b', choose)

    token = csrf(link_browser, f"/link/choose/{grant.id}")
    response = link_browser.post(
        f"/link/choose/{grant.id}", data={"csrf_token": token, "account": ["178414101", "178414102"]}
    )
    page = page_after(link_browser, response)
    assert "Linked: @ava.creates, @ava.cooks." in page
    statuses = {a.username: a.status for a in creator.accounts()}
    assert statuses == {"ava.cooks": AccountStatus.LINKED, "ava.creates": AccountStatus.LINKED}
    # The choices are made: the grant's list is gone and cannot be chosen from again.
    assert link_browser.get(f"/link/choose/{grant.id}").status_code == 404


# --- Verify Instagram account ---


def test_verify_instagram_account_records_it_verified_and_keeps_no_token(
    link_browser, creator, meta, db_rows
):
    exchange = meta.instagram_code_exchange()
    profile = meta.instagram_me("ava.creates")
    state = state_of(link_browser, f"/link/verify?account={ava(creator).id}")
    page = page_after(link_browser, come_back(link_browser, "instagram", state))

    form = parse_qs(exchange.last_request.text)
    assert form["client_id"] == ["ig-app"] and form["client_secret"] == ["ig-secret"]
    assert form["grant_type"] == ["authorization_code"] and form["code"] == [CODE]
    assert form["redirect_uri"] == [INSTAGRAM_CALLBACK]
    assert "Authorization" not in exchange.last_request.headers
    # The {"data": [...]} answer was unwrapped: /me is asked with the token inside it, signed.
    me = profile.last_request
    assert me.headers["Authorization"] == f"Bearer {meta.ig_token}"
    expected_proof = hmac.new(b"ig-secret", meta.ig_token.encode(), hashlib.sha256).hexdigest()
    assert me.qs["appsecret_proof"] == [expected_proof]

    account = ava(creator)
    assert account.status == AccountStatus.VERIFIED and account.ig_user_id == meta.ig_user_id
    assert account.page_token is None and MetaGrant.select().count() == 0
    assert meta.ig_token not in repr(db_rows())
    assert "Verified: you control @ava.creates." in page
    assert '<span class="badge badge-verified">Verified</span>' in page


def test_verify_instagram_accepts_the_flat_token_answer_too(link_browser, creator, meta):
    meta.instagram_code_exchange(
        json={
            "access_token": meta.ig_token,
            "user_id": meta.ig_user_id,
            "permissions": "instagram_business_basic",
        }
    )
    profile = meta.instagram_me("ava.creates")
    state = state_of(link_browser, f"/link/verify?account={ava(creator).id}")
    page_after(link_browser, come_back(link_browser, "instagram", state))
    assert profile.last_request.headers["Authorization"] == f"Bearer {meta.ig_token}"
    assert ava(creator).status == AccountStatus.VERIFIED


def test_a_refused_instagram_code_explains_and_records_nothing(link_browser, creator, meta, db_rows):
    meta.instagram_code_exchange(
        status_code=400,
        json={"error_type": "OAuthException", "code": 400, "error_message": "Invalid authorization code"},
    )
    profile = meta.instagram_me("ava.creates")
    state = state_of(link_browser, f"/link/verify?account={ava(creator).id}")
    before = db_rows()
    page = page_after(link_browser, come_back(link_browser, "instagram", state))
    assert "<h3>Instagram returned an error</h3>" in page
    assert "Invalid authorization code" in page
    assert profile.call_count == 0
    only_the_failure_noted(before, db_rows(), LinkProblem.FACEBOOK_ERROR)


# --- Unlink ---


def test_unlink_through_the_confirmation_page_revokes_the_account(link_browser, creator, meta, csrf):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    connect_business(link_browser, creator)
    account = ava(creator)
    confirmation = link_browser.get(f"/link/accounts/{account.id}/unlink").get_data(as_text=True)
    assert "Unlink @ava.creates?" in confirmation and "Unlink and delete my data" in confirmation
    assert ava(creator).status == AccountStatus.LINKED  # looking at the page changes nothing

    token = csrf(link_browser, f"/link/accounts/{account.id}/unlink")
    page = page_after(
        link_browser, link_browser.post(f"/link/accounts/{account.id}/unlink", data={"csrf_token": token})
    )
    assert "@ava.creates is unlinked: its access has been deleted." in page
    account = ava(creator)
    assert account.status == AccountStatus.REVOKED and account.page_token is None
    assert account.followers_count == 1234  # plain Unlink keeps the figures
    assert MetaGrant.get().user_token is None


def test_unlink_and_delete_my_data_also_deletes_the_figures(link_browser, creator, meta, csrf):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    connect_business(link_browser, creator)
    account = ava(creator)
    token = csrf(link_browser, f"/link/accounts/{account.id}/unlink")
    response = link_browser.post(
        f"/link/accounts/{account.id}/unlink", data={"csrf_token": token, "delete_data": "1"}
    )
    page = page_after(link_browser, response)
    assert "its access has been deleted, and so have its stored figures." in page
    account = ava(creator)
    assert account.status == AccountStatus.REVOKED and account.followers_count is None


# --- Each reason a link fails, in words the helper can act on ---


def test_cancelled_is_explained_when_adding_an_account_too(link_browser, creator, meta):
    code_exchange = meta.code_exchange()
    state = state_of(link_browser, "/link/add")
    response = link_browser.get(
        "/link/facebook/callback",
        query_string={"error": "access_denied", "error_reason": "user_denied", "state": state},
    )
    page = page_after(link_browser, response)
    assert "<h3>You cancelled the login</h3>" in page
    assert code_exchange.call_count == 0 and MetaGrant.select().count() == 0


def test_permission_declined_is_explained_with_the_permission_and_a_rerequest(link_browser, creator, meta):
    meta.facebook_login(
        [meta.page(101, "Ava Studio", "ava.creates")], declined=("instagram_manage_insights",)
    )
    page = connect_business(link_browser, creator)
    assert "<h3>A permission we need was not granted</h3>" in page
    assert (
        "<strong>Access insights for the Instagram account</strong> (<code>instagram_manage_insights</code>)"
        in page
    )
    assert f'href="/link/accounts/{ava(creator).id}/connect?rerequest=1"' in page
    assert ava(creator).status == AccountStatus.UNLINKED


def test_not_found_is_explained_with_the_accounts_the_login_reached(link_browser, creator, meta):
    meta.facebook_login([meta.page(102, "Ava Recipes", "ava.cooks")])
    page = connect_business(link_browser, creator)
    assert "<h3>No Facebook Page you shared has @ava.creates linked</h3>" in page
    assert "Instagram accounts this login did reach: @ava.cooks." in page


def test_role_too_low_is_explained_with_the_page_and_the_roles_that_work(link_browser, creator, meta):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates", tasks=("MODERATE", "MESSAGING"))])
    page = connect_business(link_browser, creator)
    assert "<h3>Your role on the Page “Ava Studio” cannot read Insights</h3>" in page
    assert "Your access to that Page (messaging, moderate) does not include Insights." in page


def test_portfolio_not_shared_is_explained(link_browser, creator, meta):
    meta.code_exchange()
    meta.long_lived_exchange()
    meta.me()
    meta.permissions(declined=("business_management",))
    meta.debug_token(shared_page_ids=("301",))
    meta.accounts([])
    meta.by_id(refused=("301",))  # the Page, read by id, cannot be seen without its portfolio
    page = connect_business(link_browser, creator)
    assert "<h3>The Page is in a Business Portfolio you did not share</h3>" in page


def test_facebook_error_is_explained_with_facebooks_message(link_browser, creator, meta):
    meta.code_exchange()
    meta.grant()
    meta.graph_get(
        "me/accounts",
        status_code=400,
        json={
            "error": {
                "message": "Error validating access token: The user has not authorized application 1234.",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 458,
                "fbtrace_id": "AbC",
            }
        },
    )
    page = connect_business(link_browser, creator)
    assert "<h3>Facebook returned an error</h3>" in page
    assert "The user has not authorized application 1234." in page


def test_linked_elsewhere_is_explained(link_browser, creator, meta):
    other = Creator.create(name="Ben Ortiz")
    SocialAccount.create(
        creator=other, username="ava.creates", status=AccountStatus.LINKED, ig_user_id="178414101"
    )
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    page = connect_business(link_browser, creator)
    assert "<h3>@ava.creates is already linked for another creator</h3>" in page
    assert ava(other).status == AccountStatus.LINKED and ava(creator).status == AccountStatus.UNLINKED


def test_listed_elsewhere_is_explained_without_naming_the_other_creator(link_browser, creator, meta):
    other = Creator.create(name="Ben Ortiz")
    SocialAccount.add_handle(other, "ava.side")
    meta.instagram_code_exchange()
    meta.instagram_me("ava.side")
    state = state_of(link_browser, "/link/verify")
    page = page_after(link_browser, come_back(link_browser, "instagram", state))
    assert "<h3>@ava.side is listed under another creator</h3>" in page
    assert "lists this Instagram account under another creator, so it cannot be linked here" in page
    assert "they can move it" in page and "Ben Ortiz" not in page
    # Kept under this creator too, unlinked, so staff see the conflict on both profiles.
    kept = SocialAccount.get((SocialAccount.creator == creator) & (SocialAccount.username == "ava.side"))
    assert (kept.status, kept.ig_user_id) == (AccountStatus.UNLINKED, None)
    event = LedgerEntry.select().order_by(LedgerEntry.id.desc()).get()
    assert (event.action, event.detail_items) == ("link_failed", {"problem": LinkProblem.LISTED_ELSEWHERE})


def test_wrong_instagram_account_is_explained(link_browser, creator, meta):
    meta.instagram_code_exchange()
    meta.instagram_me("someone.else")
    state = state_of(link_browser, f"/link/verify?account={ava(creator).id}")
    page = page_after(link_browser, come_back(link_browser, "instagram", state))
    assert "<h3>You logged in to Instagram as @someone.else, not @ava.creates</h3>" in page
    assert ava(creator).status == AccountStatus.UNLINKED


# --- Logs ---


def log_like_urllib3(history):
    """Log each request line exactly as urllib3's connection pool does at DEBUG.

    requests-mock replaces urllib3's transport, so urllib3 never logs under test; in
    production this line carries every query string the portal sends.
    """
    pool_log = logging.getLogger("urllib3.connectionpool")
    for request in history:
        target = urlsplit(request.url)
        path = target.path + (f"?{target.query}" if target.query else "")
        pool_log.debug(
            '%s://%s:%s "%s %s %s" %s %s',
            target.scheme,
            target.hostname,
            443,
            request.method,
            path,
            "HTTP/1.1",
            200,
            None,
        )


def test_secrets_redacted_in_logs(link_browser, creator, meta, caplog):
    for name in ("urllib3", "authlib", "portal", "werkzeug", None):
        caplog.set_level(logging.DEBUG, logger=name)
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    page = connect_business(link_browser, creator)
    assert "Linked: @ava.creates." in page
    log_like_urllib3(meta.mocker.request_history)
    # requests-mock's own request line belongs to the test double, not to production.
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("requests_mock"))
    assert "/v27.0/debug_token?input_token=" in text  # the logs do show the requests made
    proofs = [
        hmac.new(b"fb-secret", token.encode(), hashlib.sha256).hexdigest()
        for token in (meta.short_token, meta.long_token, meta.page_token(101), "fb-app|fb-secret")
    ]
    for secret in (meta.short_token, meta.long_token, meta.page_token(101), "fb-secret", CODE, *proofs):
        assert secret.lower() not in text.lower(), secret


@pytest.mark.parametrize("path", ["/link/add", "/link/verify"])
def test_linking_without_a_meta_app_says_it_is_not_set_up(make_app, creator, path):
    app = make_app()  # no FACEBOOK_/INSTAGRAM_ client settings, no sandbox
    client = app.test_client()
    client.get(f"/link/{creator.raw_link_token}")
    response = client.get(path)
    assert response.status_code == 503
    assert "Linking is not set up yet" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "params", [{}, {"code": ""}, {"error": ""}], ids=["no-code", "empty-code", "empty-error"]
)
@pytest.mark.parametrize("provider, path", [("facebook", "/link/add"), ("instagram", "/link/verify")])
def test_a_callback_with_this_browsers_state_and_no_code_explains_and_links_nothing(
    link_browser, creator, no_network, db_rows, provider, path, params
):
    state = state_of(link_browser, path)
    before = db_rows()
    response = link_browser.get(f"/link/{provider}/callback", query_string={"state": state, **params})
    page = page_after(link_browser, response)
    name = provider.capitalize()
    assert f"<h3>{name} returned an error</h3>" in page
    assert f"{name} sent no authorization code." in page
    assert not no_network.request_history  # nothing to exchange
    only_the_failure_noted(before, db_rows(), LinkProblem.FACEBOOK_ERROR)
    # The state is used up: the same answer again is refused as a replay.
    assert link_browser.get(f"/link/{provider}/callback", query_string={"state": state}).status_code == 400


def test_a_link_that_expires_during_a_login_stops_its_callback_and_every_link_action(
    link_browser, creator, csrf
):
    state = state_of(link_browser, "/link/add")
    an_hour_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    Creator.update(link_expires_at=an_hour_ago).where(Creator.id == creator.id).execute()

    response = come_back(link_browser, "facebook", state)  # no Meta answer is mocked: none is asked
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)
    assert MetaGrant.select().count() == 0
    assert LedgerEntry.select().where(LedgerEntry.action == "link_failed").count() == 0
    for path in ("/link/add", "/link/verify", connect_path(ava(creator)), "/link/back"):
        assert link_browser.get(path).status_code == 410, path
    unlink = f"/link/accounts/{ava(creator).id}/unlink"
    token = csrf(link_browser, "/login")
    assert link_browser.post(unlink, data={"csrf_token": token}).status_code == 410
    assert ava(creator).status == AccountStatus.UNLINKED
