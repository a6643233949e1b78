"""The sandbox's fictional people: Facebook users, Pages, Business Portfolios, Instagram accounts.

Each Facebook user stands for one case the Link Accounts Page must explain (DESIGN.md §2.7).
Ids follow Meta's shapes: app-scoped user ids "1000000000000NN", Instagram professional
account ids "178414000000000NN". Everything here is made up.
"""

from dataclasses import dataclass, field

ADMIN = ("MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE")
ANALYST = ("ANALYZE",)
MODERATOR = ("MODERATE", "MESSAGING")
DAY = 24 * 3600


@dataclass(frozen=True)
class InstagramAccount:
    """An Instagram account; only BUSINESS and MEDIA_CREATOR accounts work with Meta's APIs."""

    number: int
    username: str
    name: str
    account_type: str  # BUSINESS | MEDIA_CREATOR | PERSONAL
    followers_count: int
    follows_count: int
    media_count: int
    biography: str = ""
    story_hours: int = 0  # a new story every this many hours (0: never posts stories)

    @property
    def id(self):
        return f"178414{self.number:011d}"

    @property
    def app_scoped_id(self):
        # Instagram Login answers /me with an app-scoped "id" besides the account's user_id.
        return f"26{self.number:014d}"

    @property
    def professional(self):
        return self.account_type in ("BUSINESS", "MEDIA_CREATOR")


@dataclass(frozen=True)
class Page:
    """A Facebook Page, perhaps linked to an Instagram professional account."""

    number: int
    name: str
    category: str = "Personal blog"
    instagram: str | None = None  # username of the linked Instagram professional account

    @property
    def id(self):
        return f"10900000000{self.number:04d}"


@dataclass(frozen=True)
class Business:
    """A Business Portfolio (Business Manager) and the Pages it owns or accesses for clients."""

    number: int
    name: str
    owned_pages: tuple = ()
    client_pages: tuple = ()

    @property
    def id(self):
        return f"11100000000{self.number:04d}"


@dataclass(frozen=True)
class FacebookUser:
    """A fictional Facebook user, with the Page roles and portfolios the dialog offers."""

    number: int
    name: str
    summary: str  # one line in the dialog: what this user demonstrates
    roles: dict = field(default_factory=dict)  # page id -> tasks
    businesses: tuple = ()  # business ids the user administers
    businesses_ticked: bool = True  # the dialog's default for the Business checkboxes
    declines: tuple = ()  # scopes unticked by default in the dialog
    failing: bool = False  # /me/accounts and /me/businesses answer a transient error 2
    token_seconds: int | None = None  # a shorter long-lived token than Meta's 60 days
    data_access_seconds: int | None = None  # a shorter data access window than 90 days

    @property
    def id(self):
        return f"1000000000000{self.number:02d}"

    @property
    def initials(self):
        return "".join(part[0] for part in self.name.split()[:2]).upper()

    def available_pages(self):
        """Return the Pages the dialog offers: Page roles first, then the portfolios' Pages."""
        ids = list(self.roles)
        for business_id in self.businesses:
            business = BUSINESSES[business_id]
            ids += [p for p in business.owned_pages + business.client_pages if p not in ids]
        return [PAGES[page_id] for page_id in ids]

    def available_businesses(self):
        """Return the Business Portfolios the dialog offers."""
        return [BUSINESSES[business_id] for business_id in self.businesses]


INSTAGRAM_ACCOUNTS = {
    account.username: account
    for account in (
        # number, username, name, type, followers, follows, media, biography
        InstagramAccount(1, "ava.creates", "Ava Chen", "BUSINESS", 48200, 611, 734, "Colour, daily.", 8),
        InstagramAccount(
            2, "ava.travels", "Ava Chen · Travels", "MEDIA_CREATOR", 12900, 402, 215, "Slow travel."
        ),
        InstagramAccount(3, "marco_cooks", "Marco Rossi", "BUSINESS", 8100, 320, 388, "Pasta, mostly."),
        InstagramAccount(
            4, "priya.fit", "Priya Natarajan", "BUSINESS", 220000, 150, 1290, "20-minute workouts.", 9
        ),
        InstagramAccount(5, "nina.bakes", "Nina Brooks", "MEDIA_CREATOR", 3400, 280, 96, "Sourdough.", 11),
        InstagramAccount(6, "tiny.steps", "Theo Small", "MEDIA_CREATOR", 42, 88, 12, "Just started."),
        InstagramAccount(7, "leo.sketches", "Leo Park", "MEDIA_CREATOR", 950, 230, 64, "Ink, every morning."),
        InstagramAccount(8, "sam.okafor.art", "Sam Okafor", "PERSONAL", 2300, 510, 143, "Paintings."),
        InstagramAccount(20, "client.page.020", "Client Brand 20", "BUSINESS", 15400, 90, 310),
        InstagramAccount(40, "client.page.040", "Client Brand 40", "BUSINESS", 7300, 75, 120),
        InstagramAccount(60, "client.page.060", "Client Brand 60", "MEDIA_CREATOR", 1250, 40, 55),
    )
}

