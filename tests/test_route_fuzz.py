"""Every route in app.url_map, with every method, hostile input and four kinds of caller: never a 5xx.

test_fuzz.py aims random text at the forms we know of; this walk starts from the url_map, so a route
added tomorrow is fuzzed without anyone listing it. Each request carries one kind of hostile value
(a number past 64 bits, another script's digits, a NUL, invalid UTF-8, JSON or a file where a
form is expected, ...) in its path arguments and in every form field name the portal uses at
once. It goes with a valid CSRF token, or every POST would stop at the CSRF check and prove nothing,
and once more with valid path arguments, so the hostile fields meet the views behind them. A failure
lists every request that got a 5xx, so one run shows them all.
"""

import inspect
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
import requests_mock
from flask_wtf import FlaskForm
from support import ADMIN_EMAIL, STAFF_EMAIL
from support.meta import META_APP_SETTINGS
from wtforms.fields.core import UnboundField

from portal.db import utcnow
from portal.graph.batch import Backoff
from portal.models import (
    AccountStatus,
    Campaign,
    CreatorImport,
    DeletionRequest,
    MailJob,
    MetaGrant,
    ReportLink,
    Story,
)
from portal.sandbox import media, people
from portal.staff import forms

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Each kind of hostile value, as bytes: invalid UTF-8 cannot be a str.
HOSTILE_VALUES = {
    "number past int64": b"9999999999999999999999999",
    "2**63": str(2**63).encode(),
    "2**64": str(2**64).encode(),
    "-1": b"-1",
    "number below int64": b"-9223372036854775809",
    "zero": b"0",
    "superscript digit": "²".encode(),
    "Arabic-Indic digits": "١٢".encode(),
    "fullwidth digit": "５".encode(),
    "NUL": b"\x00",
    "100 KB": b"9" * 100_000,  # digits: a 100 KB string that is also a 100 KB number
    "invalid UTF-8": b"\xff\xfe",
}
# Every field at once must stay under the portal's 1 MB body limit and Werkzeug's 500 KB of form
# memory, or the form is refused whole before a view reads it: fields get a long value's first 8 KB.
LONGEST_FIELD_VALUE = 8_000
# Kinds that are a shape of body, not a value: the path arguments stay valid.
HOSTILE_BODIES = ("empty body", "JSON", "file upload")

# Names in templates that belong to <meta> tags, not to forms.
META_TAG_NAMES = {"viewport", "htmx-config", "referrer"}
# What views read from the query string or the form that no template's form sends: the OAuth
# callbacks, sign-in's next, Meta's callbacks and the simulated Meta's dialogs and Graph calls.
REQUEST_PARAMETERS = (
    "code", "state", "error", "next", "rerequest", "signed_request",
    "hub.mode", "hub.verify_token", "hub.challenge",
    "client_id", "client_secret", "redirect_uri", "response_type", "scope", "auth_type",
    "grant_type", "fb_exchange_token", "access_token", "appsecret_proof", "input_token",
    "fields", "batch", "include_headers", "limit", "after", "before", "subscribed_fields",
    "metric", "metric_type", "breakdown", "period", "timeframe", "since", "until",
)  # fmt: skip
# A login's callback needs the state its start issued, or it stops at the state check.
LOGIN_STARTS = {"linking.facebook_callback": "/link/add", "linking.instagram_callback": "/link/verify"}
# These undo the walk's own setup (the linked account, the creator's link): walked after the rest.
WALKED_LAST = (
    "linking.unlink_account",
    "staff.account_unlink",
    "staff.account_delete",
    "staff.link_token_rotate",
)
# Signing out ends the caller's session and opening a link gives it a link session: after either, the
# caller starts again in a fresh browser, so an outsider stays an outsider.
SESSION_CHANGING = ("staff.logout", "linking.link_page")
CALLERS = ("outsider", "staff", "admin", "link session")
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


