"""Audience demographics: follower_demographics and engaged_audience_demographics (reference §5.3).

Shares follow a plausible shape (most followers 18-44, the account's home country first) with
a little per-account and per-day wobble, so they are deterministic but not identical.
"""

from itertools import product

from portal.sandbox import seeds
from portal.sandbox.errors import bad_parameter
from portal.sandbox.seeds import between

DEMOGRAPHICS = {
    "follower_demographics": (
        "Follower demographics",
        "The demographic characteristics of followers, including countries, cities and gender distribution.",
    ),
    "engaged_audience_demographics": (
        "Engaged audience demographics",
        "The demographic characteristics of the engaged audience, including countries, cities and gender "
        "distribution.",
    ),
}
TIMEFRAMES = {"this_week": 7, "this_month": 30}
LOW_ACTIVITY = {"marco_cooks"}  # too few recent engagements: no engaged audience demographics
SMALL = 100  # fewer followers than this: no demographics at all
TOP = 45  # Meta returns the top 45 results only
AGES = {"13-17": 3, "18-24": 24, "25-34": 34, "35-44": 19, "45-54": 10, "55-64": 6, "65+": 4}
COUNTRIES = {
    "US": 30, "GB": 9, "CA": 6, "AU": 5, "IN": 8, "DE": 4, "FR": 3, "IT": 3, "ES": 3, "BR": 5, "MX": 3,
    "NL": 2, "SE": 1, "IE": 1, "JP": 2, "KR": 1, "PH": 2, "NG": 2, "ZA": 1, "NZ": 1, "ID": 2, "TR": 1,
}  # fmt: skip
CITIES = {
    "New York, New York": "US", "Los Angeles, California": "US", "Chicago, Illinois": "US",
    "Houston, Texas": "US", "Austin, Texas": "US", "San Francisco, California": "US",
    "London, England": "GB", "Manchester, England": "GB", "Toronto, Ontario": "CA",
    "Vancouver, British Columbia": "CA", "Sydney, New South Wales": "AU", "Melbourne, Victoria": "AU",
    "Mumbai, Maharashtra": "IN", "Delhi, Delhi": "IN", "Bangalore, Karnataka": "IN",
    "Pune, Maharashtra": "IN",
    "Berlin, Berlin": "DE", "Paris, Île-de-France": "FR", "Rome, Lazio": "IT", "Milan, Lombardy": "IT",
    "Naples, Campania": "IT", "Madrid, Community of Madrid": "ES", "São Paulo, São Paulo": "BR",
    "Mexico City, Distrito Federal": "MX", "Amsterdam, North Holland": "NL", "Dublin, Dublin": "IE",
    "Tokyo, Tokyo": "JP", "Seoul, Seoul": "KR", "Manila, Metro Manila": "PH", "Lagos, Lagos State": "NG",
}  # fmt: skip
HOME = {
    "ava.creates": "US", "ava.travels": "GB", "marco_cooks": "IT", "priya.fit": "IN", "nina.bakes": "US",
    "tiny.steps": "CA", "leo.sketches": "KR", "client.page.040": "GB", "client.page.060": "AU",
}  # fmt: skip
COVERAGE = {"country": 0.96, "city": 0.55}  # the rest live elsewhere, or Meta does not know


def _weights(account, key, day):
    """Return each value of a breakdown key with its weight for this account."""
    home = HOME.get(account.username, "US")
    if key == "gender":
        women = between(0.35, 0.75, account.username, "women")
        return {"F": women, "M": 0.96 - women, "U": 0.04}
    if key == "age":
        base = AGES
    elif key == "country":
        base = {c: w * (12 if c == home else 1) for c, w in COUNTRIES.items()}
    else:
        base = {city: COUNTRIES[c] * (12 if c == home else 1) / 4 for city, c in CITIES.items()}
    return {
        value: weight * between(0.6, 1.4, account.username, key, value) * between(0.97, 1.03, value, day)
        for value, weight in base.items()
    }


def _audience(account, name, days, at, day_values):
    """Return how many people the demographics describe."""
    if name == "follower_demographics":
        return round(account.followers_count * between(0.9, 0.97, account.username, "known"))
    today = seeds.pacific_day(at)
    engaged = sum(
        day_values(account, day, at)["accounts_engaged"] for day in range(today - days + 1, today + 1)
    )
    return round(engaged * between(0.55, 0.75, account.username, "unique"))


def _results(account, keys, total, day):
    weights = {}
    for combo in product(*(_weights(account, key, day).items() for key in keys)):
        weight = 1.0
        for _, share in combo:
            weight *= share
        weights[tuple(value for value, _ in combo)] = weight
    for key in keys:
        total = round(total * COVERAGE.get(key, 1.0))
    counts = sorted(seeds.split(total, weights).items(), key=lambda item: -item[1])[:TOP]
    return [{"dimension_values": list(values), "value": count} for values, count in counts if count]


def demographics(account, name, params, at, day_values):
    """Return one demographics metric's entry; an empty breakdown list when Meta has no data."""
    timeframe = params.get("timeframe") or ""
    if timeframe not in TIMEFRAMES:
        raise bad_parameter("(#100) timeframe must be one of the following values: this_week, this_month")
    keys = [key.strip() for key in (params.get("breakdown") or "").split(",") if key.strip()]
    if not keys:
        raise bad_parameter(
            f"(#100) The following metrics ({name}) should be specified with parameter breakdown"
        )
    for key in keys:
        if key not in ("age", "city", "country", "gender"):
            raise bad_parameter(
                "(#100) breakdown must be one of the following values: age, city, country, gender"
            )
    title, description = DEMOGRAPHICS[name]
    withheld = account.followers_count < SMALL or (
        name == "engaged_audience_demographics" and account.username in LOW_ACTIVITY
    )
    breakdowns = []
    if not withheld:
        total = _audience(account, name, TIMEFRAMES[timeframe], at, day_values)
        results = _results(account, keys, total, seeds.pacific_day(at))
        breakdowns = [{"dimension_keys": keys, "results": results}]
    return {
        "name": name,
        "period": "lifetime",
        "title": title,
        "description": description,
        "total_value": {"breakdowns": breakdowns},
        "id": f"{account.id}/insights/{name}/lifetime",
    }
