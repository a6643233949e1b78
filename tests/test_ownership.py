"""One owner per Instagram account: an account staff list under one creator is not linked for another."""

import html
import re
from urllib.parse import urlsplit

import pytest
from test_linking_login import ava, come_back, connect_path, page_after, state_of
from test_staff_accounts import HX, account_url, post, signed_in

from portal.compliance.ledger import details_words
from portal.connections.discovery import Candidate, LinkProblem, Problem
from portal.connections.linking import complete_facebook_login, link_chosen, record_verification
from portal.connections.ownership import CannotMove, also_listed, linking_problems, move_handle
from portal.models import AccountStatus, Creator, LedgerEntry, MetaGrant, SocialAccount

X = "x.creates"  # the account staff list under Ben, and Ava's helper reaches too
X_ID = "178414104"  # its Instagram id in the mocks: meta.page(104, ...)
LISTED_WORDS = "lists this Instagram account under another creator, so it cannot be linked here"


@pytest.fixture
def ben(app):
    """Another creator, with @x.creates listed by staff and a link of his own."""
    person = Creator.create(name="Ben Ortiz")
    person.raw_link_token = person.issue_link_token()
    SocialAccount.add_handle(person, X)
    return person


def row(creator, username=X):
    """Return the creator's row for username, or None."""
    return SocialAccount.get_or_none(
        (SocialAccount.creator == creator) & (SocialAccount.username == username)
    )


def set_status(account, status, **fields):
    SocialAccount.update(status=status, **fields).where(SocialAccount.id == account.id).execute()
    return SocialAccount.get_by_id(account.id)


def both_pages(meta):
    """The Pages Ava's helper reaches: Ava's own account and @x.creates."""
    return [meta.page(101, "Ava Studio", "ava.creates"), meta.page(104, "X Studio", X)]


def add_mode_grant(creator, graph_client, meta):
    """Run an "Add Instagram Business account" login reaching both Pages; return the stored grant."""
    meta.grant()
    meta.accounts(both_pages(meta))
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, None)
    assert outcome.problem is None
    return MetaGrant.get_by_id(outcome.grant_id)


def candidate(username, ig_user_id=X_ID):
    """Return a discovery candidate for username, as the chooser holds it."""
    return Candidate(ig_user_id, username, None, None, None, None, "104", "X Studio", None, [])


def failures():
    return [
        (e.creator_id, e.account_id, e.detail_items) for e in LedgerEntry.select().order_by(LedgerEntry.id)
    ]


def profile_row(body, account_id):
    """Return one account's row of a Social Accounts tab."""
    match = re.search(rf'<li id="account-{account_id}".*?</li>\s*(?=<li id="account-|</ul>)', body, re.S)
    assert match, body
    return match.group(0)


# --- The issue's scenario, end to end through the views ---


