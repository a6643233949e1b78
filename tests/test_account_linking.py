"""Turning a Facebook or Instagram login into linked, verified and unlinked accounts."""

import datetime

from portal.connections.discovery import LinkProblem, Problem
from portal.connections.linking import (
    complete_facebook_login,
    link_chosen,
    record_verification,
    stored_candidates,
    unlink,
)
from portal.db import database, utcnow
from portal.models import (
    MODELS,
    AccountMetric,
    AccountStatus,
    Creator,
    LedgerEntry,
    MetaGrant,
    ProfileSnapshot,
    SocialAccount,
)


def raw_rows():
    """Return every row of every table as the database holds it (encrypted columns undecrypted)."""
    return {
        model._meta.table_name: database.execute_sql(f"SELECT * FROM {model._meta.table_name}").fetchall()
        for model in MODELS
    }


def raw_text():
    return repr(raw_rows())


def raw_column(table, column, row_id):
    return database.execute_sql(
        f"SELECT {column} FROM {table} WHERE id = {database.param}", (row_id,)
    ).fetchone()[0]


def ava(creator):
    """Return the creator's @ava.creates, the account staff listed."""
    return creator.accounts().where(SocialAccount.username == "ava.creates").get()


def fresh(account):
    return SocialAccount.get_by_id(account.id)


def link_ava(creator, graph_client, meta, **page_options):
    """Run a successful Connect Business for the creator's @ava.creates; return the outcome."""
    meta.grant()
    meta.accounts([meta.page(101, "Ava Studio", "ava.creates", **page_options)])
    return complete_facebook_login(graph_client, creator, meta.short_token, ava(creator))


def test_connect_business_links_the_account_with_who_when_which_page_and_scopes(
    app, creator, graph_client, meta
):
    before = utcnow()
    outcome = link_ava(creator, graph_client, meta)
    assert outcome.problem is None and outcome.linked == ["ava.creates"]
    account = fresh(ava(creator))
    assert account.status == AccountStatus.LINKED
    assert (account.linked_by_fb_user_id, account.linked_by_name) == (meta.user_id, "Ava Chen")
    assert before <= account.linked_at <= utcnow() and account.linked_at.tzinfo is not None
    assert (account.page_id, account.page_name, account.ig_user_id) == ("101", "Ava Studio", "178414101")
    assert set(account.granted_scopes.split(",")) == set(meta.scopes) | {"public_profile"}
    assert (account.followers_count, account.media_count) == (1234, 87)
    assert account.page_token == meta.page_token(101)
    grant = MetaGrant.get_by_id(outcome.grant_id)
    assert account.grant == grant and grant.creator == creator
    assert grant.user_token == meta.long_token
    assert grant.token_expires_at == datetime.datetime.fromtimestamp(meta.expires_at, datetime.UTC)


def test_linked_tokens_are_stored_encrypted(app, creator, graph_client, meta):
    outcome = link_ava(creator, graph_client, meta)
    account = ava(creator)
    stored_page_token = raw_column("social_account", "page_token", account.id)
    stored_user_token = raw_column("meta_grant", "user_token", outcome.grant_id)
    assert stored_page_token and meta.page_token(101) not in stored_page_token
    assert stored_user_token and meta.long_token not in stored_user_token
    dump = raw_text()
    for secret in (meta.page_token(101), meta.long_token, meta.short_token):
        assert secret not in dump


def test_a_declined_permission_links_nothing_and_names_the_missing_scopes(
    app, creator, graph_client, meta, db_rows
):
    meta.grant(declined=("instagram_manage_insights", "pages_read_engagement"))
    accounts = meta.accounts([meta.page(101, "Ava Studio", "ava.creates")])
    before = db_rows()
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, ava(creator))
    assert outcome.problem == Problem(
        LinkProblem.PERMISSION_DECLINED, {"missing": ["instagram_manage_insights", "pages_read_engagement"]}
    )
    assert outcome.account_id == ava(creator).id
    assert db_rows() == before and MetaGrant.select().count() == 0
    assert accounts[0].call_count == 0  # no point looking for accounts without the permissions


