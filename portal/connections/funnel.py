"""The invitation funnel: where each creator stands, from not invited to linked. No Flask.

A creator is at exactly one stage, decided in SQL (so the creators list filters and counts by it
at any size) from their accounts' statuses and the creator's own invitation columns:

1. "Link broken": any of their accounts is `link_broken`. An attention state: it wins over
   everything, since staff must send the link again before figures stop.
2. "Access ending": none is broken, but a `linked` account's data access ends within
   link_health.WARNING (14 days), or has ended. The other attention state; the same accounts
   the creators list shows under "Losing data access soon".
3. "Linked": an account is `linked` or `verified` (a verified one adds no figures, but the helper
   did come and prove control: the invitation worked).
4. "Page opened": no account linked, but someone other than staff opened the Link Accounts Page.
5. "Invited": the invitation went out (invited_at), and the page was never opened.
6. "Not invited": none of the above.

So the most advanced stage wins, except that the two attention states win over all. Unlinked and
revoked accounts count for nothing: a creator who unlinked everything falls back to "Page opened"
(or earlier), which is where staff's next step is.
"""

import datetime
from dataclasses import dataclass

from peewee import JOIN, SQL, Case, Value, fn

from portal.connections.link_health import WARNING
from portal.db import UTCDateTimeField, database
from portal.models import AccountStatus, Creator, LedgerEntry, MetaGrant, ReportVersion, SocialAccount, Staff
from portal.models.creators import INVITED_NOT_OPENED, PAGE_OPENED
from portal.prepared import prepared


class Stage:
    """The stages of the funnel, in the order the creators list offers them."""

    NOT_INVITED = "not_invited"
    INVITED = "invited"
    OPENED = "opened"
    LINKED = "linked"
    ACCESS_ENDING = "access_ending"
    LINK_BROKEN = "link_broken"

    LABELS = {
        NOT_INVITED: "Not invited",
        INVITED: "Invited",
        OPENED: "Page opened",
        LINKED: "Linked or verified",
        ACCESS_ENDING: "Access ending",
        LINK_BROKEN: "Link broken",
    }
    ATTENTION = (ACCESS_ENDING, LINK_BROKEN)


# Within a minute, a second opening of the Link Accounts Page does not write: a helper reloading, or
# coming back from Facebook Login, would otherwise turn every read of a public page into a write
# (on SQLite, a wait for the one writer), and "last opened" needs no finer grain than that.
OPENING_PRECISION = datetime.timedelta(minutes=1)

# What an account's status says of its creator, as a rank: the highest of a creator's accounts wins.
_BROKEN, _ENDING, _LINKED = 3, 2, 1
_MOMENT = UTCDateTimeField()  # reads a moment a subquery selected, as the column would

# Rules 1 to 3: the stage a creator's highest rank gives. Rules 4 and 5: the stage a creator's own
# columns give, when no account counts (conditions that exclude each other; else rule 6).
_BY_ACCOUNTS = ((_BROKEN, Stage.LINK_BROKEN), (_ENDING, Stage.ACCESS_ENDING), (_LINKED, Stage.LINKED))
_BY_CREATOR = ((PAGE_OPENED, Stage.OPENED), (INVITED_NOT_OPENED, Stage.INVITED))
_RANKED = {stage for _, stage in _BY_ACCOUNTS}
_OWN_CONDITION = {stage: condition for condition, stage in _BY_CREATOR}


# The statuses that count, written into the SQL rather than bound: SQLite's planner uses the partial
# index socialaccount_in_funnel (whose WHERE is this list) only when it sees the values themselves.
# Bound, it read every account: 22 ms for the counts at 10,000 creators instead of about 6.
_COUNTED = SQL("(" + ", ".join(f"'{status}'" for status in AccountStatus.IN_FUNNEL) + ")")


