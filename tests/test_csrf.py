"""CSRF protection: every state change needs the session's token, in a form field or the htmx header."""

import json
from html.parser import HTMLParser

from portal.models import Creator

HX = {"HX-Request": "true"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_PAGE = "This form has expired"
# Enough for each form to succeed if CSRF protection were missing, so "nothing changed" can fail.
FORM = {
    "name": "Mallory",
    "email": "mallory@evil.example",
    "handle": "mallory.takeover",
    "password": "a long enough password",
    "is_admin": "y",
    "subject": "Pwned [Name]",
    "body": "Click [Link]",
}


def mutating_rules(app):
    """Every rule that takes a state-changing method; sign-out last so the walk stays signed in."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.methods & MUTATING]
    # Meta's callbacks are exempt by design: Meta's signature authenticates them (test_meta.py).
    rules = [rule for rule in rules if not rule.endpoint.startswith("meta.")]
    assert {"staff.logout", "staff.account_add", "staff.link_token_rotate"} <= {r.endpoint for r in rules}
    return sorted(rules, key=lambda rule: (rule.endpoint == "staff.logout", rule.rule))


def method_of(rule):
    return sorted(rule.methods & MUTATING)[0]


def body_hx_headers(html):
    """Return the JSON in the hx-headers attribute of <body>."""

    class Body(HTMLParser):
        found = None

        def handle_starttag(self, tag, attrs):
            if tag == "body":
                self.found = dict(attrs).get("hx-headers")

    parser = Body()
    parser.feed(html)
    assert parser.found, "<body> carries no hx-headers"
    return json.loads(parser.found)


def test_every_state_changing_route_refuses_a_request_without_token(app, admin_client, rule_url, db_rows):
    before = db_rows()
    refused = {}
    for rule in mutating_rules(app):
        url = rule_url(rule)
        response = admin_client.open(url, method=method_of(rule), data=FORM)
        body = response.get_data(as_text=True)
        if response.status_code != 400 or CSRF_PAGE not in body:
            refused[url] = response.status_code
    assert refused == {}, "these answered without a CSRF token"
    assert db_rows() == before
    assert admin_client.get("/creators").status_code == 200  # sign-out did not happen either


def test_every_state_changing_route_accepts_the_htmx_header_token(app, admin_client, rule_url, creator):
    headers = {**HX, "X-CSRFToken": admin_client.csrf_token}
    refused = {}
    for rule in mutating_rules(app):
        url = rule_url(rule)
        if rule.endpoint.startswith("linking."):
            # Link Accounts Page actions need this browser to have opened the creator's current link.
            admin_client.get(f"/link/{Creator.get_by_id(creator.id).link_token}")
        response = admin_client.open(url, method=method_of(rule), data=FORM, headers=headers)
        body = response.get_data(as_text=True)
        location = response.headers.get("Location", "")
        if response.status_code == 400 or CSRF_PAGE in body or location.startswith("/login?"):
            refused[url] = response.status_code
    assert refused == {}, "these refused a request carrying the X-CSRFToken header"


def test_form_field_token_is_accepted(admin_client, db_rows):
    response = admin_client.post(
        "/creators/new", data={"name": "Bo Lindqvist", "csrf_token": admin_client.csrf_token}
    )
    assert response.status_code == 302
    assert [row[1] for row in db_rows()["Creator"]] == ["Bo Lindqvist"]


def test_token_in_body_hx_headers_lets_htmx_post(admin_client, creator):
    page = admin_client.get(f"/creators/{creator.id}/accounts")
    headers = {**HX, **body_hx_headers(page.get_data(as_text=True))}
    response = admin_client.post(
        f"/creators/{creator.id}/accounts", data={"handle": "@bo.makes"}, headers=headers
    )
    assert response.status_code == 200
    assert "@bo.makes" in response.get_data(as_text=True)
    assert [account.username for account in creator.accounts()] == ["ava.creates", "bo.makes"]


def test_state_changing_endpoints_are_not_reachable_by_get(admin_client, creator, db_rows):
    account = creator.accounts().get()
    before = db_rows()
    for url in (
        "/logout",
        f"/creators/{creator.id}/accounts/{account.id}/delete",
        f"/creators/{creator.id}/link-token",
        "/settings/invitation/preview",
    ):
        assert admin_client.get(url).status_code == 405, url
    # Adding a handle shares its URL with the accounts tab; a GET only shows the tab.
    tab = admin_client.get(f"/creators/{creator.id}/accounts?handle=sneaky.get&csrf_token=x")
    assert tab.status_code == 200
    assert db_rows() == before
    assert admin_client.get("/creators").status_code == 200  # still signed in


def test_csrf_token_from_another_session_is_refused(app, admin, staff_member, sign_in, creator, db_rows):
    admin_client = app.test_client()
    sign_in(admin_client, admin.email)
    staff_client = app.test_client()
    staff_token = sign_in(staff_client, staff_member.email)
    before = db_rows()

    response = admin_client.post(
        f"/creators/{creator.id}/link-token", headers={**HX, "X-CSRFToken": staff_token}
    )
    assert response.status_code == 400
    assert CSRF_PAGE in response.get_data(as_text=True)
    assert db_rows() == before


def test_csrf_failure_on_htmx_request_asks_htmx_to_reload(admin_client, creator):
    for headers in (HX, {**HX, "X-CSRFToken": "expired-or-forged"}):
        response = admin_client.post(
            f"/creators/{creator.id}/accounts", data={"handle": "x"}, headers=headers
        )
        assert response.status_code == 400
        assert response.headers.get("HX-Refresh") == "true"
