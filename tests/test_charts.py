"""Charts drawn on the server: accessible SVG, a table of the same numbers, gaps for missing days."""

import datetime
import re
from html.parser import HTMLParser

from portal.insights import charts

DAYS = [datetime.date(2026, 11, 1) + datetime.timedelta(days=n) for n in range(6)]


class Parsed(HTMLParser):
    """The start tags of a chart, its table's rows as text, and the text of <title> and <desc>."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.text, self._open = [], [], {}, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        if tag in ("title", "desc", "caption", "th", "td"):
            self._open = tag
            if tag in ("th", "td"):
                self.rows[-1].append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open in ("th", "td"):
            self.rows[-1][-1] += data
        elif self._open:
            self.text[self._open] = self.text.get(self._open, "") + data

    def named(self, name):
        return [attrs for tag, attrs in self.tags if tag == name]


def views_and_reach():
    views = {DAYS[0]: 120, DAYS[1]: 340, DAYS[3]: 90, DAYS[4]: 1500, DAYS[5]: 60}  # DAYS[2] missing
    reach = {day: value // 2 for day, value in views.items()}
    reach[DAYS[5]] = None  # Instagram answered, without a number
    return [("views", views), ("reach", reach)]


def test_time_series_is_an_svg_image_named_by_its_title_and_description():
    html = charts.time_series(
        "daily", "Daily views and reach", "Views and reach per day.", DAYS, views_and_reach()
    )
    parsed = Parsed(html)
    [svg] = parsed.named("svg")
    assert svg["role"] == "img" and svg["aria-labelledby"] == "daily-title daily-desc"
    assert svg["viewbox"] == f"0 0 {charts.WIDTH} {charts.HEIGHT}" and svg["width"] == "100%"
    assert parsed.named("title")[0]["id"] == "daily-title" and parsed.text["title"] == "Daily views and reach"
    assert parsed.named("desc")[0]["id"] == "daily-desc"
    assert parsed.text["desc"].startswith("Views and reach per day. Highest views: 1,500 on 5 Nov.")
    assert "No views figure for 1 of the 6 days." in parsed.text["desc"]


def test_each_chart_scales_to_its_container_through_its_view_box():
    line = Parsed(charts.time_series("daily", "Views", "", DAYS, views_and_reach()))
    items = [("18-24", 300), ("25-34", 700), ("35-44", 120)]
    bars = Parsed(charts.bars("age", "Age", "", items))
    bars_height = len(items) * charts.BAR_ROW + 4
    for parsed, (width, height) in (
        (line, (charts.WIDTH, charts.HEIGHT)),
        (bars, (charts.BAR_WIDTH, bars_height)),
    ):
        [svg] = parsed.named("svg")
        assert svg["viewbox"] == f"0 0 {width} {height}"
        assert svg["preserveaspectratio"] == "xMidYMid meet"  # scaled whole and in proportion, never cropped
        # No pixel size to stop it shrinking.
        assert "height" not in svg and svg.get("width", "100%") == "100%"
        assert svg["class"] == "chart-svg"  # portal.css: width 100%, height auto
        xs = [float(a["x"]) for a in parsed.named("text")] + [float(a["cx"]) for a in parsed.named("circle")]
        xs += [float(a["x"]) + float(a["width"]) for a in parsed.named("rect")]
        assert xs and 0 <= min(xs) and max(xs) <= width  # everything is drawn inside the viewBox


def test_time_series_table_holds_the_same_numbers_and_says_not_available():
    series = views_and_reach()
    parsed = Parsed(charts.time_series("daily", "Daily views and reach", "", DAYS, series))
    [table] = parsed.named("table")
    assert table["class"] == "visually-hidden" and parsed.text["caption"] == "Daily views and reach"
    header, *rows = parsed.rows
    assert header == ["Day", "views", "reach"]
    expected = [[day.isoformat(), *(charts.number(values.get(day)) for _, values in series)] for day in DAYS]
    assert rows == expected
    assert rows[2] == ["2026-11-03", "not available", "not available"]
    assert rows[4] == ["2026-11-05", "1,500", "750"]


def test_a_missing_day_is_a_gap_in_the_line_never_a_zero():
    series = [("views", {DAYS[0]: 120, DAYS[1]: 340, DAYS[3]: 90, DAYS[4]: 1500, DAYS[5]: 60})]
    parsed = Parsed(charts.time_series("daily", "Views", "", DAYS, series))
    lines = [attrs["points"].split() for attrs in parsed.named("polyline")]
    assert [len(points) for points in lines] == [2, 3]  # days 1-2, then 4-6: nothing drawn for day 3
    dots = parsed.named("circle")
    assert len(dots) == 5
    baseline = max(float(dot["cy"]) for dot in dots)
    zero_y = charts.TOP + (charts.HEIGHT - charts.TOP - charts.BOTTOM)
    assert baseline < zero_y  # no point sits on the zero line


def test_a_lone_day_between_gaps_still_shows_as_a_dot():
    parsed = Parsed(charts.time_series("lone", "Views", "", DAYS, [("views", {DAYS[2]: 50})]))
    assert parsed.named("polyline") == [] and len(parsed.named("circle")) == 1


def test_no_chart_is_drawn_without_figures():
    html = charts.time_series("none", "Views", "", DAYS, [("views", {DAYS[0]: None})], empty="Nothing yet.")
    assert html == '<p class="empty">Nothing yet.</p>'
    assert charts.bars("none", "Age", "", [], empty="No audience.") == '<p class="empty">No audience.</p>'


def test_followers_axis_fits_the_values_instead_of_starting_at_zero():
    followers = [("followers", {DAYS[0]: 48100, DAYS[5]: 48230})]
    html = charts.time_series("f", "Followers", "", DAYS, followers, zero_based=False)
    y_labels = re.findall(rf'x="{charts.LEFT - 6}" y="[^"]+" dy="4" text-anchor="end">([^<]+)<', html)
    assert y_labels == ["48,100", "48,150", "48,200", "48,250"]
    assert len(Parsed(html).named("circle")) == 2


def test_bars_are_an_image_with_a_table_of_the_same_numbers():
    items = [("London, England", 900), ("Los Angeles, California", 450), ("Paris", 0)]
    parsed = Parsed(charts.bars("city", "Followers by city", "Top cities.", items, label_heading="City"))
    [svg] = parsed.named("svg")
    assert svg["role"] == "img" and svg["aria-labelledby"] == "city-title city-desc"
    assert parsed.text["desc"] == "Top cities. Largest: London, England, 900."
    widths = [float(rect["width"]) for rect in parsed.named("rect")]
    assert widths[0] == charts.BAR_WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    assert widths[1] == widths[0] / 2 and widths[2] == 0
    assert parsed.rows == [
        ["City", "People"],
        ["London, England", "900"],
        ["Los Angeles, California", "450"],
        ["Paris", "0"],  # Instagram's own 0 is shown; only a missing figure is "not available"
    ]
    html = charts.bars("city", "Followers by city", "", items)
    assert ">Los Angeles, Ca…</text>" in html  # a long label is shortened in the drawing only


def test_third_party_text_is_escaped_and_no_style_attribute_is_used():
    hostile = '<script>alert(1)</script>" onload="x'
    bars = charts.bars("c", hostile, hostile, [(hostile, 3)])
    line = charts.time_series("t", hostile, hostile, DAYS, [(hostile, {DAYS[0]: 1, DAYS[1]: 2})])
    for html in (bars, line):
        assert "<script>" not in html and "&lt;script&gt;" in html
        parsed = Parsed(html)
        assert all("style" not in attrs and "onload" not in attrs for _, attrs in parsed.tags)
        assert not any(tag == "style" for tag, _ in parsed.tags)


def test_scale_picks_round_ticks():
    assert charts.scale(0, 1234) == (0, 1500, 500)
    assert charts.scale(0, 3) == (0, 3, 1)
    assert charts.scale(48100, 48230, zero_based=False) == (48100, 48250, 50)
    assert charts.scale(48200, 48200, zero_based=False) == (47500, 49000, 500)  # one value gets room
    assert charts.compact(1_250_000, 250_000) == "1.25M" and charts.compact(48_150, 50) == "48,150"
