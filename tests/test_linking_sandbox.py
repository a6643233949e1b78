"""The whole linking dance over real HTTP against the built-in sandbox, the way a browser does it.

No browser: a requests.Session holds the cookies, the test reads each page's links and forms, submits
what a browser would submit, and follows every redirect by hand (link page → connect → the simulated
Meta dialog → the portal's callback → the landing page). The portal meanwhile calls the sandbox's
token and Graph endpoints over HTTP itself, so the real code path runs end to end.
"""

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from portal.connections.discovery import REQUIRED_SCOPES
from portal.db import database
from portal.graph.oauth import FACEBOOK_SCOPES
from portal.models import AccountStatus, Creator, MetaGrant, SocialAccount
from portal.sandbox import people, tokens

pytestmark = pytest.mark.live_http

TIMEOUT = 10


class PageParser(HTMLParser):
    """Collect a page's links (name, href) and forms (action, inputs, buttons), as a browser sees them.

    A link's name is its aria-label, else its text (visually hidden text included).
    """

    def __init__(self):
        super().__init__()
        self.links, self.forms = [], []
        self._link = self._button = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self._link = {"href": attrs["href"], "label": attrs.get("aria-label"), "text": ""}
        elif tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "inputs": [], "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(attrs)
        elif tag == "button" and self.forms:
            self._button = {"name": attrs.get("name"), "value": attrs.get("value", ""), "text": ""}
            self.forms[-1]["buttons"].append(self._button)

    def handle_data(self, data):
        for open_tag in (self._link, self._button):
            if open_tag is not None:
                open_tag["text"] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            name = self._link["label"] or " ".join(self._link["text"].split())
            self.links.append((name, self._link["href"]))
            self._link = None
        elif tag == "button":
            self._button = None


def parse(response):
    parser = PageParser()
    parser.feed(response.text)
    return parser


def follow_link(browser, response, text):
    """GET the link whose text (or aria-label) is exactly `text`; return the answer, unfollowed."""
    hrefs = [href for label, href in parse(response).links if label == text]
    assert len(hrefs) == 1, f"expected one link {text!r} on {response.url}, found {len(hrefs)}"
    return browser.get(urljoin(response.url, hrefs[0]), allow_redirects=False, timeout=TIMEOUT)


def redirected(browser, response, to_path):
    """Assert the answer redirects to to_path (on the portal) and GET it, unfollowed."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    location = urljoin(response.url, response.headers["Location"])
    assert urlsplit(location).path == to_path, location
    return browser.get(location, allow_redirects=False, timeout=TIMEOUT)


def submit(browser, response, button, tick=(), untick=(), form_index=0):
    """POST a page's form as a browser would: hidden fields, ticked boxes, and the button pressed.

    tick/untick name the checkbox or radio values to change from the page's defaults.
    """
    form = parse(response).forms[form_index]
    fields = []
    for field in form["inputs"]:
        kind, value = field.get("type", "text"), field.get("value", "")
        if "disabled" in field:
            continue
        if kind in ("checkbox", "radio"):
            if value in untick or ("checked" not in field and value not in tick):
                continue
        fields.append((field["name"], value))
    pressed = [b for b in form["buttons"] if " ".join(b["text"].split()) == button]
    assert len(pressed) == 1, f"no button {button!r} in {form['buttons']}"
    if pressed[0]["name"]:
        fields.append((pressed[0]["name"], pressed[0]["value"]))
    action = urljoin(response.url, form["action"] or response.url)
    return browser.post(action, data=fields, allow_redirects=False, timeout=TIMEOUT)


def checkboxes(response, name):
    """Return {value: ticked} for the page's checkboxes called name."""
    inputs = [field for form in parse(response).forms for field in form["inputs"]]
    return {f["value"]: "checked" in f for f in inputs if f.get("name") == name}


def open_dialog(browser, start):
    """Follow the portal's redirect to the sandbox's Facebook Login dialog; return (dialog, query)."""
    assert start.status_code == 302, start.text[:500]
    location = start.headers["Location"]
    assert urlsplit(location).path == "/sandbox/facebook/v27.0/dialog/oauth", location
    query = parse_qs(urlsplit(location).query)
    dialog = browser.get(location, allow_redirects=False, timeout=TIMEOUT)
    assert dialog.status_code == 200
    assert "Log in to Facebook" in dialog.text
    return dialog, query


