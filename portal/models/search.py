"""Finding creators by a piece of their name or Instagram handle through trigram indexes.

A search is a substring match (LIKE '%...%'), which no ordinary index helps: it read every creator
and every handle. A trigram index finds the rows holding every three-character piece of the query.
- SQLite: FTS5 tables with the trigram tokenizer (SQLite 3.34 or later) over creator.name and
  social_account.username. They are external-content tables: they keep only the index, read the
  text from the tables themselves, and triggers on those tables keep them current.
- PostgreSQL: pg_trgm GiST indexes on LOWER(name) and username; the planner uses them for the
  very ILIKE the portal runs, and rechecks every row it finds. GiST, not GIN: a GIN index finds a
  query's rows by intersecting the list of rows of each of its trigrams, and a trigram most names
  share ("cre", "000") lists most rows, which cost 5 to 15 ms a search at 100,000 creators; GIN
  also keeps new rows in a pending list that each search reads whole until a vacuum merges it.
  GiST descends only into the branches whose signature holds every trigram: 2 to 4 ms. (A larger
  signature, gist_trgm_ops(siglen = 64), took 1 ms, but PostgreSQL 15 then fails to drop the
  extension or the schema with the index: "cache lookup failed for function".)
On both, the index only narrows the candidates: the LIKE the portal always ran still decides, so
the results are the same as a scan's, whatever the index thinks of case or of a character.
"""

from peewee import OP, SQL, Expression, NodeList, Value, fn

from portal.db import is_sqlite
from portal.prepared import Slot, prepared

# Shorter queries hold no trigram: no index can narrow them and the LIKE reads every row, as before.
SHORTEST_INDEXED = 3

# One FTS5 table per searched column: (FTS table, content table, column).
_SQLITE_INDEXES = [
    ("creator_name_search", "creator", "name"),
    ("social_account_search", "social_account", "username"),
]
_POSTGRES = [
    # Needs a superuser, or a database owner once pg_trgm is a trusted extension (PostgreSQL 13+).
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    'CREATE INDEX IF NOT EXISTS "creator_name_trigrams" ON "creator" '
    'USING gist (LOWER("name") gist_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS "socialaccount_username_trigrams" ON "social_account" '
    'USING gist ("username" gist_trgm_ops)',
]
# The GIN indexes that came before (schema versions 15 to 19).
_POSTGRES_BEFORE = ["creator_name_trgm", "socialaccount_username_trgm"]


def _sqlite_statements(search, table, column):
    """Return the statements that create one FTS5 table and the triggers that keep it current.

    An external-content table must be told the old text to forget it ('delete'); SQLite's FTS5
    documentation gives these three triggers for that.
    """
    forget = f"INSERT INTO {search}({search}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    learn = f"INSERT INTO {search}(rowid, {column}) VALUES (new.id, new.{column});"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {search} USING fts5("
        f"{column}, content='{table}', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {search}_insert AFTER INSERT ON {table} BEGIN {learn} END",
        f"CREATE TRIGGER IF NOT EXISTS {search}_delete AFTER DELETE ON {table} BEGIN {forget} END",
        f"CREATE TRIGGER IF NOT EXISTS {search}_update AFTER UPDATE OF {column} ON {table} "
        f"BEGIN {forget} {learn} END",
    ]


def install(db):
    """Create the search indexes (and on SQLite their triggers) that db lacks."""
    if is_sqlite(db):
        for search, table, column in _SQLITE_INDEXES:
            for statement in _sqlite_statements(search, table, column):
                db.execute_sql(statement)
    else:
        for statement in _POSTGRES:
            db.execute_sql(statement)


def replace_gin_indexes(db):
    """On PostgreSQL, drop the GIN trigram indexes of earlier versions and create the GiST ones."""
    if not is_sqlite(db):
        for index in _POSTGRES_BEFORE:
            db.execute_sql(f'DROP INDEX IF EXISTS "{index}"')
        install(db)


def rebuild(db):
    """Refill SQLite's search tables from creator and social_account (PostgreSQL's indexes need nothing)."""
    if is_sqlite(db):
        for search, _table, _column in _SQLITE_INDEXES:
            db.execute_sql(f"INSERT INTO {search}({search}) VALUES ('rebuild')")


def narrowing(text):
    """Tell whether a search for text asks SQLite's FTS5 tables first (see narrowed): a shape of its SQL."""
    # A NUL ends an FTS5 query string early ("unterminated string"): such a query scans, as before.
    return is_sqlite() and len(text) >= SHORTEST_INDEXED and "\x00" not in text


def values(text):
    """The values a search for text fills its SQL with: the LIKE pattern, and the FTS5 phrase."""
    # LIKE's wildcards in the text are escaped: "%" finds "100% Real", not every creator.
    escaped = text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    phrase = '"' + text.replace('"', '""') + '"'  # one quoted phrase: no FTS5 operator in it counts
    return {"pattern": f"%{escaped}%", "phrase": phrase}


def found(narrowing, pattern, phrase):
    """Return the query for the ids of the creators whose name or a handle is LIKE pattern."""
    from portal.models.accounts import SocialAccount
    from portal.models.creators import Creator

    names = Creator.select(Creator.id).where(_like(fn.LOWER(Creator.name), pattern))
    handles = SocialAccount.select(SocialAccount.creator).where(_like(SocialAccount.username, pattern))
    if narrowing:
        names, handles = narrowed(names, handles, phrase)
    # A UNION, not "name LIKE ... OR id IN (...)": each side can use its own index.
    return names | handles


@prepared
def found_at_most(narrowing, **values):
    # A search's first `most` ids: the same SQL for every search of a shape, built once.
    most = values.pop("most")
    return found(narrowing, **values).limit(most).tuples()


def _like(column, pattern):
    """column LIKE pattern (case-insensitive), with "\\" escaping LIKE's wildcards in it."""
    return Expression(
        column, OP.ILIKE, NodeList((_text(pattern), SQL("ESCAPE"), Value("\\", converter=False)))
    )


def narrowed(names, handles, phrase):
    """Return (names, handles) narrowed to the rows SQLite's trigram tables find for phrase.

    names selects creators and handles social accounts, each by a LIKE. PostgreSQL's planner
    narrows by itself through its indexes; SQLite's FTS5 tables are asked explicitly.
    """
    found = [
        NodeList((SQL(f"(SELECT rowid FROM {search} WHERE {search} MATCH"), _text(phrase), SQL(")")))
        for search, _table, _column in _SQLITE_INDEXES
    ]
    return names.where(names.model.id.in_(found[0])), handles.where(handles.model.id.in_(found[1]))


def _text(value):
    return value if isinstance(value, Slot) else Value(value, converter=False)
