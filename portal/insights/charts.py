"""Charts drawn on the server as inline SVG, each with a text alternative. No Flask.

Every chart is an `<svg role="img">` named by its `<title>` and `<desc>`, followed by a
visually hidden table of the same numbers. Scales are computed here; colours come from
classes in portal.css (the CSP forbids style attributes). A day without a figure is a gap
in the line and "not available" in the table, never a 0.
"""

import math

from markupsafe import Markup, escape

# viewBox units: the SVG scales to its container (width 100%), about 1:1 on a phone.
WIDTH = 360
HEIGHT = 180
LEFT, RIGHT, TOP, BOTTOM = 50, 12, 12, 28
BAR_WIDTH = 340
BAR_ROW = 24
BAR_HEIGHT = 14
LABEL_WIDTH = 120
VALUE_WIDTH = 56
LABEL_CHARS = 16
NOT_AVAILABLE = "not available"


def nice_number(value):
    """Return the smallest round number (1, 2, 2.5 or 5 times a power of ten) at least value."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= value)


def scale(low, high, ticks=4, zero_based=True):
    """Return (bottom, top, step) of an axis covering low..high with about `ticks` round ticks."""
    if zero_based:
        low = min(0, low)
    if high <= low:  # one value: give it room rather than an axis one unit tall
        pad = max(1, abs(high) / 100)
        low, high = (low if zero_based else low - pad), high + pad
    step = max(1, nice_number((high - low) / (ticks - 1)))
    bottom = math.floor(low / step) * step
    top = math.ceil(high / step) * step
    if top == bottom:
        top = bottom + step
    return bottom, top, step


def compact(value, step=None):
    """Format an axis value briefly (950, 1.2K, 3.4M), in full where ticks are closer than that shows."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if abs(value) >= limit:
            if step is not None and step < limit / 10:
                return f"{value:,g}"
            text = f"{value / limit:.2f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:g}"


def number(value):
    """Format a figure in full (1,234), or say it is not available."""
    if value is None:
        return NOT_AVAILABLE
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def short_day(day):
    return f"{day.day} {day:%b}"


def _coordinate(value):
    return f"{value:.1f}".removesuffix(".0")


def _table(chart_id, title, headings, rows):
    # A report draws a few hundred cells a chart: escape() and f-strings, not Markup.format for
    # each cell, which cost a client's report 30 ms a page. A figure is digits, commas and a point,
    # or "not available": only the labels need escaping.
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headings)
    body = "".join(
        f'<tr><th scope="row">{escape(label)}</th>'
        + "".join(f"<td>{number(v)}</td>" for v in values)
        + "</tr>"
        for label, values in rows
    )
    return Markup(
        f'<table class="visually-hidden" id="{escape(chart_id)}-table"><caption>{escape(title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _svg(chart_id, title, description, width, height, parts):
    """Wrap a drawing of width x height viewBox units in an SVG that takes its container's width.

    No pixel width or height: portal.css sets width 100% and height auto, and the viewBox keeps
    the proportions (scaled whole, centred), so a chart shrinks to a phone instead of overflowing.
    """
    chart_id = escape(chart_id)
    return Markup(
        f'<svg class="chart-svg" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" width="100%" focusable="false">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>{"".join(parts)}</svg>'
    )


def _summary(days, series):
    sentences = []
    for name, values in series:
        known = [(values[day], day) for day in days if values.get(day) is not None]
        if known:
            value, day = max(known, key=lambda pair: pair[0])
            sentences.append(f"Highest {name}: {number(value)} on {short_day(day)}.")
        missing = len(days) - len(known)
        if missing:
            sentences.append(f"No {name} figure for {missing} of the {len(days)} days.")
    return " ".join(sentences)


# The axes' labels and the coordinates are numbers and short dates formatted here: nothing in them
# to escape. Each is written with an f-string, once: a report draws 20 charts a page.


def _y_axis(bottom, top, step, y_of):
    parts, tick = [], bottom
    while tick <= top + step / 1000:
        y = _coordinate(y_of(tick))
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="chart-label" x="{LEFT - 6}" y="{y}" dy="4" text-anchor="end">'
            f"{compact(tick, step)}</text>"
        )
        tick += step
    return parts


