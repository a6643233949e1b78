"""Meta's documented answers (reference/meta-graph-api.md) on requests-mock, and apps set up for them."""

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from portal import db

META_APP_SETTINGS = {
    "BASE_URL": "https://portal.example",
    "FACEBOOK_CLIENT_ID": "fb-app",
    "FACEBOOK_CLIENT_SECRET": "fb-secret",
    "INSTAGRAM_CLIENT_ID": "ig-app",
    "INSTAGRAM_CLIENT_SECRET": "ig-secret",
}
ADMIN_TASKS = ("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE")


def _form_fields(**expected):
    """Return a requests-mock matcher for a form-encoded body holding these fields."""

    def match(request):
        form = parse_qs(request.text or "")
        return all(form.get(name) == [value] for name, value in expected.items())

    return match


def proof(token, secret=META_APP_SETTINGS["FACEBOOK_CLIENT_SECRET"]):
    """Return the appsecret_proof Meta expects with a token (reference §7.4)."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def unsupported(object_id):
    """Meta's 100/33 body: the object does not exist or cannot be loaded with this token."""
    message = (
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation"
    )
    return {"error": {"message": message, "type": "GraphMethodException", "code": 100, "error_subcode": 33}}


def _bearer(token):
    """Return Facebook's token endpoint answer for a token (§1.2, §1.3)."""
    return {"access_token": token, "token_type": "bearer", "expires_in": 5183944}


