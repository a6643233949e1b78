"""Meta's callbacks: Deauthorize, Data Deletion and its status page, and webhooks (security.md §2.2-2.4)."""

import base64
import datetime
import hashlib
import hmac
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import redaction
from portal.db import utcnow
from portal.graph.signatures import InvalidSignedRequest, parse_signed_request
from portal.models import (
    AccountMetric,
    AccountStatus,
    AudienceSnapshot,
    Creator,
    DeletionRequest,
    LedgerEntry,
    Media,
    MediaMetric,
    MetaGrant,
    ProfileSnapshot,
    SocialAccount,
    Story,
    StoryMetric,
)

FB_SECRET = "fb-secret"  # META_APP_SETTINGS in conftest.py
IG_SECRET = "ig-secret"
HELPER_ID = "10158812345678901"  # the app-scoped Facebook id of the person who linked Ava's accounts
HELPER_NAME = "Hana Helper"
OTHER_ID = "10150000000000002"
STORY_ID = "18023345989012587"
CSRF_PAGE = "This form has expired"
FIGURE_MODELS = (ProfileSnapshot, AccountMetric, AudienceSnapshot, Media, Story)


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def sign(payload_text, secret=FB_SECRET):
    """Return a signed_request for an already-encoded payload, as Meta builds it (no padding)."""
    digest = hmac.new(secret.encode(), payload_text.encode(), hashlib.sha256).digest()
    return f"{b64url(digest)}.{payload_text}"


def signed_request(user_id=HELPER_ID, secret=FB_SECRET, **fields):
    payload = {"algorithm": "HMAC-SHA256", "issued_at": 1291836800, "user_id": user_id, **fields}
    return sign(b64url(json.dumps(payload).encode()), secret)


