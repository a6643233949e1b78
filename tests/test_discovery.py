"""Reading a Facebook grant and finding the Instagram accounts it reaches, with a verdict for each."""

import datetime
from urllib.parse import parse_qs

import pytest

from portal.connections.discovery import (
    REQUIRED_SCOPES,
    Discovery,
    Grant,
    LinkProblem,
    Problem,
    discover,
    read_grant,
)
from portal.graph import GraphError


def grant_for(meta, granted=REQUIRED_SCOPES, shared_page_ids=(), shared_instagram_ids=()):
    """Return a Grant as read_grant would build it; without business_management unless granted."""
    return Grant(
        user_id=meta.user_id,
        user_name=meta.user_name,
        token=meta.long_token,
        expires_at=None,
        data_access_expires_at=None,
        granted=set(granted),
        declined=set(),
        shared_page_ids=set(shared_page_ids),
        shared_instagram_ids=set(shared_instagram_ids),
    )


def test_read_grant_swaps_for_a_long_lived_token_and_reads_who_granted_what(graph_client, meta):
    exchange = meta.long_lived_exchange()
    me = meta.me()
    meta.permissions()
    meta.debug_token()
    grant = read_grant(graph_client, meta.short_token)
    assert parse_qs(exchange.last_request.text)["fb_exchange_token"] == [meta.short_token]
    assert grant.token == meta.long_token
    assert (grant.user_id, grant.user_name) == (meta.user_id, "Ava Chen")
    assert grant.granted == set(meta.scopes) | {"public_profile"}
    assert grant.declined == set() and grant.missing_scopes() == []
    # Everything after the exchange is asked with the long-lived token.
    assert me.last_request.headers["Authorization"] == f"Bearer {meta.long_token}"


def test_read_grant_reports_a_declined_scope_as_missing(graph_client, meta):
    meta.grant(declined=("instagram_manage_insights",))
    grant = read_grant(graph_client, meta.short_token)
    assert grant.declined == {"instagram_manage_insights"}
    assert "instagram_manage_insights" not in grant.granted
    assert grant.missing_scopes() == ["instagram_manage_insights"]


def test_read_grant_counts_expired_and_never_granted_scopes_as_missing(graph_client, meta):
    meta.long_lived_exchange()
    meta.me()
    meta.permissions(expired=("instagram_basic",), never_asked=("pages_read_engagement",))
    meta.debug_token()
    grant = read_grant(graph_client, meta.short_token)
    assert grant.missing_scopes() == ["instagram_basic", "pages_read_engagement"]


def test_business_management_is_not_required_to_link(graph_client, meta):
    meta.grant(declined=("business_management",))
    grant = read_grant(graph_client, meta.short_token)
    assert "business_management" not in REQUIRED_SCOPES
    assert grant.declined == {"business_management"} and grant.missing_scopes() == []


def test_read_grant_takes_the_shared_pages_from_debug_token_granular_scopes(graph_client, meta):
    meta.long_lived_exchange()
    meta.me()
    meta.permissions()
    debug = meta.debug_token(shared_page_ids=("1348957937", "2000000001"), ig_ids=("17841405822304914",))
    grant = read_grant(graph_client, meta.short_token)
    assert grant.shared_page_ids == {"1348957937", "2000000001"}
    assert debug.last_request.qs["input_token"] == [meta.long_token.lower()]


def test_read_grant_turns_meta_timestamps_into_aware_utc_datetimes(graph_client, meta):
    meta.long_lived_exchange()
    meta.me()
    meta.permissions()
    meta.debug_token(expires_at=1785000000, data_access_expires_at=1790000000)
    grant = read_grant(graph_client, meta.short_token)
    assert grant.expires_at == datetime.datetime(2026, 7, 25, 17, 20, tzinfo=datetime.UTC)
    assert grant.data_access_expires_at == datetime.datetime(2026, 9, 21, 14, 13, 20, tzinfo=datetime.UTC)
    assert grant.expires_at.utcoffset() == datetime.timedelta(0)


def test_a_token_that_never_expires_has_no_expiry(graph_client, meta):
    meta.long_lived_exchange()
    meta.me()
    meta.permissions()
    meta.debug_token(expires_at=0)
    assert read_grant(graph_client, meta.short_token).expires_at is None


