"""The first-deployment check behind `flask --app wsgi meta-check`. No Flask.

check() takes the portal's settings and its base URL and returns a Report: whether each Meta app's
id and secret work, whether the pinned Graph API version is current, the addresses and webhook
settings to paste into the App Dashboard, and the permissions the portal asks for.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from portal.db import utcnow
from portal.graph.client import GraphClient, GraphError
from portal.graph.oauth import INSTAGRAM_SCOPES, facebook_scopes

OK, NOTE, PASTE, ASKS, WARNING, FATAL = "ok", "note", "paste", "asks", "WARNING", "FATAL"

# Reference §0.1: version -> (released, available until); None: Meta has announced no end yet.
GRAPH_VERSIONS = {
    "v27.0": (datetime.date(2026, 11, 4), None),
    "v26.0": (datetime.date(2026, 7, 29), None),
    "v25.0": (datetime.date(2026, 2, 18), datetime.date(2028, 7, 29)),
    "v24.0": (datetime.date(2025, 10, 8), datetime.date(2028, 2, 18)),
    "v23.0": (datetime.date(2025, 5, 29), datetime.date(2027, 10, 8)),
    "v22.0": (datetime.date(2025, 1, 21), datetime.date(2027, 5, 20)),
    "v21.0": (datetime.date(2024, 10, 2), datetime.date(2027, 1, 21)),
    "v20.0": (datetime.date(2024, 5, 21), datetime.date(2026, 9, 24)),
    "v19.0": (datetime.date(2024, 1, 23), datetime.date(2026, 5, 21)),
}
LATEST_VERSION = "v27.0"

# Why the portal asks for each permission, and whether it needs Advanced Access, granted through
# App Review (with Business Verification), once the app serves creators' businesses (reference §2).
PERMISSIONS = {
    "instagram_basic": ("read the Instagram account's profile, posts and stories", True),
    "instagram_manage_insights": ("read account, post and story Insights", True),
    "pages_show_list": ("list the creator's Pages, to find their Instagram account", True),
    "pages_read_engagement": ("read which Instagram account a Page is linked to", True),
    "business_management": ("find Pages a Business Portfolio holds", True),
    "ads_read": ("Meta requires it for accounts reached through a Business Portfolio; reads no ads", True),
    "pages_manage_metadata": ("subscribe each Page to webhooks, so Meta sends story_insights", True),
    "instagram_business_basic": ("confirm who owns an Instagram account (Verify Instagram account)", True),
}
WEBHOOK_FIELD = "story_insights"
NO_BASE_URL = "<PORTAL_BASE_URL>"


@dataclass(frozen=True)
class Finding:
    """One line of the report: its level (ok, note, paste, asks, WARNING, FATAL) and what it says."""

    level: str
    text: str


@dataclass
class Section:
    """A heading and its findings."""

    title: str
    findings: list = field(default_factory=list)


@dataclass
class Report:
    """Every section of the check; count(FATAL) decides the command's exit code."""

    sections: list

    def count(self, level):
        """Return how many findings have this level."""
        return sum(f.level == level for s in self.sections for f in s.findings)

    def lines(self):
        """Return the report as an operator reads it, ending with the count of problems."""
        lines = []
        for section in self.sections:
            lines += [section.title, *(f"  {f.level:<8} {f.text}" for f in section.findings), ""]
        fatal, warnings = self.count(FATAL), self.count(WARNING)
        summary = f"{fatal} fatal problem{'s' * (fatal != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        return [*lines, summary]


@dataclass(frozen=True)
class MetaApp:
    """One of the portal's two Meta apps, and where its settings live in the App Dashboard."""

    prefix: str  # its settings are {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET
    title: str
    credentials_at: str
    unset_level: str
    unset_means: str
    addresses: tuple  # (where to paste it, portal path)


