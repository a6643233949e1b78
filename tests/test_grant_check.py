"""The grant check asks debug_token about each link's own token, in batches, with Meta's answers."""

import datetime
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from support.meta import proof

from portal.connections import grant_check
from portal.models import AccountStatus, MetaGrant, SocialAccount

GRAPH = "https://graph.facebook.com/v27.0/"
NOW = datetime.datetime(2026, 12, 4, 12, tzinfo=datetime.UTC)
APP_TOKEN = "fb-app|fb-secret"
SCOPES = ["instagram_basic", "instagram_manage_insights", "pages_show_list", "pages_read_engagement"]


def unix(moment):
    return int(moment.timestamp())


def token_info(valid=True, data_access_days=60, subcode=None, scopes=SCOPES, page=True):
    """debug_token's data for a token (reference §1.5): a Page token does not expire (expires_at 0)."""
    data = {
        "app_id": "fb-app",
        "type": "PAGE" if page else "USER",
        "data_access_expires_at": unix(NOW + datetime.timedelta(days=data_access_days)),
        "expires_at": 0 if page else unix(NOW - datetime.timedelta(days=2)),
        "is_valid": valid,
        "scopes": list(scopes),
        "user_id": "10158812345678901",
    }
    if not valid:
        data["error"] = {"code": 190, "message": "Error validating access token", "subcode": subcode}
    return {"data": data}


@pytest.fixture
def debug_tokens(no_network):
    """Answer debug_token items of Graph batches from {input token: data}; record what was asked."""
    answers, asked = {}, []

    def respond(request, context):
        form = parse_qs(request.text)
        assert form["access_token"] == [APP_TOKEN] and form["appsecret_proof"] == [proof(APP_TOKEN)]
        results = []
        for item in json.loads(form["batch"][0]):
            url = urlsplit(item["relative_url"])
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            asked.append((url.path, query))
            results.append({"code": 200, "body": json.dumps(answers[query["input_token"]])})
        return results

    no_network.post(GRAPH, json=respond)
    return answers, asked


def linked(creator, username, page_token="EAAPpage", user_token="EAAuser"):
    grant = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="1", user_token=user_token)
    account = SocialAccount.get_or_none(creator=creator, username=username) or SocialAccount(
        creator=creator, username=username
    )
    account.status, account.grant, account.page_token, account.ig_user_id = (
        AccountStatus.LINKED,
        grant,
        page_token,
        "9",
    )
    account.save()
    return account


def check(graph_client):
    return grant_check.check_links(graph_client, grant_check.linked_accounts(), NOW)


def test_a_link_is_judged_by_its_page_token_not_the_expired_user_token(
    app, creator, graph_client, debug_tokens
):
    answers, asked = debug_tokens
    account = linked(creator, "ava.creates", page_token="EAAPava")
    answers["EAAPava"] = token_info(data_access_days=29)
    answers["EAAuser"] = token_info(valid=False, subcode=463, page=False)  # never asked
    result = check(graph_client)
    assert result.still_linked == ["ava.creates"] and not result.broken
    assert [(path, q["input_token"]) for path, q in asked] == [("debug_token", "EAAPava")]
    assert asked[0][1]["access_token"] == APP_TOKEN  # debug_token is asked with the app's own token
    grant = MetaGrant.get_by_id(account.grant_id)
    assert grant.data_access_expires_at == NOW + datetime.timedelta(days=29)


def test_warnings_start_fourteen_days_before_data_access_ends(app, creator, graph_client, debug_tokens):
    answers, _ = debug_tokens
    linked(creator, "ava.creates", page_token="EAAPsoon")
    answers["EAAPsoon"] = token_info(data_access_days=14)
    linked(creator, "ava.travels", page_token="EAAPlater")
    answers["EAAPlater"] = token_info(data_access_days=15)
    result = check(graph_client)
    assert result.ending_soon == ["ava.creates"] and sorted(result.still_linked) == [
        "ava.creates",
        "ava.travels",
    ]


@pytest.mark.parametrize(
    "info, words",
    [
        (token_info(valid=False, subcode=458), "removed the app"),
        (token_info(valid=False, subcode=460), "changed their Facebook password"),
        (token_info(valid=False, subcode=492), "lost their role on the Page"),
        (token_info(valid=False, subcode=493), "not used the app for 90 days"),
        (token_info(data_access_days=-1), "Data access ended on 2026-12-03"),
        (token_info(scopes=SCOPES[:1]), "Permission revoked (instagram_manage_insights"),
    ],
    ids=["app-removed", "password", "role-lost", "data-access", "data-access-date", "permission"],
)
def test_access_that_meta_ended_breaks_the_link_with_the_reason(
    app, creator, graph_client, debug_tokens, info, words
):
    answers, _ = debug_tokens
    account = linked(creator, "ava.creates", page_token="EAAPgone")
    answers["EAAPgone"] = info
    result = check(graph_client)
    assert words in result.broken["ava.creates"]
    again = SocialAccount.get_by_id(account.id)
    assert again.status == AccountStatus.LINK_BROKEN and words in again.last_error


def test_an_account_without_a_page_token_is_judged_by_the_user_token(
    app, creator, graph_client, debug_tokens
):
    answers, asked = debug_tokens
    linked(creator, "ava.creates", page_token=None, user_token="EAAonly")
    answers["EAAonly"] = token_info(valid=False, subcode=463, page=False)
    assert "the token expired" in check(graph_client).broken["ava.creates"]
    assert asked[0][1]["input_token"] == "EAAonly"


def test_when_meta_cannot_be_asked_nothing_is_broken(app, creator, graph_client, no_network):
    no_network.post(
        GRAPH, status_code=500, json={"error": {"message": "down", "code": 2, "is_transient": True}}
    )
    account = linked(creator, "ava.creates")
    result = grant_check.check_links(
        graph_client, grant_check.linked_accounts(), NOW, runner=quick_runner(graph_client)
    )
    assert "ava.creates" in result.unchecked and not result.broken
    assert SocialAccount.get_by_id(account.id).status == AccountStatus.LINKED
    assert result.line() == (
        "1 links checked: 0 still linked (0 lose data access within 14 days), 0 link broken, "
        "1 could not be checked"
    )


def quick_runner(client):
    from portal.graph.batch import Backoff, BatchRunner

    return BatchRunner(client, backoff=Backoff(sleep=lambda seconds: None))
