"""Meta's days: Instagram's daily Insights are days in America/Los_Angeles (reference §5.3, §0.2 rule 7).

A daily value's end_time is the Pacific midnight that ends its day: 07:00 UTC in summer (PDT),
08:00 UTC in winter (PST). Asking `since`/`until` on those midnights gets exactly one such day,
and storing and labelling by them keeps each figure on the date Meta means, across DST changes.
"""

import datetime
import zoneinfo

PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")


def meta_day(moment):
    """Return the Pacific date a moment falls on."""
    return moment.astimezone(PACIFIC).date()


def day_start(day):
    """Return the UTC moment a Pacific date begins (its midnight in Los Angeles)."""
    return datetime.datetime.combine(day, datetime.time(), tzinfo=PACIFIC).astimezone(datetime.UTC)


def day_end(day):
    """Return the UTC moment a Pacific date ends: Meta's end_time for that day's value."""
    return day_start(day + datetime.timedelta(days=1))


def day_of_end_time(end_time):
    """Return the Pacific date a daily value covers, from its end_time."""
    return meta_day(end_time) - datetime.timedelta(days=1)
