"""Staff sign-in and sign-out: sessions, rate limits, redirects and who may open what."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from config import ProductionConfig
from portal.models import Staff
from portal.models import staff as models

HX = {"HX-Request": "true"}
_TOKEN = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+|("X-CSRFToken": ")[^"]+')


def login_post(client, csrf, email, password, ip="192.0.2.10", path="/login"):
    """Send the sign-in form as a browser at ip would."""
    return client.post(
        path,
        data={"email": email, "password": password, "csrf_token": csrf(client)},
        environ_base={"REMOTE_ADDR": ip},
    )


def without_tokens(html):
    return _TOKEN.sub(lambda m: (m.group(1) or m.group(2)) + "TOKEN", html)


def test_sign_in_lands_on_the_creator_list(client, admin, csrf, staff_password):
    response = login_post(client, csrf, f" {admin.email.upper()} ", staff_password)
    assert response.status_code == 302
    assert response.headers["Location"] == "/creators"
    page = client.get("/creators")
    assert page.status_code == 200
    assert admin.email in page.get_data(as_text=True)
    assert Staff.get_by_id(admin.id).last_login_at is not None


def test_wrong_password_and_unknown_email_get_the_same_answer(client, admin, csrf):
    unknown_email = "nobody@" + admin.email.split("@")[1]
    wrong = login_post(client, csrf, admin.email, "not the password")
    unknown = login_post(client, csrf, unknown_email, "not the password")
    assert wrong.status_code == unknown.status_code == 422
    # The form shows back the email typed; apart from that, the pages must not differ.
    wrong_page = without_tokens(wrong.get_data(as_text=True)).replace(admin.email, "EMAIL")
    unknown_page = without_tokens(unknown.get_data(as_text=True)).replace(unknown_email, "EMAIL")
    assert wrong_page == unknown_page
    assert "do not match a staff account" in wrong_page
    assert client.get("/creators").status_code == 302  # not signed in


def test_unknown_email_costs_the_same_hash_work_as_a_wrong_password(make_app, csrf, monkeypatch):
    # A method other than the test default, as production's differs from any built-in default.
    method = "scrypt:2048:8:1"
    app = make_app(PASSWORD_HASH_METHOD=method)
    Staff.register("admin@agency.test", "the right password", is_admin=True, method=method)
    checked = []
    real_check = models.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash)
        return real_check(pwhash, password)

    monkeypatch.setattr(models, "check_password_hash", spy)
    client = app.test_client()

    login_post(client, csrf, "admin@agency.test", "not the password")
    login_post(client, csrf, "nobody@agency.test", "not the password")

    assert len(checked) == 2, "each attempt runs exactly one password hash check"
    assert [pwhash.split("$")[0] for pwhash in checked] == [method, method]


def test_login_clears_preexisting_session(client, admin, csrf, staff_password):
    token = csrf(client)
    with client.session_transaction() as session:
        session["planted"] = "attacker value"
        session["_state_facebook_x"] = {"data": {"redirect_uri": "https://evil.example/"}, "exp": 9e9}
        session["_user_id"] = "999:1"
    response = client.post(
        "/login", data={"email": admin.email, "password": staff_password, "csrf_token": token}
    )
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_state_facebook_x" not in session
        assert session["_user_id"] == admin.get_id()
    # The CSRF token from before sign-in is not carried into the signed-in session.
    assert csrf(client, "/creators") != token


def test_logout_then_replay_old_cookie_is_rejected(app, admin_client):
    old_cookie = admin_client.get_cookie("session").value
    before_logout = app.test_client()
    before_logout.set_cookie("session", old_cookie)
    assert before_logout.get("/creators").status_code == 200  # the copy works until sign-out

    response = admin_client.post("/logout", data={"csrf_token": admin_client.csrf_token})
    assert response.status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    response = replay.get("/creators")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_rate_limited_per_ip(client, admin, csrf, staff_password):
    for attempt in range(10):
        response = login_post(client, csrf, f"guess{attempt}@agency.test", "wrong", ip="203.0.113.7")
        assert response.status_code == 422, attempt
    blocked = login_post(client, csrf, "guess10@agency.test", "wrong", ip="203.0.113.7")
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # Even the right password is refused from that address for now ...
    right = login_post(client, csrf, admin.email, staff_password, ip="203.0.113.7")
    assert right.status_code == 429
    assert client.get("/creators").status_code == 302
    # ... while other addresses are not affected.
    assert login_post(client, csrf, "guess11@agency.test", "wrong", ip="203.0.113.8").status_code == 422


def test_login_rate_limit_is_also_keyed_by_email(client, admin, csrf):
    for attempt in range(10):
        email = admin.email.upper() if attempt % 2 else admin.email
        response = login_post(client, csrf, email, "wrong", ip=f"198.51.100.{attempt + 1}")
        assert response.status_code == 422, attempt
    blocked = login_post(client, csrf, admin.email, "wrong", ip="198.51.100.99")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    # Other accounts can still be signed in to from a fresh address.
    assert login_post(client, csrf, "other@agency.test", "wrong", ip="198.51.100.100").status_code == 422


def test_rate_limit_counts_do_not_carry_over_to_the_next_app(make_app, csrf):
    # The limiter is one module-level object; each create_app gives it fresh memory storage,
    # so one test's failed sign-ins never make another test's sign-in fail.
    first = make_app().test_client()
    for _ in range(11):
        last = login_post(first, csrf, "someone@agency.test", "wrong")
    assert last.status_code == 429
    second = make_app().test_client()
    assert login_post(second, csrf, "someone@agency.test", "wrong").status_code == 422


def test_next_pointing_off_site_lands_on_creator_list(client, admin, csrf, staff_password):
    assert client.get("/login?next=//evil.example").status_code == 200
    response = login_post(client, csrf, admin.email, staff_password, path="/login?next=//evil.example")
    assert response.status_code == 302
    assert response.headers["Location"] == "/creators"


def test_next_pointing_to_a_staff_page_lands_there(client, admin, creator, csrf, staff_password):
    response = login_post(
        client, csrf, admin.email, staff_password, path=f"/login?next=/creators/{creator.id}"
    )
    assert response.headers["Location"] == f"/creators/{creator.id}"


def test_sign_in_after_being_sent_away_returns_to_the_page_asked_for(
    client, admin, creator, staff_password, csrf
):
    page = f"/creators/{creator.id}/accounts?tab=1"
    login_url = client.get(page).headers["Location"]
    response = login_post(client, csrf, admin.email, staff_password, path=login_url)
    assert response.headers["Location"] == page
    assert client.get(page).status_code == 200


def staff_rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("staff.")]
    rules = [r for r in rules if r.endpoint != "staff.login"]
    assert {"staff.creator_list", "staff.logout", "staff.staff_list"} <= {r.endpoint for r in rules}
    return rules


def anonymous_request(client, rule, url, token, headers=None):
    """GET the rule if it serves GET; otherwise POST with a valid token, so CSRF is not what stops it."""
    if "GET" in rule.methods:
        return client.get(url, headers=headers)
    return client.post(url, headers={**(headers or {}), "X-CSRFToken": token})


def test_every_staff_page_requires_sign_in(app, client, csrf, rule_url, db_rows):
    token = csrf(client)
    before = db_rows()
    let_through = {}
    for rule in staff_rules(app):
        url = rule_url(rule)
        response = anonymous_request(client, rule, url, token)
        location = urlsplit(response.headers.get("Location", ""))
        if response.status_code != 302 or location.path != "/login":
            let_through[url] = response.status_code
        elif "GET" in rule.methods and parse_qs(location.query).get("next") != [url]:
            let_through[url] = f"next={parse_qs(location.query).get('next')}"
    assert let_through == {}
    assert db_rows() == before


def test_every_staff_htmx_request_without_sign_in_gets_401_and_hx_redirect(app, client, csrf, rule_url):
    token = csrf(client)
    wrong = {}
    for rule in staff_rules(app):
        url = rule_url(rule)
        response = anonymous_request(client, rule, url, token, headers=HX)
        redirect = urlsplit(response.headers.get("HX-Redirect", ""))
        if (
            response.status_code != 401
            or redirect.path != "/login"
            or "<html" in response.get_data(as_text=True)
        ):
            wrong[url] = (response.status_code, response.headers.get("HX-Redirect"))
    assert wrong == {}


@pytest.mark.parametrize("headers", [{}, HX], ids=["form", "htmx"])
def test_sign_in_after_a_post_from_an_expired_session_lands_on_a_working_page(
    app, client, admin, creator, csrf, staff_password, headers
):
    account = creator.accounts().get()
    response = client.post(
        f"/creators/{creator.id}/accounts/{account.id}/delete",
        headers={**headers, "X-CSRFToken": csrf(client)},
    )
    login_url = response.headers.get("Location") or response.headers["HX-Redirect"]
    signed_in = login_post(client, csrf, admin.email, staff_password, path=login_url)
    assert signed_in.status_code == 302
    assert client.get(signed_in.headers["Location"]).status_code == 200
    assert [a.username for a in creator.accounts()] == ["ava.creates"]  # nothing was removed


def test_admin_pages_are_forbidden_to_ordinary_staff(staff_client, db_rows):
    token = {"X-CSRFToken": staff_client.csrf_token}
    before = db_rows()
    responses = {
        "GET /settings/staff": staff_client.get("/settings/staff"),
        "GET /settings/invitation": staff_client.get("/settings/invitation"),
        "POST /settings/staff": staff_client.post(
            "/settings/staff",
            data={"email": "sneaky@evil.example", "password": "a long enough password", "is_admin": "y"},
            headers=token,
        ),
        "POST /settings/invitation": staff_client.post(
            "/settings/invitation", data={"subject": "Hi [Name]", "body": "Changed [Link]"}, headers=token
        ),
        "POST /settings/invitation/preview": staff_client.post(
            "/settings/invitation/preview", data={"subject": "Hi", "body": "Hello"}, headers={**HX, **token}
        ),
    }
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 403)
    assert "Only administrators" in responses["GET /settings/staff"].get_data(as_text=True)
    assert db_rows() == before


def test_password_hash_policy(app, admin_client):
    assert ProductionConfig.PASSWORD_HASH_METHOD == "scrypt:131072:8:1"
    method = app.config["PASSWORD_HASH_METHOD"]
    name, n, r, p = method.split(":")
    assert name == "scrypt" and int(n) <= 2**12, "the test config keeps hashing cheap"

    response = admin_client.post(
        "/settings/staff",
        data={"email": "new@agency.example", "password": "a long enough password"},
        headers={"X-CSRFToken": admin_client.csrf_token},
    )
    assert response.status_code == 302
    assert Staff.by_email("new@agency.example").password_hash.startswith(method + "$")
