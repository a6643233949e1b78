"""From a Facebook grant to the Instagram accounts it reaches, each with a verdict. No Flask.

Three ways in (reference §3): Pages with a role (/me/accounts, which lists only MANAGE,
CREATE_CONTENT, MODERATE and ADVERTISE roles), Pages a shared Business Portfolio holds, and
every Page and Instagram account debug_token's granular_scopes names, read by id: that is how
an Analyst-only Page, absent from /me/accounts, is found.
"""

import datetime
from dataclasses import dataclass, field

from portal.graph import GraphError
from portal.graph.batch import BatchRunner, Call, Throttled

# What linking needs; business_management and ads_read only matter for Pages held by a Business
# Portfolio (the portfolio route needs both: reference §2, §3.3).
REQUIRED_SCOPES = ("instagram_basic", "instagram_manage_insights", "pages_show_list", "pages_read_engagement")
ADS_SCOPES = ("ads_read", "ads_management")
# Page tasks that include reading Insights: Owner/Admin (MANAGE), Analyst and Advertiser (ANALYZE).
INSIGHT_TASKS = {"MANAGE", "ANALYZE"}
ACCOUNT_FIELDS = "id,username,name,profile_picture_url,followers_count,media_count"
IG_FIELDS = f"instagram_business_account{{{ACCOUNT_FIELDS}}}"
PAGE_FIELDS = f"id,name,access_token,tasks,{IG_FIELDS}"
PORTFOLIO_PAGE_FIELDS = f"id,name,{IG_FIELDS}"
# Reading a Page or an account by id fails this way when the role (or a permission) is short.
ROLE_SHORT = {(190, 492)}


class LinkProblem:
    """Why an account could not be linked; each has its explanation in one template."""

    CANCELLED = "cancelled"
    PERMISSION_DECLINED = "permission_declined"
    NOT_FOUND = "not_found"
    ROLE_TOO_LOW = "role_too_low"
    PORTFOLIO_NOT_SHARED = "portfolio_not_shared"
    ADS_READ_NEEDED = "ads_read_needed"
    FACEBOOK_ERROR = "facebook_error"
    LINKED_ELSEWHERE = "linked_elsewhere"
    LISTED_ELSEWHERE = "listed_elsewhere"
    WRONG_INSTAGRAM_ACCOUNT = "wrong_instagram_account"

    ALL = (
        CANCELLED,
        PERMISSION_DECLINED,
        NOT_FOUND,
        ROLE_TOO_LOW,
        PORTFOLIO_NOT_SHARED,
        ADS_READ_NEEDED,
        FACEBOOK_ERROR,
        LINKED_ELSEWHERE,
        LISTED_ELSEWHERE,
        WRONG_INSTAGRAM_ACCOUNT,
    )


@dataclass
class Problem:
    """A LinkProblem code with the details its explanation needs."""

    code: str
    details: dict = field(default_factory=dict)

    def as_dict(self):
        return {"code": self.code, "details": self.details}


@dataclass
class Grant:
    """What a Facebook user granted: who, the long-lived token, and which scopes and Pages."""

    user_id: str
    user_name: str
    token: str
    expires_at: datetime.datetime | None
    data_access_expires_at: datetime.datetime | None
    granted: set
    declined: set
    shared_page_ids: set
    shared_instagram_ids: set = field(default_factory=set)

    def missing_scopes(self):
        """Return the required scopes that were declined or never granted, in a stable order."""
        return [scope for scope in REQUIRED_SCOPES if scope not in self.granted]


@dataclass
class Candidate:
    """An Instagram professional account reachable through one Facebook Page."""

    ig_user_id: str
    username: str
    name: str | None
    profile_picture_url: str | None
    followers_count: int | None
    media_count: int | None
    page_id: str | None
    page_name: str
    page_token: str | None
    tasks: list
    business_name: str | None = None
    problem: Problem | None = None

    @property
    def linkable(self):
        return self.problem is None


@dataclass
class Discovery:
    """Every Instagram account a grant reaches, and the Pages it could not read."""

    candidates: list
    pages_without_instagram: list
    hidden_page_ids: set

    def find(self, username):
        """Return the candidate for username, or the Problem that explains its absence."""
        for candidate in self.candidates:
            if candidate.username.lower() == username.lower():
                return candidate
        if self.hidden_page_ids:
            return Problem(LinkProblem.PORTFOLIO_NOT_SHARED, {"username": username})
        return Problem(
            LinkProblem.NOT_FOUND,
            {"username": username, "found": sorted(c.username for c in self.candidates)},
        )


def _timestamp(value):
    if not value:
        return None
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)


