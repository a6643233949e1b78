"""The invitation funnel: each creator's stage, the counts and filter of the list, openings, invitations."""

import collections
import datetime
import random
import re

import pytest
from support import PASSWORD, TEST_HASH

from portal import db
from portal.connections import funnel
from portal.connections.funnel import Stage
from portal.db import utcnow
from portal.models import AccountStatus, Creator, LedgerEntry, MetaGrant, SocialAccount, Staff

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def account(creator, username, status, data_access_days=None):
    """Give the creator an account in this status; data_access_days gives it a grant ending then."""
    grant = None
    if data_access_days is not None:
        ends = NOW + datetime.timedelta(days=data_access_days)
        grant = MetaGrant.create(
            creator=creator, provider="facebook", meta_user_id="1", data_access_expires_at=ends
        )
    return SocialAccount.create(creator=creator, username=username, status=status, grant=grant, linked_at=NOW)


def stage_of(creator):
    return funnel.progress(creator, NOW).stage


def everyone_at_each_stage():
    """Return {stage: creator} with one creator at each stage, each by the shortest way there."""
    staff = Staff.register("ann@agency.test", PASSWORD, method=TEST_HASH)
    hour = datetime.timedelta(hours=1)
    at = {
        Stage.NOT_INVITED: Creator.create(name="Nora Not-invited"),
        Stage.INVITED: Creator.create(name="Ines Invited", invited_at=NOW - hour, invited_by=staff),
        Stage.OPENED: Creator.create(
            name="Otto Opened", invited_at=NOW - 2 * hour, page_first_opened_at=NOW - hour
        ),
        Stage.LINKED: Creator.create(name="Lena Linked"),
        Stage.ACCESS_ENDING: Creator.create(name="Ari Access-ending"),
        Stage.LINK_BROKEN: Creator.create(name="Bea Broken"),
    }
    account(at[Stage.LINKED], "lena", AccountStatus.LINKED, data_access_days=60)
    account(at[Stage.ACCESS_ENDING], "ari", AccountStatus.LINKED, data_access_days=13)
    account(at[Stage.LINK_BROKEN], "bea", AccountStatus.LINK_BROKEN, data_access_days=60)
    return at


def test_each_creator_is_at_the_stage_its_columns_and_accounts_say(app):
    for stage, creator in everyone_at_each_stage().items():
        assert stage_of(creator) == stage, creator.name


def test_an_opened_page_counts_even_when_no_invitation_was_recorded(app):
    creator = Creator.create(name="Ava Chen", page_first_opened_at=NOW)
    assert stage_of(creator) == Stage.OPENED


@pytest.mark.parametrize(
    ("statuses", "stage"),
    [
        ((AccountStatus.UNLINKED,), Stage.INVITED),
        ((AccountStatus.REVOKED,), Stage.INVITED),  # a creator who unlinked everything is back to square one
        ((AccountStatus.VERIFIED,), Stage.LINKED),
        ((AccountStatus.UNLINKED, AccountStatus.VERIFIED), Stage.LINKED),
        ((AccountStatus.LINKED, AccountStatus.LINK_BROKEN), Stage.LINK_BROKEN),  # attention wins
        ((AccountStatus.VERIFIED, AccountStatus.LINK_BROKEN), Stage.LINK_BROKEN),
    ],
)
def test_the_most_advanced_account_wins_and_a_broken_link_wins_over_all(app, statuses, stage):
    creator = Creator.create(name="Ava Chen", invited_at=NOW)
    for n, status in enumerate(statuses):
        account(creator, f"ava.{n}", status, data_access_days=60 if status == AccountStatus.LINKED else None)
    assert stage_of(creator) == stage


@pytest.mark.parametrize(
    ("days", "stage"),
    [(14, Stage.LINKED), (13, Stage.ACCESS_ENDING), (0, Stage.ACCESS_ENDING), (-3, Stage.ACCESS_ENDING)],
)
def test_access_ending_is_data_access_ending_within_14_days_or_ended(app, days, stage):
    creator = Creator.create(name="Ava Chen")
    account(creator, "ava", AccountStatus.LINKED, data_access_days=days)
    account(creator, "ava.too", AccountStatus.LINKED, data_access_days=90)  # the soonest counts
    assert stage_of(creator) == stage


