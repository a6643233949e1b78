import datetime
import re

import pytest

from portal import db
from portal.models import (
    AccountStatus,
    Creator,
    DuplicateHandle,
    InvitationTemplate,
    SocialAccount,
    Staff,
    hash_link_token,
)

HASH = "scrypt:1024:8:1"


def dump_all_tables():
    """Return every value in every table as one text, as a backup would hold it."""
    database = db.database.obj
    parts = []
    for table in database.get_tables():
        for row in database.execute_sql(f'SELECT * FROM "{table}"').fetchall():
            parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


def test_link_token_is_long_random_and_stored_only_as_hash(app):
    creator = Creator.create(name="Ava")
    token = creator.issue_link_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)
    row = Creator.select(Creator.link_token_hash).where(Creator.id == creator.id).tuples().get()
    assert row[0] == hash_link_token(token)
    assert token not in dump_all_tables()


def test_link_token_finds_its_creator_and_nothing_else(app):
    ava = Creator.create(name="Ava")
    ava_token = ava.issue_link_token()
    Creator.create(name="Marco").issue_link_token()
    assert Creator.by_link_token(ava_token).id == ava.id
    assert Creator.by_link_token(ava_token[:-1] + ("A" if ava_token[-1] != "A" else "B")) is None
    assert Creator.by_link_token("") is None
    assert Creator.by_link_token("x" * 5000) is None


def test_issuing_a_new_link_token_retires_the_old_one(app):
    creator = Creator.create(name="Ava")
    old = creator.issue_link_token()
    new = creator.issue_link_token()
    assert new != old
    assert Creator.by_link_token(old) is None
    assert Creator.by_link_token(new).id == creator.id


def test_staff_can_read_back_the_current_link_token(app):
    creator = Creator.create(name="Ava")
    token = creator.issue_link_token()
    assert Creator.get_by_id(creator.id).link_token == token


def test_search_matches_name_or_handle_case_insensitively(app):
    ava = Creator.create(name="Ava Chen")
    marco = Creator.create(name="Marco Rossi")
    SocialAccount.add_handle(marco, "chef.marco")
    assert [c.id for c in Creator.search("AVA").items] == [ava.id]
    assert [c.id for c in Creator.search("@Chef").items] == [marco.id]
    assert {c.id for c in Creator.search("").items} == {ava.id, marco.id}
    assert Creator.search("nobody").items == []


def test_search_pages_through_creators_in_name_order(app):
    for index in range(25):
        Creator.create(name=f"Creator {index:02d}")
    first = Creator.search("", page=1, per_page=10)
    last = Creator.search("", page=3, per_page=10)
    assert first.has_next and not first.has_previous
    assert [c.name for c in first.items][:2] == ["Creator 00", "Creator 01"]
    assert len(last.items) == 5 and not last.has_next and last.has_previous
    # No total is counted: the one row read past the page says whether a next one exists.
    exactly_full = Creator.search("", page=5, per_page=5)
    assert len(exactly_full.items) == 5 and not exactly_full.has_next
    assert Creator.search("", page=4, per_page=5).has_next


def test_search_loads_handles_without_a_query_per_creator(app, count_queries):
    for index in range(5):
        SocialAccount.add_handle(Creator.create(name=f"C{index}"), f"handle{index}")
    with count_queries() as queries:
        page = Creator.search("")
        handles = [handle for c in page.items for handle in c.handles]
    assert sorted(handles) == [f"handle{i}" for i in range(5)]
    assert len(queries) == 2  # creators (no count), their accounts


def test_a_handle_is_listed_once_per_creator(app):
    ava = Creator.create(name="Ava")
    SocialAccount.add_handle(ava, "ava.creates")
    with pytest.raises(DuplicateHandle):
        SocialAccount.add_handle(ava, "ava.creates")
    # Another creator may list the same handle; linking decides who really holds it.
    SocialAccount.add_handle(Creator.create(name="Ava's manager"), "ava.creates")
    assert SocialAccount.select().count() == 2


def test_new_accounts_start_unlinked_with_scheduled_refresh_on(app, creator):
    account = creator.accounts().get()
    assert account.status == AccountStatus.UNLINKED
    assert account.refresh_enabled is True
    assert account.removable


def test_deleting_a_creator_removes_their_accounts(app, creator):
    creator.delete_instance()
    assert SocialAccount.select().count() == 0


def test_times_come_back_timezone_aware_in_utc(app):
    moment = datetime.datetime(2026, 11, 29, 23, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    creator = Creator.create(name="Ava", link_created_at=moment)
    again = Creator.get_by_id(creator.id)
    assert again.link_created_at == moment
    assert again.link_created_at.tzinfo == datetime.UTC
    assert again.created_at.tzinfo == datetime.UTC


def test_staff_passwords_are_hashed_and_checked(app):
    staff = Staff.register("Someone@Agency.test", "long enough password", method="scrypt:1024:8:1")
    assert staff.email == "someone@agency.test"
    assert "long enough password" not in staff.password_hash
    assert Staff.authenticate("SOMEONE@agency.test", "long enough password", method=HASH).id == staff.id
    assert Staff.authenticate("someone@agency.test", "wrong password", method=HASH) is None
    assert Staff.authenticate("nobody@agency.test", "long enough password", method=HASH) is None
    with pytest.raises(ValueError, match="already exists"):
        Staff.register("someone@agency.test", "another password", method="scrypt:1024:8:1")


def test_ending_sessions_makes_the_old_session_id_stale(app):
    staff = Staff.register("a@agency.test", "long enough password", method="scrypt:1024:8:1")
    session_id = staff.get_id()
    assert Staff.from_session_id(session_id).id == staff.id
    staff.end_sessions()
    assert Staff.from_session_id(session_id) is None
    assert Staff.from_session_id("not-an-id") is None


def test_invitation_template_defaults_until_an_admin_saves_one(app):
    default = InvitationTemplate.current()
    assert default.id is None and "[Name]" in default.body
    InvitationTemplate.create(subject="Hi [Name]", body="Link: [Link]")
    InvitationTemplate.create(subject="Hello [Name]", body="Please link: [Link]")
    assert InvitationTemplate.current().subject == "Hello [Name]"