def _rank(account, grant, ending_before):
    """Return the rank of one account (of the statuses that count), given its grant's columns.

    ending_before: the moment before which a linked account's data access end is near (now + WARNING).
    """
    ending = (account.status == AccountStatus.LINKED) & (grant.data_access_expires_at < ending_before)
    return Case(None, [(account.status == AccountStatus.LINK_BROKEN, _BROKEN), (ending, _ENDING)], _LINKED)


def _own_stage():
    """Return the SQL expression of the stage a creator's own columns give (rules 4 to 6)."""
    return Case(None, _BY_CREATOR, Stage.NOT_INVITED)


def _stage(rank):
    """Return the stage's SQL expression from the creator's highest account rank (NULL: none counts)."""
    return Case(rank, _BY_ACCOUNTS, _own_stage())  # the simple CASE reads the rank once


def _ranks(ending_before):
    """Return the subquery of (creator_id, rank) of every creator with an account that counts.

    One grouped pass over those accounts alone, through the partial index socialaccount_in_funnel.
    """
    return (
        SocialAccount.select(
            SocialAccount.creator.alias("creator_id"),
            fn.MAX(_rank(SocialAccount, MetaGrant, ending_before)).alias("rank"),
        )
        .join(MetaGrant, JOIN.LEFT_OUTER, on=(SocialAccount.grant == MetaGrant.id))
        .where(SocialAccount.status.in_(_COUNTED))
        .group_by(SocialAccount.creator)
        .alias("funnel_rank")
    )


def _staged(creators, ending_before, join=JOIN.LEFT_OUTER):
    ranks = _ranks(ending_before)
    joined = creators.join(ranks, join, on=(ranks.c.creator_id == Creator.id))
    return joined, _stage(ranks.c.rank)


def staged(creators, now):
    """Return (creators with their accounts' rank joined, the stage's SQL expression over them).

    For a question about many creators (a filter): the ranks are grouped once and joined.
    A subquery per creator cost PostgreSQL 50 ms for 10,000 creators.
    """
    return _staged(creators, now + WARNING)


def _stage_of_each(ending_before):
    account, grant = SocialAccount.alias("funnel_account"), MetaGrant.alias("funnel_grant")
    rank = (
        account.select(fn.MAX(_rank(account, grant, ending_before)))
        .join(grant, JOIN.LEFT_OUTER, on=(account.grant == grant.id))
        .where((account.creator == Creator.id) & account.status.in_(_COUNTED))
    )
    return _stage(rank)


def stage_of_each(now):
    """Return the stage's SQL expression for a few creators: a subquery per row, nothing joined.

    The same definition as staged(); a page of 20 unfiltered rows reads 20 creators' accounts
    this way instead of grouping every account.
    """
    return _stage_of_each(now + WARNING)


def stage_counts(creators, now):
    """Return {stage: number of these creators at it} for every stage, in one GROUP BY query.

    Each creator's stage is read by its own subquery: for the few a search finds, whose accounts
    are a few index lookups each. every_stage_count() counts every creator.
    """
    return dict.fromkeys(Stage.LABELS, 0) | dict(_counted(creators, now + WARNING))


def _counted(creators, ending_before):
    stages = creators.select(_stage_of_each(ending_before).alias("stage"))
    return (
        Creator.select(SQL("stage"), fn.COUNT(SQL("*")))
        .from_(stages.alias("funnel"))
        .group_by(SQL("stage"))
        .tuples()
    )


@prepared
def _counts_of_found(**values):
    # A search's counts: the same SQL for any search (its ids are one value), built once.
    return _counted(Creator.listed(values["found"]), values["ending_before"])


@prepared
def _page_of_found(stage, **values):
    # A search's page, one shape per stage filter, built once each.
    found = values.pop("found")
    return _page(Creator.listed(found), stage, **values, found=True)


