"""The simulated Facebook Login and Instagram Login dialogs."""

import re
from urllib.parse import urlencode, urlsplit

from flask import abort, current_app, redirect, render_template, request

from portal.sandbox import APP_NAME, bp, people, tokens
from portal.sandbox.avatars import avatar_url
from portal.security import content_security_policy

FACEBOOK_SCOPES = {
    "public_profile": "Your name and profile picture",
    "email": "Your email address",
    "instagram_basic": "Read your Instagram accounts' profile info and media",
    "instagram_manage_insights": "Read Insights for your Instagram accounts",
    "pages_show_list": "Show a list of the Pages you manage",
    "pages_read_engagement": "Read content posted on your Pages",
    "business_management": "Read your Business Portfolios and the Pages they hold",
    "ads_read": "Read ads performance for the Pages you manage",
    "pages_manage_metadata": "Manage your Pages' settings and webhooks",
}
INSTAGRAM_SCOPES = {
    "instagram_business_basic": "Your Instagram profile: username, name, account type and picture",
    "instagram_business_manage_insights": "Insights for your Instagram account",
    "instagram_business_manage_comments": "Comments on your posts",
    "instagram_business_manage_messages": "Your Instagram messages",
    "instagram_business_content_publish": "Publish to your Instagram account",
}
FACEBOOK_CALLBACK = "/link/facebook/callback"
INSTAGRAM_CALLBACK = "/link/instagram/callback"
OAUTH_FIELDS = ("client_id", "redirect_uri", "state", "response_type", "scope", "auth_type")
VERSION = re.compile(r"^v\d+\.\d+$")
URL_BLOCKED = (
    "URL blocked: This redirect failed because the redirect URI is not whitelisted in the app's "
    "Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all your app "
    "domains as Valid OAuth Redirect URIs."
)


class DialogRefused(Exception):
    """The dialog cannot start: Meta shows an error page instead of a login."""

    def __init__(self, title, message):
        super().__init__(message)
        self.title = title
        self.message = message


def split_scopes(value):
    """Return the scopes of a scope parameter, comma- or space-separated, in order, once each."""
    return list(dict.fromkeys(s for s in re.split(r"[,\s]+", value or "") if s))


def _check_redirect_uri(uri, callback_path):
    base = current_app.config.get("BASE_URL")
    parts = urlsplit(uri or "")
    if base:
        wanted = urlsplit(base.rstrip("/"))
        expected_path = wanted.path.rstrip("/") + callback_path
        same_origin = (parts.scheme, parts.netloc.lower()) == (wanted.scheme, wanted.netloc.lower())
    else:
        expected_path = request.script_root + callback_path
        same_origin = parts.scheme in ("http", "https") and bool(parts.netloc)
    if not same_origin or parts.path != expected_path or parts.query or parts.fragment:
        raise DialogRefused("URL blocked", URL_BLOCKED)


def check_oauth_request(values, client_setting, callback_path, known_scopes):
    """Return the dialog's OAuth parameters, or raise DialogRefused the way Meta would."""
    oauth = {name: values.get(name, "") for name in OAUTH_FIELDS}
    if not oauth["client_id"] or oauth["client_id"] != current_app.config.get(client_setting):
        raise DialogRefused("Invalid App ID", "The provided app ID does not look like a valid app ID.")
    _check_redirect_uri(oauth["redirect_uri"], callback_path)
    if oauth["response_type"] not in ("", "code"):
        raise DialogRefused("Unsupported response_type", "This sandbox only supports response_type=code.")
    unknown = [s for s in split_scopes(oauth["scope"]) if s not in known_scopes]
    if unknown:
        raise DialogRefused("Invalid Scopes", "Invalid Scopes: " + ", ".join(unknown) + ".")
    return oauth


def refused_page(refused):
    """Render Meta's error page for a dialog that cannot start."""
    return render_template("sandbox/dialog_error.html", refused=refused), 400


def back_to_app(redirect_uri, **params):
    """Redirect the browser to the app's redirect_uri with these query parameters."""
    return redirect(redirect_uri + "?" + urlencode({k: v for k, v in params.items() if v is not None}))


def with_form_action(response, redirect_uri):
    """Let the dialog's form redirect to the app even when it sits on another origin."""
    parts = urlsplit(redirect_uri)
    policy = content_security_policy(current_app.config["HTTPS"])
    response.headers["Content-Security-Policy"] = policy.replace(
        "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
    )
    return response


