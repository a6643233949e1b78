"""Starting Facebook Login and Instagram Login from a Link Accounts Page, and their callbacks."""

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import abort, current_app, redirect, request, session, url_for
from playhouse.flask_utils import get_object_or_404

from portal.addresses import absolute_url
from portal.connections.discovery import LinkProblem, Problem
from portal.connections.linking import complete_facebook_login, record_verification
from portal.extensions import limiter
from portal.graph import GraphError, facebook_graph, instagram_graph
from portal.ids import parse_id
from portal.linking import bp
from portal.linking.session import put_result, require_link_creator, start_intent, take_intent
from portal.models import LedgerEntry, SocialAccount

INSTAGRAM_PROFILE_FIELDS = "id,user_id,username,name,account_type"
# Starts and callbacks share one budget per address: each costs Meta calls.
meta_login_limit = limiter.shared_limit(
    lambda: current_app.config["LOGIN_START_RATE_LIMIT"], scope="meta-login"
)


def _redirect_uri(endpoint):
    # One constant address per provider: Meta accepts only the redirect URIs the app lists.
    return absolute_url(endpoint)


def _own_account(creator, account_id):
    return get_object_or_404(SocialAccount.of_creator(creator.id, account_id))


def oauth_client(provider):
    """Return this app's Authlib client for a provider ("facebook" or "instagram")."""
    return current_app.extensions["authlib.integrations.flask_client"].create_client(provider)


def _configured_client(provider):
    """Return the provider's OAuth client, or stop with a 503 page if the Meta app is not set up."""
    prefix = provider.upper()
    if not (
        current_app.config.get(f"{prefix}_CLIENT_ID") and current_app.config.get(f"{prefix}_CLIENT_SECRET")
    ):
        abort(503, description=f"{provider}-not-configured")
    return oauth_client(provider)


def back_to_link_page(creator):
    """Redirect to the creator's Link Accounts Page (the callbacks' only landing page)."""
    if not creator.link_token:
        abort(400, description="link-session-lost")
    return redirect(url_for("linking.link_page", token=creator.link_token))


def _start_facebook_login(mode, account_id=None):
    """Send the browser to Facebook Login for this mode; ?rerequest=1 asks again for declined permissions."""
    start_intent("facebook", mode, account_id)
    extra = {"auth_type": "rerequest"} if request.args.get("rerequest") else {}
    return _configured_client("facebook").authorize_redirect(
        _redirect_uri("linking.facebook_callback"), **extra
    )


@bp.get("/link/accounts/<int:account_id>/connect")
@meta_login_limit
def connect_business(account_id):
    account = _own_account(require_link_creator(), account_id)
    return _start_facebook_login("connect", account.id)


@bp.get("/link/add")
@meta_login_limit
def add_business_accounts():
    require_link_creator()
    return _start_facebook_login("add")


@bp.get("/link/verify")
@meta_login_limit
def verify_instagram():
    creator = require_link_creator()
    account_id = None
    if "account" in request.args:  # an account id that names none of the creator's is a 404
        account_id = _own_account(creator, parse_id(request.args["account"]) or abort(404)).id
    start_intent("instagram", "verify", account_id)
    return _configured_client("instagram").authorize_redirect(_redirect_uri("linking.instagram_callback"))


PROVIDER_NAMES = {"facebook": "Facebook", "instagram": "Instagram"}


def _begin_callback(provider):
    """Return (creator, intent, account) for a callback whose state this browser issued.

    A forged, replayed or cross-provider state stops here with a 400, before the
    pending login is touched and before anything is written.
    """
    creator = require_link_creator()
    state = request.args.get("state", "")
    if not state or f"_state_{provider}_{state}" not in session:
        abort(400, description="oauth-state")
    intent = take_intent(provider) or abort(400, description="oauth-state")
    account = _own_account(creator, intent["account"]) if intent.get("account") else None
    return creator, intent, account


def _provider_error(provider, message):
    return Problem(LinkProblem.FACEBOOK_ERROR, {"message": message, "provider": PROVIDER_NAMES[provider]})


def _token_from_callback(provider):
    """Return the short-lived token dict, or the Problem that explains why there is none."""
    state = request.args.get("state", "")
    client = oauth_client(provider)
    if request.args.get("error"):
        client.framework.clear_state_data(session, state)
        return Problem(LinkProblem.CANCELLED)
    if not request.args.get("code"):
        # Neither a code nor a reason (an empty "error" too): nothing to exchange, and Authlib
        # would raise on the missing code. The state is used up, as for any answer.
        client.framework.clear_state_data(session, state)
        name = PROVIDER_NAMES[provider]
        return _provider_error(
            provider, f"The login could not be completed: {name} sent no authorization code."
        )
    try:
        token = client.authorize_access_token()
    except MismatchingStateError:
        abort(400, description="oauth-state")
    except OAuthError as error:
        return _provider_error(provider, _refusal_message(error))
    except (requests.RequestException, ValueError, KeyError):
        name = PROVIDER_NAMES[provider]
        return _provider_error(provider, f"The login could not be completed: {name} did not answer properly.")
    if not token.get("access_token"):
        # Instagram refuses a code with a 400 whose body has error_message and no "error" key.
        message = token.get("error_message") or "The login could not be completed: no access token came back."
        return _provider_error(provider, message)
    return token


def _refusal_message(error):
    """Return the words of a token endpoint's refusal; Facebook's "error" is an object, not a string."""
    if isinstance(error.error, dict):
        return error.error.get("error_user_msg") or error.error.get("message") or "Unknown error"
    return error.description or error.error


def _problem_result(problem, account_id, mode):
    return {"problem": problem.as_dict(), "account": account_id, "mode": mode}


def _link_failed(creator, problem, account_id, mode):
    """Tell the Link Accounts Page why a login linked nothing, and note it in the ledger (the code only)."""
    LedgerEntry.record("link_failed", "link page", creator=creator, account=account_id, problem=problem.code)
    put_result(_problem_result(problem, account_id, mode))


@bp.get("/link/facebook/callback")
@meta_login_limit
def facebook_callback():
    creator, intent, account = _begin_callback("facebook")
    token = _token_from_callback("facebook")
    if isinstance(token, Problem):
        _link_failed(creator, token, account.id if account else None, intent["mode"])
        return back_to_link_page(creator)
    client, webhooks = facebook_graph(current_app.config), current_app.config["STORY_WEBHOOKS"]
    outcome = complete_facebook_login(client, creator, token["access_token"], account, webhooks)
    if outcome.problem:
        _link_failed(creator, outcome.problem, outcome.account_id, intent["mode"])
        return back_to_link_page(creator)
    if account is None:
        return redirect(url_for("linking.choose_accounts", grant_id=outcome.grant_id))
    put_result({"linked": outcome.linked})
    return back_to_link_page(creator)


@bp.get("/link/instagram/callback")
@meta_login_limit
def instagram_callback():
    creator, _intent, account = _begin_callback("instagram")
    token = _token_from_callback("instagram")
    problem = token if isinstance(token, Problem) else None
    if problem is None:
        try:
            profile = instagram_graph(current_app.config).get(
                "me", token["access_token"], fields=INSTAGRAM_PROFILE_FIELDS
            )
        except GraphError as error:
            problem = _provider_error("instagram", error.message)
        else:
            verified, problem = record_verification(creator, profile, account)
    if problem:
        _link_failed(creator, problem, account.id if account else None, "verify")
    else:
        put_result({"verified": verified.username})
    return back_to_link_page(creator)