FACEBOOK_APP = MetaApp(
    "FACEBOOK",
    "Facebook Login app",
    "App Settings > Basic",
    FATAL,
    "creators cannot link accounts",
    (
        ("Facebook Login > Settings > Valid OAuth Redirect URIs", "/link/facebook/callback"),
        ("Facebook Login > Settings > Deauthorize callback URL", "/meta/deauthorize"),
        ("App Settings > Basic > Data deletion request URL", "/meta/data-deletion"),
        ("Webhooks > Instagram > Callback URL", "/meta/webhook"),
    ),
)
_IG_LOGIN = "Instagram > API setup with Instagram login"
INSTAGRAM_APP = MetaApp(
    "INSTAGRAM",
    "Instagram Login app",
    _IG_LOGIN,
    WARNING,
    'only "Verify Instagram account" needs it, and it stays unavailable',
    (
        (f"{_IG_LOGIN} > Business login settings > OAuth redirect URIs", "/link/instagram/callback"),
        (f"{_IG_LOGIN} > Business login settings > Deauthorize callback URL", "/meta/deauthorize"),
        (f"{_IG_LOGIN} > Business login settings > Data deletion request URL", "/meta/data-deletion"),
    ),
)


def check(config, base_url, *, today=None):
    """Check the Meta configuration for real use; return the Report."""
    today = today or utcnow().date()
    base = (base_url or "").rstrip("/")
    sections = []
    if config.get("SANDBOX"):
        where = "PORTAL_SANDBOX is on: the apps are checked against the simulated Meta, not Meta."
        sections.append(Section("Sandbox", [Finding(NOTE, where)]))
    sections.append(Section("Graph API version", [version_finding(config["GRAPH_API_VERSION"], today)]))
    sections.append(Section("Base URL", base_url_findings(base, config.get("SANDBOX"))))
    with requests.Session() as session:
        for app in (FACEBOOK_APP, INSTAGRAM_APP):
            sections.append(app_section(app, config, base or NO_BASE_URL, session))
    return Report(sections)


def version_finding(version, today):
    """Say whether the pinned Graph API version is current, older but still served, or gone."""
    to_latest = f"set GRAPH_API_VERSION={LATEST_VERSION}"
    if version not in GRAPH_VERSIONS:
        return Finding(FATAL, f"{version} is not a Graph API version this check knows: {to_latest}.")
    released, until = GRAPH_VERSIONS[version]
    if until and today >= until:
        text = f"{version} was available until {until}; Meta no longer serves it: {to_latest}."
        return Finding(FATAL, text)
    if version == LATEST_VERSION:
        return Finding(OK, f"{version} is current (released {released}).")
    end = f"available until {until}" if until else "no end date announced yet"
    text = f"{version} is older than {LATEST_VERSION} ({end}), which the portal is written for: {to_latest}."
    return Finding(WARNING, text)


def base_url_findings(base, sandbox):
    """Say whether the base URL can carry Meta's redirect URIs: set, and HTTPS outside the sandbox."""
    if not base:
        text = "PORTAL_BASE_URL is not set: set it to the https address people reach the portal at."
        return [Finding(FATAL, text)]
    parts = urlsplit(base)
    if parts.scheme == "https" and parts.netloc:
        return [Finding(OK, f"{base} (HTTPS)")]
    if parts.scheme == "http" and parts.netloc and sandbox:
        text = f"{base}: http will do for the sandbox; a real Meta app needs an https PORTAL_BASE_URL."
        return [Finding(NOTE, text)]
    # Meta's strict mode (on by default) accepts only HTTPS redirect URIs.
    text = f"PORTAL_BASE_URL={base} is not https: Meta accepts only HTTPS redirect URIs. Serve the portal "
    return [Finding(FATAL, text + "over HTTPS and set PORTAL_BASE_URL=https://...")]


def app_section(app, config, base, session):
    """Check one Meta app; list what to paste into its App Dashboard and the permissions it asks for."""
    app_id = config.get(f"{app.prefix}_CLIENT_ID")
    findings = credential_findings(app, config, session)
    findings += [Finding(PASTE, f"{where}: {base}{path}") for where, path in app.addresses]
    if app is FACEBOOK_APP:
        findings += webhook_findings(config)
    findings += permission_findings(facebook_scopes(config) if app is FACEBOOK_APP else INSTAGRAM_SCOPES)
    return Section(f"{app.title} ({f'id {app_id}' if app_id else 'not set'})", findings)


