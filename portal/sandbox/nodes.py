"""Graph API objects as the sandbox shows them: field selection, who can see what, paging."""

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import current_app, url_for

from portal.sandbox import people, tokens
from portal.sandbox.avatars import avatar_url

USER_FIELDS = {"id", "name", "first_name", "last_name", "short_name"}
PAGE_FIELDS = {"id", "name", "category", "access_token", "tasks", "instagram_business_account"}
IG_FIELDS = {
    "id",
    "ig_id",
    "username",
    "name",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
    "biography",
    "website",
}
BUSINESS_FIELDS = {"id", "name", "verification_status"}
PAGE_SIZE = 25  # Meta's default page size, and the sandbox's largest, so paging is exercised


def page_size():
    """Return the largest page the sandbox serves: 25 as at Meta, or SANDBOX_PAGE_SIZE (tests use 2)."""
    return int(current_app.config.get("SANDBOX_PAGE_SIZE") or PAGE_SIZE)


class FieldError(Exception):
    """A requested field does not exist on the node (Meta's error 100)."""

    def __init__(self, field, node_type):
        super().__init__(f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})")


class Subfields(dict):
    """The fields asked of a nested node or edge, and its modifiers.

    "media.limit(5){id,insights.metric(reach)}" gives {"media": Subfields({"id": None,
    "insights": Subfields({}, metric="reach")}, limit="5")}.
    """

    def __init__(self, fields=(), **modifiers):
        super().__init__(fields)
        self.modifiers = modifiers


MODIFIER = re.compile(r"\.(\w+)\(([^)]*)\)")


def parse_fields(text):
    """Parse Meta's field syntax "a,b{c,d},e.limit(5)" into {"a": None, "b": {...}, "e": ...}.

    A field with subfields or modifiers maps to Subfields; a plain one to None.
    """
    fields, _ = _parse(text or "", 0)
    return fields


def _add(fields, raw, sub):
    raw = raw.strip()
    if not raw:
        return
    modifiers = dict(MODIFIER.findall(raw))
    name = raw.split(".")[0].strip()
    fields[name] = Subfields(sub or {}, **modifiers) if sub is not None or modifiers else None


def _parse(text, at):
    fields, raw, depth = {}, "", 0
    while at < len(text):
        char = text[at]
        if depth:  # inside a modifier's parentheses everything is its argument
            depth += {"(": 1, ")": -1}.get(char, 0)
            raw += char
        elif char == "(":
            depth, raw = 1, raw + char
        elif char == "{":
            sub, at = _parse(text, at + 1)
            _add(fields, raw, sub)
            raw = None
        elif char == "}":
            break
        elif char == ",":
            if raw is not None:
                _add(fields, raw, None)
            raw = ""
        elif raw is not None:
            raw += char
        at += 1
    if raw is not None:
        _add(fields, raw, None)
    return fields, at


def select(node_type, allowed, values, fields):
    """Return the requested fields of a node (id always), refusing fields the node lacks."""
    body = {"id": values["id"]}
    for name in fields:
        if name not in allowed:
            raise FieldError(name, node_type)
        if values.get(name) is not None:
            body[name] = values[name]
    return body


@dataclass
class Grant:
    """What a token lets its holder see: the user, the Pages and portfolios shared, the scopes."""

    user: people.FacebookUser
    payload: dict
    page_token_for: str | None = None  # the Page of a Page token

    @property
    def granted(self):
        return set(self.payload.get("granted", []))

    @property
    def shared_pages(self):
        return [self.page_token_for] if self.page_token_for else self.payload.get("pages", [])

    @property
    def shared_businesses(self):
        return [] if self.page_token_for else self.payload.get("businesses", [])

    def role_pages(self):
        """Return the shared Pages the user holds a role on, in the dialog's order."""
        return [p for p in self.shared_pages if p in self.user.roles]

    def can_see_page(self, page_id):
        """Return True when the Page was shared through a role, or its portfolio was shared."""
        if page_id in self.role_pages():
            return True
        return any(b in self.shared_businesses for b in people.business_of_page(page_id))

    def can_see_business(self, business_id):
        return business_id in self.shared_businesses and "business_management" in self.granted

    def instagram_ids(self):
        """Return the Instagram accounts on the shared Pages (debug_token's target_ids)."""
        found = (people.instagram_of_page(p) for p in self.shared_pages)
        return [account.id for account in found if account]

    def can_see_instagram(self, account):
        if "instagram_basic" not in self.granted:
            return False
        return any(self.can_see_page(page_id) for page_id in people.pages_of_instagram(account.username))