def test_discover_reads_every_page_of_me_accounts(graph_client, meta):
    first, second = meta.accounts(
        [meta.page(101, "Ava Studio", "ava.creates"), meta.page(102, "Ava Recipes", "ava.cooks")],
        [meta.page(103, "Ava Travel", "ava.travels")],
    )
    found = discover(graph_client, grant_for(meta))
    assert [c.username for c in found.candidates] == ["ava.creates", "ava.cooks", "ava.travels"]
    assert first.call_count == 1 and second.call_count == 1
    ava = found.candidates[0]
    assert (ava.ig_user_id, ava.page_id, ava.page_name) == ("178414101", "101", "Ava Studio")
    assert ava.page_token == meta.page_token(101)
    assert (ava.followers_count, ava.media_count) == (1234, 87)
    assert ava.profile_picture_url == "https://scontent.example/ava.creates.jpg"
    assert ava.linkable and ava.business_name is None
    # The fields asked for are the ones DESIGN.md §4 lists.
    fields = first.last_request.qs["fields"][0]
    assert fields.startswith("id,name,access_token,tasks,instagram_business_account{id,username")


def test_a_page_without_instagram_is_listed_by_name(graph_client, meta):
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates"), meta.page(104, "Ava's Bakery")])
    found = discover(graph_client, grant_for(meta))
    assert [c.username for c in found.candidates] == ["ava.creates"]
    assert found.pages_without_instagram == ["Ava's Bakery"]


def test_portfolio_pages_are_found_when_business_management_is_granted(graph_client, meta):
    meta.accounts([])
    meta.businesses(
        {
            "id": "5550001",
            "name": "Ava Media Ltd",
            "owned_pages": [meta.page(201, "Ava Official", "ava.official", tasks=None, with_token=False)],
            "client_pages": [meta.page(202, "Ava Shop", "ava.shop", tasks=None, with_token=False)],
        }
    )
    found = discover(graph_client, grant_for(meta, granted=meta.scopes))
    by_name = {c.username: c for c in found.candidates}
    assert set(by_name) == {"ava.official", "ava.shop"}
    assert by_name["ava.official"].business_name == "Ava Media Ltd"
    assert by_name["ava.shop"].page_name == "Ava Shop"
    # Portfolio Pages come without a Page token; they are still linkable with the user token.
    assert by_name["ava.official"].page_token is None and by_name["ava.official"].linkable


def test_portfolios_are_not_asked_for_without_business_management(graph_client, meta):
    meta.accounts([])
    businesses = meta.mocker.get(f"{meta.graph}/me/businesses", json={"data": []})
    found = discover(graph_client, grant_for(meta, granted=REQUIRED_SCOPES))
    assert found.candidates == [] and businesses.call_count == 0


def test_a_page_reached_both_ways_is_listed_once_with_its_page_role(graph_client, meta):
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates", tasks=("ANALYZE",))])
    meta.businesses(
        {
            "id": "5550001",
            "name": "Ava Media Ltd",
            "owned_pages": [meta.page(101, "Ava Studio", "ava.creates", tasks=None, with_token=False)],
        }
    )
    found = discover(graph_client, grant_for(meta, granted=meta.scopes))
    assert len(found.candidates) == 1
    assert found.candidates[0].tasks == ["ANALYZE"] and found.candidates[0].page_token == meta.page_token(101)


@pytest.mark.parametrize(
    "tasks",
    [
        ("MANAGE",),
        ("ANALYZE",),
        ("ADVERTISE", "ANALYZE"),
        ("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"),
    ],
    ids=["admin", "analyst", "advertiser", "all-tasks"],
)
def test_roles_that_can_read_insights_are_linkable(graph_client, meta, tasks):
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates", tasks=tasks)])
    candidate = discover(graph_client, grant_for(meta)).candidates[0]
    assert candidate.linkable and candidate.problem is None


