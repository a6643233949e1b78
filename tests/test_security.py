"""Security headers, the redirect check, how htmx is loaded, and the production settings."""

import base64
import hashlib
import json
import os
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from portal import ConfigurationError
from portal.security import HTMX_URL, safe_next_url

HX = {"HX-Request": "true"}
HTTPS = "https://localhost"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTMX_PACKAGE = os.path.join(ROOT, "node_modules", "htmx.org")
CSRF_PAGE = "This form has expired"


class Tags(HTMLParser):
    """Every start tag of a page, as (tag, attributes) with attributes in a dict."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def named(self, name):
        return [attrs for tag, attrs in self.tags if tag == name]


def csp_directives(header):
    """Return the policy as {directive: [sources]}."""
    directives = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = tokens[1:]
    return directives


def _boom():
    raise RuntimeError("secret internals: db password is hunter2")


# kind: (signed in, method, path, headers, expected status, full page?)
RESPONSE_KINDS = {
    "full staff page": (True, "GET", "/creators", {}, 200, True),
    "htmx fragment of the creator list": (True, "GET", "/creators?q=ava", HX, 200, False),
    "htmx fragment of a profile tab": (True, "GET", "/creators/{creator}/accounts", HX, 200, False),
    "sign-in page": (False, "GET", "/login", {}, 200, True),
    "htmx request without sign-in": (False, "GET", "/creators", HX, 401, False),
    "404 page": (True, "GET", "/no-such-page", {}, 404, True),
    "500 page": (True, "GET", "/test-only/boom", {}, 500, True),
    "CSRF failure": (True, "POST", "/creators/new", {}, 400, True),
    "Link Accounts Page": (False, "GET", "/link/{token}", {}, 200, True),
    "unknown Link Accounts Page": (False, "GET", "/link/not-a-current-link", {}, 404, True),
}


def respond(app, admin, creator, sign_in, kind):
    """Serve one kind of response from a fresh app that also has a route that crashes."""
    app.add_url_rule("/test-only/boom", "test_only_boom", _boom)
    signed_in, method, path, headers, status, full_page = RESPONSE_KINDS[kind]
    client = app.test_client()
    if signed_in:
        sign_in(client, admin.email)
    path = path.format(creator=creator.id, token=creator.raw_link_token)
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    assert ("<html" in body) is full_page
    assert (CSRF_PAGE in body) is (kind == "CSRF failure")
    return response


@pytest.mark.parametrize("kind", RESPONSE_KINDS)
def test_every_kind_of_response_carries_the_security_headers(app, admin, creator, sign_in, kind):
    response = respond(app, admin, creator, sign_in, kind)
    headers = response.headers

    policy = headers.get("Content-Security-Policy", "")
    directives = csp_directives(policy)
    assert directives.get("object-src") == ["'none'"]
    assert directives.get("base-uri") == ["'none'"]
    assert directives.get("frame-ancestors") == ["'none'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"
    assert headers.get("X-Frame-Options") == "DENY"
    assert "no-store" in headers.get("Cache-Control", "")


def test_csp_allows_scripts_only_from_this_site_and_the_pinned_htmx_file(client):
    directives = csp_directives(client.get("/login").headers["Content-Security-Policy"])
    # A full file path, not a host: the CDN's other packages stay blocked.
    assert sorted(directives["script-src"]) == sorted(["'self'", HTMX_URL])
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]


def test_static_files_also_carry_nosniff_and_csp(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert csp_directives(response.headers["Content-Security-Policy"])["object-src"] == ["'none'"]


def test_unexpected_error_page_reveals_no_internals(app, admin, creator, sign_in):
    body = respond(app, admin, creator, sign_in, "500 page").get_data(as_text=True)
    assert "Something went wrong" in body
    assert "hunter2" not in body
    assert "Traceback" not in body


@pytest.mark.parametrize("kind", ["Link Accounts Page", "unknown Link Accounts Page"])
def test_link_pages_and_their_404_are_kept_out_of_search_engines(app, admin, creator, sign_in, kind):
    response = respond(app, admin, creator, sign_in, kind)
    assert "noindex" in response.headers.get("X-Robots-Tag", "")


def test_production_responses_carry_hsts_for_at_least_a_year(make_production_app):
    client = make_production_app().test_client()
    for path in ("/login", "/no-such-page", "/link/not-a-current-link"):
        hsts = client.get(path, base_url=HTTPS).headers.get("Strict-Transport-Security", "")
        match = re.search(r"max-age=(\d+)", hsts)
        assert match, f"{path}: no HSTS max-age in {hsts!r}"
        assert int(match.group(1)) >= 31536000


def test_plain_http_configs_send_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_production_session_cookie_is_host_prefixed_secure_httponly_and_lax(make_production_app):
    client = make_production_app().test_client()
    response = client.get("/login", base_url=HTTPS)  # renders a CSRF token, which writes the session
    assert response.status_code == 200
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    attributes = [part.strip().lower() for part in cookies[0].split(";")[1:]]
    assert "secure" in attributes
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert not any(attribute.startswith("domain=") for attribute in attributes)


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"SECRET_KEY": None}, "PORTAL_SECRET_KEY"),
        ({"SECRET_KEY": ""}, "PORTAL_SECRET_KEY"),
        ({"TOKEN_KEYS": None}, "PORTAL_TOKEN_KEYS"),
        ({"TOKEN_KEYS": ""}, "PORTAL_TOKEN_KEYS"),
        ({"TOKEN_KEYS": "not-a-fernet-key"}, "PORTAL_TOKEN_KEYS"),
        ({"TOKEN_KEYS": base64.urlsafe_b64encode(b"too short").decode()}, "PORTAL_TOKEN_KEYS"),
        ({"DEBUG": True}, "DEBUG"),
    ],
)
def test_production_refuses_to_start_with_missing_or_bad_secrets(make_production_app, overrides, named):
    with pytest.raises(ConfigurationError, match=named):
        make_production_app(**overrides)


def test_production_starts_with_its_secrets_set(make_production_app):
    app = make_production_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.debug is False


BAD_NEXT_URLS = [
    "http://example.com",
    "http:///example.com",
    "https://example.com",
    "ftp://example.com",
    "//example.com",
    "///example.com",
    r"\\example.com",
    r"\\\example.com",
    r"/\\/example.com",
    r"\\//example.com",
    r"/\/example.com",
    r"\/example.com",
    r"/\example.com",
    r"http:/\//example.com",
    r"http:\/example.com",
    r"http:/\example.com",
    'javascript:alert("XSS")',
    "\njavascript:alert(x)",
    "\x08//example.com",
    "/\t/example.com",
    "/\r\n/example.com",
    " //example.com",
    r"http://otherserver\@example.com",
    r"http:\\testserver\@example.com",
    r"http://testserver\me:pass@example.com",
    "http:999999999",
    "\n",
    "%2F%2Fexample.com",
    "example.com",
]


@pytest.mark.parametrize("target", BAD_NEXT_URLS)
def test_next_url_off_site_falls_back_to_default(target):
    assert safe_next_url(target, "/creators") == "/creators"


@pytest.mark.parametrize("target", ["/creators?q=a", "/creators/3", "/creators/3/link-accounts"])
def test_next_url_on_site_path_is_kept(target):
    assert safe_next_url(target, "/default") == target


def test_next_url_missing_falls_back_to_default():
    assert safe_next_url(None, "/creators") == "/creators"
    assert safe_next_url("", "/creators") == "/creators"


def _sha384_of_local_htmx():
    with open(os.path.join(HTMX_PACKAGE, "dist", "htmx.min.js"), "rb") as handle:
        return "sha384-" + base64.b64encode(hashlib.sha384(handle.read()).digest()).decode()


def _version_of_local_htmx():
    with open(os.path.join(HTMX_PACKAGE, "package.json"), encoding="utf-8") as handle:
        return json.load(handle)["version"]


@pytest.mark.parametrize("signed_in", [False, True], ids=["sign-in page", "creator list"])
def test_htmx_loaded_safely(client, admin, sign_in, signed_in):
    if signed_in:
        sign_in(client, admin.email)
    page = client.get("/creators" if signed_in else "/login")
    assert page.status_code == 200
    tags = Tags(page.get_data(as_text=True))

    scripts = tags.named("script")
    off_site = [attrs for attrs in scripts if urlsplit(attrs.get("src", "")).netloc]
    assert [attrs["src"] for attrs in off_site] == [HTMX_URL]
    htmx = off_site[0]
    assert f"/htmx.org@{_version_of_local_htmx()}/" in htmx["src"]
    assert htmx.get("integrity") == _sha384_of_local_htmx()
    assert htmx.get("crossorigin") == "anonymous"

    configs = [attrs for attrs in tags.named("meta") if attrs.get("name") == "htmx-config"]
    assert len(configs) == 1
    config = json.loads(configs[0]["content"])
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["selfRequestsOnly"] is True
    assert config["historyCacheSize"] == 0
    assert config["includeIndicatorStyles"] is False


def _csp_breakers(html):
    """Return what a CSP without 'unsafe-inline' would block: inline scripts, styles, handlers."""
    found = []
    for tag, attrs in Tags(html).tags:
        if tag == "script" and not attrs.get("src"):
            found.append("<script> without src")
        if tag == "style":
            found.append("<style> element")
        if "style" in attrs:
            found.append(f"<{tag} style=...>")
        found += [f"<{tag} {name}=...>" for name in attrs if name.startswith("on")]
    return found


def test_no_rendered_page_has_inline_scripts_or_styles(app, client, admin, creator, sign_in, rule_url):
    app.add_url_rule("/test-only/boom", "test_only_boom", _boom)
    anonymous = app.test_client()
    pages = {
        "sign-in page": anonymous.get("/login"),
        "Link Accounts Page": anonymous.get(f"/link/{creator.raw_link_token}"),
        "unknown link": anonymous.get("/link/not-a-current-link"),
    }
    token = sign_in(client, admin.email)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = rule_url(rule)
        pages[f"GET {url}"] = client.get(url)
        pages[f"GET {url} (htmx)"] = client.get(url, headers=HX)
    posts = {
        "/creators/new": {"name": ""},
        f"/creators/{creator.id}/accounts": {"handle": "not a handle!"},
        "/settings/staff": {"email": "x", "password": "short"},
        "/settings/invitation": {"subject": "Hi [Nope]", "body": ""},
        "/settings/invitation/preview": {"subject": "Hi [Name]", "body": "Open [Link]"},
        f"/creators/{creator.id}/link-token": {},
    }
    for url, data in posts.items():
        pages[f"POST {url} (htmx)"] = client.post(url, data=data, headers={**HX, "X-CSRFToken": token})
        pages[f"POST {url}"] = client.post(url, data={**data, "csrf_token": token})
    pages["404"] = client.get("/no-such-page")
    pages["500"] = client.get("/test-only/boom")
    pages["CSRF failure"] = client.post("/creators/new", data={"name": "x"})

    rendered = {name: r for name, r in pages.items() if r.mimetype == "text/html" and r.get_data()}
    assert len(rendered) > 20  # the walk really rendered the staff area
    problems = {
        name: found for name, r in rendered.items() if (found := _csp_breakers(r.get_data(as_text=True)))
    }
    assert problems == {}


def test_link_page_loads_nothing_from_other_sites(client, creator):
    page = client.get(f"/link/{creator.raw_link_token}")
    assert page.status_code == 200
    tags = Tags(page.get_data(as_text=True))
    assets = [attrs.get("src") for tag, attrs in tags.tags if tag in {"script", "img", "iframe", "embed"}]
    assets += [attrs.get("href") for attrs in tags.named("link")]
    assets = [url for url in assets if url]
    assert assets, "the page links no stylesheet at all"
    for url in assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"third-party asset {url}"
    for url in [attrs["href"] for attrs in tags.named("link") if attrs.get("rel") == "stylesheet"]:
        css = client.get(url).get_data(as_text=True)
        assert not re.search(r"(url\(|@import)\s*['\"]?\s*(https?:)?//", css), f"{url} pulls in another site"


def test_untrusted_host_rejected(make_app):
    app = make_app(TRUSTED_HOSTS=["portal.example"])
    client = app.test_client()
    assert client.get("/login", headers={"Host": "portal.example"}).status_code == 200
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400


def test_forwarded_headers_are_ignored_unless_proxies_are_configured(make_app):
    from flask import request

    seen = {}

    def remember():
        seen["addr"], seen["scheme"] = request.remote_addr, request.scheme

    direct = make_app()
    direct.before_request(remember)
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    direct.test_client().get("/healthz", headers=forwarded)
    assert seen == {"addr": "127.0.0.1", "scheme": "http"}

    behind_proxy = make_app(PROXY_HOPS=1)
    behind_proxy.before_request(remember)
    behind_proxy.test_client().get("/healthz", headers=forwarded)
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}