def hub_signature(body, secret=FB_SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def add_figures(account, archive=None):
    """Store one row of every kind of figure for an account (the story with an archived file)."""
    day = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
    ProfileSnapshot.create(account=account, taken_on=day.date(), followers_count=10)
    AccountMetric.create(account=account, metric="views", end_time=day, value=5)
    AudienceSnapshot.create(account=account, metric="follower_demographics", breakdown="age", data="{}")
    media = Media.create(account=account, ig_media_id=f"m{account.id}", media_type="IMAGE")
    MediaMetric.create(media=media, metric="views", value=3)
    story = Story.create(
        account=account,
        ig_media_id=f"s{account.id}",
        media_type="IMAGE",
        archived_file=str(archive) if archive else None,
    )
    StoryMetric.create(story=story, metric="views", value=2)


def link_through_facebook(creator, user_id, user_name, usernames):
    """Link the creator's accounts through one Facebook grant of user_id; return (grant, accounts)."""
    grant = MetaGrant.create(
        creator=creator,
        provider=MetaGrant.FACEBOOK,
        meta_user_id=user_id,
        meta_user_name=user_name,
        user_token=f"EAAuserToken{user_id}",
        granted_scopes="instagram_basic,instagram_manage_insights",
    )
    accounts = []
    for number, username in enumerate(usernames, start=1):
        account = SocialAccount.get_or_none(creator=creator, username=username) or SocialAccount(
            creator=creator, username=username
        )
        account.status = AccountStatus.LINKED
        account.grant = grant
        account.ig_user_id = f"178414{user_id[-4:]}{number}"
        account.page_id, account.page_name = f"10{number}", "Ava's Page"
        account.page_token = f"EAAJpageToken{user_id}{number}"
        account.linked_by_fb_user_id, account.linked_by_name = user_id, user_name
        account.linked_at = utcnow()
        account.save()
        accounts.append(account)
    return grant, accounts


@pytest.fixture
def ava(meta_callbacks_app, creator, tmp_path):
    """Ava's two accounts, linked by HELPER_ID, with figures and an archived story file."""
    grant, accounts = link_through_facebook(creator, HELPER_ID, HELPER_NAME, ["ava.creates", "ava.travels"])
    archive = tmp_path / "story.jpg"
    archive.write_bytes(b"jpeg")
    add_figures(accounts[0], archive)
    add_figures(accounts[1])
    # A choice not made yet: a second grant of the same person, holding Page tokens.
    MetaGrant.create(
        creator=creator,
        provider=MetaGrant.FACEBOOK,
        meta_user_id=HELPER_ID,
        user_token="EAAuserTokenPending",
        candidates="[]",
    )
    LedgerEntry.record("linked", f"facebook:{HELPER_ID} {HELPER_NAME}", creator=creator, account=accounts[0])
    return grant, accounts, archive


@pytest.fixture
def ben(meta_callbacks_app):
    """Another creator, linked by another person, who must come through untouched."""
    person = Creator.create(name="Ben Okafor")
    grant, accounts = link_through_facebook(person, OTHER_ID, "Ola Other", ["ben.builds"])
    add_figures(accounts[0])
    return grant, accounts


def rows_of(account_ids, rows):
    """Return the parts of a db_rows() dump that belong to these accounts (figures by account column)."""
    return {
        name: [row for row in table if row[1] in account_ids]
        for name, table in rows.items()
        if name in {model.__name__ for model in FIGURE_MODELS}
    }


# --- signed_request ---


def test_signed_request_valid(meta_callbacks_app, ava, ben):
    raw = json.dumps({"algorithm": "hmac-sha256", "issued_at": 1291836800, "user_id": HELPER_ID})
    assert len(raw) % 3, "this payload must need padding for the test to mean anything"
    text = sign(b64url(raw.encode()))
    assert "=" not in text
    assert parse_signed_request(text, FB_SECRET)["user_id"] == HELPER_ID
    # Padding left on is accepted too, and a numeric user_id comes back as text.
    numeric = json.dumps({"algorithm": "HMAC-SHA256", "user_id": 42}).encode()
    padded = base64.urlsafe_b64encode(numeric).decode()
    assert parse_signed_request(sign(padded), FB_SECRET)["user_id"] == "42"

    client = meta_callbacks_app.test_client()
    response = client.post("/meta/deauthorize", data={"signed_request": text})
    assert response.status_code == 200
    _, accounts, _ = ava
    statuses = {a.username: a.status for a in SocialAccount.select()}
    assert statuses == {"ava.creates": "revoked", "ava.travels": "revoked", "ben.builds": "linked"}


def test_signed_request_valid_with_instagram_secret(meta_callbacks_app, creator):
    account = creator.accounts().get()
    SocialAccount.update(status=AccountStatus.VERIFIED, ig_user_id="17841400000000009").execute()
    client = meta_callbacks_app.test_client()
    text = signed_request(user_id="17841400000000009", secret=IG_SECRET)

    assert client.post("/meta/deauthorize", data={"signed_request": text}).status_code == 200

    assert SocialAccount.get_by_id(account.id).status == AccountStatus.REVOKED
    event = LedgerEntry.get(LedgerEntry.action == "deauthorized")
    assert (event.actor, event.account_id) == ("meta", account.id)
    assert event.detail_items == {"provider": "instagram"}


def _rejected_requests():
    good_payload = b64url(json.dumps({"algorithm": "HMAC-SHA256", "user_id": HELPER_ID}).encode())
    signature = signed_request().split(".")[0]
    return {
        "bad signature": f"{signature}.{good_payload}",
        "wrong secret": sign(good_payload, "not-our-secret"),
        "algorithm": signed_request(algorithm="HMAC-SHA1"),
        "no algorithm": sign(b64url(json.dumps({"user_id": HELPER_ID}).encode())),
        "missing dot": good_payload,
        "empty signature": f".{good_payload}",
        "non-base64": sign("not*base64!"),
        "non-base64 signature": f"$$$.{good_payload}",
        "non-JSON": sign(b64url(b"this is not json")),
        "not an object": sign(b64url(b'["user_id", "1"]')),
        "no user_id": sign(b64url(json.dumps({"algorithm": "HMAC-SHA256"}).encode())),
        "oversized": signed_request(padding="x" * 9000),
        "empty": "",
    }


def test_signed_request_rejections(meta_callbacks_app, ava, db_rows, monkeypatch, caplog):
    compared = []
    real_compare = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client = meta_callbacks_app.test_client()
    before = db_rows()
    cases = _rejected_requests()
    for name, text in cases.items():
        with pytest.raises(InvalidSignedRequest):
            parse_signed_request(text, FB_SECRET)
        for path in ("/meta/deauthorize", "/meta/data-deletion"):
            compared.clear()
            response = client.post(path, data={"signed_request": text})
            assert response.status_code == 400, (name, path)
            if name in ("bad signature", "wrong secret"):
                assert len(compared) == 2, "each app secret is checked in constant time"
    for path in ("/meta/deauthorize", "/meta/data-deletion"):
        assert client.post(path).status_code == 400  # no signed_request at all

    assert db_rows() == before
    for text in cases.values():
        if text:
            assert text not in caplog.text  # the reason is logged, never the request
    assert "signature does not match" in caplog.text


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=400),
        st.builds(lambda a, b: f"{a}.{b}", st.text(max_size=60), st.text(max_size=200)),
        st.builds(lambda raw: sign(b64url(raw)), st.binary(max_size=200)),
    )
)
def test_signed_request_parser_only_ever_raises_its_own_error(text):
    try:
        payload = parse_signed_request(text, FB_SECRET)
    except InvalidSignedRequest:
        return
    assert isinstance(payload, dict) and payload["user_id"]