def _x_axis(days, xs):
    picks = sorted({0, len(days) // 2, len(days) - 1}) if len(days) > 2 else range(len(days))
    anchors = {0: "start", len(days) - 1: "end"}
    return [
        f'<text class="chart-label" x="{xs[i]}" y="{HEIGHT - 8}" text-anchor="{anchors.get(i, "middle")}">'
        f"{short_day(days[i])}</text>"
        for i in picks
    ]


def _line(index, days, values, xs, y_of):
    """Draw one series: a polyline per run of consecutive known days, and a dot on each known day."""
    runs, run, dots = [], [], []
    for x, day in zip(xs, days, strict=True):
        value = values.get(day)
        if value is None:
            if len(run) > 1:
                runs.append(" ".join(run))
            run = []
            continue
        y = _coordinate(y_of(value))
        run.append(f"{x},{y}")
        dots.append(f'<circle cx="{x}" cy="{y}" r="2.5"/>')
    if len(run) > 1:
        runs.append(" ".join(run))
    lines = "".join(f'<polyline fill="none" points="{points}"/>' for points in runs)
    return f'<g class="chart-series series-{int(index)}">{lines}{"".join(dots)}</g>'


def time_series(chart_id, title, description, days, series, *, zero_based=True, empty="No figures yet."):
    """Return a line chart of daily values: series is [(name, {date: value or None})] over `days`."""
    shown = set(days)
    known = [v for _, values in series for day, v in values.items() if v is not None and day in shown]
    if not days or not known:
        return Markup('<p class="empty">{}</p>').format(empty)
    bottom, top, step = scale(min(known), max(known), zero_based=zero_based)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value):
        return TOP + plot_height * (1 - (value - bottom) / (top - bottom))

    if len(days) > 1:
        xs = [_coordinate(LEFT + plot_width * i / (len(days) - 1)) for i in range(len(days))]
    else:
        xs = [_coordinate(LEFT + plot_width / 2)]
    parts = _y_axis(bottom, top, step, y_of) + _x_axis(days, xs)
    parts += [_line(i, days, values, xs, y_of) for i, (_, values) in enumerate(series)]
    text = f"{description} {_summary(days, series)}".strip()
    legend = ""
    if len(series) > 1:
        keys = "".join(
            f'<li><span class="chart-key series-{i}"></span>{escape(name)}</li>'
            for i, (name, _) in enumerate(series)
        )
        legend = f'<ul class="chart-legend" aria-hidden="true">{keys}</ul>'
    rows = [(day.isoformat(), [values.get(day) for _, values in series]) for day in days]
    table = _table(chart_id, title, ["Day", *[name for name, _ in series]], rows)
    svg = _svg(chart_id, title, text, WIDTH, HEIGHT, parts)
    return Markup(f'<figure class="chart" id="{escape(chart_id)}">{svg}{legend}{table}</figure>')


def _short_label(label):
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def bars(chart_id, title, description, items, *, label_heading="Group", value_heading="People", empty=None):
    """Return horizontal bars for [(label, value)], largest value the full width."""
    items = [(str(label), value) for label, value in items if value is not None]
    if not items:
        return Markup('<p class="empty">{}</p>').format(empty or "No figures.")
    largest = max(value for _, value in items) or 1
    bar_space = BAR_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = len(items) * BAR_ROW + 4
    parts = []
    for i, (label, value) in enumerate(items):
        y = 2 + i * BAR_ROW
        width = max(bar_space * value / largest, 1 if value else 0)
        middle, value_x = _coordinate(y + BAR_ROW / 2), _coordinate(LABEL_WIDTH + width + 4)
        shown = number(value) if value < 100_000 else compact(value)
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 6}" y="{middle}" dy="4" text-anchor="end">'
            f"{escape(_short_label(label))}</text>"
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{_coordinate(y + (BAR_ROW - BAR_HEIGHT) / 2)}" '
            f'width="{_coordinate(width)}" height="{BAR_HEIGHT}" rx="2"/>'
            f'<text class="chart-value" x="{value_x}" y="{middle}" dy="4">{shown}</text>'
        )
    top_label, top_value = max(items, key=lambda pair: pair[1])
    text = f"{description} Largest: {top_label}, {number(top_value)}.".strip()
    table = _table(chart_id, title, [label_heading, value_heading], [(label, [v]) for label, v in items])
    svg = _svg(chart_id, title, text, BAR_WIDTH, height, parts)
    return Markup(f'<figure class="chart chart-bars" id="{escape(chart_id)}">{svg}{table}</figure>')
