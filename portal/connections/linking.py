"""Turning a Meta login into linked, verified or unlinked accounts. No Flask.

The views hand in a GraphClient and plain values; everything written for one
login happens in one transaction, after the Graph calls, so a failure leaves no
half-linked account behind.
"""

import json
import os
from dataclasses import dataclass

from portal.connections import discovery, ownership, webhooks
from portal.connections.discovery import Candidate, LinkProblem, Problem
from portal.db import database, utcnow
from portal.graph import GraphError
from portal.models import AccountStatus, LedgerEntry, MetaGrant, SocialAccount
from portal.models.insights import delete_figures

# A Page role from its tasks (Meta's "tasks" replaced named roles): the widest task names it.
PAGE_ROLES = (
    ("MANAGE", "Admin"),
    ("CREATE_CONTENT", "Editor"),
    ("MODERATE", "Moderator"),
    ("ADVERTISE", "Advertiser"),
    ("ANALYZE", "Analyst"),
)


def page_role(tasks):
    """Return the Page role a list of tasks amounts to, or None (a portfolio Page shows no tasks)."""
    return next((role for task, role in PAGE_ROLES if task in (tasks or ())), None)


@dataclass
class LoginOutcome:
    """What a Facebook login achieved: a problem, linked accounts, or a grant to choose from."""

    problem: Problem | None = None
    account_id: int | None = None
    grant_id: int | None = None
    linked: list | None = None


def _store_grant(creator, grant, found):
    candidates = [vars(c) | {"problem": c.problem.as_dict() if c.problem else None} for c in found.candidates]
    return MetaGrant.create(
        creator=creator,
        provider=MetaGrant.FACEBOOK,
        meta_user_id=grant.user_id,
        meta_user_name=grant.user_name,
        user_token=grant.token,
        token_expires_at=grant.expires_at,
        data_access_expires_at=grant.data_access_expires_at,
        granted_scopes=",".join(sorted(grant.granted)),
        declined_scopes=",".join(sorted(grant.declined)),
        candidates=json.dumps(candidates),
    )


def stored_candidates(grant_row):
    """Return the candidates saved with a grant, as Candidate objects."""
    items = json.loads(grant_row.candidates or "[]")
    result = []
    for item in items:
        problem = item.pop("problem")
        result.append(Candidate(**item, problem=Problem(**problem) if problem else None))
    return result


def _link(creator, grant_row, candidate, account=None, subscription=None):
    """Mark one account linked through one candidate (creating the row if staff never listed it).

    subscription holds the outcome of subscribing its Page to webhooks, when that was asked.
    """
    if account is None:
        account = SocialAccount.get_or_none(
            (SocialAccount.creator == creator) & (SocialAccount.username == candidate.username)
        ) or SocialAccount(creator=creator, username=candidate.username, listed_by_staff=False)
    account.status = AccountStatus.LINKED
    account.revoked_at = None
    account.ig_user_id = candidate.ig_user_id
    account.grant = grant_row
    account.page_id = candidate.page_id
    account.page_name = candidate.page_name
    # A Page token from a long-lived user token does not expire; portfolio Pages come without one.
    account.page_token = candidate.page_token
    account.linked_by_fb_user_id = grant_row.meta_user_id
    account.linked_by_name = grant_row.meta_user_name
    account.linked_at = utcnow()
    account.granted_scopes = grant_row.granted_scopes
    account.display_name = candidate.name
    account.profile_picture_url = candidate.profile_picture_url
    account.followers_count = candidate.followers_count
    account.media_count = candidate.media_count
    account.last_error = None
    account.access_denied_since = None
    account.refresh_deferred_until = None
    for name, value in (subscription or {}).items():
        setattr(account, name, value)
    account.save()
    _record_link(creator, account, grant_row, candidate)
    return account


