"""The recent span's figures added up ahead of the pages (RecentFigures). No Flask.

The overview, and every campaign or report without dates of its own, show the last 30 Meta days.
Adding up 30 days of every account on each view cost the overview 160 ms at 10,000 creators, so
each account's sums are kept in RecentFigures, computed by the roster's own expressions:

- the refresh rewrites the rows of the accounts it has just written (update), and deleting an
  account's figures deletes its row (models.insights.delete_figures);
- when the Meta day turns, the span moves: the scheduler rebuilds every row (keep_current).

RecentSpan says which span the rows cover. The roster reads them only for that very span and
computes from the stored figures otherwise, so a view is never wrong, at worst slower.
"""

import contextlib

from peewee import fn

from portal.campaigns import roster
from portal.db import database, is_sqlite, utcnow
from portal.models import RecentFigures, RecentSpan, SocialAccount

STORED = [key for key in roster.COLUMN_KEYS[3:] if key != "engagement_rate"]  # the rate is derived


@contextlib.contextmanager
def _one_writer():
    """A transaction that no other update or rebuild interleaves with.

    An update that read yesterday's span while a rebuild wrote today's would put yesterday's sums
    under today's name: SQLite takes its write lock at BEGIN, PostgreSQL locks the span's table.
    """
    if is_sqlite():
        with database.atomic(lock_type="IMMEDIATE"):
            yield
    else:
        with database.atomic():
            database.execute_sql('LOCK TABLE "recent_span" IN EXCLUSIVE MODE')
            yield


def _insert(span, accounts):
    """Add the rows of these accounts (a query of ids or a list) that have any figure in span."""
    figures, join = roster.computed_figures(span.bounds(), accounts)
    values = [figures[key] for key in STORED]
    query = join(SocialAccount.select(SocialAccount.id, *values)).where(
        SocialAccount.id.in_(accounts) & fn.COALESCE(*values).is_null(False)
    )
    fields = [RecentFigures.account, *(getattr(RecentFigures, key) for key in STORED)]
    return RecentFigures.insert_from(query, fields).execute()


def rebuild(today):
    """Recompute every account's row for the span ending today; return that span."""
    span = roster.Span.recent(today)
    with _one_writer():
        RecentFigures.delete().execute()
        _insert(span, SocialAccount.select(SocialAccount.id))
        RecentSpan.delete().execute()
        RecentSpan.create(first_day=span.first, last_day=span.last, built_at=utcnow())
    return span


def keep_current(today):
    """Rebuild when the rows cover another span than today's (the day turned); return whether it did."""
    if roster.rolled_up_span() == roster.Span.recent(today):
        return False
    rebuild(today)
    return True


def update(account_ids, today):
    """Rewrite these accounts' rows after their figures changed; return whether they were rewritten.

    Nothing is written while the rows cover another span: the next rebuild computes them all.
    """
    ids = sorted(set(account_ids))
    if not ids:
        return False
    with _one_writer():
        if roster.rolled_up_span() != roster.Span.recent(today):
            return False
        RecentFigures.delete().where(RecentFigures.account.in_(ids)).execute()
        _insert(roster.Span.recent(today), ids)
    return True
