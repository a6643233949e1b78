"""The consent ledger in plain words, and the staff page's filter. No Flask.

Entries are written where each action happens (AuditEvent.record); this module only
says them: the action, who did it, and what the details mean.
"""

import datetime
import re
from dataclasses import dataclass

from portal.connections.discovery import LinkProblem
from portal.paging import page_number

PER_PAGE = 50

# Every action the portal records, in the words the ledger page uses (and its filter offers).
ACTIONS = {
    # The key predates sending invitations: it has always been written when a creator is added.
    "invited": "Creator added, with their link",
    "link_rotated": "New link issued",
    "invitation_sent": "Invitation sent",
    "page_opened": "Link Accounts Page first opened",
    "linked": "Account linked",
    "verified": "Account verified",
    "link_failed": "Linking failed",
    "refreshed": "Stats refreshed by hand",
    "refresh_enabled": "Scheduled refresh switched on",
    "refresh_disabled": "Scheduled refresh switched off",
    "unlinked": "Account unlinked",
    "unlinked_and_deleted": "Account unlinked and its data deleted",
    "account_added": "Account added to the list",
    "account_removed": "Account removed from the list",
    "creators_imported": "Creators imported from a CSV file",
    "campaign_created": "Campaign created",
    "campaign_changed": "Campaign changed",
    "campaign_creators_added": "Creators added to a campaign",
    "campaign_creator_removed": "Creator taken off a campaign",
    "report_link_created": "Client report link made",
    "report_link_revoked": "Client report link revoked",
    "report_opened": "Client report opened",
    "internal_only": "Kept out of client reports",
    "shared_with_clients": "Shown in client reports again",
    "handle_moved": "Handle moved to another creator",
    "retention_purge": "Figures deleted after the retention period",
    "deauthorized": "Meta: the person removed the app",
    "data_deletion": "Meta: data deletion requested and done",
    "signed_in": "Staff signed in",
    "staff_created": "Staff account created",
    "invitation_edited": "Invitation template edited",
    # A reminder's kind + "_sent", written by the mail service when the scheduler's reminder goes out.
    "invitation_reminder_sent": "Reminder e-mailed: invitation not answered yet",
    "access_reminder_sent": "Reminder e-mailed: data access ends soon",
    "broken_link_reminder_sent": "Reminder e-mailed: link broken",
    "reminders_on": "Reminders switched on",
    "reminders_off": "Reminders switched off",
    "reminder_edited": "Reminder template edited",
    "reminder_schedule_edited": "Reminder timing changed",
}

PROBLEMS = {
    LinkProblem.CANCELLED: "the login was cancelled",
    LinkProblem.PERMISSION_DECLINED: "permissions were declined",
    LinkProblem.NOT_FOUND: "the account was not among those the Facebook user can reach",
    LinkProblem.ROLE_TOO_LOW: "the Facebook user's role on the Page is too low",
    LinkProblem.PORTFOLIO_NOT_SHARED: "the Page sits in a Business Portfolio that was not shared",
    LinkProblem.ADS_READ_NEEDED: "Meta needs ads_read for a Page reached through a Business Portfolio",
    LinkProblem.FACEBOOK_ERROR: "Facebook or Instagram answered with an error",
    LinkProblem.LINKED_ELSEWHERE: "the account is already linked to another creator",
    LinkProblem.LISTED_ELSEWHERE: "staff list the account under another creator",
    LinkProblem.WRONG_INSTAGRAM_ACCOUNT: "a different Instagram account logged in",
}

REFRESH_OUTCOMES = {
    "refreshed": "stats refreshed",
    "failed": "failed",
    "throttled": "Meta asked us to wait",
    "nothing": "nothing was refreshed",
}

_ACTION_NAME = re.compile(r"[a-z_]{1,40}")


def action_words(action):
    """Return an action in words ("linked" -> "Account linked"), even one this module does not know."""
    return ACTIONS.get(action) or action.replace("_", " ").capitalize()


def actor_words(actor):
    """Return who acted, in words: "staff:ann@x" -> "ann@x (staff)"."""
    kind, _, rest = (actor or "").partition(":")
    if kind == "staff" and rest:
        return f"{rest} (staff)"
    if kind == "facebook" and rest:
        user_id, _, name = rest.partition(" ")
        return f"{name} (Facebook user {user_id})" if name else f"Facebook user {user_id}"
    if kind == "instagram" and rest:
        return f"Instagram account {rest}"
    return {"link page": "Link Accounts Page", "scheduler": "Scheduler", "meta": "Meta"}.get(actor, actor)


def _linked(details):
    words = f"through the Page “{details.get('page_name') or details.get('page_id')}”"
    if details.get("business"):
        words += f" of the Business Portfolio “{details['business']}”"
    if details.get("scopes"):
        words += " with " + ", ".join(details["scopes"])
    role = details.get("role") or ("none (portfolio access)" if details.get("business") else None)
    words += f"; role: {role}" if role else ""
    if details.get("clients"):
        words += "; agreed that clients may see the figures, read-only"
    return words


def _refreshed(details):
    words = REFRESH_OUTCOMES.get(details.get("outcome"), details.get("outcome") or "")
    return f"{words}: {details['reason']}" if details.get("reason") else words


