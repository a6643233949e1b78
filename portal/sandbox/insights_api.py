"""IG User Insights: /{ig-user-id}/insights, daily totals and audience demographics (reference §5).

Every number is a function of (account, metric, day) seeded from a hash and scaled by the
account's followers: refreshing twice gives the same answer, and each day differs. As on Meta,
one metric the call cannot serve fails the whole call. Days are Meta's: dates in Los Angeles,
each reported at the Pacific midnight that ends it (07:00 or 08:00 UTC).
"""

from itertools import product

from portal.sandbox import seeds
from portal.sandbox.demographics import DEMOGRAPHICS, demographics
from portal.sandbox.errors import bad_parameter, refuse
from portal.sandbox.seeds import DAY, between, pacific_day, pacific_midnight

DAY_METRICS = {
    "views": ("Views", "The number of times your content was played or displayed."),
    "reach": (
        "Accounts reached",
        "The number of unique accounts that have seen your content, at least once.",
    ),
    "accounts_engaged": (
        "Accounts engaged",
        "The number of accounts that have interacted with your content.",
    ),
    "total_interactions": ("Content interactions", "The total number of interactions with your content."),
    "likes": ("Likes", "The number of likes on your posts, reels and videos."),
    "comments": ("Comments", "The number of comments on your posts, reels and videos."),
    "shares": ("Shares", "The number of shares of your posts, stories, reels and videos."),
    "saves": ("Saves", "The number of saves of your posts, reels and videos."),
    "replies": ("Replies", "The number of replies you received from your story."),
    "reposts": ("Reposts", "The number of times your content was reposted."),
    "follows_and_unfollows": (
        "Follows and unfollows",
        "The number of accounts that followed you and the number that unfollowed you or left Instagram.",
    ),
    "profile_links_taps": (
        "Profile links taps",
        "The number of taps on your business address, call button, email button and text button.",
    ),
}
METRICS = {"day": DAY_METRICS, "lifetime": DEMOGRAPHICS}
TIME_SERIES = {"reach"}  # the only daily metric that still comes as a time series
SMALL = 100  # below this many followers Meta holds back follows_and_unfollows and demographics
MAX_RANGE = 30 * DAY
LAST_UNIX = 253402300800  # 10000-01-01T00:00:00Z
BREAKDOWNS = {
    "media_product_type": {"POST": 4, "CAROUSEL_CONTAINER": 2, "REEL": 5, "STORY": 2},
    "follow_type": {"FOLLOWER": 3, "NON_FOLLOWER": 5},
    "contact_button_type": {"BOOK_NOW": 1, "CALL": 1, "DIRECTION": 2, "EMAIL": 3, "TEXT": 2, "UNDEFINED": 6},
}
METRIC_BREAKDOWNS = {
    "views": {"follow_type", "media_product_type"},
    "reach": {"follow_type", "media_product_type"},
    "total_interactions": {"media_product_type"},
    "likes": {"media_product_type"},
    "comments": {"media_product_type"},
    "shares": {"media_product_type"},
    "saves": {"media_product_type"},
    "follows_and_unfollows": {"follow_type"},
    "profile_links_taps": {"contact_button_type"},
}
# How a day's interactions divide up: (metric, low, high) weights.
INTERACTIONS = (("likes", 60, 75), ("comments", 3, 8), ("shares", 5, 10), ("saves", 6, 12), ("replies", 1, 4))
IMPRESSIONS = (
    "(#100) Starting from version 22 and above, the impressions metric is no longer supported for IG "
    "user insights. Please use the views metric instead."
)


def metric_names(params):
    """Return the comma list of metrics, refusing an empty one as Meta does."""
    names = [name.strip() for name in (params.get("metric") or "").split(",") if name.strip()]
    if not names:
        raise bad_parameter("(#100) The value must be a valid insights metric")
    return names


def _one_of(what, values):
    return bad_parameter(f"(#100) {what} must be one of the following values: " + ", ".join(values))


def _check_metrics(names, period):
    known = [*DAY_METRICS, *DEMOGRAPHICS]
    for index, name in enumerate(names):
        if name == "impressions":
            raise bad_parameter(IMPRESSIONS)
        if name not in known:
            raise _one_of(f"metric[{index}]", METRICS.get(period) or known)
    if period not in METRICS:
        raise _one_of("period", list(METRICS))
    for index, name in enumerate(names):
        if name not in METRICS[period]:
            raise _one_of(f"metric[{index}]", METRICS[period])


def _check_metric_type(names, params):
    metric_type = params.get("metric_type") or "time_series"
    wrong = [
        n
        for n in names
        if metric_type != "total_value" and not (n in TIME_SERIES and metric_type == "time_series")
    ]
    if metric_type not in ("total_value", "time_series"):
        raise _one_of("metric_type", ("time_series", "total_value"))
    if wrong:
        raise bad_parameter(
            f"(#100) The following metrics ({', '.join(wrong)}) should be specified with parameter "
            "metric_type=total_value"
        )
    return metric_type