def _subscription(client, candidate, story_webhooks):
    """Subscribe the candidate's Page to webhooks before linking, when PORTAL_STORY_WEBHOOKS asks."""
    if not story_webhooks:
        return {"webhooks_subscribed_at": None, "webhook_problem": None}
    return webhooks.subscribe(client, candidate.page_id, candidate.page_token, utcnow())


def facebook_actor(grant_row):
    """Return the ledger's name for the Facebook user behind a grant: "facebook:<id> <name>"."""
    return f"facebook:{grant_row.meta_user_id} {grant_row.meta_user_name or ''}".strip()


def _record_link(creator, account, grant_row, candidate):
    """Write who linked the account, from which Page, with which scopes and role: never a token."""
    LedgerEntry.record(
        "linked",
        facebook_actor(grant_row),
        creator=creator,
        account=account,
        username=account.username,
        page_id=candidate.page_id,
        page_name=candidate.page_name,
        scopes=sorted(filter(None, (grant_row.granted_scopes or "").split(","))),
        role=page_role(candidate.tasks),
        tasks=sorted(candidate.tasks or []),
        business=candidate.business_name,
        # What the Link Accounts Page said when the link was made: clients may see the figures.
        clients="read-only",
    )


def complete_facebook_login(client, creator, short_token, account=None, story_webhooks=False):
    """Read the grant behind a Facebook login and link `account`, or keep the grant for choosing.

    With an account (Connect Business) the outcome links it or says why not; without
    one (Add Instagram Business account) it returns the stored grant to choose from.
    """
    try:
        grant = discovery.read_grant(client, short_token)
        missing = grant.missing_scopes()
        if missing:
            return LoginOutcome(
                problem=Problem(LinkProblem.PERMISSION_DECLINED, {"missing": missing}),
                account_id=account.id if account else None,
            )
        found = discovery.discover(client, grant)
    except GraphError as error:
        return LoginOutcome(
            problem=discovery.facebook_error(error), account_id=account.id if account else None
        )

    if account is None:
        if not found.candidates:
            # Nothing to choose from: say why now, as Connect Business would.
            code = LinkProblem.PORTFOLIO_NOT_SHARED if found.hidden_page_ids else LinkProblem.NOT_FOUND
            return LoginOutcome(problem=Problem(code, {"found": []}))
        with database.atomic():
            grant_row = _store_grant(creator, grant, found)
        return LoginOutcome(grant_id=grant_row.id)

    match = found.find(account.username)
    if isinstance(match, Problem):
        return LoginOutcome(problem=match, account_id=account.id)
    if match.problem:
        return LoginOutcome(problem=match.problem, account_id=account.id)
    problem = ownership.linking_problems(creator, [match]).get(match.ig_user_id)
    if problem:
        return LoginOutcome(problem=problem, account_id=account.id)
    subscription = _subscription(client, match, story_webhooks)
    with database.atomic():
        grant_row = _store_grant(creator, grant, found)
        _link(creator, grant_row, match, account, subscription)
    return LoginOutcome(account_id=account.id, grant_id=grant_row.id, linked=[account.username])


def link_chosen(creator, grant_row, chosen_ids, client=None, story_webhooks=False):
    """Link the chosen candidates of a stored grant; return (linked usernames, skipped with reasons).

    One that staff list under another creator is not linked: the creator gets an unlinked row
    for it instead (if it has none), so staff see the conflict on both profiles.
    """
    linked, skipped, kept = [], [], {}
    chosen = [c for c in stored_candidates(grant_row) if c.ig_user_id in chosen_ids]
    held = ownership.linking_problems(creator, [c for c in chosen if c.linkable])
    subscriptions = {
        c.ig_user_id: _subscription(client, c, story_webhooks)
        for c in chosen
        if c.linkable and c.ig_user_id not in held
    }
    with database.atomic():
        for candidate in chosen:
            problem = candidate.problem or held.get(candidate.ig_user_id)
            if problem is None:
                _link(creator, grant_row, candidate, subscription=subscriptions[candidate.ig_user_id])
                linked.append(candidate.username)
                continue
            skipped.append((candidate.username, problem))
            if problem.code == LinkProblem.LISTED_ELSEWHERE:
                kept[candidate.username] = ownership.keep_conflict(creator, candidate.username)
        for username, problem in skipped:
            LedgerEntry.record(
                "link_failed",
                facebook_actor(grant_row),
                creator=creator,
                account=kept.get(username),
                problem=problem.code,
            )
        # The choices are made; the Page tokens now live on the linked accounts only.
        MetaGrant.update(candidates=None).where(MetaGrant.id == grant_row.id).execute()
    grant_row.forget_token_if_unused()
    return linked, skipped