# --- Deauthorize ---


def test_deauthorize_disables_token_immediately(meta_callbacks_app, ava, ben, db_rows):
    grant, accounts, archive = ava
    client = meta_callbacks_app.test_client()
    now = utcnow()
    assert {a.id for a in SocialAccount.refreshable(now)} == {accounts[0].id, accounts[1].id, ben[1][0].id}

    response = client.post("/meta/deauthorize", data={"signed_request": signed_request()})

    assert response.status_code == 200
    for row in MetaGrant.select().where(MetaGrant.meta_user_id == HELPER_ID):
        assert (row.user_token, row.candidates) == (None, None)
        assert row.revoked_at is not None
    for account in accounts:
        account = SocialAccount.get_by_id(account.id)
        assert (account.status, account.page_token) == (AccountStatus.REVOKED, None)
    assert [a.id for a in SocialAccount.refreshable(now)] == [ben[1][0].id]  # no further scheduled calls
    # History is kept until a deletion request or the retention policy removes it.
    assert Story.select().where(Story.account.in_([a.id for a in accounts])).count() == 2
    assert archive.exists()
    assert MetaGrant.get_by_id(ben[0].id).user_token == f"EAAuserToken{OTHER_ID}"
    events = LedgerEntry.select().where(LedgerEntry.action == "deauthorized")
    assert sorted((e.actor, e.account_id) for e in events) == [("meta", a.id) for a in accounts]

    settled = db_rows()
    again = client.post("/meta/deauthorize", data={"signed_request": signed_request()})
    assert again.status_code == 200
    assert db_rows() == settled  # a repeat changes nothing more


# --- Data deletion ---