@prepared
def _stage_moves(ending_before):
    # The counts of every_stage_count(), as moves between stages; built once (portal/prepared.py).
    # COUNT(*) alone in its SELECT: SQLite then counts the smallest index's entries without reading each.
    everyone = Creator.select(fn.COUNT(SQL("*")))
    moves = Creator.select(Value(None), Value(Stage.NOT_INVITED), everyone).from_()
    # Rules 4 and 5 are for creators with no account that counts: the others take their rank's stage.
    ranked = SocialAccount.select(SocialAccount.creator).where(SocialAccount.status.in_(_COUNTED))
    for condition, stage in _BY_CREATOR:
        moves += Creator.select(Value(Stage.NOT_INVITED), Value(stage), fn.COUNT(SQL("*"))).where(
            condition & Creator.id.not_in(ranked)
        )
    # So every creator with a rank moves from "Not invited", and the ranks alone say how many: no
    # creator row is read (joining each rank to its creator for their own stage cost PostgreSQL 6 ms).
    ranks = _ranks(ending_before)
    moves += (
        Creator.select(Value(Stage.NOT_INVITED), Case(ranks.c.rank, _BY_ACCOUNTS), fn.COUNT(SQL("*")))
        .from_(ranks)
        .group_by(ranks.c.rank)
    )
    return moves.tuples()


def every_stage_count(now, kept=None):
    """Return {stage: number of creators at it} for every stage and every creator, in one query.

    Equal to stage_counts(every creator), without reading each creator (which cost 4 ms at 10,000):
    every creator starts at "Not invited"; those each of rule 4 and 5 take, of the creators without
    an account that counts, are counted in its partial index and moved on; those with an account
    that counts move to their rank's stage, grouped from those accounts alone. Each row of the query
    is such a move: (from stage, or NULL for every creator's start; to stage; how many creators).

    kept (a portal.kept.Kept): the counts are kept under the report version, which every write to
    creators, accounts and grants moves, and the minute: "Access ending" also moves with the clock,
    so it may lag by up to a minute of time passing (never behind a write).
    """
    if kept is None:
        return _counted_moves(now)
    version = ReportVersion.current()  # first: see portal/kept.py
    key = None if version is None else ("funnel counts", version, now.replace(second=0, microsecond=0))
    return kept.answer(key, lambda: _counted_moves(now))


def _counted_moves(now):
    counts = dict.fromkeys(Stage.LABELS, 0)
    for moved_from, moved_to, number in _stage_moves(ending_before=now + WARNING):
        counts[moved_to] += number
        if moved_from:
            counts[moved_from] -= number
    return counts


def _page(creators, stage, ending_before, limit, offset, found=False):
    """Return the query of these creators at stage (any if None) in the list's order, with .funnel_stage.

    found: these are a search's matches, whose stages are read row by row, as their counts are.
    """
    if stage is None or found:
        selection, expression = creators, _stage_of_each(ending_before)
        selection = selection.where(expression == stage) if stage else selection
    elif stage in _RANKED:
        # Only a creator with an account that counts can be at it: the join may start from those.
        selection, expression = _staged(creators, ending_before, JOIN.INNER)
        selection = selection.where(expression == stage)
    else:
        # What the stage says of the creator's own columns lets the planner read its partial index.
        selection, expression = _staged(creators, ending_before)
        own = _OWN_CONDITION.get(stage)
        selection = selection.where((expression == stage) if own is None else own & (expression == stage))
    selection = selection.select_extend(expression.alias("funnel_stage"))
    return Creator.in_list_order(selection, limit, offset)


@prepared
def _page_of_everyone(stage, **values):
    # The unfiltered list's page has one shape per stage filter: its SQL is built once for each.
    return _page(Creator.listed(), stage, **values)


def creator_page(query, stage, number, per_page, now, kept=None):
    """Return (one Page of the creators matching query at stage, or at any if None; the counts).

    Each row carries .funnel_stage. The page is read apart from the counts: it knows whether a
    next page exists from one extra row, not from a total.
    """
    values = {"ending_before": now + WARNING, "limit": per_page + 1, "offset": (number - 1) * per_page}
    text = Creator.search_text(query)
    found = Creator.found_ids(text) if text else None
    if found is not None:  # up to Creator.LISTED_MATCHES, as one value: the SQL is kept
        counts = dict.fromkeys(Stage.LABELS, 0) | dict(
            _counts_of_found(found=found, ending_before=values["ending_before"])
        )
        rows = _page_of_found(stage, found=found, **values)
    elif text:  # more than that: the search stays a subquery of each, built on each view
        matching = Creator.listed(text)
        counts, rows = stage_counts(matching, now), _page(matching, stage, **values, found=True)
    else:
        counts, rows = every_stage_count(now, kept), _page_of_everyone(stage, **values)
    return Creator.page_of(rows, number, per_page), counts


