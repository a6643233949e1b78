"""The Graph API client: timeouts, appsecret_proof, tokens out of URLs, Meta's errors, paging."""

import hashlib
import hmac
import json
import math
from urllib.parse import parse_qs, quote

import pytest
import requests
from support.graph_rules import legacy_features

from portal.graph import GraphError
from portal.models import SocialAccount

GRAPH = "https://graph.facebook.com/v27.0"
APP_ID = "fb-app"
APP_SECRET = "fb-secret"
USER_TOKEN = "EAABlongLivedUserToken0002xyz"
SHORT_TOKEN = "EAABshortLivedUserToken0001xyz"


def proof(token):
    """Meta's appsecret_proof, computed independently of the portal (§7.4)."""
    return hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()


def meta_error(code, message="An error occurred", subcode=None, transient=False, status=400, **extra):
    """Return requests-mock keyword arguments for Meta's documented error answer (§7.1)."""
    error = {"message": message, "type": "OAuthException", "code": code, "is_transient": transient}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "EJplcsCHuLu"
    error.update(extra)
    return {"status_code": status, "json": {"error": error}}


def call_every_kind(graph_client, no_network):
    """Make one call of each kind the client offers, against Meta-shaped answers."""
    no_network.get(f"{GRAPH}/me", json={"id": "10158812345678901", "name": "Ava Chen"})
    no_network.get(
        f"{GRAPH}/me/accounts",
        json={
            "data": [{"id": "1"}],
            "paging": {
                "cursors": {"before": "b0", "after": "c1"},
                "next": f"{GRAPH}/me/accounts?access_token={USER_TOKEN}&after=c1",
            },
        },
    )
    no_network.get(
        f"{GRAPH}/me/accounts?after=c1",
        json={"data": [{"id": "2"}], "paging": {"cursors": {"before": "b1", "after": "c2"}}},
    )
    no_network.post(
        f"{GRAPH}/oauth/access_token",
        json={"access_token": USER_TOKEN, "token_type": "bearer", "expires_in": 5183944},
    )
    no_network.get(f"{GRAPH}/debug_token", json={"data": {"is_valid": True, "expires_at": 0}})
    graph_client.get("me", USER_TOKEN, fields="id,name")
    graph_client.get_all("me/accounts", USER_TOKEN, limit=100)
    graph_client.exchange_for_long_lived(SHORT_TOKEN)
    graph_client.debug_token(USER_TOKEN)
    return no_network.request_history


def test_every_graph_call_has_a_finite_connect_and_read_timeout(graph_client, no_network):
    history = call_every_kind(graph_client, no_network)
    assert len(history) == 5
    for request in history:
        assert isinstance(request.timeout, tuple) and len(request.timeout) == 2, request.url
        connect, read = request.timeout
        assert 0 < connect <= 10 and math.isfinite(connect), request.url
        assert 0 < read <= 60 and math.isfinite(read), request.url


def test_every_call_with_a_token_carries_the_appsecret_proof_of_that_token(graph_client, no_network):
    history = call_every_kind(graph_client, no_network)
    signed = [r for r in history if "Authorization" in r.headers]
    assert len(signed) == 4  # /me, two pages of /me/accounts, debug_token
    for request in signed:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        assert request.qs["appsecret_proof"] == [proof(token)], request.url
    debug = history[-1]
    # debug_token is asked with the app's own token, so its proof is over "app-id|app-secret".
    assert debug.headers["Authorization"] == f"Bearer {APP_ID}|{APP_SECRET}"


def test_user_token_travels_in_the_authorization_header_never_in_the_url(graph_client, no_network):
    history = call_every_kind(graph_client, no_network)
    for request in history[:3]:
        assert request.headers["Authorization"] == f"Bearer {USER_TOKEN}"
        assert USER_TOKEN not in request.url
        assert "access_token" not in request.qs
    for request in history:
        assert SHORT_TOKEN not in request.url
        assert APP_SECRET not in request.url


def test_debug_token_keeps_the_app_secret_out_of_the_url_and_returns_the_data(graph_client, no_network):
    inspected = "EAAJpageToken42xyz"
    debug = no_network.get(
        f"{GRAPH}/debug_token",
        json={
            "data": {
                "app_id": APP_ID,
                "type": "PAGE",
                "expires_at": 0,
                "is_valid": True,
                "scopes": ["pages_show_list"],
                "user_id": "10158812345678901",
            }
        },
    )
    data = graph_client.debug_token(inspected)
    assert data["is_valid"] is True and data["type"] == "PAGE" and data["expires_at"] == 0
    request = debug.last_request
    # Meta documents input_token as a query parameter; the secret-bearing app token is in the header.
    assert request.qs["input_token"] == [inspected.lower()]
    assert APP_SECRET not in request.url and "access_token" not in request.qs
    assert request.headers["Authorization"] == f"Bearer {APP_ID}|{APP_SECRET}"


