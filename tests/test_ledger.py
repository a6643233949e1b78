"""The consent ledger: each action writes one entry at its source, staff read and filter them, no secrets."""

import datetime
import html
import re

from test_linking_login import CODE, ava, come_back, connect_business, connect_path, page_after, state_of
from test_staff_accounts import GRAPH_BATCH, FakeMeta, account_url, link, post, signed_in

from portal import db
from portal.compliance.ledger import details_words
from portal.connections.discovery import LinkProblem
from portal.connections.linking import complete_facebook_login, link_chosen, record_verification
from portal.db import utcnow
from portal.models import Creator, LedgerEntry, MetaGrant, SocialAccount

HX = {"HX-Request": "true"}
ADMIN = "staff:admin@example.com"
NEW_STAFF_PASSWORD = "a brand new staff password 42"


def entries(action=None):
    """Return the ledger's entries, oldest first (of one action if given)."""
    query = LedgerEntry.select().order_by(LedgerEntry.id)
    if action:
        query = query.where(LedgerEntry.action == action)
    return list(query)


def only(action):
    found = entries(action)
    assert len(found) == 1, [(e.action, e.actor) for e in entries()]
    return found[0]


def plain(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def record_at(action, moment, creator=None, **details):
    event = LedgerEntry.record(action, ADMIN, creator=creator, **details)
    LedgerEntry.update(at=moment).where(LedgerEntry.id == event.id).execute()
    return event


# --- What is recorded, and by whom ---


def test_staff_sign_in_creating_a_creator_and_issuing_a_link_are_recorded(admin_client):
    assert only("signed_in").actor == ADMIN
    response = admin_client.post(
        "/creators/new", data={"name": "Bo Lindqvist", "csrf_token": admin_client.csrf_token}
    )
    assert response.status_code == 302
    bo = Creator.get(Creator.name == "Bo Lindqvist")
    invited = only("invited")
    assert (invited.actor, invited.creator_id, invited.detail_items) == (
        ADMIN,
        bo.id,
        {"name": "Bo Lindqvist"},
    )
    assert post(admin_client, f"/creators/{bo.id}/link-token").status_code == 302
    rotated = only("link_rotated")
    assert (rotated.actor, rotated.creator_id, rotated.detail_items) == (ADMIN, bo.id, {})


def test_refresh_by_hand_is_recorded_with_its_outcome(meta_app, creator, admin, sign_in, no_network):
    account = link(ava(creator))
    no_network.post(GRAPH_BATCH, json=FakeMeta())
    browser = signed_in(meta_app, sign_in)
    post(browser, account_url(account, "/refresh"), htmx=True)
    expired = {"error": {"message": "Error validating access token: Session has expired", "code": 190}}
    no_network.post(GRAPH_BATCH, json=FakeMeta(fault=(400, expired)))
    SocialAccount.update(status="linked").where(SocialAccount.id == account.id).execute()
    post(browser, account_url(account, "/refresh"), htmx=True)
    first, second = entries("refreshed")
    assert (first.actor, first.account_id, first.creator_id) == (ADMIN, account.id, creator.id)
    assert first.detail_items == {"outcome": "refreshed", "reason": None}
    assert second.detail_items["outcome"] == "failed"
    assert "Session has expired" in second.detail_items["reason"]


def test_toggles_unlink_and_removing_a_handle_are_recorded(admin_client, creator):
    account = link(ava(creator))
    post(admin_client, account_url(account, "/toggle"), {"enabled": "0"}, htmx=True)
    post(admin_client, account_url(account, "/toggle"), {"enabled": "1"}, htmx=True)
    post(admin_client, account_url(account, "/unlink"), htmx=True)
    post(admin_client, account_url(account, "/delete"), htmx=True)
    actions = [(e.action, e.actor, e.creator_id) for e in entries() if e.action != "signed_in"]
    assert actions == [
        ("refresh_disabled", ADMIN, creator.id),
        ("refresh_enabled", ADMIN, creator.id),
        ("unlinked", ADMIN, creator.id),
        ("account_removed", ADMIN, creator.id),
    ]
    assert only("unlinked").detail_items == {"username": "ava.creates"}
    # The account row is gone; its entries stay, and still name it.
    assert SocialAccount.get_or_none(SocialAccount.id == account.id) is None
    assert only("account_removed").detail_items == {"username": "ava.creates"}
    assert only("unlinked").account_id is None


def test_adding_a_handle_is_recorded_on_the_tab_and_with_a_new_creator(admin_client, creator):
    post(admin_client, f"/creators/{creator.id}/accounts", {"handle": "@Ava.Travels"}, htmx=True)
    post(admin_client, f"/creators/{creator.id}/accounts", {"handle": "ava.travels"}, htmx=True)  # refused
    added = only("account_added")
    travels = SocialAccount.get(SocialAccount.username == "ava.travels")
    assert (added.actor, added.creator_id, added.account_id) == (ADMIN, creator.id, travels.id)
    assert added.detail_items == {"username": "ava.travels"}
    post(admin_client, "/creators/new", {"name": "Bo Lindqvist", "handles": "bo.lind\n@bo.eats"})
    bo = Creator.get(Creator.name == "Bo Lindqvist")
    actions = [(e.action, e.creator_id, e.detail_items) for e in entries() if e.creator_id == bo.id]
    assert actions == [
        ("invited", bo.id, {"name": "Bo Lindqvist"}),
        ("account_added", bo.id, {"username": "bo.lind"}),
        ("account_added", bo.id, {"username": "bo.eats"}),
    ]
    page = html.unescape(plain(admin_client.get("/audit?action=account_added").get_data(as_text=True)))
    assert "Account added to the list" in page and "@bo.eats was added to the creator's list" in page


def test_creating_staff_and_editing_the_invitation_are_recorded(admin_client):
    admin_client.post(
        "/settings/staff",
        data={
            "email": "Bob@Example.com",
            "password": NEW_STAFF_PASSWORD,
            "csrf_token": admin_client.csrf_token,
        },
    )
    created = only("staff_created")
    assert (created.actor, created.detail_items) == (ADMIN, {"email": "bob@example.com", "is_admin": False})
    admin_client.post(
        "/settings/invitation",
        data={"subject": "Hello [Name]", "body": "Open [Link]", "csrf_token": admin_client.csrf_token},
    )
    edited = only("invitation_edited")
    assert (edited.actor, edited.detail_items) == (ADMIN, {"subject": "Hello [Name]"})


def test_connect_business_records_who_linked_from_which_page_with_which_scopes_and_role(
    app, creator, graph_client, meta
):
    meta.grant()
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates", tasks=("ANALYZE", "ADVERTISE"))])
    complete_facebook_login(graph_client, creator, meta.short_token, ava(creator))
    linked = only("linked")
    assert linked.actor == f"facebook:{meta.user_id} Ava Chen"
    assert (linked.creator_id, linked.account_id) == (creator.id, ava(creator).id)
    assert linked.detail_items == {
        "username": "ava.creates",
        "page_id": "101",
        "page_name": "Ava Studio",
        "scopes": sorted([*meta.scopes, "public_profile"]),
        "role": "Advertiser",
        "tasks": ["ADVERTISE", "ANALYZE"],
        "business": None,
        "clients": "read-only",  # what the Link Accounts Page said: clients may see the figures
    }
    words = details_words(linked.action, linked.detail_items)
    assert words.endswith("; role: Advertiser; agreed that clients may see the figures, read-only")


def test_an_account_chosen_through_a_business_portfolio_records_the_portfolio(
    app, creator, graph_client, meta
):
    meta.grant()
    meta.accounts([])
    portfolio_page = {k: v for k, v in meta.page(202, "Studio Page", "ava.studio").items() if k != "tasks"}
    meta.businesses({"id": "9001", "name": "Chen Media", "owned_pages": [portfolio_page]})
    outcome = complete_facebook_login(graph_client, creator, meta.short_token)
    grant = MetaGrant.get_by_id(outcome.grant_id)
    link_chosen(creator, grant, {"178414202"})
    details = only("linked").detail_items
    assert (details["business"], details["role"], details["page_name"]) == ("Chen Media", None, "Studio Page")


def test_verification_and_a_skipped_choice_are_recorded(app, creator, graph_client, meta):
    record_verification(creator, {"user_id": "17841499999", "username": "ava.creates", "name": "Ava"})
    verified = only("verified")
    assert (verified.actor, verified.detail_items) == ("instagram:17841499999", {"username": "ava.creates"})

    meta.grant()
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates", tasks=("MODERATE",))])
    outcome = complete_facebook_login(graph_client, creator, meta.short_token)
    link_chosen(creator, MetaGrant.get_by_id(outcome.grant_id), {"178414101"})
    failed = only("link_failed")
    assert failed.actor == f"facebook:{meta.user_id} Ava Chen"
    assert failed.detail_items == {"problem": LinkProblem.ROLE_TOO_LOW}


def test_link_page_failures_and_unlinks_are_recorded(link_browser, creator, meta, csrf):
    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state = state_of(link_browser, connect_path(ava(creator)))
    page_after(link_browser, come_back(link_browser, "facebook", state, error="access_denied"))
    failed = only("link_failed")
    assert (failed.actor, failed.account_id, failed.detail_items) == (
        "link page",
        ava(creator).id,
        {"problem": LinkProblem.CANCELLED},
    )

    connect_business(link_browser, creator)
    account = ava(creator)
    path = f"/link/accounts/{account.id}/unlink"
    link_browser.post(path, data={"csrf_token": csrf(link_browser, path)})
    link_browser.post(path, data={"csrf_token": csrf(link_browser, path), "delete_data": "1"})
    unlinked, deleted = only("unlinked"), only("unlinked_and_deleted")
    assert (unlinked.actor, unlinked.account_id) == ("link page", account.id)
    assert (deleted.actor, deleted.detail_items) == ("link page", {"username": "ava.creates", "files": 0})


def test_no_token_code_state_password_or_link_is_ever_recorded(
    meta_app, creator, admin, sign_in, staff_password, meta, no_network, csrf
):
    link_browser = meta_app.test_client()
    link_browser.get(f"/link/{creator.raw_link_token}")
    staff = signed_in(meta_app, sign_in)
    secrets = {staff_password, NEW_STAFF_PASSWORD, creator.raw_link_token, CODE, "fb-secret", "ig-secret"}
    secrets |= {meta.short_token, meta.long_token, meta.page_token(101), meta.ig_token}

    meta.facebook_login([meta.page(101, "Ava Studio", "ava.creates")])
    state = state_of(link_browser, connect_path(ava(creator)))
    secrets.add(state)
    page_after(link_browser, come_back(link_browser, "facebook", state))  # linked
    state = state_of(link_browser, connect_path(ava(creator)))
    secrets.add(state)
    page_after(link_browser, come_back(link_browser, "facebook", state, error="access_denied"))
    account = ava(creator)
    no_network.post(GRAPH_BATCH, json=FakeMeta())
    post(staff, account_url(account, "/refresh"), htmx=True)
    post(staff, account_url(account, "/toggle"), htmx=True)
    post(staff, account_url(account, "/toggle"), htmx=True)
    post(staff, account_url(account, "/unlink"), htmx=True)
    meta.instagram_code_exchange()
    meta.instagram_me("ava.creates")
    state = state_of(link_browser, f"/link/verify?account={account.id}")
    secrets.add(state)
    page_after(link_browser, come_back(link_browser, "instagram", state))  # verified
    path = f"/link/accounts/{account.id}/unlink"
    link_browser.post(path, data={"csrf_token": csrf(link_browser, path), "delete_data": "1"})
    post(staff, "/creators/new", {"name": "Bo Lindqvist", "handles": "bo.lind"})
    for person in Creator.select():
        secrets.add(person.link_token)
    post(staff, f"/creators/{creator.id}/link-token")
    secrets.add(Creator.get_by_id(creator.id).link_token)
    post(staff, "/settings/staff", {"email": "bob@example.com", "password": NEW_STAFF_PASSWORD})
    post(staff, "/settings/invitation", {"subject": "Hi [Name]", "body": "Open [Link]"})
    SocialAccount.add_handle(creator, "ava.old")
    post(staff, account_url(SocialAccount.get(SocialAccount.username == "ava.old"), "/delete"), htmx=True)

    recorded = {event.action for event in entries()}
    assert recorded >= {
        "signed_in", "linked", "link_failed", "refreshed", "refresh_disabled", "refresh_enabled", "unlinked",
        "verified", "unlinked_and_deleted", "invited", "link_rotated", "staff_created", "invitation_edited",
        "account_removed", "account_added",
    }  # fmt: skip
    stored = repr(db.database.execute_sql("SELECT * FROM audit_event").fetchall())
    assert [secret for secret in secrets if secret and secret in stored] == []


def test_a_token_inside_a_message_is_redacted_before_it_is_recorded(app):
    reason = "Graph said: GET /v27.0/me?access_token=EAAleakyToken123&fields=id failed"
    LedgerEntry.record("refreshed", ADMIN, outcome="failed", reason=reason)
    stored = repr(db.database.execute_sql("SELECT * FROM audit_event").fetchall())
    assert "EAAleakyToken123" not in stored
    assert only("refreshed").detail_items["reason"] == (
        "Graph said: GET /v27.0/me?access_token=[redacted]&fields=id failed"
    )


# --- The ledger page ---


def test_the_ledger_needs_a_staff_sign_in(client):
    response = client.get("/audit")
    assert response.status_code == 302 and response.location.startswith("/login")
    swap = client.get("/audit", headers=HX)
    assert swap.status_code == 401 and swap.headers["HX-Redirect"].startswith("/login")


def test_the_ledger_page_and_its_swap(staff_client, creator):
    scopes = ["instagram_basic", "pages_show_list"]
    account = ava(creator)
    actor = "facebook:1015 Gabriela Good"
    details = {"page_name": "Ava Chen Creates", "scopes": scopes, "role": "Admin"}
    LedgerEntry.record("linked", actor, creator=creator, account=account, **details)
    page = staff_client.get("/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and "HX-Request" in page.headers["Vary"]
    assert '<a href="/audit" aria-current="page">Ledger</a>' in html
    text = plain(html)
    assert "Account linked" in text and "Gabriela Good (Facebook user 1015)" in text
    assert "through the Page “Ava Chen Creates” with instagram_basic, pages_show_list; role: Admin" in text
    assert f'href="/creators/{creator.id}"' in html
    assert f'href="/creators/{creator.id}/accounts/{account.id}/metrics"' in html
    assert re.search(r"\d\d [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", text)

    swap = staff_client.get("/audit", headers=HX)
    body = swap.get_data(as_text=True)
    assert swap.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<section id="audit-results"') and "Ava Chen Creates" in body
    assert "HX-Request" in swap.headers["Vary"]


def test_the_ledger_is_newest_first_and_filters_by_action_creator_and_dates(staff_client, creator):
    bo = Creator.create(name="Bo Lindqvist")
    day = datetime.datetime(2026, 3, 10, 12, tzinfo=datetime.UTC)
    record_at("invited", day - datetime.timedelta(days=5), creator=bo, name="Bo Lindqvist")
    record_at("link_rotated", day, creator=creator)
    record_at("refresh_disabled", day + datetime.timedelta(days=1, hours=11), creator=creator)
    record_at("invited", day + datetime.timedelta(days=3), creator=creator, name="Ava Chen")

    def shown(**args):
        body = staff_client.get("/audit", query_string=args, headers=HX).get_data(as_text=True)
        return re.findall(r'data-label="Action">([^<]+)<', body), plain(body)

    actions, _ = shown()
    assert actions == [
        "Staff signed in",  # just now
        "Creator added, with their link",
        "Scheduled refresh switched off",
        "New link issued",
        "Creator added, with their link",
    ]
    actions, text = shown(action="invited")
    assert actions == ["Creator added, with their link", "Creator added, with their link"]
    actions, text = shown(creator="lindq")
    assert actions == ["Creator added, with their link"] and "Bo Lindqvist" in text and "Ava Chen" not in text
    actions, _ = shown(since="2026-03-10", until="2026-03-11")  # both days, the last one inclusive
    assert actions == ["Scheduled refresh switched off", "New link issued"]
    actions, text = shown(action="linked")
    assert actions == [] and "No entry matches these filters." in text
    actions, _ = shown(action="<script>", since="yesterday", until="9999-12-31", page="-3")  # ignored
    assert len(actions) == 5  # the four above and the staff sign-in


def test_the_ledger_pages_by_fifty_and_the_pager_keeps_the_filter(staff_client, creator):
    start = utcnow() - datetime.timedelta(days=1)
    for n in range(51):
        record_at("link_rotated", start + datetime.timedelta(minutes=n), creator=creator)
    first = staff_client.get("/audit?action=link_rotated", headers=HX).get_data(as_text=True)
    assert first.count('data-label="Action"') == 50 and "51 entries · page 1 of 2" in plain(first)
    assert 'href="/audit?action=link_rotated&amp;page=2"' in first
    assert 'hx-get="/audit?action=link_rotated&amp;page=2"' in first
    second = staff_client.get("/audit?action=link_rotated&page=2", headers=HX).get_data(as_text=True)
    assert second.count('data-label="Action"') == 1 and "page 2 of 2" in plain(second)


def test_a_page_of_the_ledger_is_one_query_whatever_its_length(app, creator, count_queries):
    for n in range(30):
        account = SocialAccount.add_handle(creator, f"handle.{n}")
        LedgerEntry.record("refresh_enabled", ADMIN, creator=creator, account=account)
    LedgerEntry.record("signed_in", ADMIN)
    with count_queries() as statements:
        page = LedgerEntry.search(page=1, per_page=50)
        names = [
            (e.creator.name if e.creator else None, e.account.username if e.account else None)
            for e in page.items
        ]
    assert len(statements) == 1 and page.total == 31 and len(names) == 31
    assert names[0] == (None, None) and names[1] == ("Ava Chen", "handle.29")