def _scope_choices(oauth, user):
    rerequest = oauth["auth_type"] == "rerequest"
    return [
        {"name": s, "label": FACEBOOK_SCOPES[s], "checked": rerequest or s not in user.declines}
        for s in split_scopes(oauth["scope"])
        if s != "public_profile"
    ]


def _facebook_code(oauth, user, form):
    pages = [p.id for p in user.available_pages() if p.id in form.getlist("page")]
    businesses = [b.id for b in user.available_businesses() if b.id in form.getlist("business")]
    requested = [s for s in split_scopes(oauth["scope"]) if s != "public_profile"]
    granted = ["public_profile"] + [s for s in requested if s in form.getlist("grant")]
    payload = tokens.user_token_payload(
        user,
        pages,
        businesses,
        requested,
        granted,
        "code",
        oauth["client_id"],
        exp=tokens.now() + tokens.CODE_SECONDS,
    )
    payload["redirect_uri"] = oauth["redirect_uri"]
    return tokens.issue("code", payload)


@bp.route("/facebook/<version>/dialog/oauth", methods=["GET", "POST"])
def facebook_dialog(version):
    """Show the Facebook Login dialog: pick a user, then what they share; answer the portal."""
    VERSION.match(version) or abort(404)
    try:
        oauth = check_oauth_request(request.values, "FACEBOOK_CLIENT_ID", FACEBOOK_CALLBACK, FACEBOOK_SCOPES)
    except DialogRefused as refused:
        return refused_page(refused)
    user = people.facebook_user(request.values.get("sandbox_user"))
    if request.method == "POST":
        if request.form.get("action") == "cancel":
            return back_to_app(
                oauth["redirect_uri"],
                error="access_denied",
                error_code="200",
                error_description="Permissions error",
                error_reason="user_denied",
                state=oauth["state"],
            )
        if user is None:
            abort(400)
        code = _facebook_code(oauth, user, request.form)
        return back_to_app(oauth["redirect_uri"], code=code, state=oauth["state"])
    params = {k: v for k, v in oauth.items() if v}
    page = render_template(
        "sandbox/facebook_dialog.html",
        app_name=APP_NAME,
        version=version,
        oauth=params,
        user=user,
        users=people.FACEBOOK_USERS.values(),
        scopes=_scope_choices(oauth, user) if user else [],
    )
    return with_form_action(current_app.make_response(page), oauth["redirect_uri"])


def _instagram_code(oauth, account):
    issued = tokens.now()
    payload = {
        "ig": account.id,
        "scopes": split_scopes(oauth["scope"]),
        "app": oauth["client_id"],
        "redirect_uri": oauth["redirect_uri"],
        "iat": issued,
        "exp": issued + tokens.IG_CODE_SECONDS,
    }
    return tokens.issue("igcode", payload)


def _render_instagram(oauth, error=None):
    accounts = [(account, avatar_url(account.username)) for account in people.instagram_login_accounts()]
    page = render_template(
        "sandbox/instagram_dialog.html",
        app_name=APP_NAME,
        oauth={k: v for k, v in oauth.items() if v},
        scopes=[INSTAGRAM_SCOPES[s] for s in split_scopes(oauth["scope"])],
        accounts=accounts,
        error=error,
    )
    response = current_app.make_response((page, 400 if error else 200))
    return with_form_action(response, oauth["redirect_uri"])


@bp.route("/instagram/oauth/authorize", methods=["GET", "POST"])
def instagram_dialog():
    """Show the Instagram Login dialog: pick a professional account, or cancel."""
    try:
        oauth = check_oauth_request(
            request.values, "INSTAGRAM_CLIENT_ID", INSTAGRAM_CALLBACK, INSTAGRAM_SCOPES
        )
    except DialogRefused as refused:
        return refused_page(refused)
    if request.method == "GET":
        return _render_instagram(oauth)
    if request.form.get("action") == "cancel":
        return back_to_app(
            oauth["redirect_uri"],
            error="access_denied",
            error_reason="user_denied",
            error_description="The user denied your request.",
            state=oauth["state"],
        )
    account = people.instagram_account(request.form.get("account"))
    if account is None or not account.professional:
        return _render_instagram(oauth, error="Choose a professional account to continue.")
    return back_to_app(oauth["redirect_uri"], code=_instagram_code(oauth, account), state=oauth["state"])
