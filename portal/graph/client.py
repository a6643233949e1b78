"""A small client for Meta's Graph API: timeouts, appsecret_proof, one error type.

No Flask here: the views, the scheduler and the tests build a GraphClient from
plain settings and pass it to the services.
"""

import hashlib
import hmac
import json
import logging
from urllib.parse import urlencode

import requests

log = logging.getLogger(__name__)

TRANSIENT_CODES = {1, 2}
# Limits of the whole app (or of the user across it): everyone waits (reference §7.1, §7.2).
APP_THROTTLE_CODES = {4, 17, 32, 341, 613}
# Business use case limits, one object each: 80002 is one Instagram account's, 80001 one Page's.
BUSINESS_THROTTLE_CODES = set(range(80000, 80015))
PERMISSION_CODES = {10} | set(range(200, 300))


class GraphError(Exception):
    """Meta answered with an error (or not at all); code and subcode say which."""

    def __init__(self, message, *, code=None, subcode=None, transient=False, status=None, fbtrace_id=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.transient = transient
        self.status = status
        self.fbtrace_id = fbtrace_id
        self.headers = {}  # the call's own response headers, when Meta sent them

    @property
    def token_invalid(self):
        return self.code in (190, 102)

    @property
    def permission_missing(self):
        return self.code in PERMISSION_CODES

    @property
    def object_missing(self):
        """Meta's 100/33: the object does not exist, or this token may no longer see it."""
        return self.code == 100 and self.subcode == 33

    @property
    def app_throttled(self):
        return self.code in APP_THROTTLE_CODES or self.status == 429

    @property
    def account_throttled(self):
        return self.code in BUSINESS_THROTTLE_CODES

    @property
    def throttled(self):
        return self.app_throttled or self.account_throttled

    @classmethod
    def from_response(cls, response):
        """Build the error from a Graph response, whatever its body holds."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(
                f"Facebook answered HTTP {response.status_code} without an error description.",
                status=response.status_code,
                transient=response.status_code >= 500,
            )
        code = error.get("code")
        return cls(
            error.get("error_user_msg") or error.get("message") or "Unknown error",
            code=code,
            subcode=error.get("error_subcode"),
            transient=bool(error.get("is_transient"))
            or code in TRANSIENT_CODES
            or response.status_code >= 500,
            status=response.status_code,
            fbtrace_id=error.get("fbtrace_id"),
        )


class _BatchItemResponse:
    """Enough of a requests.Response for GraphError.from_response to read one batch answer."""

    def __init__(self, answer):
        self.status_code = answer.get("code") or 500
        self._body = answer.get("body")

    def json(self):
        return json.loads(self._body or "")


def _item_headers(answer):
    headers = (answer or {}).get("headers") or []
    return {h.get("name"): h.get("value") for h in headers if isinstance(h, dict)}


def _batch_answer(answer):
    if answer is None:
        # Meta answers null for a call it did not run (for instance after a timeout).
        return GraphError("Facebook did not run this call of the batch.", transient=True)
    if answer.get("code") == 200:
        try:
            return json.loads(answer.get("body") or "null")
        except ValueError:
            return GraphError("Facebook sent an answer that is not JSON.", transient=True)
    error = GraphError.from_response(_BatchItemResponse(answer))
    error.headers = _item_headers(answer)
    return error


def appsecret_proof(app_secret, token):
    """Return the hex HMAC-SHA256 of token keyed with the app secret (Meta's appsecret_proof)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


class GraphClient:
    """Calls one Graph API host at one pinned version on behalf of one Meta app."""

    def __init__(self, base_url, version, app_id, app_secret, timeout=(3.05, 20), session=None):
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = timeout
        self.session = session or requests.Session()

    @property
    def app_token(self):
        """Return the app access token, {app-id}|{app-secret}: no person can revoke it."""
        return f"{self.app_id}|{self.app_secret}"

    def url(self, path):
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"

    def _send(self, method, path, token, params=None, data=None):
        params = dict(params or {})
        headers = {}
        if token:
            # The token travels in a header, never in the URL; the proof is not secret.
            headers["Authorization"] = f"Bearer {token}"
            params["appsecret_proof"] = appsecret_proof(self.app_secret, token)
        try:
            response = self.session.request(
                method, self.url(path), params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise GraphError(f"Could not reach Facebook ({type(exc).__name__}).", transient=True) from exc
        if response.status_code >= 400:
            error = GraphError.from_response(response)
            log.warning(
                "Graph %s %s failed: code=%s subcode=%s status=%s fbtrace_id=%s",
                method,
                path.split("?")[0],
                error.code,
                error.subcode,
                error.status,
                error.fbtrace_id,
            )
            raise error
        try:
            return response.json()
        except ValueError as exc:
            raise GraphError("Facebook sent an answer that is not JSON.", transient=True) from exc

    def get(self, path, token, **params):
        """GET a Graph path with the token and return the decoded JSON."""
        return self._send("GET", path, token, params=params)

    def post(self, path, token, **form):
        """POST a form to a Graph path with the token and return the decoded JSON."""
        return self._send("POST", path, token, data=form)

    def delete(self, path, token, **params):
        """DELETE a Graph path with the token and return the decoded JSON."""
        return self._send("DELETE", path, token, params=params)

    def get_all(self, path, token, **params):
        """Return every item of a paged edge, following the `after` cursor to the end."""
        items = []
        while True:
            page = self.get(path, token, **params)
            items.extend(page.get("data", []))
            paging = page.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return items
            # Follow the cursor ourselves rather than paging.next, whose URL embeds the token.
            params = {**params, "after": after}

    def exchange_for_long_lived(self, short_token):
        """Swap a short-lived user token for a long-lived one; return Meta's token dict."""
        form = {
            "grant_type": "fb_exchange_token",
            "client_id": self.app_id,
            "client_secret": self.app_secret,
            "fb_exchange_token": short_token,
        }
        # POSTed as a form so the secret and the token stay out of URLs and access logs.
        return self._send("POST", "oauth/access_token", None, data=form)

    def batch(self, items, token=None):
        """POST up to 50 calls as one Graph batch; return (answers, response headers, each answer's headers).

        items are (path, params, token) triples. Each call carries its own token and
        appsecret_proof inside the POST body, so accounts with different Page tokens
        share one HTTP request. An answer is the decoded body, or the GraphError for
        that call alone. Meta fails the whole batch when its top-level token is invalid,
        so that token is the app's own unless one is given: one creator revoking their
        authorization must not fail everyone else's calls (reference §0.2 rule 3).
        """
        token = token or self.app_token
        entries = []
        for path, params, item_token in items:
            query = dict(params)
            query["access_token"] = item_token
            query["appsecret_proof"] = appsecret_proof(self.app_secret, item_token)
            entries.append({"method": "GET", "relative_url": f"{path}?{urlencode(query)}"})
        # Per-call headers carry X-Business-Use-Case-Usage, which says how long a throttle lasts.
        form = {"batch": json.dumps(entries), "include_headers": "true", "access_token": token}
        form["appsecret_proof"] = appsecret_proof(self.app_secret, token)
        try:
            response = self.session.post(self.url(""), data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            raise GraphError(f"Could not reach Facebook ({type(exc).__name__}).", transient=True) from exc
        if response.status_code >= 400:
            raise GraphError.from_response(response)
        try:
            answers = response.json()
        except ValueError as exc:
            raise GraphError("Facebook sent a batch answer that is not JSON.", transient=True) from exc
        if not isinstance(answers, list) or len(answers) != len(entries):
            raise GraphError("Facebook sent a batch answer of another length.", transient=True)
        return [_batch_answer(a) for a in answers], response.headers, [_item_headers(a) for a in answers]

    def debug_token(self, token):
        """Return debug_token's data for a token, asked with the app's own token."""
        return self._send("GET", "debug_token", self.app_token, params={"input_token": token}).get("data", {})


def _graph(config, url_setting, app):
    return GraphClient(
        config[url_setting],
        config["GRAPH_API_VERSION"],
        config[f"{app}_CLIENT_ID"],
        config[f"{app}_CLIENT_SECRET"],
        timeout=config["GRAPH_TIMEOUT"],
    )


def facebook_graph(config):
    """Return the client for graph.facebook.com (or its sandbox) from the portal's settings."""
    return _graph(config, "FACEBOOK_GRAPH_URL", "FACEBOOK")


def instagram_graph(config):
    """Return the client for graph.instagram.com (or its sandbox), signed with the Instagram app."""
    return _graph(config, "INSTAGRAM_GRAPH_URL", "INSTAGRAM")