def test_exchange_for_long_lived_posts_a_form_so_nothing_secret_is_in_the_url(graph_client, no_network):
    endpoint = no_network.post(
        f"{GRAPH}/oauth/access_token",
        json={"access_token": USER_TOKEN, "token_type": "bearer", "expires_in": 5183944},
    )
    answer = graph_client.exchange_for_long_lived(SHORT_TOKEN)
    assert answer["access_token"] == USER_TOKEN and answer["expires_in"] == 5183944
    request = endpoint.last_request
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.text) == {
        "grant_type": ["fb_exchange_token"],
        "client_id": [APP_ID],
        "client_secret": [APP_SECRET],
        "fb_exchange_token": [SHORT_TOKEN],
    }
    assert request.query == ""
    assert APP_SECRET not in request.url and SHORT_TOKEN not in request.url


def test_get_all_follows_after_cursors_over_three_pages_and_keeps_the_parameters(graph_client, no_network):
    next_url = f"{GRAPH}/me/accounts?access_token={USER_TOKEN}&limit=100&after="
    no_network.get(
        f"{GRAPH}/me/accounts",
        json={
            "data": [{"id": "1"}, {"id": "2"}],
            "paging": {"cursors": {"before": "QVFIb0", "after": "QVFIc1"}, "next": next_url + "QVFIc1"},
        },
    )
    no_network.get(
        f"{GRAPH}/me/accounts?after=QVFIc1",
        json={
            "data": [{"id": "3"}],
            "paging": {"cursors": {"before": "QVFIb1", "after": "QVFIc2"}, "next": next_url + "QVFIc2"},
        },
    )
    no_network.get(
        f"{GRAPH}/me/accounts?after=QVFIc2",
        json={"data": [{"id": "4"}], "paging": {"cursors": {"before": "QVFIb2", "after": "QVFIc3"}}},
    )
    items = graph_client.get_all("me/accounts", USER_TOKEN, fields="id,name", limit=100)
    assert [item["id"] for item in items] == ["1", "2", "3", "4"]
    history = no_network.request_history
    assert len(history) == 3  # the last page has a cursor but no `next`: paging stops there
    assert [r.qs.get("after") for r in history] == [None, ["qvfic1"], ["qvfic2"]]
    for request in history:
        assert request.qs["fields"] == ["id,name"] and request.qs["limit"] == ["100"]
        # Meta's paging.next URL embeds the token; the client builds its own URL instead.
        assert "access_token" not in request.qs and USER_TOKEN.lower() not in request.url.lower()


def test_get_all_stops_after_one_page_without_next(graph_client, no_network):
    accounts = no_network.get(
        f"{GRAPH}/me/accounts",
        json={"data": [{"id": "1"}], "paging": {"cursors": {"before": "QVFIb0", "after": "QVFIc1"}}},
    )
    assert graph_client.get_all("me/accounts", USER_TOKEN) == [{"id": "1"}]
    assert accounts.call_count == 1


def test_get_all_of_an_empty_edge_is_an_empty_list(graph_client, no_network):
    no_network.get(f"{GRAPH}/me/businesses", json={"data": []})
    assert graph_client.get_all("me/businesses", USER_TOKEN) == []


def raise_from(graph_client, no_network, **response):
    no_network.get(f"{GRAPH}/me", **response)
    with pytest.raises(GraphError) as caught:
        graph_client.get("me", USER_TOKEN)
    return caught.value


def test_expired_token_190_463_asks_for_a_new_login_and_is_not_retried(graph_client, no_network):
    error = raise_from(
        graph_client,
        no_network,
        **meta_error(
            190,
            "Error validating access token: Session has expired on Tuesday, 10-Nov-26.",
            subcode=463,
        ),
    )
    assert (error.code, error.subcode, error.status) == (190, 463, 400)
    assert error.token_invalid and not error.transient and not error.throttled
    assert "Session has expired" in error.message
    assert error.fbtrace_id == "EJplcsCHuLu"


def test_error_user_msg_is_preferred_over_the_technical_message(graph_client, no_network):
    error = raise_from(
        graph_client,
        no_network,
        **meta_error(
            190, "Error validating access token", subcode=460, error_user_msg="Your password changed."
        ),
    )
    assert error.message == "Your password changed."


@pytest.mark.parametrize(
    "code, message",
    [
        (10, "(#10) Application does not have permission for this action"),
        (200, "(#200) Requires pages_read_engagement permission to manage the object"),
    ],
)
def test_permission_errors_10_and_200_are_permission_missing_not_transient(
    graph_client, no_network, code, message
):
    error = raise_from(graph_client, no_network, **meta_error(code, message, status=403))
    assert error.code == code and error.permission_missing
    assert not error.transient and not error.token_invalid and not error.throttled


def test_missing_object_100_33_keeps_its_subcode_and_is_not_retried(graph_client, no_network):
    error = raise_from(
        graph_client,
        no_network,
        **meta_error(
            100,
            "Unsupported get request. Object with ID '1789' does not exist, cannot be loaded due to "
            "missing permissions, or does not support this operation.",
            subcode=33,
            type="GraphMethodException",
        ),
    )
    assert (error.code, error.subcode) == (100, 33)
    assert not error.transient and not error.permission_missing and not error.token_invalid


