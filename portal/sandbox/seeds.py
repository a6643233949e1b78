"""Deterministic "random" numbers: the same parts always give the same number.

The sandbox's Insights must not change when the portal refreshes twice, yet should differ
from account to account and from day to day; seeding a hash with (account, metric, day)
gives exactly that, with no state to keep.
"""

import functools
import hashlib
import time

HOUR = 3600
DAY = 24 * HOUR


def now():
    """Return the sandbox's clock in whole Unix seconds (tests may replace it)."""
    return int(time.time())


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