def form_field_names():
    """Return every field name the portal's forms use: the templates' name="..." and the WTForms classes'."""
    names = set(REQUEST_PARAMETERS)
    for template in TEMPLATES.rglob("*.html"):
        names |= set(re.findall(r'\bname="([\w.]+)"', template.read_text())) - META_TAG_NAMES
    for _name, form in inspect.getmembers(forms, inspect.isclass):
        if issubclass(form, FlaskForm) and form is not FlaskForm:
            names |= {name for name, value in vars(form).items() if isinstance(value, UnboundField)}
    return sorted(names - {"csrf_token"})


class Caller:
    """A browser of one kind, with the CSRF token of its own session."""

    def __init__(self, kind, app, creator, sign_in, csrf):
        self.kind, self.app, self.creator, self.sign_in, self.csrf = kind, app, creator, sign_in, csrf
        self.enter()

    def enter(self):
        """Open this caller's session in a fresh browser (again, after a sign-out) and keep its CSRF token."""
        self.client = self.app.test_client()
        if self.kind in ("staff", "admin"):
            self.csrf_token = self.sign_in(self.client, STAFF_EMAIL if self.kind == "staff" else ADMIN_EMAIL)
            return
        if self.kind == "link session":
            assert self.client.get(f"/link/{self.creator.raw_link_token}").status_code == 200
        self.csrf_token = self.csrf(self.client)

    def login_state(self, endpoint):
        """Start the login a callback ends and return its state, or None if this caller cannot start one."""
        response = self.client.get(LOGIN_STARTS[endpoint])
        if response.status_code != 302:
            return None
        return parse_qs(urlsplit(response.headers["Location"]).query).get("state", [None])[0]


def rule_path(rule, arguments):
    """Return the rule's path with each argument replaced by its value in arguments, percent-encoded."""
    return ARGUMENT.sub(lambda match: quote(arguments[match.group(1)], safe=""), rule.rule)


def form_body(fields):
    """Return a form body with the values as raw bytes: invalid UTF-8 arrives as such, not escaped."""
    return b"&".join(quote(name).encode() + b"=" + value for name, value in fields.items())


def query_string(fields):
    """Return a query string with every value percent-encoded."""
    return "&".join(f"{quote(name)}={quote(value, safe='')}" for name, value in fields.items())


def request_for(kind, method, fields, csrf_token):
    """Return (query string, open() arguments) that carry this kind of hostile input in every field."""
    headers = {"X-CSRFToken": csrf_token}
    if kind == "empty body":
        return "", {"headers": headers}
    if kind == "JSON":
        # Numbers, null and objects where every form expects text.
        document = {name: [2**64, None, {"$ne": ""}] for name in fields} | {"csrf_token": csrf_token}
        return "", {"headers": headers, "data": json.dumps(document), "content_type": "application/json"}
    if kind == "file upload":
        files = {name: (io.BytesIO(b"\x00\xff not a text field"), "upload.bin") for name in fields}
        return "", {"headers": headers, "data": {**files, "csrf_token": csrf_token}}
    values = dict.fromkeys(fields, HOSTILE_VALUES[kind][:LONGEST_FIELD_VALUE])
    if method == "GET":
        return query_string(values), {"headers": headers}
    body = form_body({**values, "csrf_token": csrf_token.encode()})
    return "", {"headers": headers, "data": body, "content_type": "application/x-www-form-urlencoded"}


def walk_order(rule):
    """Sort WALKED_LAST's endpoints after every other route, in their listed order."""
    last = WALKED_LAST.index(rule.endpoint) + 1 if rule.endpoint in WALKED_LAST else 0
    return last, rule.rule