def log_in_as(browser, start, user_name, button=None, **changes):
    """From a login start, pick the fictional user, press Continue (or `button`); return the callback."""
    dialog, query = open_dialog(browser, start)
    confirm = follow_link(browser, dialog, user_name)
    assert confirm.status_code == 200
    assert f"Continue as {user_name}?" in confirm.text
    answer = submit(browser, confirm, button or f"Continue as {user_name}", **changes)
    return redirected(browser, answer, "/link/facebook/callback"), query


def land(browser, callback, link_path):
    """Follow the callback's redirect back to the Link Accounts Page."""
    page = redirected(browser, callback, link_path)
    assert page.status_code == 200
    return page


def link_path(server, creator_name):
    return urlsplit(server.link_url(creator_name)).path


def account(creator_name, username):
    return SocialAccount.get(
        (SocialAccount.creator == Creator.get(Creator.name == creator_name))
        & (SocialAccount.username == username)
    )


def user(name):
    return next(u for u in people.FACEBOOK_USERS.values() if u.name == name)


def page_id(name):
    return next(p.id for p in people.PAGES.values() if p.name == name)


def raw_column(table, column, row_id):
    """Read a column as stored, bypassing the model's decryption."""
    return database.execute_sql(
        f"SELECT {column} FROM {table} WHERE id = {database.param}", (row_id,)
    ).fetchone()[0]


def connect_business(server, creator_name, username, user_name, **changes):
    """Run Connect Business for one account as one fictional user; return (landing page, dialog query)."""
    browser = requests.Session()
    path = link_path(server, creator_name)
    opened = browser.get(server.base_url + path, timeout=TIMEOUT)
    assert opened.status_code == 200
    start = follow_link(browser, opened, f"Connect Business for @{username}")
    callback, query = log_in_as(browser, start, user_name, **changes)
    return browser, land(browser, callback, path), query


def test_gabriela_good_connects_ava_creates(sandbox_server):
    browser, page, query = connect_business(sandbox_server, "Ava Chen", "ava.creates", "Gabriela Good")

    # The dialog was asked for the read-only scopes, comma-separated, with a redirect to the portal.
    assert query["scope"] == [",".join(FACEBOOK_SCOPES)]
    assert query["redirect_uri"] == [sandbox_server.base_url + "/link/facebook/callback"]
    assert "auth_type" not in query

    assert "Linked: @ava.creates. Acme Talent can now read its Insights." in page.text
    assert "Linked by Gabriela Good through the Page “Ava Chen Creates”" in page.text

    linked = account("Ava Chen", "ava.creates")
    gabriela = user("Gabriela Good")
    assert linked.status == AccountStatus.LINKED
    assert (linked.linked_by_fb_user_id, linked.linked_by_name) == (gabriela.id, "Gabriela Good")
    assert linked.linked_at is not None
    assert (linked.page_id, linked.page_name) == (page_id("Ava Chen Creates"), "Ava Chen Creates")
    assert set(linked.granted_scopes.split(",")) == {*FACEBOOK_SCOPES, "public_profile"}
    assert linked.ig_user_id == people.instagram_account("ava.creates").id
    assert linked.followers_count == 48200

    # The Page token is stored encrypted, and is a real (sandbox) Page token for that Page.
    stored = raw_column("social_account", "page_token", linked.id)
    assert stored and stored != linked.page_token and not stored.startswith(tokens.PREFIXES["page"])
    with sandbox_server.app.app_context():
        payload = tokens.read("page", linked.page_token)
    assert payload["page"] == page_id("Ava Chen Creates") and payload["user"] == gabriela.id

    grant = linked.grant
    assert grant.provider == MetaGrant.FACEBOOK and grant.meta_user_name == "Gabriela Good"
    assert grant.user_token.startswith(tokens.PREFIXES["user"])
    assert raw_column("meta_grant", "user_token", grant.id) != grant.user_token
    assert grant.declined_scopes == ""
    assert grant.token_expires_at is not None and grant.data_access_expires_at is not None
    for secret in (linked.page_token, grant.user_token):
        assert secret not in page.text

    # The other account was left alone, and the linked one now offers Unlink, not Connect Business.
    assert account("Ava Chen", "ava.travels").status == AccountStatus.UNLINKED
    labels = [label for label, _href in parse(page).links]
    assert "Unlink @ava.creates" in labels
    assert "Connect Business for @ava.creates" not in labels