def read_grant(client, short_token):
    """Exchange a short-lived user token for a long-lived one and read what it grants."""
    long_lived = client.exchange_for_long_lived(short_token)
    token = long_lived["access_token"]
    me = client.get("me", token, fields="id,name")
    permissions = client.get("me/permissions", token).get("data", [])
    debug = client.debug_token(token)
    shared_pages, shared_instagram = set(), set()
    for entry in debug.get("granular_scopes", []):
        targets = {str(target) for target in entry.get("target_ids") or []}
        if entry.get("scope") in ("pages_show_list", "pages_read_engagement"):
            shared_pages |= targets
        elif entry.get("scope") in ("instagram_basic", "instagram_manage_insights"):
            shared_instagram |= targets
    return Grant(
        user_id=me["id"],
        user_name=me.get("name", ""),
        token=token,
        expires_at=_timestamp(debug.get("expires_at")),
        data_access_expires_at=_timestamp(debug.get("data_access_expires_at")),
        granted={p["permission"] for p in permissions if p.get("status") == "granted"},
        declined={p["permission"] for p in permissions if p.get("status") == "declined"},
        shared_page_ids=shared_pages,
        shared_instagram_ids=shared_instagram,
    )


def _verdict(grant, page_name, tasks, business_name):
    if tasks is not None and not INSIGHT_TASKS & set(tasks):
        return Problem(LinkProblem.ROLE_TOO_LOW, {"page_name": page_name, "tasks": sorted(tasks)})
    if tasks is None and business_name and not set(ADS_SCOPES) & grant.granted:
        # Reached through a portfolio alone: Meta refuses every Insights call without ads_read.
        return Problem(LinkProblem.ADS_READ_NEEDED, {"page_name": page_name, "business": business_name})
    return None


def _candidate(account, page=None, business_name=None, problem=None):
    """Return the Candidate for an Instagram account, reached through a Page or (page None) by id."""
    page = page or {}
    return Candidate(
        ig_user_id=str(account["id"]),
        username=account.get("username", ""),
        name=account.get("name"),
        profile_picture_url=account.get("profile_picture_url"),
        followers_count=account.get("followers_count"),
        media_count=account.get("media_count"),
        page_id=str(page["id"]) if page else None,
        page_name=page.get("name", ""),
        page_token=page.get("access_token"),
        tasks=list(page.get("tasks") or []),
        business_name=business_name,
        problem=problem,
    )


def _page_candidate(grant, page, business_name=None):
    verdict = _verdict(grant, page.get("name", ""), page.get("tasks"), business_name)
    return _candidate(page["instagram_business_account"], page, business_name, verdict)


def _portfolio_pages(client, grant):
    """Yield (page, business name) for Pages the user reaches through a Business Portfolio."""
    if "business_management" not in grant.granted:
        return
    for business in client.get_all("me/businesses", grant.token, fields="id,name", limit=100):
        for edge in ("owned_pages", "client_pages"):
            for page in client.get_all(
                f"{business['id']}/{edge}", grant.token, fields=PORTFOLIO_PAGE_FIELDS, limit=100
            ):
                yield page, business.get("name")


def _read_by_id(client, grant, ids, fields):
    """Read each granted object by id in shared batches; return {id: answer}, refusals left out.

    A refusal (100/33, 10, 200-299, 190/492) means this login may not read it: its role is short
    or its portfolio was not shared. Anything else is Facebook's error, raised.
    """
    calls = [Call(object_id, object_id, {"fields": fields}, grant.token) for object_id in sorted(ids)]
    try:
        answers = BatchRunner(client).run(calls) if calls else {}
    except Throttled as throttled:
        raise GraphError(f"Facebook asked us to slow down: {throttled.reason}", code=4) from throttled
    found = {}
    for object_id, answer in answers.items():
        if isinstance(answer, GraphError):
            refused = (
                answer.permission_missing
                or answer.object_missing
                or (answer.code, answer.subcode) in ROLE_SHORT
            )
            if not refused:
                raise answer
            continue
        found[object_id] = answer
    return found


def discover(client, grant):
    """Return every Instagram account the grant reaches: Page roles, portfolios, then granted ids."""
    pages = {}
    for page in client.get_all("me/accounts", grant.token, fields=PAGE_FIELDS, limit=100):
        pages[str(page["id"])] = (page, None)
    for page, business_name in _portfolio_pages(client, grant):
        pages.setdefault(str(page["id"]), (page, business_name))
    for page in _read_by_id(client, grant, grant.shared_page_ids - set(pages), PAGE_FIELDS).values():
        pages[str(page["id"])] = (page, None)
    candidates, without = [], []
    for page, business_name in pages.values():
        if page.get("instagram_business_account"):
            candidates.append(_page_candidate(grant, page, business_name))
        else:
            without.append(page.get("name", page["id"]))
    reached = {candidate.ig_user_id for candidate in candidates}
    accounts = _read_by_id(client, grant, grant.shared_instagram_ids - reached, ACCOUNT_FIELDS)
    # Granted by id, its Page not reached: read with the user's token (it ends with that token).
    candidates += [_candidate(account) for account in accounts.values()]
    return Discovery(
        candidates=candidates,
        pages_without_instagram=sorted(without),
        hidden_page_ids=grant.shared_page_ids - set(pages),
    )


def facebook_error(error):
    """Return the Problem for a GraphError met while reading a grant."""
    assert isinstance(error, GraphError)
    return Problem(LinkProblem.FACEBOOK_ERROR, {"message": error.message, "code": error.code})