def walked_routes(app, prefix):
    """Return (rule, method) for every route whose path starts with prefix, in walk order."""
    rules = sorted(
        (rule for rule in app.url_map.iter_rules() if rule.rule.startswith(prefix)), key=walk_order
    )
    return [(rule, method) for rule in rules for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def unhandled_error(caplog, first):
    """Return the exception the app logged as unhandled since record number first, in one line."""
    for record in reversed(caplog.records[first:]):
        if record.exc_info:
            error = record.exc_info[1]
            return f"{type(error).__name__}: {str(error)[:200]}"
    return "no exception logged"


class Walk:
    """One caller's requests over the routes, and every 5xx they got."""

    def __init__(self, caller, arguments, caplog):
        self.caller, self.arguments, self.caplog = caller, arguments, caplog
        self.fields = form_field_names()
        self.sent = 0
        self.failures = []
        self.csrf_refused = []  # a walk whose POSTs stop at the CSRF check proves nothing
        self.endpoints = set()

    def route(self, rule, method):
        """Send every kind of hostile input to one route and method."""
        valid = {name: self.valid_argument(name) for name in rule.arguments}
        for kind, value in HOSTILE_VALUES.items():
            if rule.arguments:
                self.send(rule, method, kind, "path and fields", dict.fromkeys(rule.arguments, value))
            self.send(rule, method, kind, "fields", valid)
        if rule.arguments:
            # Valid arguments ending in "²": str.isdigit() still takes them, int() does not.
            almost_valid = {name: value[:-1] + "²" for name, value in valid.items()}
            self.send(rule, method, "superscript digit", "the end of valid path arguments", almost_valid)
        for kind in HOSTILE_BODIES:
            self.send(rule, method, kind, "body", valid)

    def valid_argument(self, name):
        """Return the valid value of a path argument, as text."""
        assert name in self.arguments, f"give the walk a valid value for <{name}>"
        return str(self.arguments[name])

    def send(self, rule, method, kind, where, path_arguments):
        """Send one request; note it if it got a 5xx. A callback keeps the state its login start issued."""
        kept = {}
        if rule.endpoint in LOGIN_STARTS and (state := self.caller.login_state(rule.endpoint)):
            kept["state"] = state
        fields = [name for name in self.fields if name not in kept]
        query, arguments = request_for(kind, method, fields, self.caller.csrf_token)
        query = "&".join(part for part in (query, query_string(kept)) if part)
        url = rule_path(rule, path_arguments) + (f"?{query}" if query else "")
        first = len(self.caplog.records)
        response = self.caller.client.open(url, method=method, **arguments)
        self.sent += 1
        self.endpoints.add(rule.endpoint)
        if response.headers.get("HX-Refresh") == "true":  # what the CSRF failure page asks of htmx
            self.csrf_refused.append(f"{method} {rule.rule}")
        if response.status_code >= 500:
            shown = url if len(url) <= 120 else url[:120] + "..."
            self.failures.append(
                f"{self.caller.kind} {method} {shown} [{kind} in {where}]: {response.status_code}, "
                + unhandled_error(self.caplog, first)
            )
        if rule.endpoint in SESSION_CHANGING:
            self.caller.enter()

    def report(self):
        return f"{len(self.failures)} of {self.sent} requests got a 5xx:\n" + "\n".join(self.failures)


@pytest.fixture
def meta_unreachable(no_network, monkeypatch):
    """Answer every outbound call with a connection error: Meta (or the sandbox) is down.

    The portal's retries do not sleep their backoff: the walk checks answers, and "Refresh stats"
    alone would otherwise wait out seconds of backoff on each of its requests.
    """
    no_network.register_uri(requests_mock.ANY, requests_mock.ANY, exc=requests.exceptions.ConnectionError)
    monkeypatch.setattr(Backoff, "wait", lambda backoff, attempt: None)


@pytest.fixture
def arguments(creator, admin, staff_member, tmp_path):
    """Return a valid value for every path argument of the portal, naming rows the requests reach.

    The creator's account is linked (so refresh and unlink get past their status checks) and has a
    story with an archived file; a grant waits for the helper's choice; a deletion has a status page.
    """
    grant = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="10158812345678901")
    account = creator.accounts().get()
    account.status, account.grant, account.ig_user_id = AccountStatus.LINKED, grant, "17841400000000001"
    account.page_token = "EAAPpageToken"
    account.save()
    pending = MetaGrant.create(creator=creator, provider="facebook", meta_user_id="1", candidates="[]")
    story = Story.create(
        account=account, ig_media_id="18000190000000001", media_type="IMAGE", archived_file="s.jpg"
    )
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories" / "s.jpg").write_bytes(b"\xff\xd8\xff not much of a picture")
    deletion = DeletionRequest.create(
        confirmation_code="fuzz-confirmation", user_digest="d", provider="facebook"
    )
    campaign = Campaign.create(name="Spring launch", client="Northwind")
    campaign.add_creators([creator.id])
    report, report_token = ReportLink.issue(
        "Northwind", "staff:admin@example.com", utcnow(), campaign=campaign
    )
    # An upload waiting for its confirmation, by the ordinary staff member: theirs to import.
    waiting = CreatorImport.create(
        staff=staff_member,
        file_name="creators.csv",
        csv_text="name,email,instagram\nBo Lindqvist,,bo.draws\n",
    )
    job = MailJob.create(key="fuzz-batch-key-0123456789", created_by=admin)
    return {
        "job_id": job.id,
        "campaign_id": campaign.id,
        "link_id": report.id,
        "report_token": report_token,
        "import_id": waiting.id,
        "creator_id": creator.id,
        "account_id": account.id,
        "token": creator.raw_link_token,
        "grant_id": pending.id,
        "story_id": story.id,
        "code": deletion.confirmation_code,
        "filename": "css/portal.css",
        "kind": "access_reminder",  # a reminder's template under Settings
    }


