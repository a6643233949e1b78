"""Prepared queries (portal/prepared.py) answer as the same query built afresh, on either database."""

import datetime

import pytest
from peewee import JOIN, fn

from portal.models import Creator, SocialAccount, Staff
from portal.prepared import OneOf, Slot, _by_id, by_id, prepared

START = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.UTC)


@prepared
def invited_since(moment, name_like):
    return (
        Creator.select(Creator.id, Creator.name)
        .where((Creator.invited_at >= moment) & Creator.name.contains(name_like))
        .order_by(Creator.id)
        .tuples()
    )


@prepared
def creators_with_accounts(ordering, limit, offset):
    order = Creator.name.desc() if ordering == "name desc" else Creator.id
    return (
        Creator.select(Creator, fn.COUNT(SocialAccount.id).alias("accounts"))
        .join(SocialAccount, JOIN.LEFT_OUTER)
        .group_by(Creator.id)
        .order_by(order, Creator.id)
        .limit(limit)
        .offset(offset)
    )


@prepared
def creators_among(ids):
    return Creator.select(Creator.name).where(OneOf(Creator.id, ids)).order_by(Creator.id).tuples()


def make_creators():
    for n in range(12):
        creator = Creator.create(
            name=f"Creator {n:02d}", email=f"c{n}@example.com", invited_at=START + datetime.timedelta(days=n)
        )
        for k in range(n % 3):
            SocialAccount.create(creator=creator, username=f"c{n}.handle{k}")


def test_a_prepared_query_gives_what_the_query_built_afresh_gives(app):
    with app.app_context():
        make_creators()
        for days, text in [(0, "Creator"), (5, "0"), (11, "1"), (30, "Creator")]:
            moment = START + datetime.timedelta(days=days)
            expected = list(
                Creator.select(Creator.id, Creator.name)
                .where((Creator.invited_at >= moment) & Creator.name.contains(text))
                .order_by(Creator.id)
                .tuples()
            )
            # The moment is converted as the column converts it: aware in, stored as naive UTC.
            assert list(invited_since(moment=moment, name_like=text)) == expected
        late = invited_since(moment=START + datetime.timedelta(days=10), name_like="")
        assert [name for _, name in late] == ["Creator 10", "Creator 11"]


def test_each_shape_is_built_once_and_rows_come_back_as_models(app):
    with app.app_context():
        make_creators()
        by_id = list(creators_with_accounts("id", limit=5, offset=2))
        assert [c.name for c in by_id] == [f"Creator {n:02d}" for n in range(2, 7)]
        assert [c.accounts for c in by_id] == [n % 3 for n in range(2, 7)]
        by_name = list(creators_with_accounts("name desc", limit=3, offset=0))
        assert [c.name for c in by_name] == ["Creator 11", "Creator 10", "Creator 09"]
        # The same shape again reads the SQL kept from the first call, with the new values.
        first = creators_with_accounts.compiled("id", limit=5, offset=2)
        assert creators_with_accounts.compiled("id", limit=1, offset=9) is first
        assert [c.name for c in creators_with_accounts("id", limit=1, offset=9)] == ["Creator 09"]


def test_the_staff_session_lookup_is_prepared_and_refuses_a_stale_version(app, admin):
    with app.app_context():
        staff = Staff.get(Staff.email == admin.email)
        assert Staff.from_session_id(f"{staff.id}:{staff.session_version}").id == staff.id
        staff.end_sessions()
        assert Staff.from_session_id(f"{staff.id}:{staff.session_version}") is None


def test_a_slot_cannot_steer_the_shape_or_be_computed_with():
    slot = Slot("now")
    with pytest.raises(TypeError, match="cannot decide"):
        bool(slot)
    with pytest.raises(TypeError, match="Compute with 'now' in Python"):
        slot + datetime.timedelta(days=14)
    # On a column's right it is only a value: the column's own expression.
    assert (Creator.invited_at < slot).rhs is slot


def test_one_of_a_list_of_any_length_is_one_value_and_one_sql(app):
    with app.app_context():
        make_creators()
        ids = [creator.id for creator in Creator.select(Creator.id).order_by(Creator.id)]
        for chosen in ([], [ids[3]], [ids[0], ids[5], ids[11]], ids, [ids[2], ids[2], 10**9]):
            expected = [(f"Creator {ids.index(i):02d}",) for i in sorted(set(chosen)) if i in ids]
            assert list(creators_among(ids=chosen)) == expected
            # Built afresh too (a list, not a Slot): the same rows.
            fresh = (
                Creator.select(Creator.name).where(OneOf(Creator.id, chosen)).order_by(Creator.id).tuples()
            )
            assert list(fresh) == expected
        query, sql, params = creators_among.compiled(ids=[1])
        assert creators_among.compiled(ids=list(range(500)))[1] == sql and len(params) == 1


def test_a_row_by_id_is_a_model_or_none_and_one_sql_per_model(app, admin):
    with app.app_context():
        make_creators()
        first = Creator.select().order_by(Creator.id).first()
        found = by_id(Creator, first.id)
        assert isinstance(found, Creator) and (found.id, found.name, found.email) == (
            first.id,
            first.name,
            first.email,
        )
        assert by_id(Creator, 10**9) is None
        # Another model has its own SQL; the same model keeps its one.
        staff = Staff.get(Staff.email == admin.email)
        assert by_id(Staff, staff.id).email == admin.email
        sql = _by_id.compiled(Creator, row_id=1)[1]
        assert _by_id.compiled(Creator, row_id=2)[1] == sql != _by_id.compiled(Staff, row_id=1)[1]


def test_a_creators_account_list_is_its_accounts_query_read_prepared(app):
    with app.app_context():
        make_creators()
        for creator in Creator.select():
            assert [a.username for a in creator.account_list()] == [a.username for a in creator.accounts()]
            assert all(isinstance(a, SocialAccount) for a in creator.account_list())
