"""Page webhook subscriptions and the story_insights deliveries they bring (reference §6.4).

Meta sends an Instagram account's story_insights only when the app is subscribed to its Page:
POST /{page-id}/subscribed_apps with a Page token of someone who may manage the Page, and the
pages_manage_metadata permission. A delivery signs the raw body with the app secret
(X-Hub-Signature-256) and sends -1 for any value under Meta's privacy threshold.
"""

import hashlib
import hmac
import json

import requests
from flask import current_app

from portal.sandbox import media, people, seeds, state
from portal.sandbox.errors import refuse

# Who may read or change a Page's subscriptions: a Page token of someone with one of these tasks.
SUBSCRIBE_TASKS = {"MANAGE", "CREATE_CONTENT", "MODERATE"}
THRESHOLD = 5  # Meta's privacy threshold for story figures
DELIVERY_TIMEOUT = (3.05, 10)


def _check(grant, page):
    if grant.page_token_for != page.id:
        raise refuse("(#210) A page access token is required to request this resource.", 210)
    if "pages_manage_metadata" not in grant.granted:
        raise refuse("(#200) Requires pages_manage_metadata permission to manage the object", 200)
    if not SUBSCRIBE_TASKS & set(grant.user.roles.get(page.id, ())):
        raise refuse(
            "(#200) The user must be an administrator, editor, or moderator of the page in order to "
            "impersonate it",
            200,
        )


def answer(grant, page, method, params):
    """Answer GET, POST or DELETE /{page-id}/subscribed_apps for the holder of grant."""
    _check(grant, page)
    subscribed = state.subscriptions().get(page.id)
    if method == "GET":
        app = {"id": current_app.config["FACEBOOK_CLIENT_ID"], "name": "Sandbox Portal App"}
        return {"data": [{**app, "subscribed_fields": subscribed}] if subscribed is not None else []}
    if method == "DELETE":
        state.unsubscribe_page(page.id)
        return {"success": True}
    fields = [f for f in (params.get("subscribed_fields") or "").split(",") if f.strip()]
    if not fields:
        raise refuse("(#100) The parameter subscribed_fields is required.", 100)
    state.subscribe_page(page.id, [f.strip() for f in fields])
    return {"success": True}


def _value(number):
    return number if number >= THRESHOLD else -1


def story_insights_change(story, at):
    """Return the story_insights change Meta sends when a story ends, in its documented fields."""
    values = media.lifetime_values(story, at)
    taps = values["navigation"]
    return {
        "field": "story_insights",
        "value": {
            "media_id": story.id,
            "exits": _value(taps["tap_exit"]),
            "replies": _value(values["replies"]),
            "reach": _value(values["reach"]),
            "taps_forward": _value(taps["tap_forward"]),
            "taps_back": _value(taps["tap_back"]),
            "impressions": _value(values["views"]),
        },
    }


def deliveries(app, at=None):
    """Return the webhook bodies Meta would send now: one per Instagram account of a subscribed Page.

    Each carries the story_insights of the account's live stories, as if they were ending.
    """
    at = at or seeds.now()
    bodies = []
    for page_id in sorted(state.subscriptions(app)):
        account = people.instagram_of_page(page_id)
        stories = media.stories(account, at) if account else []
        if stories:
            changes = [story_insights_change(story, at) for story in stories]
            entry = {"id": account.id, "time": at, "changes": changes}
            bodies.append({"object": "instagram", "entry": [entry]})
    return bodies


def send(app, url, at=None):
    """POST each delivery to the portal's webhook URL, signed as Meta signs them; return the statuses."""
    statuses = []
    secret = app.config["FACEBOOK_CLIENT_SECRET"].encode()
    for body in deliveries(app, at):
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        response = requests.post(url, data=raw, headers=headers, timeout=DELIVERY_TIMEOUT)
        statuses.append(response.status_code)
    return statuses
