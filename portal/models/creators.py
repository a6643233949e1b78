"""Creators: the people the agency follows, the link that opens their Link Accounts Page, CSV imports."""

import collections
import datetime
import hashlib
import secrets

from peewee import BooleanField, CharField, ForeignKeyField, TextField, fn

from portal.crypto import EncryptedTextField
from portal.db import UTCDateTimeField, utcnow
from portal.models.base import BaseModel
from portal.models.staff import Staff
from portal.paging import Page
from portal.prepared import OneOf, prepared


def hash_link_token(token):
    """Return the SHA-256 hex digest under which a link token is looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Creator(BaseModel):
    """A creator whose Instagram accounts the agency wants to follow."""

    name = CharField()
    email = CharField(null=True)
    # Only the digest is used to find a creator from a link. The token itself is
    # kept encrypted so staff can copy the same link again; it is never stored plain.
    link_token_hash = CharField(unique=True, null=True)
    link_token = EncryptedTextField(null=True)
    link_created_at = UTCDateTimeField(null=True)
    # Staff's word that this creator's figures never go to a client: no report ever shows them.
    internal_only = BooleanField(default=False)
    # The invitation funnel: who last sent the invitation and when, when the Link Accounts Page was
    # first and last opened, and the reminders this creator gets (at most one a week, or none).
    invited_at = UTCDateTimeField(null=True)
    invited_by = ForeignKeyField(Staff, null=True, on_delete="SET NULL", backref="invited_creators")
    page_first_opened_at = UTCDateTimeField(null=True)
    page_last_opened_at = UTCDateTimeField(null=True)
    reminders_enabled = BooleanField(default=True)
    reminded_at = UTCDateTimeField(null=True)
    # A link issued "valid for N days" stops opening the page after this; None: no expiry.
    link_expires_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    # A search that finds at most this many creators is read once and passed on as a list of ids.
    LISTED_MATCHES = 500

    class Meta:
        table_name = "creator"

    def issue_link_token(self, valid_for=None):
        """Give this creator a new link token, replacing any old one, and return it.

        valid_for (a timedelta) makes the link stop opening the page that long from now; None: never.
        """
        token = secrets.token_urlsafe(32)
        self.link_token_hash = hash_link_token(token)
        self.link_token = token
        self.link_created_at = utcnow()
        self.link_expires_at = self.link_created_at + valid_for if valid_for else None
        self.save()
        return token

    def link_expired(self, now):
        """Tell whether this creator's link was issued for a time that is over at now."""
        return self.link_expires_at is not None and self.link_expires_at <= now

    def working_link_token(self, now):
        """Return the link token to send this creator, or None: none readable, or one that has expired."""
        if not self.link_token or self.link_expired(now):
            return None
        return self.link_token

    @classmethod
    def by_link_token(cls, token):
        """Return the creator whose current link token this is, or None."""
        if not token or len(token) > 200:
            return None
        return cls.get_or_none(cls.link_token_hash == hash_link_token(token))

    @classmethod
    def found_by(cls, text):
        """Return the query for the ids of creators whose name or a handle contains text (lowercase)."""
        from portal.models import search

        return search.found(search.narrowing(text), **search.values(text))

    @classmethod
    def found_ids(cls, text):
        """Return the ids of the creators whose name or a handle contains text (lowercase), in no
        order; None when there are more than LISTED_MATCHES of them.

        The search's SQL is kept (portal/prepared.py): building it cost a third of a search's page.
        """
        from portal.models import search

        found = search.found_at_most(
            search.narrowing(text), **search.values(text), most=cls.LISTED_MATCHES + 1
        )
        ids = [row[0] for row in found]
        return ids if len(ids) <= cls.LISTED_MATCHES else None

    @staticmethod
    def search_text(query):
        """Return what a search for query looks for: lowercase, without an "@" (empty: every creator)."""
        return (query or "").strip().lower().lstrip("@")

    @classmethod
    def listed(cls, found=None):
        """Return the query for the creators the list shows: every one, or those found (see matching).

        Only what the list shows is read (no encrypted link token or Page token to decrypt per row).
        found: a list of ids (found_ids), or a search text whose matches are too many to list.
        """
        selection = cls.select(cls.id, cls.name, cls.email)
        if isinstance(found, str):
            return selection.where(cls.id.in_(cls.found_by(found)))
        return selection if found is None else selection.where(OneOf(cls.id, found))

    @classmethod
    def matching(cls, query=""):
        """Return the query for creators whose name or Instagram handle contains query.

        A search runs here, once: up to LISTED_MATCHES creators found come back as a list of ids.
        The list's counts, its page and the page's handles each filter by the search: reading the few
        creators it finds once spares running it three times (PostgreSQL's trigram scan of a query
        made of common trigrams costs milliseconds). Many stay a subquery.
        """
        text = cls.search_text(query)
        if not text:
            return cls.listed()
        ids = cls.found_ids(text)
        return cls.listed(text if ids is None else ids)

    @staticmethod
    def in_list_order(selection, limit, offset):
        """Return selection in the creators list's order (by name), limit rows from offset."""
        return selection.order_by(fn.LOWER(Creator.name), Creator.id).limit(limit).offset(offset)

    @classmethod
    def page_of(cls, rows, page, per_page):
        """Return one Page of creators from the rows read for it, each with .handles (its usernames).

        rows: per_page + 1 at most, in_list_order(). The one past the page tells whether a next page
        exists, without counting every matching creator.
        """

        rows = list(rows)
        # The handles of the rows read, by their ids (see _handles_of). prefetch() would put the page's
        # query into this one, to be built and run again (a search's list of ids too).
        handles = collections.defaultdict(list)
        for creator_id, username in _handles_of(creators=[row.id for row in rows]):
            handles[creator_id].append(username)
        for row in rows:
            row.handles = handles[row.id]
        return Page.of_rows(rows, page, per_page)

    @classmethod
    def search(cls, query="", page=1, per_page=20):
        """Return one Page of creators whose name or Instagram handle contains query."""
        rows = cls.in_list_order(cls.matching(query), per_page + 1, (page - 1) * per_page)
        return cls.page_of(rows, page, per_page)

    def accounts(self):
        """Return the query of this creator's social accounts, by username."""
        accounts = self.social_accounts  # the backref SocialAccount adds
        return accounts.order_by(accounts.model.username)

    def account_list(self):
        """Return this creator's social accounts, by username, as a list: the same rows as accounts(),
        read by SQL built once (a profile and a Link Accounts Page list them on every view)."""
        return list(_accounts_of(creator=self.id))


