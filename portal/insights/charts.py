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
    # each cell, which cost a client's report 30 ms a page.
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headings)
    body = "".join(
        f'<tr><th scope="row">{escape(label)}</th>'
        + "".join(f"<td>{escape(number(v))}</td>" for v in values)
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
    return Markup(
        '<svg class="chart-svg" role="img" aria-labelledby="{0}-title {0}-desc" viewBox="0 0 {1} {2}" '
        'preserveAspectRatio="xMidYMid meet" width="100%" focusable="false">'
        '<title id="{0}-title">{3}</title><desc id="{0}-desc">{4}</desc>{5}</svg>'
    ).format(chart_id, width, height, title, description, Markup("").join(parts))


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


def _y_axis(bottom, top, step, y_of):
    parts, tick = [], bottom
    while tick <= top + step / 1000:
        y = _coordinate(y_of(tick))
        parts.append(
            Markup(
                '<line class="chart-grid" x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>'
                '<text class="chart-label" x="{3}" y="{2}" dy="4" text-anchor="end">{4}</text>'
            ).format(LEFT, WIDTH - RIGHT, y, LEFT - 6, compact(tick, step))
        )
        tick += step
    return parts


def _x_axis(days, x_of):
    picks = sorted({0, len(days) // 2, len(days) - 1}) if len(days) > 2 else range(len(days))
    anchors = {0: "start", len(days) - 1: "end"}
    return [
        Markup('<text class="chart-label" x="{}" y="{}" text-anchor="{}">{}</text>').format(
            _coordinate(x_of(i)), HEIGHT - 8, anchors.get(i, "middle"), short_day(days[i])
        )
        for i in picks
    ]


def _line(index, days, values, x_of, y_of):
    """Draw one series: a polyline per run of consecutive known days, and a dot on each known day."""
    runs, run, dots = [], [], []
    for i, day in enumerate(days):
        value = values.get(day)
        if value is None:
            if run:
                runs.append(run)
            run = []
            continue
        point = (_coordinate(x_of(i)), _coordinate(y_of(value)))
        run.append(point)
        dots.append(point)
    if run:
        runs.append(run)
    # Coordinates are numbers formatted here: nothing in them to escape.
    lines = [
        '<polyline fill="none" points="{}"/>'.format(" ".join(f"{x},{y}" for x, y in r))
        for r in runs
        if len(r) > 1
    ]
    circles = [f'<circle cx="{x}" cy="{y}" r="2.5"/>' for x, y in dots]
    return Markup(f'<g class="chart-series series-{int(index)}">{"".join(lines + circles)}</g>')


def time_series(chart_id, title, description, days, series, *, zero_based=True, empty="No figures yet."):
    """Return a line chart of daily values: series is [(name, {date: value or None})] over `days`."""
    known = [v for _, values in series for day, v in values.items() if v is not None and day in days]
    if not days or not known:
        return Markup('<p class="empty">{}</p>').format(empty)
    bottom, top, step = scale(min(known), max(known), zero_based=zero_based)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(i):
        return LEFT + (plot_width * i / (len(days) - 1) if len(days) > 1 else plot_width / 2)

    def y_of(value):
        return TOP + plot_height * (1 - (value - bottom) / (top - bottom))

    parts = _y_axis(bottom, top, step, y_of) + _x_axis(days, x_of)
    parts += [_line(i, days, values, x_of, y_of) for i, (_, values) in enumerate(series)]
    text = f"{description} {_summary(days, series)}".strip()
    legend = Markup("")
    if len(series) > 1:
        legend = Markup('<ul class="chart-legend" aria-hidden="true">{}</ul>').format(
            Markup("").join(
                Markup('<li><span class="chart-key series-{}"></span>{}</li>').format(i, name)
                for i, (name, _) in enumerate(series)
            )
        )
    rows = [(day.isoformat(), [values.get(day) for _, values in series]) for day in days]
    table = _table(chart_id, title, ["Day", *[name for name, _ in series]], rows)
    return Markup('<figure class="chart" id="{}">{}{}{}</figure>').format(
        chart_id, _svg(chart_id, title, text, WIDTH, HEIGHT, parts), legend, table
    )


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
        parts.append(
            Markup(
                '<text class="chart-label" x="{0}" y="{1}" dy="4" text-anchor="end">{2}</text>'
                '<rect class="chart-bar" x="{3}" y="{4}" width="{5}" height="{6}" rx="2"/>'
                '<text class="chart-value" x="{7}" y="{1}" dy="4">{8}</text>'
            ).format(
                LABEL_WIDTH - 6,
                _coordinate(y + BAR_ROW / 2),
                _short_label(label),
                LABEL_WIDTH,
                _coordinate(y + (BAR_ROW - BAR_HEIGHT) / 2),
                _coordinate(width),
                BAR_HEIGHT,
                _coordinate(LABEL_WIDTH + width + 4),
                number(value) if value < 100_000 else compact(value),
            )
        )
    top_label, top_value = max(items, key=lambda pair: pair[1])
    text = f"{description} Largest: {top_label}, {number(top_value)}.".strip()
    table = _table(chart_id, title, [label_heading, value_heading], [(label, [v]) for label, v in items])
    return Markup('<figure class="chart chart-bars" id="{}">{}{}</figure>').format(
        chart_id, _svg(chart_id, title, text, BAR_WIDTH, height, parts), table
    )