def test_a_graph_error_is_a_facebook_error_and_writes_nothing(app, creator, graph_client, meta, db_rows):
    meta.grant()
    meta.graph_get(
        "me/accounts",
        status_code=500,
        json={
            "error": {
                "message": "An unexpected error has occurred. Please retry your request later.",
                "type": "OAuthException",
                "code": 2,
                "is_transient": True,
                "fbtrace_id": "A1b2C3",
            }
        },
    )
    before = db_rows()
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, ava(creator))
    assert outcome.problem.code == LinkProblem.FACEBOOK_ERROR
    assert (
        outcome.problem.details["message"]
        == "An unexpected error has occurred. Please retry your request later."
    )
    assert db_rows() == before


def test_an_expired_login_code_exchange_is_a_facebook_error_and_writes_nothing(
    app, creator, graph_client, meta, db_rows
):
    meta.long_lived_exchange(
        status_code=400,
        json={
            "error": {
                "message": "Error validating access token: Session has expired on Tuesday, 10-Nov-26.",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 463,
            }
        },
    )
    before = db_rows()
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, None)
    assert outcome.problem.code == LinkProblem.FACEBOOK_ERROR and outcome.problem.details["code"] == 190
    assert db_rows() == before


def test_a_role_too_low_links_nothing(app, creator, graph_client, meta, db_rows):
    before = db_rows()
    outcome = link_ava(creator, graph_client, meta, tasks=("MODERATE", "MESSAGING"))
    assert outcome.problem == Problem(
        LinkProblem.ROLE_TOO_LOW, {"page_name": "Ava Studio", "tasks": ["MESSAGING", "MODERATE"]}
    )
    assert db_rows() == before
    assert fresh(ava(creator)).status == AccountStatus.UNLINKED


def test_an_account_the_login_does_not_reach_links_nothing(app, creator, graph_client, meta, db_rows):
    meta.grant()
    meta.accounts([meta.page(102, "Ava Recipes", "ava.cooks")])
    before = db_rows()
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, ava(creator))
    assert outcome.problem == Problem(
        LinkProblem.NOT_FOUND, {"username": "ava.creates", "found": ["ava.cooks"]}
    )
    assert db_rows() == before


def other_creator_with_ava_linked(ig_user_id):
    """Return another creator's account already linked to the same Instagram account."""
    other = Creator.create(name="Ben Ortiz")
    other.issue_link_token()
    grant = MetaGrant.create(
        creator=other,
        provider="facebook",
        meta_user_id="999",
        meta_user_name="Ben",
        user_token="EAABbenToken",
    )
    account = SocialAccount.create(
        creator=other,
        username="ava.creates",
        status=AccountStatus.LINKED,
        ig_user_id=ig_user_id,
        grant=grant,
        page_id="101",
        page_name="Ava Studio",
        page_token="EAAJbensPageToken",
        linked_by_name="Ben",
    )
    return account


def test_an_account_linked_for_another_creator_is_not_moved(app, creator, graph_client, meta):
    theirs = other_creator_with_ava_linked("178414101")
    before = raw_rows()
    outcome = link_ava(creator, graph_client, meta)
    assert outcome.problem == Problem(LinkProblem.LINKED_ELSEWHERE, {"username": "ava.creates"})
    assert raw_rows() == before
    theirs = fresh(theirs)
    assert theirs.status == AccountStatus.LINKED and theirs.page_token == "EAAJbensPageToken"
    assert theirs.grant.user_token == "EAABbenToken" and theirs.linked_by_name == "Ben"
    assert fresh(ava(creator)).status == AccountStatus.UNLINKED


def add_mode_grant(creator, graph_client, meta, *pages):
    """Run an "Add Instagram Business account" login reaching these Pages; return the stored grant."""
    meta.grant()
    meta.accounts(list(pages))
    outcome = complete_facebook_login(graph_client, creator, meta.short_token, None)
    assert outcome.problem is None
    return MetaGrant.get_by_id(outcome.grant_id)