def test_access_ending_gives_way_to_a_broken_link_and_counts_only_linked_accounts(app):
    broken = Creator.create(name="Bea")
    account(broken, "bea", AccountStatus.LINKED, data_access_days=3)
    account(broken, "bea.too", AccountStatus.LINK_BROKEN, data_access_days=3)
    revoked = Creator.create(name="Rex")
    account(revoked, "rex", AccountStatus.REVOKED, data_access_days=3)
    assert stage_of(broken) == Stage.LINK_BROKEN
    assert stage_of(revoked) == Stage.NOT_INVITED


def test_progress_gives_the_dates_of_each_step(app):
    at = everyone_at_each_stage()
    invited = funnel.progress(at[Stage.INVITED], NOW)
    assert (invited.label, invited.invited_by) == ("Invited", "ann@agency.test")
    assert invited.invited_at == NOW - datetime.timedelta(hours=1) and invited.page_first_opened_at is None
    ending = funnel.progress(at[Stage.ACCESS_ENDING], NOW)
    assert ending.label == "Access ending" and ending.needs_attention
    assert ending.access_ends_at == NOW + datetime.timedelta(days=13) and ending.linked_since == NOW
    assert not funnel.progress(at[Stage.LINKED], NOW).needs_attention


def test_counts_give_every_stage_and_the_filter_agrees_with_the_row_stages(app):
    at = everyone_at_each_stage()
    extra = Creator.create(name="Ina Invited-too", invited_at=NOW)
    page, counts = funnel.creator_page("", None, 1, 20, NOW)
    assert counts == {stage: 1 for stage in Stage.LABELS} | {Stage.INVITED: 2}
    assert len(page.items) == 7 and not page.has_next
    assert {c.name: c.funnel_stage for c in page.items} == {
        **{creator.name: stage for stage, creator in at.items()},
        extra.name: Stage.INVITED,
    }
    for stage in Stage.LABELS:
        filtered, _ = funnel.creator_page("", stage, 1, 20, NOW)
        assert {c.funnel_stage for c in filtered.items} == {stage}
        assert counts[stage] == len(filtered.items) and not filtered.has_next


def test_counts_and_the_filter_follow_the_search_text(app):
    everyone_at_each_stage()
    page, counts = funnel.creator_page("NVITED", Stage.INVITED, 1, 20, NOW)  # Ines, and Nora Not-invited
    assert [c.name for c in page.items] == ["Ines Invited"]
    assert counts[Stage.INVITED] == counts[Stage.NOT_INVITED] == 1 and sum(counts.values()) == 2


def test_a_stage_pages_through_its_creators_only(app):
    for n in range(25):
        Creator.create(name=f"Creator {n:02d}", invited_at=NOW if n % 2 else None)
    second, counts = funnel.creator_page("", Stage.NOT_INVITED, 2, 10, NOW)
    assert counts[Stage.NOT_INVITED] == 13 and second.has_previous and not second.has_next
    assert [c.name for c in second.items] == ["Creator 20", "Creator 22", "Creator 24"]


def stage_by_the_rules(opened, invited, accounts):
    """Return the stage the module's rules give, in Python: accounts are (status, days of access left)."""
    statuses = {status for status, _ in accounts}
    if AccountStatus.LINK_BROKEN in statuses:
        return Stage.LINK_BROKEN
    if any(status == AccountStatus.LINKED and days is not None and days < 14 for status, days in accounts):
        return Stage.ACCESS_ENDING
    if statuses & {AccountStatus.LINKED, AccountStatus.VERIFIED}:
        return Stage.LINKED
    return Stage.OPENED if opened else Stage.INVITED if invited else Stage.NOT_INVITED


def creators_in_random_states(rng, number):
    """Add creators invited or not, opened or not, with up to four accounts each; return {name: stage}."""
    stages = {}
    for n in range(number):
        opened, invited = rng.random() < 0.3, rng.random() < 0.5
        creator = Creator.create(
            name=f"Creator {n:03d}",
            invited_at=NOW - datetime.timedelta(days=2) if invited else None,
            page_first_opened_at=NOW - datetime.timedelta(days=1) if opened else None,
        )
        accounts = []
        for k in range(rng.choice((0, 0, 1, 1, 2, 4))):
            status = rng.choice(list(AccountStatus.LABELS))
            days = rng.choice((None, -3, 0, 13, 14, 15, 90))  # a grant ended, ending or not, or none
            account(creator, f"creator.{n}.{k}", status, data_access_days=days)
            accounts.append((status, days))
        stages[creator.name] = stage_by_the_rules(opened, invited, accounts)
    return stages