_NAMED_PAGES = (
    Page(1, "Ava Chen Creates", "Artist", "ava.creates"),
    Page(2, "Ava Travels", "Travel company", "ava.travels"),
    Page(3, "Marco Cooks", "Chef", "marco_cooks"),
    Page(4, "Priya Fit", "Fitness trainer", "priya.fit"),
    Page(5, "Tiny Steps", "Personal blog", "tiny.steps"),
    Page(6, "Paula's Bakery", "Bakery", None),
)
NINA_PAGE_NUMBER = 1112  # Manny's page 112: late in his list, so only paging reaches it
MANNY_INSTAGRAM = {1020: "client.page.020", 1040: "client.page.040", 1060: "client.page.060"}


def _manny_pages():
    for n in range(1, 121):
        number = 1000 + n
        if number == NINA_PAGE_NUMBER:
            yield Page(number, "Nina Bakes", "Bakery", "nina.bakes")
        else:
            yield Page(number, f"Client Page {n:03d}", "Brand", MANNY_INSTAGRAM.get(number))


PAGES = {page.id: page for page in (*_NAMED_PAGES, *_manny_pages())}
MANNY_PAGE_IDS = tuple(page.id for page in PAGES.values() if page.number > 1000)


def _page(name):
    return next(page.id for page in PAGES.values() if page.name == name)


BUSINESSES = {
    business.id: business
    for business in (Business(1, "Natarajan Media Ltd", owned_pages=(_page("Priya Fit"),)),)
}
NATARAJAN = next(iter(BUSINESSES))

FACEBOOK_USERS = {
    user.id: user
    for user in (
        FacebookUser(
            1,
            "Gabriela Good",
            "Admin of Ava Chen's two Pages and of Tiny Steps — links successfully.",
            roles={_page("Ava Chen Creates"): ADMIN, _page("Ava Travels"): ADMIN, _page("Tiny Steps"): ADMIN},
        ),
        FacebookUser(
            2,
            "Andre Analyst",
            "Analyst (Insights only) on Marco Cooks — links successfully: Analyst is enough.",
            roles={_page("Marco Cooks"): ANALYST},
        ),
        FacebookUser(
            3,
            "Morgan Moderator",
            "Moderates comments and messages on Marco Cooks — role too low to read Insights.",
            roles={_page("Marco Cooks"): MODERATOR},
        ),
        FacebookUser(
            4,
            "Paula Pageonly",
            "Admin of Paula's Bakery, a Page with no Instagram account — nothing to link.",
            roles={_page("Paula's Bakery"): ADMIN},
        ),
        FacebookUser(
            5,
            "Bianca Business",
            "No Page role; admin of the portfolio that owns Priya Fit — links through the portfolio.",
            businesses=(NATARAJAN,),
        ),
        FacebookUser(
            6,
            "Portia Portfolio",
            "Admin of the same portfolio, but leaves it unshared by default — the Page sits in a "
            "Business Portfolio she did not share.",
            businesses=(NATARAJAN,),
            businesses_ticked=False,
        ),
        FacebookUser(
            7,
            "Dana Declines",
            "Admin of Ava Chen's two Pages, but declines Instagram Insights by default — a permission "
            "is declined (asking again ticks it).",
            roles={_page("Ava Chen Creates"): ADMIN, _page("Ava Travels"): ADMIN},
            declines=("instagram_manage_insights",),
        ),
        FacebookUser(
            8,
            "Erin Error",
            "Admin of Ava Chen Creates, but Facebook answers every Page list with a temporary error.",
            roles={_page("Ava Chen Creates"): ADMIN},
            failing=True,
        ),
        FacebookUser(
            9,
            "Manny Manager",
            "Admin of 120 client Pages; Nina Bakes is number 112 — the Page list takes five pages.",
            roles={page_id: ADMIN for page_id in MANNY_PAGE_IDS},
        ),
        FacebookUser(
            12,
            "Nora Noads",
            "Admin of the portfolio that owns Priya Fit, but declines ads_read by default — Meta "
            "needs it to read an account through a portfolio (asking again ticks it).",
            businesses=(NATARAJAN,),
            declines=("ads_read",),
        ),
        FacebookUser(
            10,
            "Eve Expiring",
            "Admin of Tiny Steps; her token expires in 3 days and data access in 5 — links, then "
            "needs renewing soon.",
            roles={_page("Tiny Steps"): ADMIN},
            token_seconds=3 * DAY,
            data_access_seconds=5 * DAY,
        ),
    )
}