@prepared
def _accounts_of(creator):
    # Listed on every view of a creator's profile and Link Accounts Page.
    from portal.models.accounts import SocialAccount  # which refers to Creator

    return SocialAccount.select().where(SocialAccount.creator == creator).order_by(SocialAccount.username)


# The creators list pages through creators ordered by LOWER(name), id: with this index a page
# reads its 20 rows in order instead of sorting every creator on every view.
Creator.add_index(fn.LOWER(Creator.name), Creator.id, name="creator_lower_name_id")

# The invitation funnel's stages a creator reaches by their own columns (portal/connections/funnel.py,
# rules 4 and 5), as conditions that exclude each other, so that each can be counted alone. Each has
# a partial index: the creators list counts the creators at either by reading only theirs, not every
# creator (the entries of a covering index, not the rows). The second index holds both columns so that
# SQLite need not read the row to check the condition; the WHERE of each must stay its condition.
PAGE_OPENED = Creator.page_first_opened_at.is_null(False)
INVITED_NOT_OPENED = Creator.page_first_opened_at.is_null() & Creator.invited_at.is_null(False)
Creator.add_index(Creator.index(Creator.page_first_opened_at, name="creator_page_opened", where=PAGE_OPENED))
Creator.add_index(
    Creator.index(
        Creator.invited_at,
        Creator.page_first_opened_at,
        name="creator_invited_not_opened",
        where=INVITED_NOT_OPENED,
    )
)


class CreatorImport(BaseModel):
    """An uploaded creators CSV between its preview and staff's confirmation.

    The file waits here, not in the browser: the confirm button sends only this row's id, so what is
    imported is what was uploaded (nothing the client could edit), judged again when it is imported.
    A table rather than the session (a cookie) or a file under instance/, so any web process of any
    host can finish what another started. Kept for an hour at most: it holds e-mail addresses.
    """

    KEPT = datetime.timedelta(hours=1)

    staff = ForeignKeyField(Staff, backref="creator_imports", on_delete="CASCADE")
    file_name = CharField()
    csv_text = TextField()
    created_at = UTCDateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "creator_import"

    @classmethod
    def pending(cls, import_id, staff, now):
        """Return this staff member's import with this id if it is still kept, or None."""
        return cls.get_or_none(
            (cls.id == import_id) & (cls.staff == staff) & (cls.created_at > now - cls.KEPT)
        )

    @classmethod
    def forget_expired(cls, now):
        """Delete every import older than KEPT; return how many."""
        return cls.delete().where(cls.created_at <= now - cls.KEPT).execute()


@prepared
def _handles_of(creators):
    # The handles of a page's creators, by username: one SQL for any page (OneOf), built once.
    from portal.models.accounts import SocialAccount  # accounts.py builds on this module

    selection = SocialAccount.select(SocialAccount.creator, SocialAccount.username)
    return selection.where(OneOf(SocialAccount.creator, creators)).order_by(SocialAccount.username).tuples()
