"""The Link Accounts Page, choosing accounts after a login, and unlinking."""

from flask import abort, current_app, render_template, request
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from portal.connections.funnel import record_page_opening
from portal.connections.linking import link_chosen, stored_candidates, unlink
from portal.connections.ownership import held_elsewhere, linking_problems
from portal.db import utcnow
from portal.extensions import limiter
from portal.graph import facebook_graph
from portal.graph.oauth import SCOPE_LABELS, SCOPE_REASONS, facebook_scopes
from portal.linking import bp
from portal.linking.login import back_to_link_page
from portal.linking.session import (
    LINK_EXPIRED,
    open_link_session,
    put_result,
    require_link_creator,
    take_result,
)
from portal.models import Creator, MetaGrant, SocialAccount

FACEBOOK_HELP_CONVERT_URL = "https://www.facebook.com/help/instagram/502981923235522"
FACEBOOK_HELP_LINK_PAGE_URL = "https://www.facebook.com/help/instagram/570895513091465"
REQUIRED_PAGE_ROLES = ("Owner", "Admin", "Analyst", "Advertiser")


@bp.context_processor
def linking_globals():
    return {
        "help_url": FACEBOOK_HELP_CONVERT_URL,
        "help_link_page_url": FACEBOOK_HELP_LINK_PAGE_URL,
        "roles": REQUIRED_PAGE_ROLES,
        "scope_labels": SCOPE_LABELS,
        "scope_reasons": SCOPE_REASONS,
        "requested_scopes": facebook_scopes(current_app.config),
        "retention_days": current_app.config["RETENTION_DAYS"],
    }


def _link_page_limit():
    return current_app.config["LINK_PAGE_RATE_LIMIT"]


@bp.get("/link/<token>")
@limiter.limit(_link_page_limit)
def link_page(token):
    # Unknown and replaced links fall through to the same plain 404 page.
    creator = Creator.by_link_token(token) or abort(404)
    now = utcnow()
    if creator.link_expired(now):
        abort(410, description=LINK_EXPIRED)
    if not current_user.is_authenticated:  # staff checking the link are not the creator coming
        record_page_opening(creator, now)
    open_link_session(creator)
    accounts = creator.account_list()
    return render_template(
        "linking/link_page.html",
        creator=creator,
        accounts=accounts,
        held=held_elsewhere(creator, accounts),
        result=take_result(),
    )


def _pending_grant(creator, grant_id):
    """Return this creator's grant still waiting for the helper's choice, or answer 404."""
    return get_object_or_404(
        MetaGrant.of_creator(creator.id, grant_id).where(MetaGrant.candidates.is_null(False))
    )


@bp.route("/link/choose/<int:grant_id>", methods=["GET", "POST"])
def choose_accounts(grant_id):
    creator = require_link_creator()
    grant = _pending_grant(creator, grant_id)
    candidates = stored_candidates(grant)
    if request.method == "POST":
        chosen = set(request.form.getlist("account"))
        config = current_app.config
        linked, skipped = link_chosen(
            creator, grant, chosen, facebook_graph(config), config["STORY_WEBHOOKS"]
        )
        put_result({"linked": linked, "skipped": [(name, p.as_dict()) for name, p in skipped]})
        return back_to_link_page(creator)
    held = linking_problems(creator, [c for c in candidates if c.linkable])
    return render_template(
        "linking/choose.html", creator=creator, grant=grant, candidates=candidates, held=held
    )


@bp.route("/link/accounts/<int:account_id>/unlink", methods=["GET", "POST"])
def unlink_account(account_id):
    creator = require_link_creator()
    account = get_object_or_404(SocialAccount.of_creator(creator.id, account_id))
    if request.method == "POST":
        delete_data = request.form.get("delete_data") == "1"
        unlink(account, delete_data=delete_data, actor="link page", client=facebook_graph(current_app.config))
        put_result({"unlinked": account.username, "deleted": delete_data})
        return back_to_link_page(creator)
    return render_template("linking/unlink.html", creator=creator, account=account)


@bp.get("/link/back")
def back():
    """Return to the Link Accounts Page of this browser's link session."""
    return back_to_link_page(require_link_creator())
