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

from peewee import SQL

from portal.db import is_sqlite

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


def narrowed(names, handles, text):
    """Return (names, handles) narrowed to the rows the trigram index finds for text, where it can.

    names selects creators and handles social accounts, each by a LIKE on text. PostgreSQL's
    planner narrows by itself; on SQLite the FTS5 tables are asked explicitly.
    """
    # A NUL ends an FTS5 query string early ("unterminated string"): such a query scans, as before.
    if not is_sqlite() or len(text) < SHORTEST_INDEXED or "\x00" in text:
        return names, handles
    phrase = '"' + text.replace('"', '""') + '"'  # one quoted phrase: no FTS5 operator in it counts
    found = [
        SQL(f"(SELECT rowid FROM {search} WHERE {search} MATCH ?)", [phrase])
        for search, _table, _column in _SQLITE_INDEXES
    ]
    return names.where(names.model.id.in_(found[0])), handles.where(handles.model.id.in_(found[1]))