def test_code_2_flagged_is_transient_is_transient(graph_client, no_network):
    error = raise_from(
        graph_client,
        no_network,
        **meta_error(2, "An unexpected error has occurred. Please retry your request later.", transient=True),
    )
    assert error.code == 2 and error.transient and not error.token_invalid


def test_is_transient_true_alone_makes_an_error_transient(graph_client, no_network):
    error = raise_from(graph_client, no_network, **meta_error(1, "An unknown error occurred", transient=True))
    assert error.transient


@pytest.mark.parametrize(
    "code, message",
    [
        (4, "(#4) Application request limit reached"),
        (17, "(#17) User request limit reached"),
        (32, "(#32) Page request limit reached"),
        (613, "(#613) Calls to this api have exceeded the rate limit."),
        (80002, "(#80002) There have been too many calls to this Instagram account."),
    ],
)
def test_rate_limit_codes_are_throttled(graph_client, no_network, code, message):
    error = raise_from(graph_client, no_network, **meta_error(code, message, status=403))
    assert error.code == code and error.throttled
    assert not error.token_invalid and not error.permission_missing


def test_html_502_from_a_proxy_is_transient_without_a_code(graph_client, no_network):
    error = raise_from(
        graph_client,
        no_network,
        status_code=502,
        text="<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>",
        headers={"Content-Type": "text/html"},
    )
    assert error.transient and error.status == 502 and error.code is None
    assert "502" in error.message and "<html>" not in error.message


@pytest.mark.parametrize("status", [200, 503])
def test_empty_body_is_transient(graph_client, no_network, status):
    error = raise_from(graph_client, no_network, status_code=status, text="")
    assert error.transient and error.code is None


def test_truncated_json_is_transient(graph_client, no_network):
    error = raise_from(graph_client, no_network, status_code=200, text='{"data":[{"id":"134895793')
    assert error.transient and error.code is None


@pytest.mark.parametrize("failure", [requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout])
def test_timeout_is_transient_and_names_no_token(graph_client, no_network, failure):
    error = raise_from(graph_client, no_network, exc=failure)
    assert error.transient and error.code is None
    assert USER_TOKEN not in error.message and type(error.__cause__) is failure


def test_connection_refused_is_transient(graph_client, no_network):
    error = raise_from(graph_client, no_network, exc=requests.exceptions.ConnectionError)
    assert error.transient


def test_a_failed_call_logs_code_and_trace_id_but_not_the_token(graph_client, no_network, caplog):
    caplog.set_level("DEBUG", logger="portal")
    raise_from(graph_client, no_network, **meta_error(190, "Error validating access token", subcode=463))
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("portal"))
    assert "code=190" in text and "subcode=463" in text and "EJplcsCHuLu" in text
    assert USER_TOKEN not in text and proof(USER_TOKEN) not in text


# --- No legacy Graph features (reference §0.2 rule 1): the check every test runs ---


@pytest.mark.parametrize(
    "url, body, found",
    [
        ("https://graph.facebook.com/v27.0/?ids=1,2&fields=id", "", ["ids"]),
        ("https://graph.facebook.com/v27.0/1?fields=id&date_format=U", "", ["date_format"]),
        ("https://graph.facebook.com/v27.0/1?method=delete", "", ["method"]),
        ("https://graph.facebook.com/v27.0/1?fields=id&callback=cb", "", ["callback"]),
        ("https://graph.facebook.com/v27.0/1?fields=username.as(handle)", "", ["field alias"]),
        ("https://graph.facebook.com/v27.0/act_1/async_batch_requests", "", ["asynchronous batch"]),
        ("https://graph.facebook.com/v27.0/", "batch=%5B%5D&asynchronous=true", ["asynchronous batch"]),
        (
            "https://graph.facebook.com/v27.0/",
            "batch=" + quote(json.dumps([{"method": "GET", "relative_url": "?ids=1,2"}])),
            ["ids"],
        ),
        ("https://graph.facebook.com/v27.0/1?fields=id,media.limit(12){id}", "", []),
        ("https://api.instagram.com/oauth/access_token", "callback=x", []),  # not the Graph API
    ],
)
def test_the_legacy_feature_check_names_each_feature(url, body, found):
    assert legacy_features(url, body) == found


def test_everything_a_refresh_sends_uses_no_legacy_feature(app, creator, graph_client, no_network):
    """The autouse check over a whole refresh: it would fail this test for one ?ids= call."""
    from portal.insights.refresh import refresh_account

    no_network.post(
        f"{GRAPH}/",
        json=lambda request, context: (
            [{"code": 200, "body": "{}"}] * len(json.loads(parse_qs(request.text)["batch"][0]))
        ),
    )
    account = creator.accounts().get()
    SocialAccount.update(status="linked", ig_user_id="1784", page_token="EAAP").execute()
    refresh_account(graph_client, SocialAccount.get_by_id(account.id))
    assert no_network.request_history
    assert not [r.url for r in no_network.request_history if legacy_features(r.url, r.text)]
