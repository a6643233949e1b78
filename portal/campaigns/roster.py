"""The roster table: every creator's accounts with their figures over a span of Meta days. No Flask.

The campaign page and the overview show the same columns. Each figure is added up in the database,
one subquery per table, restricted to the accounts asked for, and joined to the accounts: a page of
rows is one query and its count and totals another, whatever the number of creators. Sorting by any
column happens in that query too, so a sorted page is right across pages, not just within one.

Nothing is invented: a figure Instagram did not give stays None, and each row says why it is empty.
"""

import datetime
import decimal
from dataclasses import dataclass, field

from peewee import JOIN, SQL, Case, Entity, Field, fn

from portal.crypto import cipher
from portal.graph.days import day_end, day_start
from portal.models import (
    AccountMetric,
    AccountStatus,
    CampaignCreator,
    Creator,
    Media,
    MediaMetric,
    MetaGrant,
    ProfileSnapshot,
    RecentFigures,
    RecentSpan,
    ReportVersion,
    SocialAccount,
    Story,
)
from portal.numbers import format_total
from portal.paging import Page
from portal.prepared import prepared
from portal.spreadsheet import csv_text

DEFAULT_DAYS = 30
EXPIRING_DAYS = 14  # "data access ending soon": Meta ends it 90 days after the person last used the app


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    numeric: bool = True
    note: str = ""  # how it is counted, said under the table