def test_add_mode_keeps_the_candidates_on_a_grant_and_links_nothing_yet(app, creator, graph_client, meta):
    grant = add_mode_grant(
        creator,
        graph_client,
        meta,
        meta.page(101, "Ava Studio", "ava.creates"),
        meta.page(102, "Ava Recipes", "ava.cooks", tasks=("CREATE_CONTENT",)),
    )
    candidates = {c.username: c for c in stored_candidates(grant)}
    assert set(candidates) == {"ava.creates", "ava.cooks"}
    assert candidates["ava.creates"].linkable and candidates["ava.creates"].page_token == meta.page_token(101)
    assert candidates["ava.cooks"].problem.code == LinkProblem.ROLE_TOO_LOW
    assert grant.user_token == meta.long_token and grant.meta_user_name == "Ava Chen"
    assert [a.username for a in creator.accounts()] == ["ava.creates"]
    assert fresh(ava(creator)).status == AccountStatus.UNLINKED
    # The candidates hold Page tokens: they are encrypted like the tokens themselves.
    assert meta.page_token(101) not in raw_text()


def test_link_chosen_links_only_the_chosen_linkable_accounts_and_clears_the_candidates(
    app, creator, graph_client, meta
):
    grant = add_mode_grant(
        creator,
        graph_client,
        meta,
        meta.page(101, "Ava Studio", "ava.creates"),
        meta.page(102, "Ava Recipes", "ava.cooks"),
        meta.page(103, "Ava Travel", "ava.travels", tasks=("MODERATE", "MESSAGING")),
    )
    linked, skipped = link_chosen(creator, grant, {"178414101", "178414103"})
    assert linked == ["ava.creates"]
    assert skipped == [
        (
            "ava.travels",
            Problem(
                LinkProblem.ROLE_TOO_LOW, {"page_name": "Ava Travel", "tasks": ["MESSAGING", "MODERATE"]}
            ),
        )
    ]
    statuses = {a.username: a.status for a in creator.accounts()}
    assert statuses == {"ava.creates": AccountStatus.LINKED}  # the unchosen and the blocked were not added
    assert fresh(ava(creator)).page_token == meta.page_token(101)
    grant = MetaGrant.get_by_id(grant.id)
    assert grant.candidates is None and grant.user_token == meta.long_token
    assert meta.page_token(102) not in raw_text() and meta.page_token(103) not in raw_text()


def test_link_chosen_adds_an_account_staff_never_listed(app, creator, graph_client, meta):
    grant = add_mode_grant(creator, graph_client, meta, meta.page(102, "Ava Recipes", "ava.cooks"))
    linked, skipped = link_chosen(creator, grant, {"178414102"})
    assert linked == ["ava.cooks"] and skipped == []
    cooks = SocialAccount.get((SocialAccount.creator == creator) & (SocialAccount.username == "ava.cooks"))
    assert cooks.status == AccountStatus.LINKED and cooks.page_name == "Ava Recipes"


def test_link_chosen_skips_an_account_linked_for_another_creator(app, creator, graph_client, meta):
    grant = add_mode_grant(creator, graph_client, meta, meta.page(101, "Ava Studio", "ava.creates"))
    theirs = other_creator_with_ava_linked("178414101")
    linked, skipped = link_chosen(creator, grant, {"178414101"})
    assert linked == []
    assert skipped == [("ava.creates", Problem(LinkProblem.LINKED_ELSEWHERE, {"username": "ava.creates"}))]
    assert fresh(theirs).status == AccountStatus.LINKED and fresh(theirs).creator.name == "Ben Ortiz"


def test_a_grant_that_links_nothing_keeps_no_token(app, creator, graph_client, meta):
    grant = add_mode_grant(
        creator, graph_client, meta, meta.page(103, "Ava Travel", "ava.travels", tasks=("CREATE_CONTENT",))
    )
    linked, _ = link_chosen(creator, grant, {"178414103"})
    assert linked == []
    grant = MetaGrant.get_by_id(grant.id)
    assert grant.user_token is None and grant.candidates is None and grant.revoked_at is not None
    assert raw_column("meta_grant", "user_token", grant.id) is None


def instagram_profile(username, user_id="17841400000000001"):
    """Instagram Login's /me answer (§9)."""
    return {"id": "26000000000000001", "user_id": user_id, "username": username, "account_type": "BUSINESS"}


def test_record_verification_marks_the_account_verified(app, creator):
    account, problem = record_verification(creator, instagram_profile("ava.creates"), ava(creator))
    assert problem is None
    account = fresh(account)
    assert account.status == AccountStatus.VERIFIED and account.ig_user_id == "17841400000000001"
    assert account.linked_at is not None and account.page_token is None
    assert MetaGrant.select().count() == 0  # a verification stores no token


