"""Adding a CSV's new creators: judged again, then bulk inserts in one transaction, each in the ledger.

What was new at the preview may not be new now (another import, or staff adding the same creator
meanwhile): the rows are judged again inside the transaction, and such a row is skipped with why.
"""

import secrets
from dataclasses import dataclass

from portal.creator_import.judging import judge
from portal.creator_import.reading import read_text
from portal.db import database, utcnow
from portal.models import Creator, CreatorImport, LedgerEntry, SocialAccount, hash_link_token

# Rows per INSERT: a creator has 15 columns, so 500 stay far below SQLite's 32,766 parameters.
CHUNK = 500


@dataclass
class ImportResult:
    """The creators added (each with its new link, for a later step to invite) and the rows skipped."""

    created: list  # Creator, in the file's order
    skipped: list  # judging.Verdict, in the file's order, each with why


def import_creators(rows, actor, file_name):
    """Judge rows (reading.Row) against the portal as it is now, add the new ones; return an ImportResult."""
    now = utcnow()
    with database.atomic():
        verdicts = judge(rows)
        new = [verdict for verdict in verdicts if verdict.is_new]
        creators = _insert_creators(new, now)
        accounts = _insert_accounts(creators, new, now)
        skipped = [verdict for verdict in verdicts if not verdict.is_new]
        _record(creators, accounts, actor, now, file_name, len(skipped))
    return ImportResult(created=creators, skipped=skipped)


def _chunks(items):
    return [items[at : at + CHUNK] for at in range(0, len(items), CHUNK)]


def _insert_creators(verdicts, now):
    """Insert a creator, with a new link as add_creator gives one, for each verdict; return them with ids."""
    creators = []
    for verdict in verdicts:
        token = secrets.token_urlsafe(32)
        creators.append(
            Creator(
                name=verdict.row.name,
                email=verdict.row.email or None,
                link_token_hash=hash_link_token(token),
                link_token=token,  # encrypted by its field on the way in
                link_created_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    for chunk in _chunks(creators):
        Creator.insert_many([creator.__data__ for creator in chunk]).execute()
        # The ids, by the link digests just made (unique, indexed): SQLite gives no RETURNING here.
        digests = [creator.link_token_hash for creator in chunk]
        query = Creator.select(Creator.link_token_hash, Creator.id).where(
            Creator.link_token_hash.in_(digests)
        )
        ids = dict(query.tuples())
        for creator in chunk:
            creator.id = ids[creator.link_token_hash]
    return creators


def _insert_accounts(creators, verdicts, now):
    """Insert each creator's handles; return (creator id, account id, username) for each."""
    rows = [
        {"creator": creator.id, "username": username, "created_at": now}
        for creator, verdict in zip(creators, verdicts, strict=True)
        for username in verdict.usernames
    ]
    for chunk in _chunks(rows):
        SocialAccount.insert_many(chunk).execute()
    added = []
    for chunk in _chunks([creator.id for creator in creators]):
        query = SocialAccount.select(SocialAccount.creator, SocialAccount.id, SocialAccount.username)
        added.extend(query.where(SocialAccount.creator.in_(chunk)).order_by(SocialAccount.id).tuples())
    return added


def _record(creators, accounts, actor, now, file_name, skipped):
    """Write in the ledger what add_creator writes for each creator and handle, and the import itself."""
    entries = [
        ("creators_imported", None, None, {"count": len(creators), "skipped": skipped, "file": file_name})
    ]
    entries += [("invited", creator.id, None, {"name": creator.name}) for creator in creators]
    entries += [
        ("account_added", creator_id, account_id, {"username": username})
        for creator_id, account_id, username in accounts
    ]
    LedgerEntry.record_many(entries, actor, now)


def import_pending(pending, actor):
    """Import a waiting upload (CreatorImport) once: return an ImportResult, or None if it was taken already.

    The upload is deleted in the same transaction, so a second click on "Import" (or two staff
    confirming at once) imports nothing twice: the later one finds no upload left.
    """
    with database.atomic():
        if not CreatorImport.delete().where(CreatorImport.id == pending.id).execute():
            return None
        return import_creators(read_text(pending.csv_text), actor, pending.file_name)
