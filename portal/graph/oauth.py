"""Facebook Login and Instagram Login: the scopes asked for and each provider's OAuth settings. No Flask.

The factory registers these settings on an Authlib registry of each app's own
(portal.register_extensions); Meta's endpoints come from the portal's settings.
"""

import json

FACEBOOK_SCOPES = [
    "instagram_basic",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
    # Meta requires it to read an Instagram account whose Page the helper reaches through a
    # Business Portfolio (reference §2); read-only, it reads no ads of its own here.
    "ads_read",
]
# Only with PORTAL_STORY_WEBHOOKS: subscribing the Page is what makes Meta send story_insights.
WEBHOOK_SCOPE = "pages_manage_metadata"
INSTAGRAM_SCOPES = ["instagram_business_basic"]
# How Facebook's dialog names each permission, for explanations people can match up.
SCOPE_LABELS = {
    "instagram_basic": "Access profile and posts from the Instagram account",
    "instagram_manage_insights": "Access insights for the Instagram account",
    "pages_show_list": "Show a list of the Pages you manage",
    "pages_read_engagement": "Read content posted on the Page",
    "business_management": "Manage your business",
    "ads_read": "Access ads and related stats",
    "pages_manage_metadata": "Manage accounts, settings and webhooks for a Page",
}


# Why the portal asks for each, in the words the Link Accounts Page uses.
SCOPE_REASONS = {
    "instagram_basic": "to see the Instagram account's name, followers and posts",
    "instagram_manage_insights": "to read its Insights: views, reach, audience and story figures",
    "pages_show_list": "to find the Facebook Page the Instagram account is linked to",
    "pages_read_engagement": "Meta requires it to read the account through its Page",
    "business_management": "to find Pages that a Business Portfolio holds, when you reach the Page that way",
    "ads_read": "Meta requires it to read an Instagram account whose Page you reach through a Business "
    "Portfolio; it is read-only, and no ads are read",
    "pages_manage_metadata": "to ask Meta to send each story's figures when the story ends (webhooks); "
    "it changes nothing on the Page",
}


def facebook_scopes(config):
    """Return the scopes Facebook Login asks for with these settings, in a stable order."""
    return [*FACEBOOK_SCOPES, WEBHOOK_SCOPE] if config.get("STORY_WEBHOOKS") else list(FACEBOOK_SCOPES)


def unwrap_instagram_token(session):
    """Accept Instagram's documented {"data": [{...}]} token answer as well as the flat one."""

    def unwrap(response):
        try:
            body = response.json()
        except ValueError:
            return response
        if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
            response._content = json.dumps(body["data"][0]).encode()
        return response

    session.register_compliance_hook("access_token_response", unwrap)


def provider_settings(config):
    """Return {provider name: Authlib register() arguments} for Facebook and Instagram Login."""
    version = config["GRAPH_API_VERSION"]
    common = {
        # Meta documents client_id and client_secret as form fields, not HTTP Basic.
        "token_endpoint_auth_method": "client_secret_post",
        "default_timeout": config["GRAPH_TIMEOUT"],
    }
    return {
        "facebook": {
            "client_id": config["FACEBOOK_CLIENT_ID"],
            "client_secret": config["FACEBOOK_CLIENT_SECRET"],
            "authorize_url": f"{config['FACEBOOK_WWW_URL']}/{version}/dialog/oauth",
            "access_token_url": f"{config['FACEBOOK_GRAPH_URL']}/{version}/oauth/access_token",
            # A comma-separated string: Authlib would join a list with spaces.
            "client_kwargs": {"scope": ",".join(facebook_scopes(config)), **common},
        },
        "instagram": {
            "client_id": config["INSTAGRAM_CLIENT_ID"],
            "client_secret": config["INSTAGRAM_CLIENT_SECRET"],
            "authorize_url": f"{config['INSTAGRAM_WWW_URL']}/oauth/authorize",
            "access_token_url": f"{config['INSTAGRAM_API_URL']}/oauth/access_token",
            "client_kwargs": {"scope": ",".join(INSTAGRAM_SCOPES), **common},
            "compliance_fix": unwrap_instagram_token,
        },
    }
