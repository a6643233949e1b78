"""The grant check: does Meta still let each linked account's data flow? No Flask.

A link is judged by the token its refresh uses (the Page token, or the user's own where there is
no Page token) and by its data access expiry, as debug_token reports them. The long-lived user
token's ~60 days end nothing: Page tokens made from it never expire (reference §0.2 rule 2).
What ends a link is data access running out (~90 days after the helper last used the app), a
revoked permission, a lost Page role, a password change or the app's removal.
"""

import datetime
from dataclasses import dataclass, field

from peewee import JOIN

from portal.connections.discovery import REQUIRED_SCOPES
from portal.connections.link_health import WARNING
from portal.db import database
from portal.graph import GraphError
from portal.graph.batch import BatchRunner, Call, Throttled
from portal.insights.plan import account_token
from portal.models import AccountStatus, MetaGrant, SocialAccount

# Why Meta says a token no longer works (debug_token's error subcode), in the words staff read.
ENDED = {
    458: "the person removed the app from their Facebook account",
    460: "the person changed their Facebook password",
    463: "the token expired",
    467: "the token is no longer valid",
    492: "the person lost their role on the Page",
    493: "data access ended: the person has not used the app for 90 days",
}


@dataclass
class GrantCheck:
    """What one grant check found, for the CLI, the scheduler log and the tests."""

    checked: int = 0
    still_linked: list = field(default_factory=list)
    ending_soon: list = field(default_factory=list)  # still linked, data access ends within WARNING
    broken: dict = field(default_factory=dict)  # username -> reason
    unchecked: dict = field(default_factory=dict)  # username -> why Meta could not be asked

    def line(self):
        text = (
            f"{self.checked} links checked: {len(self.still_linked)} still linked "
            f"({len(self.ending_soon)} lose data access within {WARNING.days} days), "
            f"{len(self.broken)} link broken"
        )
        return text + (f", {len(self.unchecked)} could not be checked" if self.unchecked else "")


def _moment(unix):
    return datetime.datetime.fromtimestamp(int(unix), tz=datetime.UTC) if unix else None


def verdict(data, now):
    """Return (why the link is over or None, its data access expiry) from debug_token's data."""
    data_access_ends = _moment(data.get("data_access_expires_at"))
    if not data.get("is_valid", False):
        error = data.get("error") or {}
        why = ENDED.get(error.get("subcode"), "Facebook says this access no longer works")
        return f"Access ended: {why}. Connect the account again on the Link Accounts Page.", data_access_ends
    if data_access_ends and data_access_ends <= now:
        when = f"{data_access_ends:%Y-%m-%d}"
        return f"Data access ended on {when}: the helper must connect the account again.", data_access_ends
    missing = [scope for scope in REQUIRED_SCOPES if scope not in (data.get("scopes") or [])]
    if missing:
        return f"Permission revoked ({', '.join(missing)}): connect the account again.", data_access_ends
    return None, data_access_ends


def _record(account, data, now, result):
    why, data_access_ends = verdict(data, now)
    if data_access_ends and account.grant_id:
        MetaGrant.update(data_access_expires_at=data_access_ends).where(
            MetaGrant.id == account.grant_id
        ).execute()
    if why:
        SocialAccount.update(status=AccountStatus.LINK_BROKEN, last_error=why).where(
            (SocialAccount.id == account.id) & (SocialAccount.status == AccountStatus.LINKED)
        ).execute()
        result.broken[account.username] = why
        return
    result.still_linked.append(account.username)
    if data_access_ends and data_access_ends - now <= WARNING:
        result.ending_soon.append(account.username)


def check_links(client, accounts, now, runner=None):
    """Ask debug_token about each account's own token, in shared batches; return a GrantCheck."""
    runner = runner or BatchRunner(client)
    result, calls, by_id = GrantCheck(), [], {}
    for account in accounts:
        result.checked += 1
        token = account_token(account)
        if not token:
            result.unchecked[account.username] = "no stored token"
            continue
        by_id[account.id] = account
        calls.append(Call(account.id, "debug_token", {"input_token": token}, client.app_token))
    try:
        answers = runner.run(calls) if calls else {}
    except Throttled as throttled:
        answers = {call.key: GraphError(f"Meta asked us to wait: {throttled.reason}") for call in calls}
    for account_id, answer in answers.items():
        account = by_id[account_id]
        if isinstance(answer, GraphError):
            result.unchecked[account.username] = answer.message
            continue
        with database.atomic():
            _record(account, (answer or {}).get("data") or {}, now, result)
    return result


def linked_accounts():
    """Return the accounts the grant check looks at: every linked one, with its grant."""
    query = SocialAccount.select(SocialAccount, MetaGrant).join(
        MetaGrant, JOIN.LEFT_OUTER, on=SocialAccount.grant == MetaGrant.id
    )
    return query.where(SocialAccount.status == AccountStatus.LINKED).order_by(SocialAccount.id)
