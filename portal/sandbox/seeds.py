"""Deterministic "random" numbers: the same parts always give the same number.

The sandbox's Insights must not change when the portal refreshes twice, yet should differ
from account to account and from day to day; seeding a hash with (account, metric, day)
gives exactly that, with no state to keep.
"""

import datetime
import functools
import hashlib
import time
import zoneinfo

from portal.db import utcnow

HOUR = 3600
DAY = 24 * HOUR
# Instagram's daily Insights are days in Los Angeles (reference §5.3): 23, 24 or 25 hours long.
PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
EPOCH = datetime.date(1970, 1, 1)


def now():
    """Return the sandbox's clock in whole Unix seconds (sandbox-clock moves it; tests may replace it)."""
    return int(utcnow().timestamp())


@functools.lru_cache(maxsize=1 << 16)  # a Graph answer asks the same few thousand numbers again and again
def fraction(*parts):
    """Return a number in [0, 1) fixed by the parts."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def between(low, high, *parts):
    """Return a number in [low, high) fixed by the parts."""
    return low + (high - low) * fraction(*parts)


def iso(unix):
    """Format Unix seconds the way the Graph API does: 2026-11-27T12:00:00+0000."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(unix))


def split(total, weights):
    """Share an integer total out in proportion to weights (a dict), keeping the sum exact."""
    whole = sum(weights.values()) or 1
    shares = {key: total * weight / whole for key, weight in weights.items()}
    counts = {key: int(share) for key, share in shares.items()}
    left = total - sum(counts.values())
    for key in sorted(shares, key=lambda k: counts[k] - shares[k])[:left]:
        counts[key] += 1
    return counts


def pacific_day(unix):
    """Return the number of the Pacific date a moment falls on (days since 1 January 1970)."""
    local = datetime.datetime.fromtimestamp(unix, datetime.UTC).astimezone(PACIFIC)
    return (local.date() - EPOCH).days


def pacific_midnight(day):
    """Return the Unix time at which Pacific date number `day` begins."""
    date = EPOCH + datetime.timedelta(days=day)
    return int(datetime.datetime.combine(date, datetime.time(), tzinfo=PACIFIC).timestamp())