def test_record_verification_without_an_account_adds_the_verified_one(app, creator):
    account, problem = record_verification(creator, instagram_profile("Ava.Side"))
    assert problem is None
    assert {a.username: a.status for a in creator.accounts()} == {
        "ava.creates": AccountStatus.UNLINKED,
        "ava.side": AccountStatus.VERIFIED,
    }


def test_record_verification_of_the_wrong_instagram_account_is_a_problem(app, creator, db_rows):
    before = db_rows()
    account, problem = record_verification(creator, instagram_profile("someone.else"), ava(creator))
    assert account is None
    assert problem == Problem(
        LinkProblem.WRONG_INSTAGRAM_ACCOUNT, {"expected": "ava.creates", "actual": "someone.else"}
    )
    assert db_rows() == before


def test_record_verification_never_downgrades_a_linked_account(app, creator, graph_client, meta):
    link_ava(creator, graph_client, meta)
    linked_at = fresh(ava(creator)).linked_at
    account, problem = record_verification(
        creator, instagram_profile("ava.creates", "178414101"), ava(creator)
    )
    assert problem is None
    account = fresh(account)
    assert account.status == AccountStatus.LINKED and account.page_token == meta.page_token(101)
    assert account.linked_at == linked_at


def test_unlink_deletes_the_tokens_at_once_and_keeps_the_history(app, creator, graph_client, meta):
    outcome = link_ava(creator, graph_client, meta)
    unlink(ava(creator))
    account = fresh(ava(creator))
    assert account.status == AccountStatus.REVOKED
    assert raw_column("social_account", "page_token", account.id) is None
    # History stays: who linked it, when, through which Page, and the figures collected.
    assert account.linked_by_name == "Ava Chen" and account.linked_at is not None
    assert account.page_name == "Ava Studio" and account.followers_count == 1234
    grant = MetaGrant.get_by_id(outcome.grant_id)
    assert raw_column("meta_grant", "user_token", grant.id) is None and grant.revoked_at is not None
    assert meta.long_token not in raw_text()


def test_unlink_keeps_the_user_token_while_another_linked_account_uses_it(app, creator, graph_client, meta):
    grant = add_mode_grant(
        creator,
        graph_client,
        meta,
        meta.page(101, "Ava Studio", "ava.creates"),
        meta.page(102, "Ava Recipes", "ava.cooks"),
    )
    link_chosen(creator, grant, {"178414101", "178414102"})
    unlink(ava(creator))
    grant = MetaGrant.get_by_id(grant.id)
    assert grant.user_token == meta.long_token and grant.revoked_at is None
    cooks = SocialAccount.get(SocialAccount.username == "ava.cooks")
    assert cooks.status == AccountStatus.LINKED and cooks.page_token == meta.page_token(102)
    unlink(cooks)
    assert MetaGrant.get_by_id(grant.id).user_token is None


def test_unlink_with_delete_data_clears_the_figures(app, creator, graph_client, meta):
    link_ava(creator, graph_client, meta)
    unlink(ava(creator), delete_data=True)
    account = fresh(ava(creator))
    assert account.status == AccountStatus.REVOKED and account.page_token is None
    assert (account.followers_count, account.media_count) == (None, None)
    assert account.profile_picture_url is None and account.display_name is None


def test_adding_with_nothing_reachable_explains_instead_of_an_empty_choice(app, creator, monkeypatch):
    from portal.connections import discovery
    from portal.connections import linking as account_linking
    from portal.connections.discovery import Discovery, Grant, LinkProblem
    from portal.models import MetaGrant

    grant = Grant("1", "Portia", "EAAlong", None, None, set(discovery.REQUIRED_SCOPES), set(), {"555"})
    monkeypatch.setattr(discovery, "read_grant", lambda client, token: grant)
    hidden = Discovery(candidates=[], pages_without_instagram=[], hidden_page_ids={"555"})
    monkeypatch.setattr(discovery, "discover", lambda client, g: hidden)
    outcome = account_linking.complete_facebook_login(None, creator, "EAAshort")
    assert outcome.problem.code == LinkProblem.PORTFOLIO_NOT_SHARED and outcome.grant_id is None

    nothing = Discovery(candidates=[], pages_without_instagram=["Paula's Bakery"], hidden_page_ids=set())
    monkeypatch.setattr(discovery, "discover", lambda client, g: nothing)
    outcome = account_linking.complete_facebook_login(None, creator, "EAAshort")
    assert outcome.problem.code == LinkProblem.NOT_FOUND
    assert MetaGrant.select().count() == 0  # no token kept for a login that linked nothing


