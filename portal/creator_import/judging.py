"""A verdict on each row of a creators CSV: a new creator, or why the row is skipped.

The same checks as the add-creator form (a name, a valid e-mail, handles normalised by
handles.normalise_handle), plus what only a file can get wrong: a creator already in the portal
(same e-mail, or a handle another creator lists), the same creator twice in the file, and a cell a
spreadsheet would run as a formula. The portal is asked in a fixed number of queries (one for the
e-mails, one for the handles, a further one per 10,000 values), never one per row.
"""

import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from peewee import fn

from portal.connections.handles import InvalidHandle, normalise_handle
from portal.models import AccountStatus, Creator, SocialAccount

MAX_HANDLES = 10
# Values per IN (...) list: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters.
QUERY_CHUNK = 10_000
# A name or e-mail starting with one of these would run as a formula in the sheets the portal's
# CSVs are opened in. Such a row is refused rather than silently changed: the portal never stores
# a name staff did not type, and the cell most likely held a formula (or its result) by mistake.
FORMULA_START = ("=", "+", "-", "@")
_HANDLE_SEPARATORS = re.compile(r"[\s;,]+")

NEW, DUPLICATE, INVALID = "new", "duplicate", "invalid"


@dataclass
class Verdict:
    """What becomes of one row: NEW (imported) or, with why, DUPLICATE or INVALID (skipped)."""

    row: object  # reading.Row
    usernames: list = field(default_factory=list)
    kind: str = NEW
    why: str = ""

    @property
    def is_new(self):
        return self.kind == NEW


def judge(rows):
    """Return a Verdict for each row (reading.Row), in the file's order, against the portal as it is now."""
    verdicts = [_own_verdict(row) for row in rows]
    candidates = [v for v in verdicts if v.is_new]
    _against_the_portal(candidates)
    _against_earlier_rows([v for v in candidates if v.is_new])
    return verdicts


def _own_verdict(row):
    """Judge a row on its own: everything that needs neither the portal nor the other rows."""
    verdict = Verdict(row)
    problem = row.problem or _name_problem(row.name) or _email_problem(row.email)
    if not problem:
        try:
            verdict.usernames = _usernames(row.instagram)
        except InvalidHandle as exc:
            problem = str(exc)
    if problem:
        verdict.kind, verdict.why = INVALID, problem
    return verdict


def _name_problem(name):
    if not name:
        return "The name is missing."
    if name.startswith(FORMULA_START):
        return f"The name starts with “{name[0]}”, which a spreadsheet runs as a formula. Remove it."
    return None


def _email_problem(email):
    if not email:
        return None  # optional, as on the add-creator form
    if email.startswith(FORMULA_START):
        return f"The e-mail starts with “{email[0]}”, which a spreadsheet runs as a formula. Remove it."
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return f"“{email}” is not an e-mail address like name@example.com."
    return None


def _usernames(cell):
    """Return the cell's handles as bare lower-case usernames, each once; raise InvalidHandle."""
    usernames = []
    for typed in _HANDLE_SEPARATORS.split(cell):
        if not typed:
            continue
        try:
            username = normalise_handle(typed)
        except InvalidHandle as exc:
            shown = typed if len(typed) <= 40 else typed[:39] + "…"
            raise InvalidHandle(f"Instagram handle “{shown}”: {exc}") from exc
        if username not in usernames:
            usernames.append(username)
    if len(usernames) > MAX_HANDLES:
        raise InvalidHandle(f"{len(usernames)} Instagram handles; at most {MAX_HANDLES} a row are taken.")
    return usernames


def _chunks(values):
    values = sorted(values)
    return [values[at : at + QUERY_CHUNK] for at in range(0, len(values), QUERY_CHUNK)]


def _against_the_portal(verdicts):
    """Mark rows whose e-mail or handle the portal already has, naming that creator."""
    emails = {v.row.email.lower() for v in verdicts if v.row.email}
    usernames = {name for v in verdicts for name in v.usernames}
    owners_of_email = {}
    for chunk in _chunks(emails):
        query = Creator.select(Creator.id, Creator.name, Creator.email).where(
            fn.LOWER(Creator.email).in_(chunk)
        )
        for creator in query.order_by(Creator.id):
            owners_of_email.setdefault(creator.email.lower(), creator.name)
    owners_of_handle = {}
    for chunk in _chunks(usernames):
        # One owner per account (connections.ownership): a revoked listing no longer claims it.
        query = (
            SocialAccount.select(SocialAccount.username, Creator.name)
            .join(Creator, on=(SocialAccount.creator == Creator.id))
            .where(SocialAccount.username.in_(chunk) & (SocialAccount.status != AccountStatus.REVOKED))
            .order_by(SocialAccount.id)
        )
        for account in query:
            owners_of_handle.setdefault(account.username, account.creator.name)
    for verdict in verdicts:
        email = verdict.row.email.lower()
        taken = [name for name in verdict.usernames if name in owners_of_handle]
        if email and email in owners_of_email:
            verdict.kind = DUPLICATE
            verdict.why = f"{verdict.row.email} is already the e-mail of {owners_of_email[email]}."
        elif taken:
            verdict.kind = DUPLICATE
            verdict.why = f"@{taken[0]} is already listed under {owners_of_handle[taken[0]]}."


def _against_earlier_rows(verdicts):
    """Mark rows that repeat an e-mail or handle of an earlier row the import keeps."""
    lines_of_email, lines_of_handle = {}, {}
    for verdict in verdicts:
        email = verdict.row.email.lower()
        repeated = [name for name in verdict.usernames if name in lines_of_handle]
        if email and email in lines_of_email:
            verdict.kind = DUPLICATE
            verdict.why = f"Same e-mail as line {lines_of_email[email]} of this file."
        elif repeated:
            verdict.kind = DUPLICATE
            verdict.why = f"@{repeated[0]} is also on line {lines_of_handle[repeated[0]]} of this file."
        else:
            if email:
                lines_of_email[email] = verdict.row.line
            lines_of_handle.update(dict.fromkeys(verdict.usernames, verdict.row.line))