def instagram_node(account, fields):
    """Return an Instagram professional account with the requested fields."""
    values = {
        "id": account.id,
        "ig_id": account.number,
        "username": account.username,
        "name": account.name,
        "profile_picture_url": avatar_url(account.username),
        "followers_count": account.followers_count,
        "follows_count": account.follows_count,
        "media_count": account.media_count,
        "biography": account.biography,
    }
    return select("IGUser", IG_FIELDS, values, fields or {})


def page_node(page, fields, grant, with_role=True):
    """Return a Page with the requested fields; access_token and tasks only through a role."""
    values = {"id": page.id, "name": page.name, "category": page.category}
    tasks = grant.user.roles.get(page.id) if with_role else None
    if tasks:
        values["tasks"] = list(tasks)
        if "access_token" in fields:
            values["access_token"] = tokens.page_token_for(grant.payload, page.id)
    account = people.instagram_of_page(page.id)
    if account and "instagram_business_account" in fields:
        sub = fields["instagram_business_account"]
        # Without instagram_basic the id is all Meta shows of the linked account.
        values["instagram_business_account"] = instagram_node(
            account, sub if sub and "instagram_basic" in grant.granted else {}
        )
    return select("Page", PAGE_FIELDS, values, fields)


def user_node(user, fields):
    """Return the Facebook user with the requested fields."""
    first, _, last = user.name.partition(" ")
    values = {"id": user.id, "name": user.name, "first_name": first, "last_name": last, "short_name": first}
    return select("User", USER_FIELDS, values, fields)


def business_node(business, fields):
    """Return a Business Portfolio with the requested fields."""
    values = {"id": business.id, "name": business.name, "verification_status": "not_verified"}
    return select("Business", BUSINESS_FIELDS, values, fields)


def graph_url(path, query):
    """Return the sandbox's absolute Graph URL for a path (version included) and query."""
    return url_for("sandbox.graph_call", path=path, _external=True) + "?" + urlencode(query)


class Links:
    """Paging URLs for the call being answered, or for an edge of its node (nested edges page too)."""

    def __init__(self, version, path, params):
        self.version, self.path = version, path
        self.params = {k: v for k, v in params.items() if k not in ("after", "before")}

    def __call__(self, **cursor):
        return graph_url("/".join(filter(None, [self.version, self.path])), {**self.params, **cursor})

    def edge(self, path, query):
        """Return the URL of another path at this call's version (a nested edge's own address)."""
        return graph_url("/".join(filter(None, [self.version, path])), query)


def format_fields(fields):
    """Write parsed fields back in Meta's syntax (the inverse of parse_fields)."""
    parts = []
    for name, sub in fields.items():
        text = name + "".join(f".{k}({v})" for k, v in getattr(sub, "modifiers", {}).items())
        if sub:
            text += "{" + format_fields(sub) + "}"
        parts.append(text)
    return ",".join(parts)


def _cursor(index):
    return base64.urlsafe_b64encode(f"sbx:{index}".encode()).decode().rstrip("=")


def _index(cursor):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("sbx:"))
    except (ValueError, UnicodeDecodeError):
        return None


def paged(items, params, render, link):
    """Return one page of items in Meta's {"data", "paging"} shape; link(cursor=...) builds URLs."""
    largest = page_size()
    try:
        limit = max(1, min(int(params.get("limit") or largest), largest))
    except ValueError:
        limit = largest
    start = 0
    if params.get("after") and _index(params["after"]) is not None:
        start = _index(params["after"]) + 1
    elif params.get("before") and _index(params["before"]) is not None:
        start = max(0, _index(params["before"]) - limit)
    chunk = items[start : start + limit]
    body = {"data": [render(item) for item in chunk]}
    if chunk:
        end = start + len(chunk) - 1
        paging = {"cursors": {"before": _cursor(start), "after": _cursor(end)}}
        if start > 0:
            paging["previous"] = link(before=_cursor(start))
        if end + 1 < len(items):
            paging["next"] = link(after=_cursor(end))
        body["paging"] = paging
    return body