def test_bianca_business_connects_priya_fit_through_the_business_portfolio(sandbox_server):
    _browser, page, _query = connect_business(
        sandbox_server, "Priya Natarajan", "priya.fit", "Bianca Business"
    )

    assert "Linked: @priya.fit." in page.text
    assert "Linked by Bianca Business through the Page “Priya Fit”" in page.text
    linked = account("Priya Natarajan", "priya.fit")
    assert linked.status == AccountStatus.LINKED
    assert linked.linked_by_name == "Bianca Business"
    assert linked.page_id == page_id("Priya Fit")
    # Bianca has no role on the Page itself: the portfolio grant's user token is what reads it.
    assert linked.grant.meta_user_name == "Bianca Business" and linked.grant.user_token


def test_manny_manager_finds_nina_bakes_on_the_fifth_page_of_results(sandbox_server):
    browser = requests.Session()
    path = link_path(sandbox_server, "Nina Brooks")
    opened = browser.get(sandbox_server.base_url + path, timeout=TIMEOUT)
    start = follow_link(browser, opened, "Connect Business for @nina.bakes")
    dialog, _query = open_dialog(browser, start)
    confirm = follow_link(browser, dialog, "Manny Manager")
    pages = checkboxes(confirm, "page")
    assert len(pages) == 120 and all(pages.values())
    position = list(pages).index(page_id("Nina Bakes"))
    assert position == 111  # beyond four pages of 25: only following the paging reaches it

    callback = redirected(
        browser, submit(browser, confirm, "Continue as Manny Manager"), "/link/facebook/callback"
    )
    page = land(browser, callback, path)

    assert "Linked: @nina.bakes." in page.text
    assert "Linked by Manny Manager through the Page “Nina Bakes”" in page.text
    linked = account("Nina Brooks", "nina.bakes")
    assert linked.status == AccountStatus.LINKED
    assert linked.page_id == page_id("Nina Bakes")
    assert linked.page_token


def test_dana_declines_a_permission_then_asking_again_links(sandbox_server):
    browser, page, _query = connect_business(sandbox_server, "Ava Chen", "ava.creates", "Dana Declines")

    assert 'data-problem="permission_declined"' in page.text
    assert "A permission we need was not granted" in page.text
    assert "<code>instagram_manage_insights</code>" in page.text
    assert account("Ava Chen", "ava.creates").status == AccountStatus.UNLINKED
    declined = MetaGrant.select().where(MetaGrant.meta_user_name == "Dana Declines")
    assert declined.count() == 0  # nothing is kept from a login that cannot link

    # "Ask for the permissions again" asks Facebook to show the declined permission again.
    start = follow_link(browser, page, "Ask for the permissions again")
    dialog, query = open_dialog(browser, start)
    assert query["auth_type"] == ["rerequest"]
    confirm = follow_link(browser, dialog, "Dana Declines")
    assert checkboxes(confirm, "grant")["instagram_manage_insights"] is True
    callback = redirected(
        browser, submit(browser, confirm, "Continue as Dana Declines"), "/link/facebook/callback"
    )
    page = land(browser, callback, link_path(sandbox_server, "Ava Chen"))

    assert "Linked: @ava.creates." in page.text
    assert "data-problem" not in page.text
    linked = account("Ava Chen", "ava.creates")
    assert linked.status == AccountStatus.LINKED
    assert linked.linked_by_name == "Dana Declines"
    assert set(REQUIRED_SCOPES) <= set(linked.granted_scopes.split(","))