def test_a_helper_cannot_link_an_account_staff_list_under_another_creator(
    meta_app, link_browser, creator, ben, meta, csrf, admin, sign_in
):
    meta.facebook_login(both_pages(meta))
    response = come_back(link_browser, "facebook", state_of(link_browser, "/link/add"))
    grant = MetaGrant.get(MetaGrant.creator == creator)
    assert urlsplit(response.headers["Location"]).path == f"/link/choose/{grant.id}"

    choose = link_browser.get(f"/link/choose/{grant.id}").get_data(as_text=True)
    assert choose.count("Ready to link.") == 1
    assert LISTED_WORDS in choose and "they can move it" in choose
    assert "Ben Ortiz" not in choose  # the helper is an outsider: no other creator is named
    assert re.search(rf'value="{X_ID}"[^>]*>', choose) and not re.search(
        rf'value="{X_ID}"[^>]*\bdisabled', choose
    )

    token = csrf(link_browser, f"/link/choose/{grant.id}")
    response = link_browser.post(
        f"/link/choose/{grant.id}", data={"csrf_token": token, "account": ["178414101", X_ID]}
    )
    page = page_after(link_browser, response)
    assert "Linked: @ava.creates." in page
    assert f"<h3>@{X} is listed under another creator</h3>" in page
    assert LISTED_WORDS in page and "Ben Ortiz" not in page

    # Not linked for Ava: she keeps an unlinked row (no token, no Instagram id), so staff see the conflict.
    mine = row(creator)
    assert (mine.status, mine.ig_user_id, mine.page_token, mine.grant) == (
        AccountStatus.UNLINKED,
        None,
        None,
        None,
    )
    assert row(ben).status == AccountStatus.UNLINKED and ava(creator).status == AccountStatus.LINKED
    failed = LedgerEntry.get(LedgerEntry.action == "link_failed")
    assert (failed.creator_id, failed.account_id) == (creator.id, mine.id)
    assert failed.detail_items == {"problem": LinkProblem.LISTED_ELSEWHERE}
    # Her Link Accounts Page offers no way round it: no Connect Business or Verify for that row.
    link_page = link_browser.get(f"/link/{creator.raw_link_token}").get_data(as_text=True)
    assert LISTED_WORDS in link_page and "Ben Ortiz" not in link_page
    assert connect_path(mine) not in link_page and f"/link/verify?account={mine.id}" not in link_page

    # Ben's own link of @x.creates still works.
    ben_browser = meta_app.test_client()
    assert ben_browser.get(f"/link/{ben.raw_link_token}").status_code == 200
    ben_page = page_after(
        ben_browser, come_back(ben_browser, "facebook", state_of(ben_browser, connect_path(row(ben))))
    )
    assert f"Linked: @{X}." in ben_page
    assert (row(ben).status, row(ben).ig_user_id) == (AccountStatus.LINKED, X_ID)

    # Staff see the conflict on both profiles, each naming and linking the other creator.
    staff = signed_in(meta_app, sign_in)
    avas_tab = profile_row(staff.get(f"/creators/{creator.id}/accounts").get_data(as_text=True), mine.id)
    assert f'Also listed under <a href="/creators/{ben.id}/accounts">Ben Ortiz</a>' in avas_tab
    assert "Move to Ben Ortiz" in avas_tab
    bens_tab = profile_row(staff.get(f"/creators/{ben.id}/accounts").get_data(as_text=True), row(ben).id)
    assert f'Also listed under <a href="/creators/{creator.id}/accounts">Ava Chen</a>' in bens_tab
    assert "Move to" not in bens_tab and "only a handle that was never linked can" in bens_tab

    # Staff settle it from Ava's profile: Ben lists it already, so Ava's row goes and Ben's stays linked.
    response = post(staff, account_url(mine, "/move"), {"to_creator": ben.id}, htmx=True)
    assert response.status_code == 200
    body = html.unescape(response.get_data(as_text=True))
    assert f"@{X} was taken off Ava Chen's list: Ben Ortiz already lists it." in body
    assert "Also listed under" not in body and "<html" not in body
    assert row(creator) is None and row(ben).status == AccountStatus.LINKED
    moves = LedgerEntry.select().where(LedgerEntry.action == "handle_moved").order_by(LedgerEntry.id)
    assert [(e.creator_id, e.actor) for e in moves] == [
        (creator.id, "staff:admin@example.com"),
        (ben.id, "staff:admin@example.com"),
    ]
    for name in ("Ava", "Ben"):
        ledger = staff.get(f"/audit?action=handle_moved&creator={name}").get_data(as_text=True)
        assert f"@{X} taken off Ava Chen&#39;s list: Ben Ortiz already lists it" in ledger


# --- The rule, in the linking service ---