def _unix(params, name, default):
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(float(value))
    except (ValueError, OverflowError):
        number = None
    # Past year 9999 no date exists to answer for (Python's dates stop there; so do Meta's).
    if number is None or not 0 <= number < LAST_UNIX:
        raise bad_parameter(f"(#100) Param {name} must be a UNIX timestamp")
    return number


def _days(params, at):
    until = _unix(params, "until", at)
    since = _unix(params, "since", until - DAY)
    if since > until:
        raise bad_parameter("(#100) Param since must be earlier than until")
    if until - since > MAX_RANGE:
        raise bad_parameter("(#100) There cannot be more than 30 days (2592000 s) between since and until")
    # A day counts when it ends inside (since, until], as Meta reports a day at its end_time.
    return since, until, range(pacific_day(since), pacific_day(until))


def day_values(account, day, at=None):
    """Return every daily metric of an account for one Pacific date number (0 for days to come)."""
    if day > pacific_day(at or seeds.now()):
        return dict.fromkeys(DAY_METRICS, 0)
    key, followers = (account.username, day), account.followers_count
    weekend = 1.15 if (day + 3) % 7 >= 5 else 1.0  # 1 Jan 1970 was a Thursday
    reach = round(followers * between(0.04, 0.22, *key, "reach") * weekend)
    engaged = round(reach * between(0.02, 0.09, *key, "engaged"))
    interactions = round(engaged * between(1.3, 2.6, *key, "interactions"))
    weights = {name: between(low, high, *key, name) for name, low, high in INTERACTIONS}
    values = {
        "views": round(reach * between(1.6, 3.2, *key, "views")),
        "reach": reach,
        "accounts_engaged": engaged,
        "total_interactions": interactions,
        **seeds.split(interactions, weights),
        "follows_and_unfollows": round(followers * between(0.0004, 0.003, *key, "follows")),
        "profile_links_taps": round(followers * between(0.0002, 0.002, *key, "taps")),
    }
    values["reposts"] = round(values["shares"] * between(0.05, 0.3, *key, "reposts"))
    return values


def _breakdown(total, keys, seed):
    results = []
    combos = product(*(BREAKDOWNS[key].items() for key in keys))
    weights = {}
    for combo in combos:
        values = tuple(value for value, _ in combo)
        weight = 1.0
        for value, base in combo:
            weight *= base * between(0.7, 1.3, *seed, value)
        weights[values] = weight
    for values, count in seeds.split(total, weights).items():
        if count:
            results.append({"dimension_values": list(values), "value": count})
    return {"value": total, "breakdowns": [{"dimension_keys": list(keys), "results": results}]}


def _daily(account, names, params, link, at):
    metric_type = _check_metric_type(names, params)
    keys = [k.strip() for k in (params.get("breakdown") or "").split(",") if k.strip()]
    if keys and (
        metric_type != "total_value" or any(not {*keys} <= METRIC_BREAKDOWNS.get(n, set()) for n in names)
    ):
        # Meta's answer when a metric cannot be broken down that way.
        raise refuse("An unknown error has occurred.", 1)
    since, until, days = _days(params, at)
    per_day = {day: day_values(account, day, at) for day in days}
    data = []
    for name in names:
        if name == "follows_and_unfollows" and account.followers_count < SMALL:
            continue
        title, description = DAY_METRICS[name]
        entry = {"name": name, "period": "day", "title": title, "description": description}
        if metric_type == "time_series":
            entry["values"] = [
                {"value": per_day[day][name], "end_time": seeds.iso(pacific_midnight(day + 1))}
                for day in days
            ]
        else:
            total = sum(values[name] for values in per_day.values())
            seed = (account.username, name, days.start, days.stop)  # whole days: stable all day
            entry["total_value"] = _breakdown(total, keys, seed) if keys else {"value": total}
        entry["id"] = f"{account.id}/insights/{name}/day"
        data.append(entry)
    span = until - since
    paging = {
        "previous": link(since=since - span, until=since),
        "next": link(since=until, until=until + span),
    }
    return {"data": data, "paging": paging}


def account_insights(account, params, link, at=None):
    """Answer GET /{ig-user-id}/insights, or raise Meta's error for the whole call."""
    at = at or seeds.now()
    names = metric_names(params)
    period = params.get("period") or ""
    _check_metrics(names, period)
    if period == "day":
        return _daily(account, names, params, link, at)
    metric_type = params.get("metric_type") or "time_series"
    if metric_type != "total_value":
        raise bad_parameter(
            f"(#100) The following metrics ({', '.join(names)}) should be specified with parameter "
            "metric_type=total_value"
        )
    return {"data": [demographics(account, name, params, at, day_values) for name in names]}