def test_an_unticked_permission_is_declined_for_any_user(sandbox_server):
    _browser, page, _query = connect_business(
        sandbox_server, "Ava Chen", "ava.travels", "Gabriela Good", untick={"pages_show_list"}
    )

    assert 'data-problem="permission_declined"' in page.text
    assert "<code>pages_show_list</code>" in page.text
    assert account("Ava Chen", "ava.travels").status == AccountStatus.UNLINKED


def test_add_instagram_business_account_links_the_chosen_accounts(sandbox_server):
    browser = requests.Session()
    path = link_path(sandbox_server, "Theo Small")
    opened = browser.get(sandbox_server.base_url + path, timeout=TIMEOUT)
    start = follow_link(browser, opened, "Add Instagram Business account")
    callback, _query = log_in_as(browser, start, "Gabriela Good")

    choose_path = urlsplit(callback.headers["Location"]).path
    assert re.fullmatch(r"/link/choose/\d+", choose_path), choose_path
    choose = redirected(browser, callback, choose_path)
    assert "Logged in to Facebook as Gabriela Good" in choose.text
    offered = checkboxes(choose, "account")
    wanted = {people.instagram_account(name).id for name in ("ava.travels", "tiny.steps")}
    assert set(offered) == wanted | {people.instagram_account("ava.creates").id}
    assert not any(offered.values())  # nothing is chosen for the helper

    page = land(browser, submit(browser, choose, "Link the chosen accounts", tick=wanted), path)

    # Theo's own account links; Ava's, which staff list under her, does not (one owner per account).
    assert "Linked: @tiny.steps. Acme Talent can now read its Insights." in page.text
    assert "<h3>@ava.travels is listed under another creator</h3>" in page.text
    theo = Creator.get(Creator.name == "Theo Small")
    statuses = {a.username: a.status for a in theo.accounts()}
    assert statuses == {"ava.travels": AccountStatus.UNLINKED, "tiny.steps": AccountStatus.LINKED}
    assert account("Ava Chen", "ava.travels").status == AccountStatus.UNLINKED
    assert account("Theo Small", "tiny.steps").page_name == "Tiny Steps"
    # The grant's candidate list, with its Page tokens, is gone once the choice is made.
    assert account("Theo Small", "tiny.steps").grant.candidates is None


def test_a_declined_permission_while_adding_accounts_is_asked_again_before_choosing(sandbox_server):
    browser = requests.Session()
    path = link_path(sandbox_server, "Ava Chen")
    opened = browser.get(sandbox_server.base_url + path, timeout=TIMEOUT)
    start = follow_link(browser, opened, "Add Instagram Business account")
    callback, _query = log_in_as(browser, start, "Dana Declines")
    page = land(browser, callback, path)
    assert 'data-problem="permission_declined"' in page.text
    assert MetaGrant.select().count() == 0

    start = follow_link(browser, page, "Ask for the permissions again")
    assert urlsplit(start.request.url).path == "/link/add"
    dialog, query = open_dialog(browser, start)
    assert query["auth_type"] == ["rerequest"]
    confirm = follow_link(browser, dialog, "Dana Declines")
    answer = submit(browser, confirm, "Continue as Dana Declines")
    callback = redirected(browser, answer, "/link/facebook/callback")
    choose_path = urlsplit(callback.headers["Location"]).path
    assert re.fullmatch(r"/link/choose/\d+", choose_path), choose_path
    choose = redirected(browser, callback, choose_path)
    assert "Logged in to Facebook as Dana Declines" in choose.text
    assert set(checkboxes(choose, "account")) == {
        people.instagram_account(name).id for name in ("ava.creates", "ava.travels")
    }


