"""Charts drawn on the server as SVG: no chart library reaches the browser, and the page works without JavaScript.

A small function per kind rather than a library: the ones in Python (pygal, matplotlib's SVG) write inline styles
and scripts our Content-Security-Policy refuses, draw text as paths or at a fixed size, and say nothing to a screen
reader. Here every position is a percentage of the chart's box, so the SVG fills whatever width the page has and its
text stays real text at the page's own size (styled by stats.css, so 长辈版 enlarges it like everything else).
Each chart is an image with a spoken summary (role="img", aria-label); the page puts the numbers in a table beside
it. In 长辈版 fewer month labels are written, as each is wider.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import NamedTuple

from babel.numbers import format_compact_decimal
from markupsafe import Markup

import i18n


class Point(NamedTuple):
    """One month of a series: its label (5月), its value (None: nothing counted), whether it is suppressed (<5)."""

    label: str
    value: float | None
    suppressed: bool = False


class Series(NamedTuple):
    name: str
    points: Sequence[Point]


class _Frame(NamedTuple):
    left: float  # % of the width where the plot starts (the axis labels are left of it)
    right: float
    top: float  # % of the height
    bottom: float


def _frame(elder: bool) -> _Frame:
    return _Frame(left=19.0 if elder else 13.0, right=97.0, top=6.0, bottom=80.0)


def _nice_ceiling(value: float) -> float:
    """The axis's top: 1, 2 or 5 times a power of ten, at or above the value."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _number(value: float) -> str:
    """An axis's count, large ones shortened as the reader's language does (2.5万, 25K)."""
    if value >= 10_000:
        return format_compact_decimal(value, locale=i18n.html_lang().replace("-", "_"), fraction_digits=2)
    return f"{value:,.0f}"


def _label_every(count: int, elder: bool) -> int:
    """Write every n-th month's label (counted back from the last, so the latest month is always named)."""
    if count <= 6:
        return 1
    return 3 if elder else 2


def _x(frame: _Frame, index: int, count: int) -> float:
    """The centre of the index-th month's slot."""
    slot = (frame.right - frame.left) / max(count, 1)
    return frame.left + slot * (index + 0.5)


def _y(frame: _Frame, value: float, top: float) -> float:
    return frame.bottom - (frame.bottom - frame.top) * (value / top if top else 0)


def _axes(
    frame: _Frame, ticks: Sequence[tuple[float, str]], top: float, labels: Sequence[str], elder: bool
) -> list[str]:
    parts: list[str] = []
    for value, text in ticks:
        y = _y(frame, value, top)
        parts.append(f'<line class="grid" x1="{frame.left}%" x2="{frame.right}%" y1="{y:.2f}%" y2="{y:.2f}%"/>')
        parts.append(
            f'<text class="tick" x="{frame.left - 1.5}%" y="{y:.2f}%" dy="0.35em" text-anchor="end">{text}</text>'
        )
    every = _label_every(len(labels), elder)
    for index, label in enumerate(labels):
        if (len(labels) - 1 - index) % every == 0:
            x = _x(frame, index, len(labels))
            parts.append(
                f'<text class="tick" x="{x:.2f}%" y="{frame.bottom + 5}%" dy="0.8em" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    return parts


def _svg(summary: str, parts: Sequence[str], kind: str) -> Markup:
    body = "".join(parts)
    return Markup(  # noqa: S704 — every text inside went through escape(); the rest are our own numbers
        f'<svg class="chart chart-{kind}" width="100%" role="img" aria-label="{escape(summary)}" '
        f'xmlns="http://www.w3.org/2000/svg" focusable="false">{body}</svg>'
    )


def bar_chart(points: Sequence[Point], summary: str, *, elder: bool = False) -> Markup:
    """Counts per month as bars; a suppressed month has no bar and says "<5" at its foot."""
    frame = _frame(elder)
    values = [p.value for p in points if p.value is not None and not p.suppressed]
    top = _nice_ceiling(max(values, default=0.0))
    ticks = [(0.0, "0"), (top / 2, _number(top / 2)), (top, _number(top))]
    parts = _axes(frame, ticks, top, [p.label for p in points], elder)
    slot = (frame.right - frame.left) / max(len(points), 1)
    width = slot * 0.6
    for index, point in enumerate(points):
        x = _x(frame, index, len(points))
        if point.suppressed:
            parts.append(
                f'<text class="suppressed" x="{x:.2f}%" y="{frame.bottom - 2}%" text-anchor="middle">&lt;5</text>'
            )
        elif point.value:
            y = _y(frame, point.value, top)
            parts.append(
                f'<rect class="bar" x="{x - width / 2:.2f}%" y="{y:.2f}%" width="{width:.2f}%" '
                f'height="{frame.bottom - y:.2f}%"/>'
            )
    parts.append(
        f'<line class="axis" x1="{frame.left}%" x2="{frame.right}%" y1="{frame.bottom}%" y2="{frame.bottom}%"/>'
    )
    return _svg(summary, parts, "bar")


def line_chart(series: Sequence[Series], summary: str, *, elder: bool = False) -> Markup:
    """Shares per month (0–1) as lines, 0–100%; a month with nothing counted or suppressed breaks the line. Each
    series has its own colour and dash (stats.css: series-1 …), named in the legend the page writes under it."""
    frame = _frame(elder)
    labels = [p.label for p in series[0].points] if series else []
    ticks = [(0.0, "0"), (0.5, "50%"), (1.0, "100%")]
    parts = _axes(frame, ticks, 1.0, labels, elder)
    for number, line in enumerate(series, start=1):
        count = len(line.points)
        previous: tuple[float, float] | None = None
        for index, point in enumerate(line.points):
            if point.value is None or point.suppressed:
                previous = None
                continue
            x, y = _x(frame, index, count), _y(frame, min(max(point.value, 0.0), 1.0), 1.0)
            if previous is not None:
                parts.append(
                    f'<line class="line series-{number}" x1="{previous[0]:.2f}%" y1="{previous[1]:.2f}%" '
                    f'x2="{x:.2f}%" y2="{y:.2f}%"/>'
                )
            parts.append(f'<circle class="dot series-{number}" cx="{x:.2f}%" cy="{y:.2f}%" r="4"/>')
            previous = (x, y)
    parts.append(
        f'<line class="axis" x1="{frame.left}%" x2="{frame.right}%" y1="{frame.bottom}%" y2="{frame.bottom}%"/>'
    )
    return _svg(summary, parts, "line")


def gauge(value: float | None, target: float, summary: str) -> Markup:
    """A share (0–1) as a filled bar from 0 to 100%, with the target marked across it."""
    parts = ['<rect class="gauge-track" x="0" y="20%" width="100%" height="60%" rx="4"/>']
    if value is not None:
        parts.append(
            f'<rect class="gauge-fill" x="0" y="20%" width="{min(max(value, 0.0), 1.0) * 100:.2f}%" '
            'height="60%" rx="4"/>'
        )
    x = min(target, 0.995) * 100
    parts.append(f'<line class="gauge-target" x1="{x:.2f}%" x2="{x:.2f}%" y1="5%" y2="95%"/>')
    return _svg(summary, parts, "gauge")