def record_verification(creator, profile, account=None):
    """Record that the helper proved control of an Instagram account through Instagram Login.

    profile is Instagram's /me answer. Returns (account, None) or (None, Problem).
    """
    username = (profile.get("username") or "").lower()
    if account is not None and account.username != username:
        problem = Problem(
            LinkProblem.WRONG_INSTAGRAM_ACCOUNT, {"expected": account.username, "actual": username}
        )
        return None, problem
    user_id = str(profile.get("user_id") or profile.get("id"))
    with database.atomic():
        account = account or SocialAccount.get_or_none(
            (SocialAccount.creator == creator) & (SocialAccount.username == username)
        )
        # Staff's own listing here keeps the old rule; anything else yields to another creator's listing.
        if (account is None or not account.listed_by_staff) and ownership.listed_elsewhere(
            creator, username, user_id
        ):
            ownership.keep_conflict(creator, username)
            return None, Problem(LinkProblem.LISTED_ELSEWHERE, {"username": username})
        account = account or SocialAccount(creator=creator, username=username, listed_by_staff=False)
        if account.status != AccountStatus.LINKED:
            # A Business Insights link says more than a verification; never downgrade it.
            account.status = AccountStatus.VERIFIED
            account.revoked_at = None
        # Instagram Login's /me has two ids: user_id, the account's own (the API's and webhooks'),
        # and id, app-scoped. Meta's deauthorize and deletion callbacks may name either: keep both.
        account.ig_user_id = user_id
        if profile.get("id") and str(profile["id"]) != account.ig_user_id:
            account.instagram_login_id = str(profile["id"])
        account.display_name = profile.get("name")
        account.linked_at = account.linked_at or utcnow()
        account.save()
        LedgerEntry.record(
            "verified", f"instagram:{account.ig_user_id}", creator=creator, account=account, username=username
        )
    return account, None


def unlink(account, delete_data=False, actor=None, client=None):
    """Revoke an account's link: tokens deleted at once, history kept unless asked to delete it.

    With an actor ("staff:<email>", "link page") the ledger records who did it; without one
    the caller records its own entry (Meta's callbacks say more than "unlinked"). With a client,
    the Page's webhook subscription is removed first, while the Page token still exists.
    """
    if client is not None:
        webhooks.unsubscribe(client, account)
    grant, files = account.grant, []
    with database.atomic():
        if account.status != AccountStatus.REVOKED:
            account.revoked_at = utcnow()
        account.status = AccountStatus.REVOKED
        account.page_token = None
        account.webhooks_subscribed_at = None
        if delete_data:
            account.followers_count = None
            account.media_count = None
            account.profile_picture_url = None
            account.display_name = None
            account.last_refreshed_at = None
            files = delete_figures(account)
        account.save()
        if grant is not None:
            grant.forget_token_if_unused()
        if actor:
            action = "unlinked_and_deleted" if delete_data else "unlinked"
            extra = {"files": len(files)} if delete_data else {}
            LedgerEntry.record(
                action, actor, creator=account.creator_id, account=account, username=account.username, **extra
            )
    for path in files:  # after the commit: a failed transaction must not lose the files
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
    return account