def test_leo_verifies_leo_sketches_through_instagram_login(sandbox_server):
    browser = requests.Session()
    path = link_path(sandbox_server, "Leo Park")
    opened = browser.get(sandbox_server.base_url + path, timeout=TIMEOUT)
    start = follow_link(browser, opened, "Verify Instagram account @leo.sketches")
    assert start.status_code == 302
    location = start.headers["Location"]
    assert urlsplit(location).path == "/sandbox/instagram/oauth/authorize"
    query = parse_qs(urlsplit(location).query)
    assert query["scope"] == ["instagram_business_basic"]
    assert query["redirect_uri"] == [sandbox_server.base_url + "/link/instagram/callback"]
    dialog = browser.get(location, allow_redirects=False, timeout=TIMEOUT)
    assert "Log in with Instagram" in dialog.text

    answer = submit(browser, dialog, "Allow", tick={"leo.sketches"})
    callback = redirected(browser, answer, "/link/instagram/callback")
    page = land(browser, callback, path)

    assert "Verified: you control @leo.sketches." in page.text
    verified = account("Leo Park", "leo.sketches")
    assert verified.status == AccountStatus.VERIFIED
    assert verified.ig_user_id == people.instagram_account("leo.sketches").id
    assert verified.display_name == "Leo Park"
    assert verified.linked_at is not None
    assert verified.page_token is None and verified.grant is None


def test_a_full_refresh_of_the_demo_creators_reads_their_figures_over_http(sandbox_server, tmp_path):
    from portal.insights import refresh as insights
    from portal.models import AccountMetric, AudienceSnapshot, Media, Story
    from portal.scheduler import jobs

    connect_business(sandbox_server, "Ava Chen", "ava.creates", "Gabriela Good")
    connect_business(sandbox_server, "Theo Small", "tiny.steps", "Gabriela Good")
    connect_business(sandbox_server, "Priya Natarajan", "priya.fit", "Bianca Business")
    connect_business(sandbox_server, "Nina Brooks", "nina.bakes", "Manny Manager")
    sandbox_server.app.config["STORY_ARCHIVE"] = str(tmp_path / "stories")

    summary = jobs.refresh_all(sandbox_server.app)

    assert sorted(summary.refreshed) == ["ava.creates", "nina.bakes", "priya.fit", "tiny.steps"]
    assert not summary.failed and not summary.broken
    # 4 x 39 first calls (the account with its media, their Insights and its stories; 30 days;
    # 8 audience) fill 4 batches of 50; the reels' own metrics and the stories' Insights fill
    # one more: 5 HTTP requests instead of about 220 one at a time.
    assert summary.http_requests == 5
    ava, tiny = account("Ava Chen", "ava.creates"), account("Theo Small", "tiny.steps")
    views = AccountMetric.select().where((AccountMetric.account == ava) & (AccountMetric.metric == "views"))
    assert views.count() == 30 and all(row.value > 0 for row in views)
    assert Media.select().where(Media.account == ava).count() > 0
    reels = Media.select().where((Media.account == ava) & (Media.media_product_type == "REELS"))
    assert reels.count() > 0
    assert all({m.metric for m in reel.metrics} == set(insights.REELS_METRICS) for reel in reels)
    stories = list(Story.select().where(Story.account == ava))
    assert stories and all(
        story.archived_file
        and (tmp_path / "stories") in __import__("pathlib").Path(story.archived_file).parents
        for story in stories
    )
    assert any(story.insights_note for story in stories)  # the newest one had too few viewers
    small = AudienceSnapshot.select().where(AudienceSnapshot.account == tiny)
    assert small.count() == 8 and not any(row.available for row in small)
    assert tiny.followers_count == 42

    again = jobs.refresh_all(sandbox_server.app)
    assert sorted(again.refreshed) == sorted(summary.refreshed)
    assert views.count() == 30  # a second pass upserts, it does not add rows


