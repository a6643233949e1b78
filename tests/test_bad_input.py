"""Input no form expects: a clear 4xx and nothing changed, never a 500.

These are the causes found one by one; tests/test_route_fuzz.py walks every route for the whole class.
"""

import datetime
import io
import logging
import re
from urllib.parse import unquote

import pytest

from portal import ConfigurationError
from portal.db import utcnow
from portal.models import AccountStatus, Creator, LedgerEntry, MetaGrant, SocialAccount

PAST_INT64 = "9999999999999999999999999"


def account_of(creator):
    return creator.accounts().get()


@pytest.mark.parametrize("number", [PAST_INT64, str(2**63), "0", "١٢"])
@pytest.mark.parametrize(
    "path",
    [
        "/creators/{n}",
        "/creators/{n}/edit",
        "/creators/{creator}/accounts/{n}",
        "/creators/{n}/accounts/{account}/stories",
    ],
)
def test_an_id_no_row_can_have_is_a_404_for_staff(admin_client, creator, path, number):
    url = path.format(n=number, creator=creator.id, account=account_of(creator).id)
    response = admin_client.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("number", [PAST_INT64, str(2**63), "-1", "0"])
@pytest.mark.parametrize(
    "path",
    [
        "/link/accounts/{n}/connect",
        "/link/accounts/{n}/unlink",
        "/link/choose/{n}",
        "/link/verify?account={n}",
    ],
)
def test_an_id_no_row_can_have_is_a_404_for_a_link_session(link_browser, path, number):
    assert link_browser.get(path.format(n=number)).status_code == 404


def test_the_largest_id_a_row_can_have_is_an_ordinary_id(admin_client):
    assert admin_client.get(f"/creators/{2**63 - 1}").status_code == 404  # no such row, looked up


