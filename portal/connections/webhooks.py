"""Page webhook subscriptions: what makes Meta send an account's story_insights (reference §6.4). No Flask.

With PORTAL_STORY_WEBHOOKS on, linking subscribes the account's Page to the app's webhooks
(POST /{page-id}/subscribed_apps with the Page token, which needs pages_manage_metadata and a role
that may manage the Page) and unlinking the Page's last linked account unsubscribes it. A Page
that cannot be subscribed still links: its stories are read hourly, and link health says why.
"""

import logging

from portal.graph import GraphError
from portal.models import AccountStatus, SocialAccount

log = logging.getLogger(__name__)

# Meta's Instagram webhooks guide subscribes the Page with this field; the app's own subscription
# (App Dashboard, Instagram object) chooses story_insights.
PAGE_FIELDS = "feed"
NO_PAGE_TOKEN = "No Page token came with this link (the account was reached without a Page role)."


def subscribe(client, page_id, page_token, now):
    """Subscribe a Page to the app's webhooks; return the account columns that record the outcome."""
    if not page_token or not page_id:
        return {"webhooks_subscribed_at": None, "webhook_problem": NO_PAGE_TOKEN}
    try:
        client.post(f"{page_id}/subscribed_apps", page_token, subscribed_fields=PAGE_FIELDS)
    except GraphError as error:
        log.warning("Subscribing Page %s to webhooks failed: code=%s", page_id, error.code)
        return {"webhooks_subscribed_at": None, "webhook_problem": f"Facebook refused: {error.message}"}
    return {"webhooks_subscribed_at": now, "webhook_problem": None}


def unsubscribe(client, account):
    """Unsubscribe the account's Page unless another linked account still reads through it."""
    if not (account.webhooks_subscribed_at and account.page_token and account.page_id):
        return False
    others = SocialAccount.select().where(
        (SocialAccount.page_id == account.page_id)
        & (SocialAccount.id != account.id)
        & (SocialAccount.status == AccountStatus.LINKED)
    )
    if others.exists():
        return False
    try:
        client.delete(f"{account.page_id}/subscribed_apps", account.page_token)
    except GraphError as error:  # the link goes anyway: Meta drops a removed app's subscriptions
        log.warning("Unsubscribing Page %s failed: code=%s", account.page_id, error.code)
        return False
    return True
