"""What Meta's Deauthorize and Data Deletion callbacks do to one person's Platform Data. No Flask.

Both are keyed by the app-scoped user id Meta sends, and both are idempotent: Meta retries,
and the same person may ask twice.
"""

import hashlib
import secrets

from portal.connections.linking import unlink
from portal.db import database, utcnow
from portal.models import AccountStatus, DeletionRequest, LedgerEntry, MetaGrant, SocialAccount

# A revoked account has nothing left to revoke; an unlinked one never had anything.
REVOCABLE = (AccountStatus.LINKED, AccountStatus.VERIFIED, AccountStatus.LINK_BROKEN)


def user_digest(provider, user_id):
    """Return the digest a deletion request keeps in place of the user id."""
    return hashlib.sha256(f"{provider}:{user_id}".encode()).hexdigest()


def _grants(provider, user_id):
    return MetaGrant.select().where((MetaGrant.provider == provider) & (MetaGrant.meta_user_id == user_id))


def _accounts(provider, user_id):
    """Return the accounts linked through this person's grants, or (Instagram) proved to be theirs."""
    through_grant = SocialAccount.grant.in_(_grants(provider, user_id).select(MetaGrant.id))
    if provider == MetaGrant.FACEBOOK:
        theirs = SocialAccount.linked_by_fb_user_id == user_id
    else:  # Instagram Login: the account's own id or its app-scoped one, whichever Meta sent
        theirs = (SocialAccount.ig_user_id == user_id) | (SocialAccount.instagram_login_id == user_id)
    return SocialAccount.select().where(through_grant | theirs).order_by(SocialAccount.id)


def _forget_grant_tokens(provider, user_id, now):
    grant_ids = _grants(provider, user_id).select(MetaGrant.id)
    MetaGrant.update(user_token=None, candidates=None).where(
        MetaGrant.id.in_(grant_ids)
        & (MetaGrant.user_token.is_null(False) | MetaGrant.candidates.is_null(False))
    ).execute()
    MetaGrant.update(revoked_at=now).where(
        MetaGrant.id.in_(grant_ids) & MetaGrant.revoked_at.is_null()
    ).execute()


def deauthorize(provider, user_id):
    """Revoke every link this person gave, at once: tokens deleted, accounts revoked, figures kept.

    Returns the accounts revoked now (none on a repeat).
    """
    with database.atomic():
        accounts = list(_accounts(provider, user_id).where(SocialAccount.status.in_(REVOCABLE)))
        for account in accounts:
            unlink(account)
            LedgerEntry.record(
                "deauthorized", "meta", creator=account.creator_id, account=account, provider=provider
            )
        _forget_grant_tokens(provider, user_id, utcnow())
    return accounts


def _forget_identity(account):
    """Clear what Meta told us about who linked an account and from where."""
    SocialAccount.update(
        grant=None,
        ig_user_id=None,
        instagram_login_id=None,
        linked_by_fb_user_id=None,
        linked_by_name=None,
        page_id=None,
        page_name=None,
        granted_scopes=None,
        last_error=None,
    ).where(SocialAccount.id == account.id).execute()


def _forget_ledger_identity(provider, user_id):
    """Replace this person's id and name in the consent ledger's actor column."""
    actor = f"{provider}:{user_id}"
    LedgerEntry.update(actor=f"{provider}:deleted").where(
        (LedgerEntry.actor == actor) | LedgerEntry.actor.startswith(actor + " ")
    ).execute()


def deletion_summary(accounts, grants, asked_before):
    """Say in plain words what a deletion request removed."""
    if accounts:
        noun = "Instagram account" if accounts == 1 else "Instagram accounts"
        return f"Deleted the access and stored figures of {accounts} {noun}."
    if grants:
        return "Deleted the access you gave. No Instagram account had been linked with it."
    if asked_before:
        return "Nothing was left to delete: an earlier request already removed everything we held."
    return "We held no data for this person."


def delete_platform_data(provider, user_id):
    """Delete everything stored through this person's authorizations; record and return the request."""
    accounts = list(_accounts(provider, user_id))
    for account in accounts:
        # Each unlink commits on its own and then removes the archived story files.
        unlink(account, delete_data=True)
        _forget_identity(account)
    digest = user_digest(provider, user_id)
    with database.atomic():
        grants = MetaGrant.delete().where(MetaGrant.id.in_(_grants(provider, user_id).select(MetaGrant.id)))
        grant_count = grants.execute()
        _forget_ledger_identity(provider, user_id)
        asked_before = DeletionRequest.select().where(DeletionRequest.user_digest == digest).exists()
        now = utcnow()
        deletion = DeletionRequest.create(
            confirmation_code=secrets.token_urlsafe(24),
            user_digest=digest,
            provider=provider,
            status=DeletionRequest.COMPLETED,
            summary=deletion_summary(len(accounts), grant_count, asked_before),
            received_at=now,
            completed_at=now,
        )
        LedgerEntry.record(
            "data_deletion",
            "meta",
            code=deletion.confirmation_code,
            accounts=len(accounts),
            grants=grant_count,
        )
    return deletion