@pytest.mark.parametrize(
    "status",
    [AccountStatus.UNLINKED, AccountStatus.LINKED, AccountStatus.VERIFIED, AccountStatus.LINK_BROKEN],
)
def test_an_account_listed_under_another_creator_in_any_live_status_is_not_linked(
    app, creator, ben, graph_client, meta, status
):
    theirs = set_status(row(ben), status)
    grant = add_mode_grant(creator, graph_client, meta)
    linked, skipped = link_chosen(creator, grant, {"178414101", X_ID})
    assert linked == ["ava.creates"]
    assert skipped == [(X, Problem(LinkProblem.LISTED_ELSEWHERE, {"username": X}))]
    assert row(creator).status == AccountStatus.UNLINKED and not row(creator).listed_by_staff
    assert SocialAccount.get_by_id(theirs.id).status == status


def test_an_account_revoked_under_another_creator_can_be_linked(app, creator, ben, graph_client, meta):
    set_status(row(ben), AccountStatus.REVOKED)
    grant = add_mode_grant(creator, graph_client, meta)
    linked, skipped = link_chosen(creator, grant, {X_ID})
    assert (linked, skipped) == ([X], [])
    assert row(creator).status == AccountStatus.LINKED


def test_the_same_instagram_id_under_another_username_counts_as_listed(app, creator, graph_client, meta):
    other = Creator.create(name="Cleo Park")
    SocialAccount.create(creator=other, username="x.old.name", ig_user_id=X_ID, status=AccountStatus.VERIFIED)
    grant = add_mode_grant(creator, graph_client, meta)
    _, skipped = link_chosen(creator, grant, {X_ID})
    assert [problem.code for _, problem in skipped] == [LinkProblem.LISTED_ELSEWHERE]
    assert row(creator).status == AccountStatus.UNLINKED
    # Cleo's row, linked by id, shows the conflict with a row of Ava's that has the same id.
    SocialAccount.update(ig_user_id=X_ID).where(SocialAccount.id == row(creator).id).execute()
    assert [c.name for c in also_listed(creator, [row(creator)])[row(creator).id]] == ["Cleo Park"]


def test_trying_again_keeps_one_unlinked_row_and_notes_each_try(app, creator, ben, graph_client, meta):
    for _ in range(2):
        link_chosen(creator, add_mode_grant(creator, graph_client, meta), {X_ID})
    assert SocialAccount.select().where(SocialAccount.username == X).count() == 2  # Ben's and Ava's
    assert [d["problem"] for _, _, d in failures()] == [LinkProblem.LISTED_ELSEWHERE] * 2


def test_connect_business_refuses_the_row_kept_for_a_conflict(app, creator, ben, graph_client, meta, db_rows):
    link_chosen(creator, add_mode_grant(creator, graph_client, meta), {X_ID})
    before = db_rows()
    meta.accounts(both_pages(meta))
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, row(creator))
    assert outcome.problem == Problem(LinkProblem.LISTED_ELSEWHERE, {"username": X})
    assert db_rows() == before


def test_connect_business_for_an_account_staff_listed_here_too_keeps_the_old_rule(
    app, creator, ben, graph_client, meta
):
    SocialAccount.add_handle(creator, X)
    meta.grant()
    meta.accounts(both_pages(meta))
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, row(creator))
    assert outcome.problem is None and row(creator).status == AccountStatus.LINKED
    # Linked for Ava now, so Ben's own listing meets the old rule: linked elsewhere.
    assert linking_problems(ben, [candidate(X)]) == {
        X_ID: Problem(LinkProblem.LINKED_ELSEWHERE, {"username": X})
    }


def test_the_owner_adding_the_account_is_not_held_back_by_the_row_kept_for_a_conflict(
    app, creator, ben, graph_client, meta
):
    link_chosen(creator, add_mode_grant(creator, graph_client, meta), {X_ID})
    meta.accounts([meta.page(104, "X Studio", X)])
    outcome = complete_facebook_login(graph_client, ben, meta.short_token, None)
    linked, skipped = link_chosen(ben, MetaGrant.get_by_id(outcome.grant_id), {X_ID})
    assert (linked, skipped) == ([X], [])
    assert row(ben).status == AccountStatus.LINKED and row(creator).status == AccountStatus.UNLINKED