@dataclass
class Progress:
    """Where one creator stands, with the moments that got them there."""

    stage: str
    invited_at: datetime.datetime | None
    invited_by: str | None  # the staff member's e-mail address
    page_first_opened_at: datetime.datetime | None
    page_last_opened_at: datetime.datetime | None
    linked_since: datetime.datetime | None  # the first account linked or verified, of those that still are
    access_ends_at: datetime.datetime | None  # the soonest data access end of a linked account

    @property
    def label(self):
        return Stage.LABELS[self.stage]

    @property
    def needs_attention(self):
        return self.stage in Stage.ATTENTION


def progress(creator, now):
    """Return the Progress of one creator at now, in one query."""
    account = SocialAccount.alias("progress_account")
    grant = MetaGrant.alias("progress_grant")
    linked_since = account.select(fn.MIN(account.linked_at)).where(
        (account.creator == Creator.id) & account.status.in_((AccountStatus.LINKED, AccountStatus.VERIFIED))
    )
    access_ends = (
        account.select(fn.MIN(grant.data_access_expires_at))
        .join(grant, on=(account.grant == grant.id))
        .where((account.creator == Creator.id) & (account.status == AccountStatus.LINKED))
    )
    row = (
        Creator.select(
            stage_of_each(now),
            Creator.invited_at,
            Staff.email,
            Creator.page_first_opened_at,
            Creator.page_last_opened_at,
            linked_since,
            access_ends,
        )
        .join(Staff, JOIN.LEFT_OUTER, on=(Creator.invited_by == Staff.id))
        .where(Creator.id == creator.id)
        .tuples()
        .get()
    )
    stage, invited_at, invited_by, first, last, since, ends = row
    return Progress(
        stage=stage,
        invited_at=_MOMENT.python_value(invited_at),
        invited_by=invited_by,
        page_first_opened_at=_MOMENT.python_value(first),
        page_last_opened_at=_MOMENT.python_value(last),
        linked_since=_MOMENT.python_value(since),
        access_ends_at=_MOMENT.python_value(ends),
    )


def mark_invited(creator, staff, now, how):
    """Record that staff sent this creator the invitation at now (how: "by hand", "by e-mail"...)."""
    with database.atomic():
        Creator.update(invited_at=now, invited_by=staff.id, updated_at=now).where(
            Creator.id == creator.id
        ).execute()
        LedgerEntry.record("invitation_sent", f"staff:{staff.email}", creator=creator, how=how)
    creator.invited_at, creator.invited_by = now, staff


def record_page_opening(creator, now):
    """Note that the creator's Link Accounts Page was opened at now; the first opening goes in the ledger.

    Writes nothing when the last opening noted is less than OPENING_PRECISION old.
    """
    last = creator.page_last_opened_at
    if creator.page_first_opened_at is None:
        with database.atomic():
            # Only the request that finds it empty sets the first opening: two helpers opening the
            # link at once write one ledger entry.
            first = (
                Creator.update(page_first_opened_at=now, page_last_opened_at=now)
                .where((Creator.id == creator.id) & Creator.page_first_opened_at.is_null())
                .execute()
            )
            if first:
                LedgerEntry.record("page_opened", "link page", creator=creator)
    elif last is None or now - last >= OPENING_PRECISION:
        Creator.update(page_last_opened_at=now).where(Creator.id == creator.id).execute()
    else:
        return
    creator.page_first_opened_at = creator.page_first_opened_at or now
    creator.page_last_opened_at = now
