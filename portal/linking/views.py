"""The Link Accounts Page itself."""

from flask import abort, render_template

from portal.linking import bp
from portal.models import Creator

FACEBOOK_HELP_CONVERT_URL = "https://www.facebook.com/help/instagram/502981923235522"
REQUIRED_PAGE_ROLES = ("Owner", "Admin", "Analyst", "Advertiser")


@bp.get("/link/<path:token>")
def link_page(token):
    # Unknown and replaced links fall through to the same plain 404 page.
    creator = Creator.by_link_token(token) or abort(404)
    return render_template(
        "linking/link_page.html",
        creator=creator,
        accounts=list(creator.accounts()),
        help_url=FACEBOOK_HELP_CONVERT_URL,
        roles=REQUIRED_PAGE_ROLES,
    )