def test_verifying_an_account_listed_under_another_creator_keeps_an_unlinked_row(app, creator, ben):
    profile = {"id": "26000000000000001", "user_id": X_ID, "username": X, "name": "X"}
    account, problem = record_verification(creator, profile)
    assert account is None
    assert problem == Problem(LinkProblem.LISTED_ELSEWHERE, {"username": X})
    mine = row(creator)
    assert (mine.status, mine.ig_user_id, mine.listed_by_staff) == (AccountStatus.UNLINKED, None, False)
    assert row(ben).status == AccountStatus.UNLINKED and row(ben).ig_user_id is None
    # The same refusal from the kept row itself (Verify on it): still nothing verified.
    assert record_verification(creator, profile, mine) == (None, problem)
    assert row(creator).status == AccountStatus.UNLINKED


def test_verifying_an_account_staff_listed_here_keeps_the_old_rule(app, creator, ben):
    SocialAccount.add_handle(creator, X)
    account, problem = record_verification(creator, {"user_id": X_ID, "username": X})
    assert problem is None and account.status == AccountStatus.VERIFIED


def test_an_account_nobody_else_lists_is_added_as_the_link_pages_own(app, creator, graph_client, meta):
    grant = add_mode_grant(creator, graph_client, meta)
    assert link_chosen(creator, grant, {X_ID}) == ([X], [])
    assert row(creator).listed_by_staff is False
    verified, _ = record_verification(creator, {"user_id": "17841499", "username": "ava.side"})
    assert verified.listed_by_staff is False and ava(creator).listed_by_staff is True


# --- Staff: the conflict on the Social Accounts tab, and moving a handle ---


def test_the_tab_and_a_row_swap_name_the_other_creator(admin_client, creator, ben):
    mine = SocialAccount.add_handle(creator, X)
    tab = admin_client.get(f"/creators/{creator.id}/accounts").get_data(as_text=True)
    assert "<html" in tab
    assert f'Also listed under <a href="/creators/{ben.id}/accounts">Ben Ortiz</a>' in profile_row(
        tab, mine.id
    )
    assert "Also listed under" not in profile_row(tab, ava(creator).id)
    swap = post(admin_client, account_url(mine, "/toggle"), htmx=True).get_data(as_text=True)
    assert "<html" not in swap and "Move to Ben Ortiz" in swap


def test_the_conflict_tab_is_one_query_however_many_conflicts(admin_client, creator, count_queries):
    def statements():
        with count_queries() as run:
            assert admin_client.get(f"/creators/{creator.id}/accounts", headers=HX).status_code == 200
        return len(run)

    SocialAccount.add_handle(Creator.create(name="Other 0"), "ava.creates")
    few = statements()
    for n in range(1, 8):
        other = Creator.create(name=f"Other {n}")
        SocialAccount.add_handle(creator, f"shared.{n}")
        SocialAccount.add_handle(other, f"shared.{n}")
        SocialAccount.add_handle(other, "ava.creates")
    assert statements() == few


def test_moving_a_handle_nobody_else_lists_gives_it_to_the_other_creator(admin_client, creator):
    cleo = Creator.create(name="Cleo Park")
    mine = SocialAccount.create(creator=creator, username=X, listed_by_staff=False)
    response = post(admin_client, account_url(mine, "/move"), {"to_creator": cleo.id})
    assert response.status_code == 302  # a plain form post: flashed, back to the tab
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"@{X} now belongs to Cleo Park." in page
    moved = SocialAccount.get_by_id(mine.id)
    assert (moved.creator_id, moved.listed_by_staff) == (cleo.id, True)
    entries = LedgerEntry.select().where(LedgerEntry.action == "handle_moved").order_by(LedgerEntry.id)
    assert [(e.creator_id, e.account_id) for e in entries] == [(creator.id, None), (cleo.id, mine.id)]
    assert details_words("handle_moved", entries[0].detail_items) == f"@{X} moved from Ava Chen to Cleo Park"


