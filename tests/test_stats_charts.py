"""The statistics' charts drawn on the server (app/stats/charts.py): an image with its spoken summary, no bar for a
month under 5 (it says "<5"), a line broken where nothing can be shown, fewer month labels in 长辈版, text escaped."""

from __future__ import annotations

import re

from app.stats.charts import Point, Series, bar_chart, gauge, line_chart


def _months(values: list[float | None], suppressed: set[int] | None = None) -> list[Point]:
    return [Point(f"{n + 1}月", v, n in (suppressed or set())) for n, v in enumerate(values)]


def test_a_bar_chart_is_an_image_with_its_summary_and_no_bar_for_a_small_cell() -> None:
    svg = str(bar_chart(_months([120, None, 3, 0, 80], suppressed={2}), "柱状图：收件量"))
    assert svg.startswith('<svg class="chart chart-bar" width="100%" role="img" aria-label="柱状图：收件量"')
    assert svg.count('<rect class="bar"') == 2  # 120 and 80; nothing for "no data", "<5" or 0
    assert svg.count("&lt;5</text>") == 1
    assert "style=" not in svg and "<script" not in svg  # nothing the Content-Security-Policy refuses
    assert ">200</text>" in svg  # the axis tops out at a round number above the largest bar


def test_a_line_breaks_where_a_month_has_no_figure_to_show() -> None:
    values: list[float | None] = [0.5, 0.6, None, 0.7, 0.8]
    svg = str(line_chart([Series("网上办理", _months(values))], "折线图"))
    assert svg.count('<circle class="dot series-1"') == 4
    assert svg.count('<line class="line series-1"') == 2  # 1→2 and 4→5, not across the gap


def test_in_elder_mode_fewer_months_are_named() -> None:
    twelve = _months([float(n) for n in range(12)])
    normal = str(bar_chart(twelve, "x"))
    elder = str(bar_chart(twelve, "x", elder=True))
    named = re.compile(r">\d+月</text>")
    assert len(named.findall(normal)) == 6 and len(named.findall(elder)) == 4
    assert ">12月</text>" in normal and ">12月</text>" in elder  # the latest month always


def test_text_in_a_chart_is_escaped() -> None:
    svg = str(bar_chart([Point('<b>"x"</b>', 10)], 'a"><script>'))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and 'aria-label="a&quot;&gt;&lt;script&gt;"' in svg


def test_a_gauge_marks_its_target() -> None:
    svg = str(gauge(0.913, 0.85, "条形图：网上可办率91.3%"))
    assert 'class="gauge-fill" x="0" y="20%" width="91.30%"' in svg and 'x1="85.00%"' in svg