def counted(stages):
    return dict.fromkeys(Stage.LABELS, 0) | collections.Counter(stages)


@pytest.mark.parametrize("seed", range(4))
def test_every_way_of_counting_and_filtering_agrees_with_the_rules(app, seed):
    stages = creators_in_random_states(random.Random(seed), 80)
    expected = counted(stages.values())
    # The counts of every creator, without reading each, and those of a search's matches, row by row.
    assert funnel.every_stage_count(NOW) == funnel.stage_counts(Creator.select(), NOW) == expected
    joined, stage = funnel.staged(Creator.select(), NOW)  # the filter's grouped join
    assert counted(row_stage for (row_stage,) in joined.select(stage).tuples()) == expected
    for query in ("", "creator"):  # every creator, then a search that finds them all
        page, counts = funnel.creator_page(query, None, 1, 100, NOW)
        assert counts == expected
        assert {c.name: c.funnel_stage for c in page.items} == stages
        for at in Stage.LABELS:
            filtered, _ = funnel.creator_page(query, at, 1, 100, NOW)
            shown = {c.name: c.funnel_stage for c in filtered.items}
            assert shown == {name: s for name, s in stages.items() if s == at}, (query, at)


def test_the_counts_of_every_creator_read_the_stage_indexes_not_every_creator(app, monkeypatch):
    creators_in_random_states(random.Random(0), 20)
    database = db.database.obj
    execute = database.execute_sql
    explained = "EXPLAIN QUERY PLAN" if db.is_sqlite() else "EXPLAIN"
    plans = []

    def explain(sql, params=None, *args, **kwargs):
        plans.extend(row[-1] for row in execute(f"{explained} {sql}", params).fetchall())
        return execute(sql, params, *args, **kwargs)

    with database.atomic():
        if not db.is_sqlite():
            # 20 creators are read whole whatever the indexes: make the planner say what it can use.
            database.execute_sql("SET LOCAL enable_seqscan = off")
        monkeypatch.setattr(database, "execute_sql", explain)
        funnel.every_stage_count(NOW)
    plan = "\n".join(plans)
    assert "creator_page_opened" in plan and "creator_invited_not_opened" in plan, plan
    assert "socialaccount_in_funnel" in plan, plan
    # No table is read whole: a scan without an index may only be of the ranks grouped from one.
    if db.is_sqlite():
        whole = [step for step in plans if re.fullmatch(r"SCAN \w+", step) and "funnel_rank" not in step]
        assert whole == [], plan
    else:
        assert "Seq Scan" not in plan, plan


def test_the_first_opening_is_noted_once_in_the_ledger_and_each_later_one_updates_the_last(app):
    creator = Creator.create(name="Ava Chen")
    funnel.record_page_opening(creator, NOW)
    later = NOW + datetime.timedelta(minutes=5)
    funnel.record_page_opening(Creator.get_by_id(creator.id), later)
    stored = Creator.get_by_id(creator.id)
    assert (stored.page_first_opened_at, stored.page_last_opened_at) == (NOW, later)
    opened = LedgerEntry.select().where(LedgerEntry.action == "page_opened")
    assert [(e.actor, e.creator_id) for e in opened] == [("link page", creator.id)]


def test_an_opening_within_a_minute_of_the_last_writes_nothing(app, count_queries):
    creator = Creator.create(name="Ava Chen")
    funnel.record_page_opening(creator, NOW)
    with count_queries() as statements:
        funnel.record_page_opening(creator, NOW + datetime.timedelta(seconds=59))
    assert statements == []
    assert Creator.get_by_id(creator.id).page_last_opened_at == NOW
    funnel.record_page_opening(creator, NOW + datetime.timedelta(seconds=60))
    assert Creator.get_by_id(creator.id).page_last_opened_at == NOW + datetime.timedelta(seconds=60)


