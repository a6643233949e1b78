"""From a Facebook grant to the Instagram accounts it reaches, each with a verdict. No Flask."""

import datetime
from dataclasses import dataclass, field

from portal.graph import GraphError

# What linking needs; business_management only matters for Pages held by a Business Portfolio.
REQUIRED_SCOPES = ("instagram_basic", "instagram_manage_insights", "pages_show_list", "pages_read_engagement")
# Page tasks that include reading Insights: Owner/Admin (MANAGE), Analyst and Advertiser (ANALYZE).
INSIGHT_TASKS = {"MANAGE", "ANALYZE"}
IG_FIELDS = "instagram_business_account{id,username,name,profile_picture_url,followers_count,media_count}"
PAGE_FIELDS = f"id,name,access_token,tasks,{IG_FIELDS}"
PORTFOLIO_PAGE_FIELDS = f"id,name,{IG_FIELDS}"


class LinkProblem:
    """Why an account could not be linked; each has its explanation in one template."""

    CANCELLED = "cancelled"
    PERMISSION_DECLINED = "permission_declined"
    NOT_FOUND = "not_found"
    ROLE_TOO_LOW = "role_too_low"
    PORTFOLIO_NOT_SHARED = "portfolio_not_shared"
    FACEBOOK_ERROR = "facebook_error"
    LINKED_ELSEWHERE = "linked_elsewhere"
    WRONG_INSTAGRAM_ACCOUNT = "wrong_instagram_account"

    ALL = (
        CANCELLED,
        PERMISSION_DECLINED,
        NOT_FOUND,
        ROLE_TOO_LOW,
        PORTFOLIO_NOT_SHARED,
        FACEBOOK_ERROR,
        LINKED_ELSEWHERE,
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
    page_id: str
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
    shared_pages = set()
    for entry in debug.get("granular_scopes", []):
        if entry.get("scope") == "pages_show_list":
            shared_pages.update(entry.get("target_ids", []))
    return Grant(
        user_id=me["id"],
        user_name=me.get("name", ""),
        token=token,
        expires_at=_timestamp(debug.get("expires_at")),
        data_access_expires_at=_timestamp(debug.get("data_access_expires_at")),
        granted={p["permission"] for p in permissions if p.get("status") == "granted"},
        declined={p["permission"] for p in permissions if p.get("status") == "declined"},
        shared_page_ids=shared_pages,
    )


def _verdict(page_name, tasks):
    if tasks is None or INSIGHT_TASKS & set(tasks):
        return None
    return Problem(LinkProblem.ROLE_TOO_LOW, {"page_name": page_name, "tasks": sorted(tasks)})


def _candidate(page, business_name=None):
    ig = page["instagram_business_account"]
    tasks = page.get("tasks")
    return Candidate(
        ig_user_id=str(ig["id"]),
        username=ig.get("username", ""),
        name=ig.get("name"),
        profile_picture_url=ig.get("profile_picture_url"),
        followers_count=ig.get("followers_count"),
        media_count=ig.get("media_count"),
        page_id=str(page["id"]),
        page_name=page.get("name", ""),
        page_token=page.get("access_token"),
        tasks=list(tasks or []),
        business_name=business_name,
        problem=_verdict(page.get("name", ""), tasks),
    )


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


def discover(client, grant):
    """Return every Instagram account the grant reaches: Page roles first, then portfolios."""
    pages = {}
    for page in client.get_all("me/accounts", grant.token, fields=PAGE_FIELDS, limit=100):
        pages[str(page["id"])] = (page, None)
    for page, business_name in _portfolio_pages(client, grant):
        pages.setdefault(str(page["id"]), (page, business_name))
    candidates, without = [], []
    for page, business_name in pages.values():
        if page.get("instagram_business_account"):
            candidates.append(_candidate(page, business_name))
        else:
            without.append(page.get("name", page["id"]))
    return Discovery(
        candidates=candidates,
        pages_without_instagram=sorted(without),
        hidden_page_ids=grant.shared_page_ids - set(pages),
    )


def facebook_error(error):
    """Return the Problem for a GraphError met while reading a grant."""
    assert isinstance(error, GraphError)
    return Problem(LinkProblem.FACEBOOK_ERROR, {"message": error.message, "code": error.code})