def _request_deletion(client, user_id=HELPER_ID):
    response = client.post("/meta/data-deletion", data={"signed_request": signed_request(user_id=user_id)})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_data_deletion_response_and_status_page(meta_callbacks_app, ava):
    client = meta_callbacks_app.test_client()

    answer = _request_deletion(client)

    code = answer["confirmation_code"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", code)  # token_urlsafe(24): 192 bits
    assert answer["url"] == f"https://portal.example/meta/deletion-status/{code}"
    page = client.get(f"/meta/deletion-status/{code}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    text = page.get_data(as_text=True)
    assert "<html" in text
    assert "Completed" in text
    assert "Deleted the access and stored figures of 2 Instagram accounts." in text
    for personal in (HELPER_ID, HELPER_NAME, "Ava Chen", "ava.creates", "ava@creators.test"):
        assert personal not in text

    unknown = client.get("/meta/deletion-status/" + "A" * 32)
    assert unknown.status_code == 404
    assert "Page not found" in unknown.get_data(as_text=True)
    assert unknown.headers["X-Robots-Tag"] == "noindex, nofollow"

    repeat = _request_deletion(client)
    assert repeat["confirmation_code"] != code
    again = client.get(f"/meta/deletion-status/{repeat['confirmation_code']}").get_data(as_text=True)
    assert "Nothing was left to delete" in again
    assert "Deleted the access" in client.get(f"/meta/deletion-status/{code}").get_data(as_text=True)


def test_data_deletion_for_someone_we_never_saw(meta_callbacks_app, creator, db_rows):
    client = meta_callbacks_app.test_client()
    before = db_rows()

    answer = _request_deletion(client, user_id="999")

    page = client.get(f"/meta/deletion-status/{answer['confirmation_code']}").get_data(as_text=True)
    assert "We held no data for this person." in page
    after = db_rows()
    assert after["SocialAccount"] == before["SocialAccount"]
    assert after["MetaGrant"] == before["MetaGrant"]


def test_data_deletion_purges_only_that_user(meta_callbacks_app, ava, ben, db_rows):
    grant, accounts, archive = ava
    ava_ids, ben_ids = {a.id for a in accounts}, {a.id for a in ben[1]}
    client = meta_callbacks_app.test_client()
    client.post("/meta/deauthorize", data={"signed_request": signed_request()})  # Meta's usual order
    before = db_rows()

    code = _request_deletion(client)["confirmation_code"]

    after = db_rows()
    assert all(rows == [] for rows in rows_of(ava_ids, after).values())
    assert MediaMetric.select().count() == StoryMetric.select().count() == 1  # Ben's
    assert not archive.exists()
    assert MetaGrant.select().where(MetaGrant.meta_user_id == HELPER_ID).count() == 0
    for account in SocialAccount.select().where(SocialAccount.id.in_(ava_ids)):
        assert account.status == AccountStatus.REVOKED
        assert (account.page_token, account.grant_id, account.ig_user_id, account.linked_by_name) == (
            None,
            None,
            None,
            None,
        )
    # Nothing anywhere still names the person: not their id, not their name.
    dump = repr(after)
    assert HELPER_ID not in dump and HELPER_NAME not in dump
    # Ben, linked by someone else, comes through untouched.
    assert rows_of(ben_ids, after) == rows_of(ben_ids, before)
    assert [r for r in after["MetaGrant"] if r[0] == ben[0].id] == [
        r for r in before["MetaGrant"] if r[0] == ben[0].id
    ]
    assert [r for r in after["SocialAccount"] if r[0] in ben_ids] == [
        r for r in before["SocialAccount"] if r[0] in ben_ids
    ]
    audit = LedgerEntry.get(LedgerEntry.action == "data_deletion")
    assert (audit.actor, audit.creator_id, audit.account_id) == ("meta", None, None)
    assert audit.detail_items == {"code": code, "accounts": 2, "grants": 2}
    deletion = DeletionRequest.get(DeletionRequest.confirmation_code == code)
    assert deletion.user_digest == hashlib.sha256(f"facebook:{HELPER_ID}".encode()).hexdigest()
    assert (deletion.provider, deletion.status) == ("facebook", DeletionRequest.COMPLETED)
    assert deletion.completed_at is not None


def test_meta_callbacks_csrf_exempt_but_not_unauthenticated(meta_callbacks_app, ava, db_rows):
    # HTTPS without a Referer: a CSRF-protected form would be refused on two counts here.
    client = meta_callbacks_app.test_client()
    https = {"base_url": "https://portal.example"}
    before = db_rows()
    for path in ("/meta/deauthorize", "/meta/data-deletion"):
        for data in ({}, {"signed_request": "forged.request"}):
            response = client.post(path, data=data, **https)
            assert response.status_code == 400
            assert CSRF_PAGE not in response.get_data(as_text=True)
    assert client.post("/meta/webhook", data=b"{}", **https).status_code == 403
    assert db_rows() == before

    for path in ("/meta/deauthorize", "/meta/data-deletion"):
        assert client.post(path, data={"signed_request": signed_request()}, **https).status_code == 200
    body = b'{"object":"instagram","entry":[]}'
    headers = {"X-Hub-Signature-256": hub_signature(body), "Content-Type": "application/json"}
    assert client.post("/meta/webhook", data=body, headers=headers, **https).status_code == 200


def test_deletion_status_page_rate_limited(meta_callbacks_app):
    client = meta_callbacks_app.test_client()
    answers = [client.get(f"/meta/deletion-status/guess{n:030d}").status_code for n in range(31)]
    assert answers[:30] == [404] * 30
    assert answers[30] == 429


def test_deletion_status_code_kept_out_of_logs():
    line = '"GET /meta/deletion-status/AbCdEfGhIjKlMnOpQrStUvWxYz012345 HTTP/1.1" 200'
    assert "AbCdEfGhIjKlMnOpQrStUvWxYz012345" not in redaction.redact(line)


# --- Webhooks ---


def _handshake(client, **params):
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    query.update(params)
    return client.get("/meta/webhook", query_string={k: v for k, v in query.items() if v is not None})


def test_webhook_handshake_answers_the_challenge(meta_callbacks_app):
    response = _handshake(meta_callbacks_app.test_client())
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "1158201444"


def test_webhook_handshake_refuses_a_wrong_token_or_mode(meta_callbacks_app):
    client = meta_callbacks_app.test_client()
    for params in (
        {"hub.verify_token": "verify-you"},
        {"hub.verify_token": ""},
        {"hub.verify_token": None},
        {"hub.mode": "unsubscribe"},
        {"hub.mode": None},
    ):
        response = _handshake(client, **params)
        assert response.status_code == 403, params
        assert "1158201444" not in response.get_data(as_text=True)


def test_webhook_handshake_refused_when_no_token_is_configured(meta_app):
    client = meta_app.test_client()
    for token in ("verify-me", "", "None"):
        assert _handshake(client, **{"hub.verify_token": token}).status_code == 403


def story_insights(media_id=STORY_ID, **values):
    value = {"media_id": media_id, "exits": 1, "replies": 0, "reach": 17, "taps_forward": 12, **values}
    change = {"field": "story_insights", "value": value}
    entry = {"id": "17841400000000001", "time": 1547687043, "changes": [change]}
    return json.dumps({"object": "instagram", "entry": [entry]}).encode()


def _deliver(client, body, signature="valid"):
    headers = {"Content-Type": "application/json"}
    if signature == "valid":
        headers["X-Hub-Signature-256"] = hub_signature(body)
    elif signature:
        headers["X-Hub-Signature-256"] = signature
    return client.post("/meta/webhook", data=body, headers=headers)


@pytest.fixture
def live_story(meta_callbacks_app, creator):
    """A story of Ava's linked account, with the metrics polling read while it was live."""
    account = creator.accounts().get()
    SocialAccount.update(status=AccountStatus.LINKED, ig_user_id="17841400000000001").execute()
    story = Story.create(account=account, ig_media_id=STORY_ID, media_type="IMAGE")
    for metric, value in (("views", 40), ("reach", 30), ("shares", 1)):
        StoryMetric.create(story=story, metric=metric, value=value)
    return story


def story_metrics(story):
    return {m.metric: m.value for m in StoryMetric.select().where(StoryMetric.story == story)}


def test_webhook_delivery_needs_a_valid_signature(meta_callbacks_app, live_story, db_rows):
    client = meta_callbacks_app.test_client()
    body = story_insights()
    before = db_rows()
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    for signature in (
        None,
        "",
        "sha256=" + "0" * 64,
        hub_signature(body, "not-our-secret"),
        hub_signature(body).replace("sha256=", "sha1="),
        hub_signature(body)[:-2],
        hub_signature(reserialised),  # the signature covers the raw bytes as sent
        "sha256=\u00e9" * 3,
    ):
        assert _deliver(client, body, signature).status_code == 403, signature
    assert db_rows() == before

    assert _deliver(client, body).status_code == 200
    assert story_metrics(live_story)["reach"] == 17


def test_story_insights_merged_into_story_metrics(meta_callbacks_app, live_story):
    client = meta_callbacks_app.test_client()
    body = story_insights(note="not a number", flag=True)

    assert _deliver(client, body).status_code == 200
    assert _deliver(client, body).status_code == 200  # Meta retries: the same delivery twice

    assert story_metrics(live_story) == {
        "views": 40,  # polling's, kept
        "shares": 1,
        "reach": 17,  # the webhook's, final at expiry
        "replies": 0,
        "exits": 1,
        "taps_forward": 12,
    }


def test_story_insights_for_unknown_or_revoked_stories_are_ignored(meta_callbacks_app, live_story):
    client = meta_callbacks_app.test_client()
    assert _deliver(client, story_insights(media_id="99999")).status_code == 200
    other_kinds = json.dumps({"object": "page", "entry": [{"id": "1", "changes": "odd"}]}).encode()
    assert _deliver(client, other_kinds).status_code == 200
    SocialAccount.update(status=AccountStatus.REVOKED).execute()
    assert _deliver(client, story_insights()).status_code == 200
    assert story_metrics(live_story) == {"views": 40, "reach": 30, "shares": 1}
    assert _deliver(client, b"not json").status_code == 400


def test_webhook_body_over_the_size_limit_is_refused(meta_callbacks_app, live_story):
    body = b"{" + b" " * (1024 * 1024) + b"}"
    assert _deliver(meta_callbacks_app.test_client(), body).status_code == 413


# --- Story values under Meta's privacy threshold (reference §6.4): -1 means "fewer than 5" ---


def test_minus_one_is_stored_as_fewer_than_five_and_never_as_a_number(
    meta_callbacks_app, live_story, admin, sign_in
):
    client = meta_callbacks_app.test_client()
    assert _deliver(client, story_insights(replies=-1, reach=-1, exits=3)).status_code == 200
    rows = {m.metric: m for m in StoryMetric.select().where(StoryMetric.story == live_story)}
    assert (rows["reach"].value, rows["reach"].under_threshold) == (None, True)
    assert (rows["replies"].value, rows["replies"].under_threshold) == (None, True)
    assert (rows["exits"].value, rows["exits"].under_threshold) == (3, False)
    assert (rows["views"].value, rows["views"].under_threshold) == (40, False)  # polling's, untouched

    staff = meta_callbacks_app.test_client()
    sign_in(staff, admin.email)
    account = live_story.account
    page = staff.get(f"/creators/{account.creator_id}/accounts/{account.id}/metrics").get_data(as_text=True)
    assert '<dt>Reach</dt><dd><abbr class="under-threshold"' in page and ">&lt;5</abbr>" in page
    csv_text = staff.get(f"/creators/{account.creator_id}/accounts/{account.id}/metrics.csv").get_data(
        as_text=True
    )
    reach = [line for line in csv_text.splitlines() if line.startswith("story,") and ",reach," in line]
    assert reach and reach[0].endswith(",fewer than 5 (Meta's privacy threshold)") and ",-1," not in csv_text


def test_a_polled_number_replaces_a_webhooks_fewer_than_five(meta_callbacks_app, live_story):
    from portal.insights import rows as insight_rows

    _deliver(meta_callbacks_app.test_client(), story_insights(reach=-1))
    account = live_story.account
    answers = {
        (account.id, "stories"): {"data": [{"id": STORY_ID, "media_type": "IMAGE"}]},
        (account.id, "story_insights", STORY_ID): {"data": [{"name": "reach", "values": [{"value": 8}]}]},
    }
    insight_rows.write_stories([insight_rows.Answered(account, answers, {})], utcnow())
    row = StoryMetric.get((StoryMetric.story == live_story) & (StoryMetric.metric == "reach"))
    assert (row.value, row.under_threshold) == (8, False)


# --- Instagram Login has two ids (reference §0.2 rule 10) ---


def verified_leo(creator):
    """Record Leo's verification as Instagram Login's /me answers it: both ids."""
    from portal.connections.linking import record_verification

    profile = {"id": "26000000000000007", "user_id": "17841400000000007", "username": "leo.sketches"}
    account, problem = record_verification(creator, profile)
    assert problem is None
    return account


def test_verification_keeps_both_instagram_ids(meta_callbacks_app, creator):
    account = verified_leo(creator)
    assert (account.ig_user_id, account.instagram_login_id) == ("17841400000000007", "26000000000000007")


@pytest.mark.parametrize("sent_id", ["26000000000000007", "17841400000000007"], ids=["app-scoped", "user_id"])
def test_instagram_deauthorize_matches_either_id(meta_callbacks_app, creator, sent_id):
    account = verified_leo(creator)
    client = meta_callbacks_app.test_client()
    answer = client.post("/meta/deauthorize", data={"signed_request": signed_request(sent_id, IG_SECRET)})
    assert answer.status_code == 200
    assert SocialAccount.get_by_id(account.id).status == AccountStatus.REVOKED


@pytest.mark.parametrize("sent_id", ["26000000000000007", "17841400000000007"], ids=["app-scoped", "user_id"])
def test_instagram_data_deletion_matches_either_id_and_forgets_both(meta_callbacks_app, creator, sent_id):
    account = verified_leo(creator)
    client = meta_callbacks_app.test_client()
    answer = client.post("/meta/data-deletion", data={"signed_request": signed_request(sent_id, IG_SECRET)})
    assert answer.status_code == 200 and answer.get_json()["confirmation_code"]
    gone = SocialAccount.get_by_id(account.id)
    assert gone.status == AccountStatus.REVOKED and (gone.ig_user_id, gone.instagram_login_id) == (None, None)
    status = client.get(f"/meta/deletion-status/{answer.get_json()['confirmation_code']}").get_data(
        as_text=True
    )
    assert "Deleted the access and stored figures of 1 Instagram account." in status