@pytest.mark.parametrize(
    "tasks, shown",
    [
        (("MODERATE", "MESSAGING"), ["MESSAGING", "MODERATE"]),
        (("CREATE_CONTENT",), ["CREATE_CONTENT"]),
        (
            ("CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE"),
            ["ADVERTISE", "CREATE_CONTENT", "MESSAGING", "MODERATE"],
        ),
    ],
    ids=["moderator", "content-only", "editor-without-insights"],
)
def test_roles_without_insights_get_role_too_low_naming_the_page_and_tasks(graph_client, meta, tasks, shown):
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates", tasks=tasks)])
    candidate = discover(graph_client, grant_for(meta)).candidates[0]
    assert not candidate.linkable
    assert candidate.problem == Problem(LinkProblem.ROLE_TOO_LOW, {"page_name": "Ava Studio", "tasks": shown})


def test_find_returns_the_candidate_whatever_the_case(graph_client, meta):
    meta.accounts([meta.page(101, "Ava Studio", "Ava.Creates")])
    found = discover(graph_client, grant_for(meta))
    assert found.find("ava.creates").page_id == "101"


def test_find_says_not_found_and_names_the_accounts_it_did_reach(graph_client, meta):
    meta.accounts([meta.page(102, "Ava Recipes", "ava.cooks"), meta.page(103, "Ava Travel", "ava.travels")])
    problem = discover(graph_client, grant_for(meta)).find("ava.creates")
    assert problem == Problem(
        LinkProblem.NOT_FOUND, {"username": "ava.creates", "found": ["ava.cooks", "ava.travels"]}
    )


def test_find_blames_an_unshared_portfolio_when_a_shared_page_could_not_be_read(graph_client, meta):
    meta.accounts([meta.page(102, "Ava Recipes", "ava.cooks")])
    meta.by_id(refused=("301",))  # read by id, Meta answers 100/33: this login may not see it
    found = discover(graph_client, grant_for(meta, shared_page_ids=("102", "301")))
    assert found.hidden_page_ids == {"301"}
    assert found.find("ava.creates") == Problem(LinkProblem.PORTFOLIO_NOT_SHARED, {"username": "ava.creates"})
    # An account that was found is still found.
    assert found.find("ava.cooks").page_id == "102"


def test_a_shared_page_read_through_its_portfolio_is_not_hidden(graph_client, meta):
    meta.accounts([])
    meta.businesses(
        {
            "id": "5550001",
            "name": "Ava Media Ltd",
            "owned_pages": [meta.page(301, "Ava Official", "ava.creates")],
        }
    )
    found = discover(graph_client, grant_for(meta, granted=meta.scopes, shared_page_ids=("301",)))
    assert found.hidden_page_ids == set()
    assert found.find("ava.creates").business_name == "Ava Media Ltd"


def test_an_empty_discovery_says_not_found_with_nothing_reached():
    assert Discovery([], [], set()).find("ava.creates") == Problem(
        LinkProblem.NOT_FOUND, {"username": "ava.creates", "found": []}
    )


@pytest.mark.parametrize(
    "code, subcode, message",
    [
        (
            190,
            460,
            "Error validating access token: The session has been invalidated because the user changed "
            "their password.",
        ),
        (10, None, "(#10) Application does not have permission for this action"),
        (200, None, "(#200) Requires pages_show_list permission"),
        (
            100,
            33,
            "Unsupported get request. Object with ID 'me' does not exist, cannot be loaded due to "
            "missing permissions",
        ),
    ],
)
def test_graph_errors_during_discovery_surface_as_graph_error(graph_client, meta, code, subcode, message):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode:
        error["error_subcode"] = subcode
    meta.graph_get("me/accounts", status_code=400, json={"error": error})
    with pytest.raises(GraphError) as caught:
        discover(graph_client, grant_for(meta))
    assert (caught.value.code, caught.value.subcode) == (code, subcode)
    assert caught.value.message == message


def test_a_graph_error_in_a_portfolio_surfaces_as_graph_error(graph_client, meta):
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates")])
    meta.graph_get(
        "me/businesses",
        status_code=403,
        json={
            "error": {
                "message": "(#200) Requires business_management permission",
                "type": "OAuthException",
                "code": 200,
            }
        },
    )
    with pytest.raises(GraphError) as caught:
        discover(graph_client, grant_for(meta, granted=meta.scopes))
    assert caught.value.permission_missing