def credential_findings(app, config, session):
    """Say whether the app's id and secret work: Facebook's token endpoint issues an app token."""
    names = [f"{app.prefix}_CLIENT_ID", f"{app.prefix}_CLIENT_SECRET"]
    missing = [name for name in names if not config.get(name)]
    if missing:
        text = f"{' and '.join(missing)} not set: {app.unset_means}. Copy them from {app.credentials_at}."
        return [Finding(app.unset_level, text)]
    app_id, secret = (config[name] for name in names)
    try:
        request_app_token(config, app_id, secret, session)
    except GraphError as error:
        return [Finding(FATAL, _refusal(app, config, error).replace(secret, "[secret]"))]
    return [Finding(OK, "id and secret work: Facebook issued an app access token.")]


def request_app_token(config, app_id, secret, session):
    """Ask Facebook's token endpoint for the app's access token; raise GraphError when refused."""
    url, version, timeout = config["FACEBOOK_GRAPH_URL"], config["GRAPH_API_VERSION"], config["GRAPH_TIMEOUT"]
    client = GraphClient(url, version, app_id, secret, timeout, session)
    # App ids are Meta-wide, so the Instagram Login app is checked at Facebook's endpoint too. The
    # secret travels in a POSTed form, out of URLs and access logs.
    form = {"client_id": app_id, "client_secret": secret, "grant_type": "client_credentials"}
    answer = client.post("oauth/access_token", None, **form)
    if not isinstance(answer, dict) or not answer.get("access_token"):
        raise GraphError("Facebook answered without an access token.")


def _refusal(app, config, error):
    message = error.message.rstrip(".")
    said = f"code {error.code}: {message}" if error.code is not None else message
    if error.code == 101:
        todo = f"copy the app id from {app.credentials_at} into {app.prefix}_CLIENT_ID"
    elif error.code == 1:
        todo = f"copy the app secret from {app.credentials_at} into {app.prefix}_CLIENT_SECRET"
    elif error.status is None:
        todo = f"check that this host reaches {config['FACEBOOK_GRAPH_URL']}, then run the check again"
    else:
        todo = f"check {app.prefix}_CLIENT_ID and {app.prefix}_CLIENT_SECRET against {app.credentials_at}"
    return f"id and secret do not work ({said}): {todo}."


def webhook_findings(config):
    """List the webhook's verify token and field, or warn that Meta cannot verify the callback."""
    token = config.get("META_WEBHOOK_VERIFY_TOKEN")
    if token:
        # Printed on purpose: the operator pastes this same value into the App Dashboard.
        findings = [Finding(PASTE, f"Webhooks > Instagram > Verify token: {token}")]
    else:
        text = "META_WEBHOOK_VERIFY_TOKEN is unset: Meta cannot verify the webhook; set a long random value."
        findings = [Finding(WARNING, text)]
    findings.append(Finding(PASTE, f"Webhooks > Instagram > subscribe to the field: {WEBHOOK_FIELD}"))
    if not config.get("STORY_WEBHOOKS"):
        text = "PORTAL_STORY_WEBHOOKS is off: no Page is subscribed, so stories are read hourly instead."
        findings.append(Finding(NOTE, text))
    return findings


def permission_findings(scopes):
    """List each permission the app asks for, whether it needs App Review, and why it is asked."""
    return [Finding(ASKS, f"{scope}: {_review_and_use(scope)}") for scope in scopes]


def _review_and_use(scope):
    if scope not in PERMISSIONS:
        return "not described here; see Meta's App Review documentation"
    why, advanced = PERMISSIONS[scope]
    return f"{'needs App Review (Advanced Access)' if advanced else 'no App Review'}; {why}"
