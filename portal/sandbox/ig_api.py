"""The Instagram side of graph.facebook.com: IG User nodes, their media, stories and Insights.

Who may see what: a token reaches an account through its Page (a Page role or a ticked Business
Portfolio holding the Page, or that Page's own token). Reading then needs instagram_basic, and
Insights need instagram_manage_insights plus a Page task that includes Insights (Admin, Analyst)
or access through the portfolio. Access through a portfolio alone also needs ads_read or
ads_management (reference §2, §4: "if the app user was granted a role via the Business Manager").
Nested edges (media.limit(12){...}) page like the edges themselves (reference §6.1).
"""

from portal.sandbox import faults, media, nodes, people
from portal.sandbox.errors import no_permission, unsupported
from portal.sandbox.insights_api import account_insights
from portal.sandbox.media_insights import media_insights

INSIGHT_TASKS = {"MANAGE", "ANALYZE"}


def subject(object_id):
    """Return (account, media) a call is about: an IG user, or a post or story and its owner."""
    account = people.instagram_account_by_id(object_id)
    if account is not None:
        return account, None
    item = media.find(object_id)
    return (item.account, item) if item else (None, None)


ADS_PERMISSIONS = {"ads_read", "ads_management"}


def _check(grant, account, object_id, insights=False):
    pages = people.pages_of_instagram(account.username)
    visible = [page_id for page_id in pages if grant.can_see_page(page_id)]
    if not visible:
        raise unsupported("GET", object_id)
    if "instagram_basic" not in grant.granted:
        raise no_permission()
    through_role = grant.page_token_for in visible or any(p in grant.role_pages() for p in visible)
    if not through_role and not ADS_PERMISSIONS & grant.granted:
        raise no_permission()  # a Business Portfolio role alone: Meta wants ads_read as well
    if not insights:
        return
    if "instagram_manage_insights" not in grant.granted:
        raise no_permission()
    roles = grant.role_pages()

    def reads_insights(page_id):
        if page_id in roles and INSIGHT_TASKS & set(grant.user.roles[page_id]):
            return True
        return any(b in grant.shared_businesses for b in people.business_of_page(page_id))

    if not any(reads_insights(page_id) for page_id in visible):
        raise no_permission()


NESTED_EDGES = ("media", "stories")


def _media(grant, item, fields):
    """A post or story with the requested fields; insights.metric(...) nests its Insights."""
    node = media.media_node(item, {k: v for k, v in fields.items() if k != "insights"})
    if "insights" in fields:
        _check(grant, item.account, item.id, insights=True)
        asked = fields["insights"].modifiers if fields["insights"] is not None else {}
        # One item's refusal fails the whole call, as Meta's field expansion does.
        node["insights"] = media_insights(item, asked)
    return node


def _nested(grant, account, edge, fields, link):
    """An edge asked inside the account's fields, e.g. media.limit(12){id,insights.metric(...)}.

    It answers one page, with its own paging: the next page is read from the edge itself.
    """
    sub = fields[edge] if fields[edge] is not None else {}
    items = media.recent_media(account) if edge == "media" else media.stories(account)
    params = dict(getattr(sub, "modifiers", {}))
    query = {"fields": nodes.format_fields(sub), **({"limit": params["limit"]} if "limit" in params else {})}

    def edge_link(**cursor):
        return link.edge(f"{account.id}/{edge}", {**query, **cursor})

    return nodes.paged(items, params, lambda item: _media(grant, item, sub), edge_link)


def answer(grant, object_id, edge, params, fields, link):
    """Answer a GET on an IG user or media node or one of its edges; raise Meta's error otherwise."""
    account, item = subject(object_id)
    faults.apply(account)
    _check(grant, account, object_id, insights=edge == "insights")

    def render(found):
        return _media(grant, found, fields)

    if item is not None:
        if not edge:
            return _media(grant, item, fields)
        if edge == "insights":
            return media_insights(item, params)
    elif not edge:
        node = nodes.instagram_node(account, {k: v for k, v in fields.items() if k not in NESTED_EDGES})
        for nested in NESTED_EDGES:
            if nested in fields:
                node[nested] = _nested(grant, account, nested, fields, link)
        return node
    elif edge == "media":
        return nodes.paged(media.recent_media(account), params, render, link)
    elif edge == "stories":
        return nodes.paged(media.stories(account), params, render, link)
    elif edge == "insights":
        return account_insights(account, params, link)
    raise unsupported("GET", object_id)
