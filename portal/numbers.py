"""How the portal writes figures for people: counts, rates and watch times. No Flask.

Pages, reports and the roster's rows all write them, so they live in the frame: the roster
(portal/campaigns) formats its rows without importing the insights package, which imports it.
"""


def format_seconds(ms):
    """Format a watch time in milliseconds as seconds, like "12.3 s"."""
    return f"{ms / 1000:,.1f} s"


def format_total(kind, value):
    """A figure added up over days or accounts (not None), as the roster and reports show it.

    A Python function rather than a Jinja macro: a page shows hundreds, and each macro call cost
    the overview about 5 ms a view in all.
    """
    if kind == "engagement_rate":
        return f"{float(value):.2f} %"
    if kind == "reels_watch":
        return format_seconds(round(float(value)))
    text = f"{int(value):,}"
    return f"+{text}" if kind == "followers_change" and value > 0 else text


def format_duration(ms):
    """Format a total watch time in milliseconds as hours, minutes and seconds, like "2 h 05 m 09 s"."""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours:,} h {minutes:02d} m {seconds:02d} s"
    return f"{minutes} m {seconds:02d} s" if minutes else f"{seconds} s"
