"""Property-based: arbitrary text at every form and at the link and callback URLs.

Never a 5xx, never a change when the answer is a 4xx, never the text echoed unescaped.
"""

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.connections.handles import normalise_handle, split_handles
from portal.models import Creator

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(min_size=0, max_size=300)
# Text built to be dangerous if echoed raw, mixed with arbitrary text.
markup = st.builds(lambda a, b: f"{a}<script>x</script><b hx-get='/x'>{b}", text, text)
payloads = st.one_of(text, markup)


DANGEROUS = ("<script>x</script>", "<b hx-get='/x'>")


def check(response, db_rows, before, payload):
    assert response.status_code < 500
    if 400 <= response.status_code < 500:
        assert db_rows() == before
    body = response.get_data(as_text=True)
    for marker in DANGEROUS:
        if marker in payload:
            assert marker not in body


emails = st.one_of(st.just(""), payloads)  # empty often: an email is optional
# Handles typed one a line or with commas: pasted addresses, @names, junk, markup.
handle_lines = st.lists(
    st.one_of(
        st.sampled_from(["ava.creates", "@Ava.Creates", "https://www.instagram.com/ava.eats/"]), payloads
    ),
    max_size=5,
)


@FUZZ
@given(name=payloads, email=emails, handles=handle_lines, separator=st.sampled_from(["\n", ",", "\r\n"]))
def test_creator_form_never_fails_or_echoes_raw(admin_client, db_rows, name, email, handles, separator):
    before = db_rows()
    typed = separator.join(handles)
    response = admin_client.post(
        "/creators/new",
        data={"name": name, "email": email, "handles": typed, "csrf_token": admin_client.csrf_token},
    )
    check(response, db_rows, before, name)
    check(response, db_rows, before, email)
    check(response, db_rows, before, typed)
    if response.status_code == 302:  # saved: with every handle typed, each once
        created = Creator.select().order_by(Creator.id.desc()).get()
        expected = {normalise_handle(text) for _, text in split_handles(typed)}
        assert {account.username for account in created.accounts()} == expected


@FUZZ
@given(handle=payloads)
def test_handle_form_never_fails_or_echoes_raw(admin_client, creator, db_rows, handle):
    before = db_rows()
    response = admin_client.post(
        f"/creators/{creator.id}/accounts",
        data={"handle": handle},
        headers={"X-CSRFToken": admin_client.csrf_token, "HX-Request": "true"},
    )
    check(response, db_rows, before, handle)


@FUZZ
@given(subject=payloads, body=payloads)
def test_invitation_preview_never_fails_or_echoes_raw(admin_client, db_rows, subject, body):
    before = db_rows()
    response = admin_client.post(
        "/settings/invitation/preview",
        data={"subject": subject, "body": body},
        headers={"X-CSRFToken": admin_client.csrf_token, "HX-Request": "true"},
    )
    # A preview changes nothing; it answers 200, or 400 for text holding a NUL character.
    assert response.status_code in (200, 400) and db_rows() == before
    check(response, db_rows, before, subject + body)


@FUZZ
@given(email=payloads, password=text)
def test_login_form_never_fails(make_app, db_rows, csrf, email, password):
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    before = db_rows()
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf(client)})
    assert response.status_code in (200, 302, 400, 422)
    check(response, db_rows, before, email)


@FUZZ
@given(segment=st.text(min_size=1, max_size=400))
def test_link_urls_never_fail_and_never_match(make_app, segment):
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    response = client.get("/link/" + quote(segment, safe=""))
    assert response.status_code in (404, 405, 308)


@FUZZ
@given(code=text, state=text, error=st.one_of(st.none(), text))
def test_callbacks_never_fail_on_arbitrary_parameters(make_app, creator, db_rows, code, state, error):
    client = make_app(RATELIMIT_ENABLED=False).test_client()
    client.get(f"/link/{creator.raw_link_token}")
    before = db_rows()
    params = {"code": code, "state": state} | ({"error": error} if error is not None else {})
    for provider in ("facebook", "instagram"):
        response = client.get(f"/link/{provider}/callback", query_string=params)
        assert response.status_code == 400
    assert db_rows() == before


@FUZZ
@given(email=payloads, password=payloads, admin=st.sampled_from(["y", "", "x"]))
def test_staff_form_never_fails_or_echoes_raw(admin_client, db_rows, email, password, admin):
    before = db_rows()
    response = admin_client.post(
        "/settings/staff",
        data={"email": email, "password": password, "is_admin": admin, "csrf_token": admin_client.csrf_token},
    )
    check(response, db_rows, before, email + password)


@FUZZ
@given(subject=payloads, body=payloads)
def test_invitation_save_never_fails_or_echoes_raw(admin_client, db_rows, subject, body):
    before = db_rows()
    response = admin_client.post(
        "/settings/invitation",
        data={"subject": subject, "body": body, "csrf_token": admin_client.csrf_token},
    )
    check(response, db_rows, before, subject + body)


@FUZZ
@given(name=payloads, email=payloads)
def test_creator_edit_never_fails_or_echoes_raw(admin_client, creator, db_rows, name, email):
    before = db_rows()
    response = admin_client.post(
        f"/creators/{creator.id}/edit",
        data={"name": name, "email": email, "csrf_token": admin_client.csrf_token},
    )
    check(response, db_rows, before, name + email)