def test_unlink_and_delete_my_data_removes_every_figure_and_archived_file(app, creator, tmp_path):
    import datetime

    from portal.connections import linking as account_linking
    from portal.models import (
        AccountMetric,
        AudienceSnapshot,
        Media,
        MediaMetric,
        ProfileSnapshot,
        Story,
        StoryMetric,
    )

    account = creator.accounts().get()
    other = SocialAccount.create(creator=creator, username="other.one")
    SocialAccount.update(status=AccountStatus.LINKED, page_token="EAAPpage").where(
        SocialAccount.id == account.id
    ).execute()
    day = datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
    archived = tmp_path / "story.jpg"
    archived.write_bytes(b"jpeg")
    for owner in (account, other):
        ProfileSnapshot.create(account=owner, taken_on=day.date(), followers_count=10)
        AccountMetric.create(account=owner, metric="views", end_time=day, value=5)
        AudienceSnapshot.create(account=owner, metric="follower_demographics", breakdown="age", data="{}")
        media = Media.create(account=owner, ig_media_id=f"m{owner.id}", media_type="IMAGE")
        MediaMetric.create(media=media, metric="views", value=3)
        story = Story.create(
            account=owner,
            ig_media_id=f"s{owner.id}",
            media_type="IMAGE",
            archived_file=str(archived) if owner == account else None,
        )
        StoryMetric.create(story=story, metric="views", value=2)

    account_linking.unlink(SocialAccount.get_by_id(account.id), delete_data=True)

    for model in (ProfileSnapshot, AccountMetric, AudienceSnapshot, Media, Story):
        assert model.select().where(model.account == account).count() == 0
        assert model.select().where(model.account == other).count() == 1  # another account's stay
    assert MediaMetric.select().count() == 1 and StoryMetric.select().count() == 1
    assert not archived.exists()
    assert SocialAccount.get_by_id(account.id).status == AccountStatus.REVOKED


def test_relinking_a_broken_account_keeps_its_history(app, creator, graph_client, meta):
    first = link_ava(creator, graph_client, meta)
    account = ava(creator)
    midnight = datetime.datetime.combine(utcnow().date(), datetime.time(), tzinfo=datetime.UTC)
    for days_ago in range(1, 8):
        end_time = midnight - datetime.timedelta(days=days_ago - 1)
        AccountMetric.create(account=account, metric="views", end_time=end_time, value=100 + days_ago)
        ProfileSnapshot.create(account=account, taken_on=end_time.date(), followers_count=1000 + days_ago)
    reason = "Instagram access ended: Error validating access token: Session has expired"
    SocialAccount.update(status=AccountStatus.LINK_BROKEN, last_error=reason).where(
        SocialAccount.id == account.id
    ).execute()
    history = (
        sorted(AccountMetric.select(AccountMetric.end_time, AccountMetric.value).tuples()),
        sorted(ProfileSnapshot.select(ProfileSnapshot.taken_on, ProfileSnapshot.followers_count).tuples()),
    )

    again = link_ava(creator, graph_client, meta)  # the helper connects it once more

    assert again.problem is None and again.account_id == account.id and again.grant_id != first.grant_id
    relinked = fresh(account)
    assert relinked.status == AccountStatus.LINKED and relinked.last_error is None
    assert relinked.grant_id == again.grant_id
    assert SocialAccount.select().where(SocialAccount.username == "ava.creates").count() == 1
    assert (
        sorted(AccountMetric.select(AccountMetric.end_time, AccountMetric.value).tuples()),
        sorted(ProfileSnapshot.select(ProfileSnapshot.taken_on, ProfileSnapshot.followers_count).tuples()),
    ) == history
    assert len(history[0]) == len(history[1]) == 7
    assert all(row.account_id == account.id for row in AccountMetric.select())
    linked = LedgerEntry.select().where(LedgerEntry.action == "linked", LedgerEntry.account == account)
    assert linked.count() == 2