def test_a_graph_error_while_reading_the_grant_surfaces_as_graph_error(graph_client, meta):
    meta.long_lived_exchange(
        status_code=400,
        json={
            "error": {
                "message": "Error validating access token: Session has expired",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 463,
            }
        },
    )
    with pytest.raises(GraphError) as caught:
        read_grant(graph_client, meta.short_token)
    assert caught.value.token_invalid


# --- Pages and accounts that /me/accounts leaves out (reference §0.2 rule 6) ---


def test_an_analyst_only_page_missing_from_me_accounts_is_read_by_id_and_links(graph_client, meta):
    meta.accounts([])  # /me/accounts lists no Page where the user is only an Analyst
    batch = meta.by_id(meta.page(101, "Ava Studio", "ava.creates", tasks=("ANALYZE",)))
    found = discover(graph_client, grant_for(meta, shared_page_ids=("101",)))
    (candidate,) = found.candidates
    assert (candidate.username, candidate.tasks, candidate.linkable) == ("ava.creates", ["ANALYZE"], True)
    assert candidate.page_token == meta.page_token(101) and found.hidden_page_ids == set()
    ((url, query),) = meta.batch_items
    assert url.startswith("101?") and "instagram_business_account{" in query["fields"]
    # Each read carries the person's token; the batch itself carries the app's own (checked by the mock).
    assert query["access_token"] == meta.long_token and batch.call_count == 1


def test_an_instagram_account_granted_without_its_page_is_read_by_id(graph_client, meta):
    meta.accounts([meta.page(102, "Ava Recipes", "ava.cooks", ig_id="17841400000000102")])
    account = {"id": "17841400000000777", "username": "ava.creates", "name": "Ava", "followers_count": 9}
    meta.by_id(account)
    grant = grant_for(meta, shared_instagram_ids=("17841400000000102", "17841400000000777"))
    found = discover(graph_client, grant)
    by_name = {c.username: c for c in found.candidates}
    assert set(by_name) == {"ava.cooks", "ava.creates"}
    assert by_name["ava.creates"].page_id is None and by_name["ava.creates"].linkable
    # The account reached through its Page is not read a second time.
    assert [url.split("?")[0] for url, _ in meta.batch_items] == ["17841400000000777"]


def test_a_page_that_refuses_its_read_by_id_is_not_a_candidate(graph_client, meta):
    meta.accounts([])
    meta.by_id(refused=("101",))
    found = discover(graph_client, grant_for(meta, shared_page_ids=("101",)))
    assert found.candidates == [] and found.hidden_page_ids == {"101"}


def test_read_grant_keeps_the_pages_and_accounts_granular_scopes_name(graph_client, meta):
    meta.long_lived_exchange()
    meta.me()
    meta.permissions()
    meta.debug_token(shared_page_ids=("101", "102"), ig_ids=("17841400000000777",))
    grant = read_grant(graph_client, meta.short_token)
    assert grant.shared_page_ids == {"101", "102"}
    assert grant.shared_instagram_ids == {"17841400000000777"}


# --- Business Portfolio access needs ads_read (reference §0.2 rule 5) ---


def test_a_portfolio_page_without_ads_read_says_meta_needs_it(graph_client, meta):
    meta.accounts([])
    meta.businesses(
        {
            "id": "5550001",
            "name": "Ava Media Ltd",
            "owned_pages": [meta.page(201, "Ava Official", "ava.official", tasks=None, with_token=False)],
        }
    )
    without_ads = [scope for scope in meta.scopes if scope != "ads_read"]
    candidate = discover(graph_client, grant_for(meta, granted=without_ads)).candidates[0]
    assert not candidate.linkable
    assert candidate.problem == Problem(
        LinkProblem.ADS_READ_NEEDED, {"page_name": "Ava Official", "business": "Ava Media Ltd"}
    )


def test_a_page_role_needs_no_ads_read(graph_client, meta):
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates", tasks=("ANALYZE",))])
    candidate = discover(graph_client, grant_for(meta, granted=REQUIRED_SCOPES)).candidates[0]
    assert candidate.linkable
