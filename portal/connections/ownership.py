"""One owner per Instagram account: who else lists it, what that means for linking, moving a handle. No Flask.

Staff's listing is what counts: an account staff list under one creator is not linked for another
through the Link Accounts Page. The refused creator keeps an unlinked row for it, so staff see the
conflict on both profiles, and staff settle it by moving the handle.
"""

from portal.connections.discovery import LinkProblem, Problem
from portal.db import database
from portal.models import AccountStatus, Creator, LedgerEntry, SocialAccount


class CannotMove(ValueError):
    """The handle cannot be moved to that creator; the message says why."""


def _same_account(username, ig_user_id, other):
    """Tell whether another creator's row names the same Instagram account (by username or id)."""
    return other.username.lower() == username.lower() or bool(ig_user_id and other.ig_user_id == ig_user_id)


def listed_elsewhere(creator, username, ig_user_id=None):
    """Return another creator's account, in any status but revoked, with this username or id, or None."""
    return next(iter(SocialAccount.listed_by_others(creator, [username.lower()], [ig_user_id])), None)


def also_listed(creator, accounts):
    """Return {account id: [the other creators that list it too]} for accounts of creator, in one query."""
    accounts = list(accounts)
    if not accounts:
        return {}
    others = SocialAccount.listed_by_others(
        creator, [a.username.lower() for a in accounts], [a.ig_user_id for a in accounts]
    )
    listings = {}
    for account in accounts:
        same = [o for o in others if _same_account(account.username, account.ig_user_id, o)]
        creators = {o.creator.id: o.creator for o in same}
        if creators:
            listings[account.id] = list(creators.values())
    return listings


def held_elsewhere(creator, accounts):
    """Return the ids of creator's accounts the Link Accounts Page may not link: staff list them elsewhere."""
    accounts = list(accounts)
    listings = also_listed(creator, [a for a in accounts if not a.listed_by_staff])
    return set(listings)


def linking_problems(creator, candidates):
    """Return {ig_user_id: Problem} for the candidates creator may not link because another creator has them.

    An account staff list under creator themselves keeps the old rule: refused only while it is
    linked for another creator (LINKED_ELSEWHERE). Any other account is refused while another
    creator lists it, in any status but revoked (LISTED_ELSEWHERE).
    """
    candidates = list(candidates)
    if not candidates:
        return {}
    usernames = [c.username.lower() for c in candidates]
    own = {
        a.username: a
        for a in SocialAccount.select(SocialAccount.username, SocialAccount.listed_by_staff).where(
            (SocialAccount.creator == creator) & SocialAccount.username.in_(usernames)
        )
    }
    others = SocialAccount.listed_by_others(creator, usernames, [c.ig_user_id for c in candidates])
    problems = {}
    for candidate in candidates:
        mine = own.get(candidate.username.lower())
        details = {"username": candidate.username}
        if mine is not None and mine.listed_by_staff:
            if any(o.ig_user_id == candidate.ig_user_id and o.status == AccountStatus.LINKED for o in others):
                problems[candidate.ig_user_id] = Problem(LinkProblem.LINKED_ELSEWHERE, details)
        elif any(_same_account(candidate.username, candidate.ig_user_id, o) for o in others):
            problems[candidate.ig_user_id] = Problem(LinkProblem.LISTED_ELSEWHERE, details)
    return problems


def keep_conflict(creator, username):
    """Return creator's row for username, adding an unlinked one if it has none: staff see the conflict."""
    username = username.lower()
    mine = SocialAccount.select().where(SocialAccount.creator == creator, SocialAccount.username == username)
    return mine.first() or SocialAccount.create(creator=creator, username=username, listed_by_staff=False)


def move_handle(account, to_creator, actor):
    """Move an unlinked handle to another creator, or drop it where that creator lists it already.

    One transaction; the ledger notes it under both creators. Returns the row to_creator now has.
    Raises CannotMove for a handle that is not unlinked, or a move to the creator it is under.
    """
    if to_creator.id == account.creator_id:
        raise CannotMove(f"@{account.username} is already listed under {to_creator.name}.")
    if account.status != AccountStatus.UNLINKED:
        label = account.status_label
        raise CannotMove(f"@{account.username} is “{label}”: only a handle that was never linked can move.")
    with database.atomic():
        source = Creator.get_by_id(account.creator_id)
        theirs = SocialAccount.get_or_none(
            (SocialAccount.creator == to_creator) & (SocialAccount.username == account.username)
        )
        # The status is checked again in the write itself: a helper may be linking it right now.
        still_unlinked = (SocialAccount.id == account.id) & (SocialAccount.status == AccountStatus.UNLINKED)
        if theirs is not None:
            changed = SocialAccount.delete().where(still_unlinked).execute()
        else:
            move = SocialAccount.update(creator=to_creator, listed_by_staff=True)
            changed = move.where(still_unlinked).execute()
        if not changed:
            raise CannotMove(f"@{account.username} was linked meanwhile: only a never-linked handle moves.")
        kept = theirs if theirs is not None else SocialAccount.get_by_id(account.id)
        outcome = "moved" if theirs is None else "dropped"
        details = {
            "username": account.username,
            "from_creator": source.name,
            "to_creator": to_creator.name,
            "outcome": outcome,
        }
        LedgerEntry.record("handle_moved", actor, creator=source, **details)
        LedgerEntry.record("handle_moved", actor, creator=to_creator, account=kept, **details)
    return kept