def test_a_stale_copy_of_the_creator_cannot_write_a_second_first_opening(app):
    creator = Creator.create(name="Ava Chen")
    stale = Creator.get_by_id(creator.id)  # read by a second request before the first one wrote
    funnel.record_page_opening(creator, NOW)
    funnel.record_page_opening(stale, NOW + datetime.timedelta(seconds=1))
    assert Creator.get_by_id(creator.id).page_first_opened_at == NOW
    assert LedgerEntry.select().where(LedgerEntry.action == "page_opened").count() == 1


def test_marking_invited_records_who_and_when_and_writes_the_ledger(app):
    staff = Staff.register("ann@agency.test", PASSWORD, method=TEST_HASH)
    creator = Creator.create(name="Ava Chen")
    funnel.mark_invited(creator, staff, NOW, how="by hand")
    stored = Creator.get_by_id(creator.id)
    assert (stored.invited_at, stored.invited_by_id) == (NOW, staff.id)
    entry = LedgerEntry.get(LedgerEntry.action == "invitation_sent")
    assert (entry.actor, entry.creator_id, entry.detail_items) == (
        "staff:ann@agency.test",
        creator.id,
        {"how": "by hand"},
    )
    assert stage_of(stored) == Stage.INVITED


def test_a_link_issued_for_some_days_expires_then(app):
    creator = Creator.create(name="Ava Chen")
    creator.issue_link_token(datetime.timedelta(days=7))
    assert creator.link_expires_at == creator.link_created_at + datetime.timedelta(days=7)
    assert not creator.link_expired(utcnow()) and creator.link_expired(utcnow() + datetime.timedelta(days=7))
    creator.issue_link_token()
    assert creator.link_expires_at is None and not creator.link_expired(
        utcnow() + datetime.timedelta(days=9999)
    )


def test_kept_counts_follow_every_write_at_once_and_the_clock_by_the_minute(app, count_queries):
    from portal.kept import Kept

    kept = Kept()

    def kept_counts_are_the_counts(now=NOW):
        counts = funnel.every_stage_count(now, kept)
        assert counts == funnel.every_stage_count(now)
        return counts

    ava = Creator.create(name="Ava Chen")
    assert kept_counts_are_the_counts()[Stage.NOT_INVITED] == 1
    with count_queries() as again:
        kept_counts_are_the_counts()
    assert len(again) == 2  # the kept counts read the version only; the check counted afresh
    Creator.update(invited_at=NOW).where(Creator.id == ava.id).execute()
    assert kept_counts_are_the_counts()[Stage.INVITED] == 1
    Creator.update(page_first_opened_at=NOW).where(Creator.id == ava.id).execute()
    assert kept_counts_are_the_counts()[Stage.OPENED] == 1
    linked = account(ava, "ava.creates", AccountStatus.LINKED, data_access_days=30)
    assert kept_counts_are_the_counts()[Stage.LINKED] == 1
    MetaGrant.update(data_access_expires_at=NOW + datetime.timedelta(days=3)).execute()
    assert kept_counts_are_the_counts()[Stage.ACCESS_ENDING] == 1
    SocialAccount.update(status=AccountStatus.LINK_BROKEN).where(SocialAccount.id == linked.id).execute()
    assert kept_counts_are_the_counts()[Stage.LINK_BROKEN] == 1
    SocialAccount.update(status=AccountStatus.LINKED, grant=None).where(
        SocialAccount.id == linked.id
    ).execute()
    assert kept_counts_are_the_counts()[Stage.LINKED] == 1  # no grant: no end of access known
    # Time passing moves "Access ending" too: a grant that ends 14 days and 30 s from now is linked
    # now, and ending a minute later, whatever was kept in between.
    grant = MetaGrant.create(
        creator=ava, provider="facebook", meta_user_id="2",
        data_access_expires_at=NOW + funnel.WARNING + datetime.timedelta(seconds=30),
    )  # fmt: skip
    SocialAccount.update(grant=grant).where(SocialAccount.id == linked.id).execute()
    assert kept_counts_are_the_counts()[Stage.LINKED] == 1
    assert kept_counts_are_the_counts(NOW + datetime.timedelta(minutes=1))[Stage.ACCESS_ENDING] == 1
    ava.delete_instance(recursive=True)
    assert sum(kept_counts_are_the_counts().values()) == 0