COLUMNS = (
    Column("creator", "Creator", numeric=False),
    Column("account", "Account", numeric=False),
    Column("status", "Status", numeric=False),
    Column("followers", "Followers", note="the last count read within the dates"),
    Column(
        "followers_change", "Change", note="followers at the last reading minus the first, within the dates"
    ),
    Column("views", "Views", note="daily views added up"),
    Column("reach", "Reach", note="daily reach added up (one person reached on two days counts twice)"),
    Column("accounts_engaged", "Accounts engaged", note="daily accounts engaged added up"),
    Column("interactions", "Interactions", note="likes, comments, saves, shares and replies"),
    Column("engagement_rate", "Engagement rate", note="interactions ÷ reach × 100"),
    Column("reels_views", "Reels views", note="views of the reels posted within the dates"),
    Column("reels_watch", "Avg. reel watch time", note="the mean of those reels' average watch times"),
    Column("stories", "Stories captured", note="stories posted within the dates and archived by the portal"),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
FIGURE_KEYS = COLUMN_KEYS[3:]

# Who is on the list, by the state of their link.
FILTERS = {
    "all": "Everyone",
    "linked": "Linked",
    "not_linked": "Not linked yet",
    "broken": "Link broken",
    "expiring": f"Data access ends within {EXPIRING_DAYS} days",
}
NOT_LINKED_STATUSES = (AccountStatus.UNLINKED, AccountStatus.VERIFIED, AccountStatus.REVOKED)


@dataclass(frozen=True)
class Span:
    """The Meta days (Pacific dates) the figures cover, both ends included."""

    first: datetime.date
    last: datetime.date

    @classmethod
    def of_campaign(cls, campaign, today):
        """The campaign's dates; an open end is today, or DEFAULT_DAYS back from its end."""
        last = min(campaign.ends_on or today, today)
        first = campaign.starts_on or last - datetime.timedelta(days=DEFAULT_DAYS - 1)
        return cls(min(first, last), last)

    @classmethod
    def recent(cls, today, days=DEFAULT_DAYS):
        return cls(today - datetime.timedelta(days=days - 1), today)

    @property
    def days(self):
        return (self.last - self.first).days + 1

    def bounds(self):
        """The values computed_figures reads the span by: its first and last days, and their moments."""
        return {
            "first_day": self.first,
            "last_day": self.last,
            "starts_at": day_start(self.first),
            "ends_at": day_end(self.last),
        }


@dataclass
class Sort:
    """A column and a direction, read from ?sort= and ?order=; anything else is the default."""

    key: str = "creator"
    descending: bool = False

    @classmethod
    def from_args(cls, sort, order):
        key = sort if sort in COLUMN_KEYS else "creator"
        return cls(key, order == "desc")

    def flipped_for(self, key):
        """The sort a column heading's link asks for: this column, the other way if it is the current one."""
        if key == self.key:
            return Sort(key, not self.descending)
        return Sort(key, COLUMNS[COLUMN_KEYS.index(key)].numeric)  # figures: largest first


@dataclass
class Row:
    """One account of one creator (or a creator with no account yet) and its figures."""

    creator_id: int
    creator_name: str
    account_id: int | None
    username: str | None
    status: str | None
    data_access_expires_at: datetime.datetime | None
    sealed_link_token: str | None  # the creator's link as stored, encrypted: see link_token
    link_expires_at: datetime.datetime | None
    figures: dict
    ending_soon: bool = False  # linked, with Meta's data access ending within EXPIRING_DAYS of the page's now
    # The links the rows of one page opened, by their stored form: a creator's accounts share theirs.
    opened: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def link_token(self):
        """The creator's link, to send again from a "not linked yet" row; None when no key opens it.

        Opened only when asked, once a page: each took 25 µs, and a creator's three handles are three
        rows with the same link (the overview's first page opened 33 for 17 creators).
        """
        sealed = self.sealed_link_token
        if sealed is None:
            return None
        if sealed not in self.opened:
            self.opened[sealed] = cipher.decrypt(sealed)
        return self.opened[sealed]

    @property
    def shown_figures(self):
        """The figure columns in order, formatted as the roster shows them, or None where there is none.

        In one pass, and read as an attribute: looking each cell's column and value up in Jinja and
        calling a filter for it cost a third of the roster table's rendering (500 cells a page).
        """
        figures = self.figures
        return [None if figures[key] is None else format_total(key, figures[key]) for key in FIGURE_KEYS]

    def link_expired(self, now):
        """Tell whether the creator's link was issued for a time that is over: not one to send again."""
        return self.link_expires_at is not None and self.link_expires_at <= now

    @property
    def status_label(self):
        if self.account_id is None:
            return "No Instagram handle yet"
        if self.status == AccountStatus.UNLINKED:
            return "Not linked yet"
        return AccountStatus.LABELS.get(self.status, self.status)

    @property
    def why_empty(self):
        """Why this row's figures are empty, in plain words, or None when it has some."""
        if self.account_id is None:
            return "No Instagram handle yet: add one on the creator's profile."
        if self.status == AccountStatus.UNLINKED:
            return "Not linked yet: send the creator their link."
        if self.status == AccountStatus.VERIFIED:
            return "Verified only: Insights come once the account is linked with Connect Business."
        if any(value is not None for value in self.figures.values()):
            return None
        if self.status == AccountStatus.REVOKED:
            return "The link was removed before these dates."
        return "No figures read for these dates yet."


def expiring_before(now):
    return now + datetime.timedelta(days=EXPIRING_DAYS)


def _accounts_of(creators):
    return SocialAccount.select(SocialAccount.id).where(SocialAccount.creator.in_(creators))


def _daily_sums(days, accounts):
    m = AccountMetric

    def total(name):
        return fn.SUM(Case(None, [(m.metric == name, m.value)], None))

    return (
        m.select(
            m.account.alias("account_id"),
            total("views").alias("views"),
            total("reach").alias("reach"),
            total("accounts_engaged").alias("accounts_engaged"),
            total("total_interactions").alias("interactions"),
        )
        .where(
            (m.period == "day")
            & (m.end_time > days["starts_at"])
            & (m.end_time <= days["ends_at"])
            & m.account.in_(accounts)
        )
        .group_by(m.account)
        .alias("daily")
    )


def _follower_readings(days, accounts):
    p = ProfileSnapshot
    return (
        p.select(
            p.account.alias("account_id"),
            fn.MIN(p.taken_on).alias("first_day"),
            fn.MAX(p.taken_on).alias("last_day"),
        )
        .where(
            p.taken_on.between(days["first_day"], days["last_day"])
            & p.followers_count.is_null(False)
            & p.account.in_(accounts)
        )
        .group_by(p.account)
        .alias("readings")
    )


def _reels(days, accounts):
    metric = MediaMetric

    def of(name, aggregate):
        return aggregate(Case(None, [(metric.metric == name, metric.value)], None))

    return (
        metric.select(
            Media.account.alias("account_id"),
            of("views", fn.SUM).alias("reels_views"),
            of("ig_reels_avg_watch_time", fn.AVG).alias("reels_watch"),
        )
        .join(Media, on=(metric.media == Media.id))
        .where(
            (Media.media_product_type == "REELS")
            & (Media.posted_at >= days["starts_at"])
            & (Media.posted_at < days["ends_at"])
            & Media.account.in_(accounts)
        )
        .group_by(Media.account)
        .alias("reels")
    )


def _stories(days, accounts):
    return (
        Story.select(Story.account.alias("account_id"), fn.COUNT(Story.id).alias("stories"))
        .where(
            (Story.posted_at >= days["starts_at"])
            & (Story.posted_at < days["ends_at"])
            & Story.account.in_(accounts)
        )
        .group_by(Story.account)
        .alias("captured")
    )


def computed_figures(days, accounts):
    """The figure columns added up over days (Span.bounds()) from these accounts' (a query of ids or a list).

    Return {column key: expression} and a function that adds the joins they need to a query that
    has SocialAccount in it. RecentFigures is filled with these very expressions.
    """
    daily = _daily_sums(days, accounts)
    readings = _follower_readings(days, accounts)
    reels = _reels(days, accounts)
    stories = _stories(days, accounts)
    first_reading, last_reading = (
        ProfileSnapshot.alias("first_reading"),
        ProfileSnapshot.alias("last_reading"),
    )
    changed = readings.c.first_day < readings.c.last_day  # one reading is no change to speak of
    figures = {
        "followers": last_reading.followers_count,
        "followers_change": Case(
            None, [(changed, last_reading.followers_count - first_reading.followers_count)], None
        ),
        "views": daily.c.views,
        "reach": daily.c.reach,
        "accounts_engaged": daily.c.accounts_engaged,
        "interactions": daily.c.interactions,
        "engagement_rate": _rate(daily.c.interactions, daily.c.reach),
        "reels_views": reels.c.reels_views,
        "reels_watch": reels.c.reels_watch,
        "stories": stories.c.stories,
    }

    def join(query):
        return (
            query.join(daily, JOIN.LEFT_OUTER, on=(daily.c.account_id == SocialAccount.id))
            .join(readings, JOIN.LEFT_OUTER, on=(readings.c.account_id == SocialAccount.id))
            .join(
                last_reading,
                JOIN.LEFT_OUTER,
                on=(last_reading.account == SocialAccount.id)
                & (last_reading.taken_on == readings.c.last_day),
            )
            .join(
                first_reading,
                JOIN.LEFT_OUTER,
                on=(first_reading.account == SocialAccount.id)
                & (first_reading.taken_on == readings.c.first_day),
            )
            .join(reels, JOIN.LEFT_OUTER, on=(reels.c.account_id == SocialAccount.id))
            .join(stories, JOIN.LEFT_OUTER, on=(stories.c.account_id == SocialAccount.id))
        )

    return figures, join


def rolled_up_figures():
    """The same figure columns read from RecentFigures (portal/campaigns/recent.py), and their join."""
    recent = RecentFigures
    figures = {key: getattr(recent, key) for key in COLUMN_KEYS[3:] if key != "engagement_rate"}
    figures["engagement_rate"] = _rate(recent.interactions, recent.reach)

    def join(query):
        return query.join(recent, JOIN.LEFT_OUTER, on=(recent.account == SocialAccount.id))

    return figures, join


def rolled_up_span():
    """The Span RecentFigures covers, or None before they were first built."""
    row = _latest_span.first()
    return Span(*row) if row else None


@prepared
def _latest_span():
    # Asked on every roster view: its SQL is built once (portal/prepared.py).
    return (
        RecentSpan.select(RecentSpan.first_day, RecentSpan.last_day)
        .order_by(RecentSpan.id.desc())
        .limit(1)
        .tuples()
    )


def _rate(interactions, reach):
    # 100.0 on the left: on a field's right, peewee would convert it as the field's own value (an
    # integer for RecentFigures), and the database would divide in integers.
    return 100.0 * interactions / fn.NULLIF(reach, 0)


@dataclass(frozen=True)
class _Shape:
    """What decides the roster's SQL, apart from its values: each shape's SQL is built once."""

    status: str
    campaign: bool  # a campaign's creators
    creator: bool  # one creator's
    for_clients: bool
    rolled_up: bool  # figures read from RecentFigures, or added up over the span


class Roster:
    """The roster of some creators (all, a campaign's or one) over a span, filtered; pages and totals.

    for_clients keeps out the creators staff marked internal only: what a client's report shows.
    Its queries run prepared (portal/prepared.py): building their SQL cost more than a millisecond a
    page, as much as running them. _Queries builds them from the shape; values fill them here.
    """

    def __init__(self, span, now, campaign=None, status="all", creator=None, for_clients=False, kept=None):
        self.span, self.now = span, now
        self.kept = kept  # a Kept (portal/kept.py), or None to add up every time
        self.status = status if status in FILTERS else "all"
        self.rolled_up = span == rolled_up_span()
        self.shape = _Shape(
            self.status, campaign is not None, creator is not None, for_clients, self.rolled_up
        )
        values = {"campaign": campaign, "creator": creator}
        values = {name: value for name, value in values.items() if value is not None}
        if self.status == "expiring":
            values["expiring_before"] = expiring_before(now)
        if not self.rolled_up:
            values.update(span.bounds())
        self.values = values

    @property
    def wanted(self):
        """Which creators the roster shows, as a condition on Creator's own columns."""
        return _wanted(self.shape, self.values)[0]

    def rows(self, sort):
        """Every row, sorted (the CSV): one query."""
        rows = _rows(self.shape, sort.key, sort.descending, "all", **self.values)
        opened = {}
        soon = expiring_before(self.now)
        return [_row(values, opened, soon) for values in rows]

    def page(self, sort, number, per_page):
        """One Page of rows, its total count and .totals: two queries."""
        split = self.rolled_up and sort.key in FIGURE_KEYS
        summary = self._summary(counting=sort.key if split else None)
        offset = (number - 1) * per_page
        if split:
            part, limits = _split(summary.pop("with_figure"), offset, per_page)
        else:
            part, limits = "page", {"limit": per_page, "offset": offset}
        opened, soon = {}, expiring_before(self.now)  # see Row.opened
        rows = [
            _row(values, opened, soon)
            for values in _rows(self.shape, sort.key, sort.descending, part, **self.values, **limits)
        ]
        page = Page(items=rows, number=number, per_page=per_page, total=summary.pop("rows"))
        page.totals = summary
        return page

    def totals(self):
        """The figures of every row added up (reel watch time averaged): one query."""
        totals = self._summary()
        totals.pop("rows")
        return totals

    def _summary(self, counting=None):
        """Count and add up the rows (see _Queries.summary): one query, or the kept answer and one read."""
        if self.kept is None:
            return self._added_up(counting)
        return self.kept.answer(self._kept_key(counting), lambda: self._added_up(counting))

    def _kept_key(self, counting):
        """The key this roster's totals are kept under, or None where they may not be kept.

        Not for "expiring": its cut-off moves with the clock, which moves no version.
        """
        if self.status == "expiring":
            return None
        version = ReportVersion.current()  # first: see portal/kept.py
        if version is None:
            return None
        values = tuple(sorted((name, getattr(value, "id", value)) for name, value in self.values.items()))
        return ("roster totals", self.shape, counting, values, version)

    def _added_up(self, counting):
        totals = _summary(self.shape, counting, **self.values)[0]  # one row, always (aggregates)
        bare = (totals.pop("creators", None) or 0) - (totals.pop("with_accounts", None) or 0)
        totals["rows"] = totals.pop("accounts") + bare
        interactions, reach = totals.get("interactions"), totals.get("reach")
        # PostgreSQL adds up as numeric (Decimal), SQLite as integers: a rate is a float either way.
        rate = float(interactions) * 100 / float(reach) if interactions is not None and reach else None
        totals["engagement_rate"] = rate
        return totals


def _split(with_figure, offset, per_page):
    """Which part of a page sorted by a kept figure to read, and its limits, from how many have it.

    The rows with the figure come first in either direction (empty ones last): see _Queries.split_part.
    """
    taken = max(0, min(per_page, with_figure - offset))
    limits = {
        "figured_limit": taken,
        "figured_offset": offset,
        "rest_limit": per_page - taken,
        "rest_offset": max(0, offset - with_figure),
    }
    if taken == per_page:
        return "figured", limits
    return ("both" if taken else "rest"), limits


@prepared
def _rows(shape, sort_key, descending, part, **values):
    # The rows of every page of each shape, sort and part (see Roster.page): built once each.
    queries = _Queries(shape, values)
    if part == "all":
        return queries.ordered(sort_key, descending).dicts()
    if part == "page":
        return queries.ordered(sort_key, descending).limit(values["limit"]).offset(values["offset"]).dicts()
    return queries.split_part(sort_key, descending, part, values).dicts()


@prepared
def _summary(shape, counting, **values):
    # A page's count and totals, for each shape: built once each.
    return _Queries(shape, values).summary(counting).dicts()


def _wanted(shape, values):
    """Which creators, as a condition on Creator's own columns; and the campaign's, or None."""
    # An IN list in a join's ON clause made SQLite probe every account id for every creator (40 s
    # for 10,000 creators): hence a condition on the creator.
    wanted, members = True, None
    if shape.campaign:
        members = CampaignCreator.select(CampaignCreator.creator).where(
            CampaignCreator.campaign == values["campaign"]
        )
        wanted = Creator.id.in_(members)
    if shape.creator:
        wanted &= Creator.id == values["creator"]
    if shape.for_clients:
        wanted &= Creator.internal_only == False  # noqa: E712  (peewee builds SQL from ==)
    return wanted, members


class _Queries:
    """The roster's queries of one shape, with the values (Slots, see portal/prepared.py) they use."""

    def __init__(self, shape, values):
        self.shape, self.values = shape, values
        self.wanted, members = _wanted(shape, values)
        self.creators = Creator.select(Creator.id).where(self.wanted)
        if shape.campaign and not shape.creator and not shape.for_clients:
            self.creators = members  # the same ids, each a creator's (a foreign key): one query less deep
        if shape.rolled_up:
            figures, join = rolled_up_figures()
        else:
            figures, join = computed_figures(values, _accounts_of(self.creators))
        self.figures, self.join = figures, join
        self.expressions = {
            "creator": fn.LOWER(Creator.name),
            "account": SocialAccount.username,
            "status": SocialAccount.status,
            **figures,
        }
        account = (SocialAccount.creator == Creator.id) & self._account_filter()
        joined = (
            Creator.select()
            .join(SocialAccount, JOIN.LEFT_OUTER, on=account)
            .join(MetaGrant, JOIN.LEFT_OUTER, on=(SocialAccount.grant == MetaGrant.id))
        )
        self.joined = join(joined).where(self.wanted & self._row_filter())

    def _account_filter(self):
        """Which of a creator's accounts get a row, as a condition on the account's own columns."""
        status = self.shape.status
        if status == "linked":
            return SocialAccount.status == AccountStatus.LINKED
        if status == "not_linked":
            return SocialAccount.status.in_(NOT_LINKED_STATUSES)
        if status == "broken":
            return SocialAccount.status == AccountStatus.LINK_BROKEN
        if status == "expiring":
            soon = MetaGrant.select(MetaGrant.id).where(
                MetaGrant.data_access_expires_at <= self.values["expiring_before"]
            )
            return (SocialAccount.status == AccountStatus.LINKED) & SocialAccount.grant.in_(soon)
        return True

    def _row_filter(self):
        """Which rows show: a creator with no account at all shows under "all" and "not linked yet"."""
        if self.shape.status == "all":
            return True
        if self.shape.status == "not_linked":
            no_account = Creator.id.not_in(SocialAccount.select(SocialAccount.creator))
            return SocialAccount.id.is_null(False) | no_account
        return SocialAccount.id.is_null(False)

    def _named_columns(self):
        """(name, expression) of each column a row is read from."""
        return [
            ("creator_id", Creator.id),
            ("creator_name", Creator.name),
            ("account_id", SocialAccount.id),
            ("username", SocialAccount.username),
            ("status", SocialAccount.status),
            ("data_access_expires_at", MetaGrant.data_access_expires_at),
            ("sealed_link_token", Creator.link_token),  # as stored: Row opens it only when shown
            ("link_expires_at", Creator.link_expires_at),
            *self.figures.items(),
        ]

    def _columns(self):
        return [
            expression.alias(name).coerce(name != "sealed_link_token")
            for name, expression in self._named_columns()
        ]

    def _read_back(self):
        """The columns of _columns read by name from a subquery, converted as peewee converts those."""
        columns = []
        for name, expression in self._named_columns():
            column = Entity(name)
            if isinstance(expression, Field) and name != "sealed_link_token":
                column = column.converter(expression.python_value)
            columns.append(column)
        return columns

    def ordered(self, sort_key, descending):
        """Every row, sorted by a column (then as _ties)."""
        expression = self.expressions[sort_key]
        first = expression.desc(nulls="LAST") if descending else expression.asc(nulls="LAST")
        return self.joined.select(*self._columns()).order_by(first, *self._ties())

    @staticmethod
    def _ties():
        """What orders rows that sort alike: the creator's name, then the creator, then the handle."""
        return [fn.LOWER(Creator.name), Creator.id, SocialAccount.username]

    def split_part(self, sort_key, descending, part, limits):
        """A page sorted by a kept figure: its rows with the figure, the rest, or both (see _split).

        Ordering every row by a figure made the database join and sort all of them (20 ms at 30,000
        accounts) for 50. The rows with the figure come first in either direction (empty ones last),
        and only accounts with kept figures have it: those are read from RecentFigures through the
        figure's index, the rest in the creators' order, as sorting by name reads them.
        """
        expression = self.figures[sort_key]
        first = expression.desc() if descending else expression.asc()  # none of them is empty
        figured = (
            RecentFigures.select(*self._columns())
            .join(SocialAccount, JOIN.CROSS)  # SQLite keeps this order: from the figure's index
            .join(Creator, JOIN.CROSS)
            .join(MetaGrant, JOIN.LEFT_OUTER, on=(SocialAccount.grant == MetaGrant.id))
            .where(
                (RecentFigures.account == SocialAccount.id)
                & (SocialAccount.creator == Creator.id)
                & self.wanted
                & self._account_filter()
                & expression.is_null(False)
            )
            .order_by(first, *self._ties())
            .limit(limits["figured_limit"])
            .offset(limits["figured_offset"])
        )
        rest = (
            self.joined.select(*self._columns())
            .where(expression.is_null())
            .order_by(*self._ties())
            .limit(limits["rest_limit"])
            .offset(limits["rest_offset"])
        )
        if part != "both":
            return figured if part == "figured" else rest
        # The page straddles both parts: one query still, ordered part by part on the way out.
        parts = [
            query.select_extend(SQL(str(number)).alias("part"), fn.LOWER(Creator.name).alias("sort_name"))
            for number, query in enumerate((figured, rest))
        ]
        direction = "desc" if descending else "asc"
        ends = [getattr(Entity(sort_key), direction)(), Entity("sort_name"), Entity("creator_id")]
        outer = [*self._read_back(), Entity("part"), Entity("sort_name")]
        both = Creator.select(*outer).from_(parts[0]) + Creator.select(*outer).from_(parts[1])
        return both.order_by(Entity("part"), *ends, Entity("username"))

    def summary(self, counting=None):
        """Count and add up the rows without building them.

        The rows with an account are the wanted creators' accounts that pass the filter; a creator
        shown without one ("all", "not linked yet") is a row with no figures. Summing the accounts
        on their own spares joining every creator to every account's figures (17 ms of the
        overview's 23 at 10,000 creators). counting: a figure column whose rows that have it are
        counted too (as "with_figure").
        """
        keys = [key for key in FIGURE_KEYS if key != "engagement_rate"]
        sums = [(fn.AVG if key == "reels_watch" else fn.SUM)(self.figures[key]).alias(key) for key in keys]
        if counting is not None:
            sums.append(fn.COUNT(self.figures[counting]).alias("with_figure"))
        accounts = self._account_filter()
        if self.wanted is not True:  # everyone: no need to look each account's creator up
            accounts &= SocialAccount.creator.in_(self.creators)
        if not self._from_figures():  # the query reads these very accounts: count them there
            counted = fn.COUNT(SocialAccount.id)
        elif accounts is True:  # every account: SQLite counts a table's rows without reading them
            counted = SocialAccount.select(fn.COUNT(SQL("*")))
        else:
            counted = SocialAccount.select(fn.COUNT(SocialAccount.id)).where(accounts)
        columns = [counted.alias("accounts"), *sums]
        if self.shape.status in ("all", "not_linked"):
            columns += self._bare()
        return self._summed(columns, accounts)

    def _bare(self):
        """Columns that count the wanted creators without any account, as creators less with_accounts.

        Everyone's: creators less those that have accounts, both counted off a table or an index
        (0.7 ms at 10,000 creators, where looking each creator's accounts up took 1.5).
        """
        if self.wanted is True:
            creators = Creator.select(fn.COUNT(SQL("*")))
            with_accounts = SocialAccount.select(fn.COUNT(SocialAccount.creator.distinct()))
            return [creators.alias("creators"), with_accounts.alias("with_accounts")]
        no_account = Creator.id.not_in(SocialAccount.select(SocialAccount.creator))
        return [Creator.select(fn.COUNT(Creator.id)).where(self.wanted & no_account).alias("creators")]

    def _from_figures(self):
        """Tell whether the summary reads the kept figures rather than the accounts (see _summed)."""
        return self.shape.rolled_up and self.wanted is True

    def _summed(self, columns, accounts):
        """A query of these columns over the accounts that pass `accounts`, joined to their figures."""
        if not self._from_figures():  # some creators: start from their accounts
            return self.join(SocialAccount.select(*columns)).where(accounts)
        # Everyone's: only accounts with figures add to the sums, so start from them. SQLite would
        # rather scan every account and look its figures up (5 ms at 30,000); its CROSS JOIN keeps
        # the order written (PostgreSQL plans it as any join, from its statistics).
        if accounts is True:  # every kept row is an account's (deleting the account deletes it)
            return RecentFigures.select(*columns)
        joined = RecentFigures.select(*columns).join(SocialAccount, JOIN.CROSS)
        return joined.where((RecentFigures.account == SocialAccount.id) & accounts)


def _row(values, opened, soon):
    """A Row from a roster query's values; soon: when data access ending counts as "ending soon"."""
    for ordering in ("part", "sort_name"):  # what orders a page across both parts (_Queries.split_part)
        values.pop(ordering, None)
    fixed = {
        key: values.pop(key) for key in ("creator_id", "creator_name", "account_id", "username", "status")
    }
    expires, token = values.pop("data_access_expires_at"), values.pop("sealed_link_token")
    link_expires = values.pop("link_expires_at")
    ending_soon = fixed["status"] == AccountStatus.LINKED and expires is not None and expires <= soon
    return Row(
        **fixed,
        ending_soon=ending_soon,
        data_access_expires_at=expires,
        sealed_link_token=token,
        link_expires_at=link_expires,
        figures=values,
        opened=opened,
    )


def _figure(value):
    """A roster figure for the CSV: whole numbers as int, the rest as a Decimal of two places, None as is.

    Numbers, not text: csv_cell writes them as they are (a change of -5 stays a number in a sheet).
    """
    if value is None:
        return None
    if value == int(value):
        return int(value)
    return decimal.Decimal(f"{float(value):.2f}")


def roster_csv(span, rows):
    """Return roster rows (insights.roster.Row) as CSV text: the columns the page shows, in its order."""
    figures = [column.key for column in COLUMNS[3:]]
    days = [span.first.isoformat(), span.last.isoformat()]
    header = ["creator", "account", "status", *figures, "first_day", "last_day"]
    lines = (
        [row.creator_name, row.username or "", row.status_label]
        + [_figure(row.figures.get(key)) for key in figures]
        + days
        for row in rows
    )
    return csv_text([header, *lines])