def test_no_issued_token_is_readable_anywhere_after_a_full_journey(
    sandbox_server, tmp_path, monkeypatch, caplog
):
    """Tokens the sandbox issued must not appear in the database, cookies, pages or logs."""
    import logging

    from portal.cli import DEMO_EMAIL, DEMO_PASSWORD
    from portal.scheduler import jobs

    issued = []
    real_issue = tokens.issue

    def remember(kind, payload):
        token = real_issue(kind, payload)
        issued.append(token)
        return token

    monkeypatch.setattr(tokens, "issue", remember)
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "authlib", "werkzeug", "portal"):
        caplog.set_level(logging.DEBUG, logger=name)

    browser, landing, _ = connect_business(sandbox_server, "Ava Chen", "ava.creates", "Gabriela Good")
    ig_browser = requests.Session()
    path = link_path(sandbox_server, "Leo Park")
    opened = ig_browser.get(sandbox_server.base_url + path, timeout=TIMEOUT)
    start = follow_link(ig_browser, opened, "Verify Instagram account @leo.sketches")
    dialog = ig_browser.get(start.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    verified = land(
        ig_browser,
        redirected(
            ig_browser, submit(ig_browser, dialog, "Allow", tick={"leo.sketches"}), "/link/instagram/callback"
        ),
        path,
    )
    sandbox_server.app.config["STORY_ARCHIVE"] = str(tmp_path / "stories")
    jobs.refresh_all(sandbox_server.app)

    staff = sandbox_server.app.test_client()
    login = staff.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    staff.post("/login", data={"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrf_token": token})
    ava = account("Ava Chen", "ava.creates")
    pages = [landing.text, verified.text]
    for url in (
        f"/creators/{ava.creator_id}/accounts",
        f"/creators/{ava.creator_id}/accounts/{ava.id}/metrics",
        f"/creators/{ava.creator_id}/accounts/{ava.id}/metrics.csv",
        "/creators",
    ):
        pages.append(staff.get(url).get_data(as_text=True))

    db = database.obj
    dump = "\n".join(
        " ".join(map(str, row))
        for table in db.get_tables()
        for row in db.execute_sql(f'SELECT * FROM "{table}"')
    )
    serializer = sandbox_server.app.session_interface.get_signing_serializer(sandbox_server.app)
    cookies = [c.value for jar in (browser.cookies, ig_browser.cookies) for c in jar]
    sessions = [str(serializer.loads(value)) for value in cookies if value.count(".") >= 2]
    places = {
        "database": dump,
        "cookies": " ".join(cookies + sessions),
        "pages": "\n".join(pages),
        "logs": caplog.text,
    }

    secrets = [t for t in issued if len(t) > 20]
    assert len(secrets) >= 5  # codes, short and long user tokens, Page tokens, the Instagram token
    assert ava.page_token in secrets and ava.grant.user_token in secrets  # stored, but only encrypted
    for where, text in places.items():
        leaked = [t[:12] + "…" for t in secrets if t in text]
        assert leaked == [], f"tokens readable in the {where}"


def test_after_a_refresh_over_http_the_kept_recent_figures_equal_the_figures_added_up(sandbox_server):
    """The overview reads sums kept by the refresh: they must be what adding up the figures gives."""
    from portal.campaigns import recent
    from portal.campaigns.roster import COLUMN_KEYS, Roster, Sort, Span
    from portal.db import utcnow
    from portal.graph.days import meta_day
    from portal.models import RecentSpan
    from portal.scheduler import jobs

    connect_business(sandbox_server, "Ava Chen", "ava.creates", "Gabriela Good")
    connect_business(sandbox_server, "Nina Brooks", "nina.bakes", "Manny Manager")
    with sandbox_server.app.app_context():
        recent.rebuild(meta_day(utcnow()))  # before any figure: the scheduler's first round
    jobs.refresh_all(sandbox_server.app)

    with sandbox_server.app.app_context():
        now = utcnow()
        span = Span.recent(meta_day(now))
        kept = Roster(span, now)
        assert kept.rolled_up
        RecentSpan.delete().execute()  # without kept sums, the roster adds the stored figures up
        fresh = Roster(span, now)
        assert not fresh.rolled_up

        def shown(roster, key):  # PostgreSQL adds up in numeric: compare as the page would
            return [
                (r.username, {k: None if v is None else round(float(v), 6) for k, v in r.figures.items()})
                for r in roster.rows(Sort(key, True))
            ]

        for key in COLUMN_KEYS:
            assert shown(kept, key) == shown(fresh, key)
        figures = {r.username: r.figures for r in kept.rows(Sort())}
        assert figures["ava.creates"]["views"] > 0 and figures["nina.bakes"]["reach"] > 0
        assert figures["ava.creates"]["reels_views"] > 0 and figures["ava.creates"]["stories"] > 0
