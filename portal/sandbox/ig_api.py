"""The Instagram side of graph.facebook.com: IG User nodes, their media, stories and Insights.

Who may see what: a token reaches an account through its Page (a Page role or a ticked Business
Portfolio holding the Page, or that Page's own token). Reading then needs instagram_basic, and
Insights need instagram_manage_insights plus a Page task that includes Insights (Admin, Analyst)
or access through the portfolio.
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


def _check(grant, account, object_id, insights=False):
    pages = people.pages_of_instagram(account.username)
    visible = [page_id for page_id in pages if grant.can_see_page(page_id)]
    if not visible:
        raise unsupported("GET", object_id)
    if "instagram_basic" not in grant.granted:
        raise no_permission()
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


def answer(grant, object_id, edge, params, fields, link):
    """Answer a GET on an IG user or media node or one of its edges; raise Meta's error otherwise."""
    account, item = subject(object_id)
    faults.apply(account)
    _check(grant, account, object_id, insights=edge == "insights")

    def render(found):
        return media.media_node(found, fields)

    if item is not None:
        if not edge:
            return media.media_node(item, fields)
        if edge == "insights":
            return media_insights(item, params)
    elif not edge:
        return nodes.instagram_node(account, fields)
    elif edge == "media":
        return nodes.paged(media.recent_media(account), params, render, link)
    elif edge == "stories":
        return nodes.paged(media.stories(account), params, render, link)
    elif edge == "insights":
        return account_insights(account, params, link)
    raise unsupported("GET", object_id)