def test_moving_to_a_creator_who_lists_it_keeps_their_row_whatever_its_status(admin_client, creator, ben):
    theirs = set_status(row(ben), AccountStatus.REVOKED)
    mine = SocialAccount.add_handle(creator, X)
    assert (
        post(admin_client, account_url(mine, "/move"), {"to_creator": ben.id}, htmx=True).status_code == 200
    )
    assert row(creator) is None
    assert SocialAccount.get_by_id(theirs.id).status == AccountStatus.REVOKED


@pytest.mark.parametrize(
    "status", [AccountStatus.LINKED, AccountStatus.VERIFIED, AccountStatus.LINK_BROKEN, AccountStatus.REVOKED]
)
def test_only_an_unlinked_handle_moves(admin_client, creator, ben, db_rows, status):
    mine = set_status(SocialAccount.add_handle(creator, X), status)
    tab = admin_client.get(f"/creators/{creator.id}/accounts").get_data(as_text=True)
    assert "Move to" not in profile_row(tab, mine.id)
    assert f"only a handle that was never linked can, and @{X} is “{mine.status_label}” here" in tab
    before = db_rows()
    response = post(admin_client, account_url(mine, "/move"), {"to_creator": ben.id}, htmx=True)
    assert response.status_code == 409
    assert "only a handle that was never linked can move" in response.get_data(as_text=True)
    assert db_rows() == before


@pytest.mark.parametrize("target", ["self", "999999", "nobody", "", None, "-1", str(2**64)])
def test_a_move_to_itself_or_to_no_creator_is_refused(admin_client, creator, ben, db_rows, target):
    mine = SocialAccount.add_handle(creator, X)
    data = {} if target is None else {"to_creator": str(creator.id) if target == "self" else target}
    before = db_rows()
    response = post(admin_client, account_url(mine, "/move"), data, htmx=True)
    assert response.status_code == 422
    assert f"Choose another creator to move @{X} to." in response.get_data(as_text=True)
    assert db_rows() == before
    # A plain form post gets the tab again, saying the same.
    page = post(admin_client, account_url(mine, "/move"), data)
    assert page.status_code == 422 and "<html" in page.get_data(as_text=True)


def test_a_move_needs_the_handles_own_creator_and_a_csrf_token(admin_client, creator, ben, db_rows):
    mine = SocialAccount.add_handle(creator, X)
    before = db_rows()
    assert (
        post(admin_client, f"/creators/{ben.id}/accounts/{mine.id}/move", {"to_creator": ben.id}).status_code
        == 404
    )
    bare = admin_client.post(account_url(mine, "/move"), data={"to_creator": ben.id})  # no CSRF token
    assert bare.status_code == 400
    assert db_rows() == before


def test_move_handle_refuses_what_changed_under_it(app, creator, ben):
    mine = SocialAccount.add_handle(creator, X)
    with pytest.raises(CannotMove):
        move_handle(mine, creator, "staff:a@b")
    set_status(mine, AccountStatus.LINKED)  # a helper linked it after staff opened the page
    with pytest.raises(CannotMove):
        move_handle(mine, ben, "staff:a@b")
    assert row(creator).status == AccountStatus.LINKED and LedgerEntry.select().count() == 0


def test_the_ledger_says_the_new_problem_and_the_move_in_words():
    assert (
        details_words("link_failed", {"problem": "listed_elsewhere"})
        == "staff list the account under another creator"
    )
    dropped = {"username": X, "from_creator": "Ava Chen", "to_creator": "Ben Ortiz", "outcome": "dropped"}
    assert (
        details_words("handle_moved", dropped)
        == f"@{X} taken off Ava Chen's list: Ben Ortiz already lists it"
    )