def test_a_file_sent_to_the_sign_in_form_is_a_400(make_app, csrf, db_rows):
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    before = db_rows()
    response = client.post(
        "/login",
        data={"email": (io.BytesIO(b"x" * 100), "email.txt"), "password": "x", "csrf_token": csrf(client)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Files can't be sent here" in response.get_data(as_text=True)
    assert db_rows() == before


@pytest.mark.parametrize(
    "path, fields",
    [
        ("/creators/new", {"name": "Ava", "email": ""}),
        ("/creators/{creator}/edit", {"name": "Ava", "email": ""}),
        ("/creators/{creator}/accounts", {"handle": "ava.travels"}),
        ("/settings/invitation", {"subject": "Hello", "body": "Hi {name}"}),
        ("/settings/staff", {"email": "new@agency.test", "password": "a long password 123"}),
    ],
)
def test_a_file_where_a_text_field_is_expected_is_a_400_and_nothing_changes(
    admin_client, creator, db_rows, path, fields
):
    before = db_rows()
    for name in fields:
        data = {
            **fields,
            name: (io.BytesIO(b"not text"), "upload.bin"),
            "csrf_token": admin_client.csrf_token,
        }
        response = admin_client.post(
            path.format(creator=creator.id), data=data, content_type="multipart/form-data"
        )
        assert response.status_code == 400, (name, response.status_code)
    assert db_rows() == before


@pytest.mark.parametrize(
    "path, body",
    [
        ("/creators/new", {"name": 5, "email": ["a"]}),
        ("/settings/invitation/preview", {"subject": 1, "body": {"x": 1}}),
        ("/settings/staff", {"email": 7, "password": 8}),
    ],
)
def test_json_where_a_form_is_expected_is_a_415_and_nothing_changes(admin_client, db_rows, path, body):
    before = db_rows()
    response = admin_client.post(path, json=body, headers={"X-CSRFToken": admin_client.csrf_token})
    assert response.status_code == 415
    assert "This address takes a form" in response.get_data(as_text=True)
    assert db_rows() == before


def test_a_form_post_without_a_body_still_works(admin_client, creator):
    # htmx buttons post no fields at all; only the CSRF header.
    response = admin_client.post(
        f"/creators/{creator.id}/link-token", headers={"X-CSRFToken": admin_client.csrf_token}
    )
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("page", ["²", "١", "５", "1²", "-1", "0", "100000", "1e3", " 2"])
@pytest.mark.parametrize("path", ["/creators", "/audit"])
def test_a_page_number_that_is_not_plain_digits_shows_page_one(admin_client, creator, path, page):
    def results(response):  # the page less its CSRF tokens (signed with the time, so they change)
        return re.sub(r"[\w-]+\.[\w-]{6}\.[\w-]{27}", "", response.get_data(as_text=True))

    first = results(admin_client.get(path))
    response = admin_client.get(path, query_string={"page": page})
    assert response.status_code == 200
    assert results(response) == first


def test_a_nul_in_any_value_of_a_repeated_field_is_a_400(admin_client, creator):
    assert admin_client.get("/creators?q=a&q=%00").status_code == 400
    response = admin_client.post(
        f"/creators/{creator.id}/edit",
        data={"name": ["Ava Chen", "Ava\x00"], "email": "", "csrf_token": admin_client.csrf_token},
    )
    assert response.status_code == 400
    assert Creator.get_by_id(creator.id).name == "Ava Chen"


@pytest.mark.parametrize("query", ["%", "_", "a%n", "\\"])
def test_search_wildcards_match_only_themselves(admin_client, query):
    for name in ("Ava Chen", "Ben Ortiz", "100% Real", "snake_case", "Back\\slash"):
        Creator.create(name=name)
    page = admin_client.get("/creators", query_string={"q": query}).get_data(as_text=True)
    shown = {
        name for name in ("Ava Chen", "Ben Ortiz", "100% Real", "snake_case", "Back\\slash") if name in page
    }
    expected = {"%": {"100% Real"}, "_": {"snake_case"}, "a%n": set(), "\\": {"Back\\slash"}}[query]
    assert shown == expected


def test_ledger_creator_filter_wildcards_match_only_themselves(admin_client):
    for name in ("100% Real", "Ben Ortiz"):
        LedgerEntry.record("invited", "staff:admin@agency.test", creator=Creator.create(name=name), name=name)
    page = admin_client.get("/audit", query_string={"creator": "%"}).get_data(as_text=True)
    assert "100% Real" in page and "Ben Ortiz" not in page


# --- Absolute addresses come from PORTAL_BASE_URL, never from the Host header ---

BASE = "https://portal.agency.example"


@pytest.fixture
def based_client(make_app, sign_in):
    from support import ADMIN_EMAIL, PASSWORD, TEST_HASH

    from portal.models import Staff

    app = make_app(BASE_URL=BASE)
    Staff.register(ADMIN_EMAIL, PASSWORD, is_admin=True, method=TEST_HASH)
    client = app.test_client()
    # Every request of this client, sign-in included, names a host that is not the portal's.
    client.environ_base["HTTP_HOST"] = "evil.example"
    sign_in(client, ADMIN_EMAIL)
    return client


def test_the_link_panel_and_the_invitation_use_the_base_url_whatever_the_host(based_client, creator):
    page = based_client.get(f"/creators/{creator.id}/link-accounts").get_data(as_text=True)
    link = f"{BASE}/link/{creator.raw_link_token}"
    assert f'value="{link}"' in page  # the copy field
    assert link.replace("/", "%2F").replace(":", "%3A") in page  # inside the mailto: body
    assert "evil.example" not in unquote(page)


def test_the_losing_access_list_uses_the_base_url_whatever_the_host(based_client, creator):
    grant = MetaGrant.create(
        creator=creator,
        provider="facebook",
        meta_user_id="10158812345678901",
        data_access_expires_at=utcnow() + datetime.timedelta(days=3),
    )
    SocialAccount.update(status=AccountStatus.LINKED, grant=grant).execute()
    page = based_client.get("/creators").get_data(as_text=True)
    assert "Losing data access soon" in page
    assert f'value="{BASE}/link/{creator.raw_link_token}"' in page
    assert "evil.example" not in page


def test_production_refuses_to_start_without_a_base_url(make_production_app):
    with pytest.raises(ConfigurationError, match="PORTAL_BASE_URL must be set in production"):
        make_production_app(BASE_URL=None)


def test_production_refuses_a_base_url_that_is_not_an_address(make_production_app):
    with pytest.raises(ConfigurationError, match="PORTAL_BASE_URL must be an address"):
        make_production_app(BASE_URL="portal.agency.example")


def test_production_without_trusted_hosts_answers_only_to_the_base_urls_host_and_says_so(
    make_production_app, caplog
):
    with caplog.at_level(logging.WARNING, logger="portal"):
        app = make_production_app(BASE_URL=BASE, TRUSTED_HOSTS=None)
    assert "PORTAL_TRUSTED_HOSTS is not set: answering only to portal.agency.example" in caplog.text
    client = app.test_client()
    assert client.get("/login", base_url=BASE).status_code == 200
    assert client.get("/login", base_url="https://evil.example").status_code == 400


def test_production_keeps_the_trusted_hosts_it_is_given(make_production_app):
    app = make_production_app(BASE_URL=BASE, TRUSTED_HOSTS=["portal.agency.example", "portal.internal"])
    client = app.test_client()
    assert client.get("/login", base_url="https://portal.internal").status_code == 200
    assert client.get("/login", base_url="https://evil.example").status_code == 400
