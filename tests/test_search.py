"""Creator search through the trigram index finds exactly what a scan with LIKE finds, and stays current."""

import pytest
from peewee import fn

from portal import db
from portal.connections.ownership import move_handle
from portal.models import Creator, SocialAccount

CREATORS = {
    "Ava Chen": ["ava.creates", "ava.travels"],
    "Élise Martin": ["elise.m"],
    "ÉLISE DUPONT": [],
    "100% Real": ["real_100"],
    "a_b Studio": ["ab.studio"],
    'Conor O\'Brien "Q"': ["obrien.q"],
    "Marco Rossi": ["chef.marco"],
    "Bench Creator 00042": ["bench.handle.00042.0"],
}
# Case, "@", LIKE's wildcards, a name against a handle, accents, quotes, 1 and 2 characters, FTS5's syntax.
QUERIES = [
    "ava", "AVA", "@ava.cr", "@@ava", "@", "a", "av", "ch", ".c", "creates", "chef", "Chen",
    "%", "100%", "0%", "_", "a_b", "l_1", "%a%", "élise", "ÉLISE", "elise", "éli", "lis", "ise ",
    "o'b", '"q"', '"', "0004", "creator 0004", "handle.00042", "ava OR marco", "ava*", "NEAR(ava)",
    "nobody", "  ava  ",
]  # fmt: skip


def scanned(query):
    """Return the ids of the creators a plain LIKE over every name and handle finds (the old search)."""
    text = query.strip().lower().lstrip("@")
    found = Creator.select(Creator.id)
    if text:
        handles = SocialAccount.select(SocialAccount.creator).where(SocialAccount.username.contains(text))
        found = found.where(fn.LOWER(Creator.name).contains(text) | Creator.id.in_(handles))
    return sorted(c.id for c in found)


def searched(query):
    return sorted(c.id for c in Creator.matching(query))


def names(query):
    return sorted(c.name for c in Creator.matching(query))


@pytest.fixture
def creators(app):
    for name, handles in CREATORS.items():
        creator = Creator.create(name=name)
        for handle in handles:
            SocialAccount.add_handle(creator, handle)


@pytest.mark.parametrize("query", QUERIES)
def test_search_finds_what_a_scan_finds(creators, query):
    assert searched(query) == scanned(query)


@pytest.mark.parametrize("query", QUERIES)
def test_a_search_that_finds_many_creators_finds_what_a_scan_finds(creators, monkeypatch, query):
    monkeypatch.setattr(Creator, "LISTED_MATCHES", 2)  # more are not read ahead: they stay a subquery
    assert searched(query) == scanned(query)


def test_search_matches_substrings_case_insensitively_with_wildcards_taken_literally(creators):
    assert names("AVA") == names("@ava.cr") == ["Ava Chen"]
    assert names("%") == names("0%") == ["100% Real"]  # not every creator
    assert names("_") == ["100% Real", "a_b Studio"]  # a name and a handle hold one
    assert names("l_1") == ["100% Real"]  # real_100; "_" is no wildcard
    assert names("chef") == ["Marco Rossi"]  # by handle only
    assert names("creator 0004") == ["Bench Creator 00042"]
    assert names('"q"') == ['Conor O\'Brien "Q"']
    assert names("ava OR marco") == names("ava*") == []  # FTS5's syntax means nothing here
    # One and two characters hold no trigram: the LIKE alone finds them. No "a" in ÉLISE DUPONT or O'Brien.
    assert names("av") == ["Ava Chen"] and len(names("a")) == len(CREATORS) - 2
    if db.is_sqlite():  # PostgreSQL refuses a NUL in any text; FTS5 would end its query string there
        assert searched("\x00ava") == scanned("\x00ava")


def test_search_uses_the_index_for_three_characters_or_more(creators):
    database = db.database.obj
    if db.is_sqlite():
        sql, params = Creator.found_by("ava").sql()
        steps = [row[-1] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
        scans = [step for step in steps if step.startswith("SCAN")]
        # Both FTS5 tables are asked; no table is read row by row.
        assert scans == [
            f"SCAN {table} VIRTUAL TABLE INDEX 0:M1"
            for table in ("creator_name_search", "social_account_search")
        ], steps
        sql, params = Creator.found_by("av").sql()  # no trigram in it: the LIKE reads every row
        assert "MATCH" not in sql
    else:
        # The tables are tiny, so PostgreSQL would rightly scan them: forbid that to see the index chosen.
        with database.atomic():
            database.execute_sql("SET LOCAL enable_seqscan = off")
            sql, params = Creator.found_by("ava").sql()
            plan = " ".join(row[0] for row in database.execute_sql("EXPLAIN " + sql, params))
        assert "creator_name_trigrams" in plan and "socialaccount_username_trigrams" in plan


def test_the_index_follows_renames_new_and_deleted_handles_moves_and_deletions(creators):
    ava = Creator.get(Creator.name == "Ava Chen")
    marco = Creator.get(Creator.name == "Marco Rossi")

    ava.name = "Ava Lindqvist"
    ava.save()
    assert names("chen") == [] and names("lindqvist") == ["Ava Lindqvist"]

    SocialAccount.add_handle(marco, "marco.bakes")
    assert names("bakes") == ["Marco Rossi"]
    SocialAccount.update(username="marco.grills").where(SocialAccount.username == "marco.bakes").execute()
    assert names("bakes") == [] and names("grills") == ["Marco Rossi"]

    move_handle(SocialAccount.get(SocialAccount.username == "ava.travels"), marco, "staff:ann@agency.test")
    assert names("travels") == ["Marco Rossi"]

    SocialAccount.get(SocialAccount.username == "marco.grills").delete_instance()
    assert names("grills") == []
    ava.delete_instance(recursive=True)
    assert names("lindqvist") == [] and names("ava.creates") == []
    for query in ("lindqvist", "ava", "travels", "grills", "marco", "_"):
        assert searched(query) == scanned(query)


def test_searches_of_one_kind_run_the_same_sql_with_their_own_values(creators, admin_client, count_queries):
    # A search's SQL is kept (portal/prepared.py): its text and the creators it found are values.
    shown = {}
    for query in ("ava", "creat", "100%"):  # one creator found, two, and a LIKE wildcard taken literally
        with count_queries() as statements:
            page = admin_client.get("/creators", query_string={"q": query}).get_data(as_text=True)
        shown[query] = statements
        assert all(name in page for name in names(query)) and names(query)
    assert len(names("creat")) == 2 and names("100%") == ["100% Real"]
    assert shown["ava"] == shown["creat"] == shown["100%"]
    assert "Marco Rossi" not in admin_client.get("/creators?q=ava").get_data(as_text=True)