def _unlinked_and_deleted(details):
    files = details.get("files") or 0
    return "its access and every figure read were deleted" + (
        f", with {files} archived story file{'s' if files != 1 else ''}" if files else ""
    )


def _handle_moved(details):
    handle, source, target = details.get("username"), details.get("from_creator"), details.get("to_creator")
    if details.get("outcome") == "dropped":
        return f"@{handle} taken off {source}'s list: {target} already lists it"
    return f"@{handle} moved from {source} to {target}"


def _report_link_created(details):
    until = f", working until {details['expires']}" if details.get("expires") else ", with no end date"
    return f"for “{details.get('label')}”{until}"


def _creators_imported(details):
    skipped = details.get("skipped") or 0
    return f"{details.get('count')} from “{details.get('file')}”" + (
        f"; {skipped} row{'s' if skipped != 1 else ''} skipped" if skipped else ""
    )


def _staff_created(details):
    return f"for {details.get('email')}" + (" as an administrator" if details.get("is_admin") else "")


def _invitation_sent(details):
    """E-mailed by the portal (to whom, what, how), or marked sent by staff who sent it themselves."""
    if details.get("to"):
        return _mail_sent(details)
    if details.get("how") == "by hand":
        return "marked by staff, who sent it themselves"
    return details.get("how") or ""


def _mail_sent(details):
    where = " (kept in the outbox: no mail server is set up)" if details.get("via") == "outbox" else ""
    return f"to {details.get('to')}, “{details.get('subject')}”{where}"


DESCRIBERS = {
    "invited": lambda d: "",  # the creator column names them
    "campaign_created": lambda d: f"“{d.get('name')}” for {d.get('client')}",
    "campaign_changed": lambda d: f"“{d.get('name')}” for {d.get('client')}",
    "campaign_creators_added": lambda d: f"{d.get('count')} to “{d.get('name')}”",
    "campaign_creator_removed": lambda d: f"from “{d.get('name')}”",
    "report_link_created": _report_link_created,
    "report_link_revoked": lambda d: f"for “{d.get('label')}”: it stopped working at once",
    "report_opened": lambda d: f"“{d.get('label')}” ({d.get('what')})",
    "linked": _linked,
    "verified": lambda d: f"as @{d['username']}" if d.get("username") else "",
    "link_failed": lambda d: PROBLEMS.get(d.get("problem"), d.get("problem") or ""),
    "refreshed": _refreshed,
    "unlinked": lambda d: "its access was deleted; the figures read so far are kept",
    "unlinked_and_deleted": _unlinked_and_deleted,
    "account_added": lambda d: f"@{d.get('username')} was added to the creator's list",
    "account_removed": lambda d: f"@{d.get('username')} was taken off the creator's list",
    "handle_moved": _handle_moved,
    "link_rotated": lambda d: (
        "the previous link stopped working"
        + (f"; the new one works until {d['expires']}" if d.get("expires") else "")
    ),
    "invitation_sent": _invitation_sent,
    "page_opened": lambda d: "for the first time; later openings are not listed",
    "creators_imported": _creators_imported,
    "retention_purge": lambda d: f"{d.get('files', 0)} archived story files removed",
    "staff_created": _staff_created,
    "invitation_edited": lambda d: f"subject “{d.get('subject')}”" if d.get("subject") else "",
    "invitation_reminder_sent": _mail_sent,
    "access_reminder_sent": _mail_sent,
    "broken_link_reminder_sent": _mail_sent,
    "reminders_on": lambda d: "the scheduler may send this creator reminders again",
    "reminders_off": lambda d: "the scheduler sends this creator no reminder",
    "reminder_edited": lambda d: f"{d.get('label')}: subject “{d.get('subject')}”",
    "reminder_schedule_edited": lambda d: f"invitation reminder {d.get('days')} days after the invitation",
}


def details_words(action, details):
    """Return an entry's details in words, e.g. "through the Page “Ava Studio” with …; role: Admin"."""
    describe = DESCRIBERS.get(action)
    if describe:
        return describe(details)
    return "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in sorted(details.items()))


def _date(value):
    try:
        day = datetime.date.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return day if day.year < datetime.MAXYEAR else None  # the day after must exist too


@dataclass
class LedgerFilter:
    """What the ledger page is asked to show, read from its query string."""

    action: str = ""
    creator: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args):
        """Read a filter from a mapping of query arguments, dropping what makes no sense."""
        action = (args.get("action") or "").strip()
        return cls(
            action=action if _ACTION_NAME.fullmatch(action) else "",
            creator=(args.get("creator") or "").strip()[:100],
            since=_date(args.get("since")),
            until=_date(args.get("until")),
            page=page_number(args.get("page")),
        )

    def criteria(self):
        """Return the keyword arguments of AuditEvent.search: dates become UTC moments, until inclusive."""

        def moment(day):
            return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC) if day else None

        return {
            "action": self.action or None,
            "creator_name": self.creator or None,
            "since": moment(self.since),
            "before": moment(self.until + datetime.timedelta(days=1)) if self.until else None,
        }

    def query_args(self, page=None):
        """Return the query arguments that show this filter again (on another page)."""
        values = {
            "action": self.action,
            "creator": self.creator,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "page": page if page and page > 1 else "",
        }
        return {key: value for key, value in values.items() if value}