class MetaMock:
    """Meta's documented answers (reference/meta-graph-api.md), registered on the no_network mocker.

    Each method registers one endpoint and returns its requests-mock matcher, so a test can
    check call_count and request_history per endpoint.
    """

    graph = "https://graph.facebook.com/v27.0"
    instagram_api = "https://api.instagram.com"
    instagram_graph = "https://graph.instagram.com/v27.0"
    app_id = META_APP_SETTINGS["FACEBOOK_CLIENT_ID"]
    app_secret = META_APP_SETTINGS["FACEBOOK_CLIENT_SECRET"]
    ig_app_id = META_APP_SETTINGS["INSTAGRAM_CLIENT_ID"]
    ig_app_secret = META_APP_SETTINGS["INSTAGRAM_CLIENT_SECRET"]
    short_token = "EAABshortLivedUserToken0001xyz"
    long_token = "EAABlongLivedUserToken0002xyz"
    ig_token = "IGAAshortLivedInstagramToken0003xyz"
    user_id = "10158812345678901"
    user_name = "Ava Chen"
    ig_user_id = "17841400000000001"
    scopes = (
        "instagram_basic",
        "instagram_manage_insights",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
        "ads_read",
    )
    expires_at = 1785000000
    data_access_expires_at = 1790000000

    def __init__(self, mocker):
        self.mocker = mocker
        self.objects = {}  # id -> what a read by id answers in a batch (a node, or a GraphError body)
        self.batch_items = []  # every batch item received: (relative_url, query dict)
        self._batch = None

    @staticmethod
    def page_token(page_id):
        """Return the Page token Meta hands out for a Page in these mocks."""
        return f"EAAJpageToken{page_id}xyz"

    @classmethod
    def page(cls, page_id, name, username=None, *, tasks=ADMIN_TASKS, ig_id=None, with_token=True):
        """Return one /me/accounts entry; username=None is a Page without an Instagram account."""
        entry = {"id": str(page_id), "name": name}
        if with_token:
            entry["access_token"] = cls.page_token(page_id)
        if tasks is not None:
            entry["tasks"] = list(tasks)
        if username:
            entry["instagram_business_account"] = {
                "id": ig_id or f"178414{page_id}",
                "username": username,
                "name": username.replace(".", " ").title(),
                "profile_picture_url": f"https://scontent.example/{username}.jpg",
                "followers_count": 1234,
                "media_count": 87,
            }
        return entry

    def by_id(self, *nodes, refused=()):
        """Answer reads by id inside Graph batches: each node by its id; each refused id with 100/33.

        Meta fails the whole batch when its top-level token is invalid, so anything but the app's
        own token (with its appsecret_proof) at the top gets a 190 for the whole request.
        """
        for node in nodes:
            self.objects[str(node["id"])] = node
        for object_id in refused:
            self.objects[str(object_id)] = (400, unsupported(object_id))
        if self._batch is None:
            self._batch = self.mocker.post(f"{self.graph}/", json=self._answer_batch)
        return self._batch

    def _answer_batch(self, request, context):
        form = parse_qs(request.text or "")
        app_token = f"{self.app_id}|{self.app_secret}"
        if form.get("access_token") != [app_token] or form.get("appsecret_proof") != [proof(app_token)]:
            context.status_code = 400
            return {
                "error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}
            }
        answers = []
        for item in json.loads(form["batch"][0]):
            url = urlsplit(item["relative_url"])
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.batch_items.append((item["relative_url"], query))
            found = self.objects.get(url.path.strip("/"), (400, unsupported(url.path.strip("/"))))
            status, body = found if isinstance(found, tuple) else (200, found)
            answers.append({"code": status, "body": json.dumps(body)})
        return answers

    def graph_get(self, path, **response):
        """Register a GET on graph.facebook.com/v27.0/<path>."""
        return self.mocker.get(f"{self.graph}/{path}", **response)

    def paged(self, path, *pages):
        """Register a paged edge: each argument is one page of results, linked by `after` cursors."""
        matchers = []
        for number, data in enumerate(pages):
            cursor = f"qvfihcursor{number}"
            cursors = {"before": f"qvfihbefore{number}", "after": cursor}
            body = {"data": list(data), "paging": {"cursors": cursors}}
            if number < len(pages) - 1:
                # Meta's next URL embeds the user token: a client must not follow it as is.
                body["paging"]["next"] = (
                    f"{self.graph}/{path}?access_token={self.long_token}&limit=25&after={cursor}"
                )
            query = f"?after=qvfihcursor{number - 1}" if number else ""
            matchers.append(self.mocker.get(f"{self.graph}/{path}{query}", json=body))
        return matchers

    def code_exchange(self, **response):
        """Facebook's token endpoint answering an authorization code (manual flow, §1.2)."""
        if not {"json", "text", "content", "body", "exc"} & response.keys():
            response["json"] = _bearer(self.short_token)
        return self.mocker.post(
            f"{self.graph}/oauth/access_token",
            additional_matcher=_form_fields(grant_type="authorization_code"),
            **response,
        )

    def long_lived_exchange(self, **response):
        """Facebook's token endpoint swapping a short-lived user token (fb_exchange_token, §1.3)."""
        if not {"json", "text", "content", "body", "exc"} & response.keys():
            response["json"] = _bearer(self.long_token)
        return self.mocker.post(
            f"{self.graph}/oauth/access_token",
            additional_matcher=_form_fields(grant_type="fb_exchange_token"),
            **response,
        )

    def me(self, user_id=None, name=None):
        return self.graph_get("me", json={"id": user_id or self.user_id, "name": name or self.user_name})

    def permissions(self, declined=(), expired=(), never_asked=()):
        """/me/permissions: every scope granted unless listed as declined, expired or never asked."""
        data = []
        for scope in self.scopes:
            if scope in never_asked:
                continue
            status = "declined" if scope in declined else "expired" if scope in expired else "granted"
            data.append({"permission": scope, "status": status})
        data.append({"permission": "public_profile", "status": "granted"})
        return self.graph_get("me/permissions", json={"data": data})

    def debug_token(self, shared_page_ids=(), ig_ids=(), expires_at=None, data_access_expires_at=None):
        """debug_token for the long-lived user token, with the Pages ticked in granular_scopes."""
        data = {
            "app_id": self.app_id,
            "type": "USER",
            "application": "Acme Talent Portal",
            "data_access_expires_at": data_access_expires_at or self.data_access_expires_at,
            "expires_at": self.expires_at if expires_at is None else expires_at,
            "is_valid": True,
            "issued_at": 1780000000,
            "scopes": list(self.scopes),
            "granular_scopes": [
                {"scope": "pages_show_list", "target_ids": [str(i) for i in shared_page_ids]},
                {"scope": "instagram_basic", "target_ids": [str(i) for i in ig_ids]},
            ],
            "user_id": self.user_id,
        }
        return self.graph_get("debug_token", json={"data": data})

    def grant(self, declined=(), shared_page_ids=(), never_asked=()):
        """Register what read_grant asks: the long-lived exchange, /me, /me/permissions, debug_token."""
        self.long_lived_exchange()
        self.me()
        self.permissions(declined=declined, never_asked=never_asked)
        self.debug_token(shared_page_ids=shared_page_ids)

    def accounts(self, *pages):
        """/me/accounts over one or more result pages (one positional argument per page).

        /me/businesses answers with no Business Portfolio until businesses() says otherwise.
        """
        self.mocker.get(f"{self.graph}/me/businesses", json={"data": []})
        return self.paged("me/accounts", *(pages or ([],)))

    def businesses(self, *businesses):
        """/me/businesses and each portfolio's owned_pages/client_pages.

        Each business is a dict: id, name, and optional owned_pages / client_pages lists.
        """
        self.paged("me/businesses", [{"id": b["id"], "name": b["name"]} for b in businesses])
        for business in businesses:
            for edge in ("owned_pages", "client_pages"):
                self.paged(f"{business['id']}/{edge}", business.get(edge, []))

    def facebook_login(self, *account_pages, declined=(), shared_page_ids=()):
        """Register a whole Facebook Login: the code exchange, the grant and /me/accounts."""
        exchange = self.code_exchange()
        self.grant(declined=declined, shared_page_ids=shared_page_ids)
        self.accounts(*account_pages)
        return exchange

    def instagram_code_exchange(self, **response):
        """Instagram's token endpoint; by default the documented {"data": [...]} wrapping (§9)."""
        if not {"json", "text", "content", "body", "exc"} & response.keys():
            response["json"] = {
                "data": [
                    {
                        "access_token": self.ig_token,
                        "user_id": self.ig_user_id,
                        "permissions": "instagram_business_basic",
                    }
                ]
            }
        return self.mocker.post(f"{self.instagram_api}/oauth/access_token", **response)

    def instagram_me(self, username, account_type="BUSINESS", user_id=None):
        """graph.instagram.com/me for the Instagram user who logged in."""
        body = {
            "id": "26000000000000001",  # app-scoped; user_id is the professional account's id
            "user_id": user_id or self.ig_user_id,
            "username": username,
            "name": username.replace(".", " ").title(),
            "account_type": account_type,
        }
        return self.mocker.get(f"{self.instagram_graph}/me", json=body)