def sandbox_arguments(app):
    """Return a valid value for every path argument of the simulated Meta: a post of @ava.creates."""
    with app.app_context():  # the sandbox's clock decides which posts exist
        post = media.recent_media(people.instagram_account("ava.creates"))[0]
    return {
        "version": "v27.0",
        "path": "me",
        "kind": "p",
        "media_id": post.id,
        "username": "ava.creates",
        "extension": "jpg",
    }


@pytest.fixture
def walk(meta_unreachable, arguments, creator, sign_in, csrf, caplog):
    """Return a function that walks an app's routes under a prefix as one kind of caller: a Walk."""

    def run(app, prefix, caller_kind, **more_arguments):
        fuzz = Walk(Caller(caller_kind, app, creator, sign_in, csrf), arguments | more_arguments, caplog)
        for rule, method in walked_routes(app, prefix):
            fuzz.route(rule, method)
        return fuzz

    return run


@pytest.mark.parametrize("caller_kind", CALLERS)
def test_no_route_answers_5xx_to_hostile_input(make_app, walk, tmp_path, caller_kind):
    app = make_app(
        **META_APP_SETTINGS,
        META_WEBHOOK_VERIFY_TOKEN="verify-me",
        STORY_ARCHIVE=str(tmp_path / "stories"),
        RATELIMIT_ENABLED=False,
    )
    fuzz = walk(app, "/", caller_kind)
    assert not fuzz.failures, fuzz.report()
    assert not fuzz.csrf_refused, f"the walk's CSRF token was refused: {fuzz.csrf_refused[:5]}"
    assert fuzz.endpoints == {rule.endpoint for rule in app.url_map.iter_rules()}


@pytest.mark.parametrize("caller_kind", CALLERS)
def test_no_sandbox_route_answers_5xx_to_hostile_input(make_app, walk, caller_kind):
    app = make_app(SANDBOX=True, RATELIMIT_ENABLED=False, BASE_URL="http://localhost")
    fuzz = walk(app, "/sandbox/", caller_kind, **sandbox_arguments(app))
    assert not fuzz.failures, fuzz.report()
    assert not fuzz.csrf_refused, f"the walk's CSRF token was refused: {fuzz.csrf_refused[:5]}"
    assert fuzz.endpoints == {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("sandbox.")
    }