def facebook_user(user_id):
    """Return the fictional Facebook user with this id, or None."""
    return FACEBOOK_USERS.get(str(user_id or ""))


def page(page_id):
    """Return the Page with this id, or None."""
    return PAGES.get(str(page_id or ""))


def business(business_id):
    """Return the Business Portfolio with this id, or None."""
    return BUSINESSES.get(str(business_id or ""))


def instagram_account(username):
    """Return the Instagram account with this username, or None."""
    return INSTAGRAM_ACCOUNTS.get(username or "")


def instagram_account_by_id(ig_user_id):
    """Return the Instagram account with this professional account id, or None."""
    return _by_id.get(str(ig_user_id or ""))


def instagram_account_by_number(number):
    """Return the Instagram account with this number (media ids carry it), or None."""
    return _by_number.get(number)


def pages_of_instagram(username):
    """Return the ids of the Pages linked to this Instagram account."""
    return _pages_of.get(username, [])


def instagram_of_page(page_id):
    """Return the Instagram professional account linked to a Page, or None."""
    found = page(page_id)
    return instagram_account(found.instagram) if found and found.instagram else None


def business_of_page(page_id):
    """Return the ids of the portfolios that own the Page or access it for a client."""
    return [b.id for b in BUSINESSES.values() if page_id in b.owned_pages + b.client_pages]


def instagram_login_accounts():
    """Return the accounts offered by the Instagram Login dialog, professional ones first."""
    named = [a for a in INSTAGRAM_ACCOUNTS.values() if not a.username.startswith("client.")]
    return sorted(named, key=lambda a: (not a.professional, a.number))


# Lookups by id: the bench agency adds thousands of accounts, and every Graph call asks.
_by_id, _by_number, _pages_of = {}, {}, {}


def _index():
    for index in (_by_id, _by_number, _pages_of):
        index.clear()
    for account in INSTAGRAM_ACCOUNTS.values():
        _by_id[account.id] = account
        _by_number[account.number] = account
    for page_ in PAGES.values():
        if page_.instagram:
            _pages_of.setdefault(page_.instagram, []).append(page_.id)


_index()

BENCH_USER_NUMBER = 11
BENCH_FIRST = 2000  # above the demo's numbers (Manny's Pages end at 1120)
BENCH_MAX = 999_999 - BENCH_FIRST  # media ids hold an account number in at most 6 digits (media.py)


def bench_username(index):
    """Return the username of the bench agency's account number index (1-based)."""
    return f"bench.{index:04d}"


def add_bench_agency(count):
    """Add "Bench Agency", Admin of `count` Pages each with its own Instagram business account.

    Only for benchmarks (SANDBOX_BENCH_ACCOUNTS): the demo's people stay as they are otherwise.
    """
    if not 0 < count <= BENCH_MAX:
        raise ValueError(f"The bench agency holds 1 to {BENCH_MAX} accounts, not {count}.")
    roles = {}
    for index in range(1, count + 1):
        number = BENCH_FIRST + index
        username = bench_username(index)
        followers = 500 + (index * 7919) % 200_000
        INSTAGRAM_ACCOUNTS[username] = InstagramAccount(
            number, username, f"Bench Creator {index}", "BUSINESS", followers, 300, 400, story_hours=12
        )
        bench_page = Page(number, f"Bench Page {index:04d}", "Brand", username)
        PAGES[bench_page.id] = bench_page
        roles[bench_page.id] = ADMIN
    user = FacebookUser(BENCH_USER_NUMBER, "Bench Agency", f"Admin of {count} bench Pages.", roles=roles)
    FACEBOOK_USERS[user.id] = user
    _index()
    return user


def bench_agency():
    """Return the bench agency's Facebook user, or None when no bench runs."""
    return next((u for u in FACEBOOK_USERS.values() if u.number == BENCH_USER_NUMBER), None)