@pytest.fixture
def meta(no_network):
    """Register Meta's documented answers on the no_network mocker; see MetaMock."""
    return MetaMock(no_network)


@pytest.fixture
def graph_client():
    """The portal's graph.facebook.com client, built from the testing settings and the mocks' app."""
    from config import TestingConfig
    from portal.graph import facebook_graph

    return facebook_graph(
        {
            "FACEBOOK_GRAPH_URL": "https://graph.facebook.com",
            "GRAPH_API_VERSION": "v27.0",
            "FACEBOOK_CLIENT_ID": MetaMock.app_id,
            "FACEBOOK_CLIENT_SECRET": MetaMock.app_secret,
            "GRAPH_TIMEOUT": TestingConfig.GRAPH_TIMEOUT,
        }
    )


@pytest.fixture
def meta_app(make_app):
    """An app with Facebook and Instagram Login configured, answering at https://portal.example."""
    application = make_app(**META_APP_SETTINGS)
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def meta_callbacks_app(make_app):
    """An app answering Meta's callbacks: meta_app's secrets and address plus a webhook verify token."""
    application = make_app(**META_APP_SETTINGS, META_WEBHOOK_VERIFY_TOKEN="verify-me")
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def link_browser(meta_app, creator):
    """A test client of meta_app that has opened the creator's link (so it holds a link session)."""
    browser = meta_app.test_client()
    assert browser.get(f"/link/{creator.raw_link_token}").status_code == 200
    return browser
