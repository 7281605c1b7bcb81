"""How /stats and the home page write the figures: each published figure ("<5", "—", a share, a count), each chart
(app.stats.charts) with its spoken summary, drawn for the device (长辈版 writes fewer month labels), and the drawn
HTML kept while its report is current (Drawings)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

from markupsafe import Markup, escape

from app.stats.charts import Point, Series, bar_chart, gauge, line_chart
from app.stats.models import SMALL_CELL, MonthFigures, StatsReport

T = TypeVar("T")
_SUPPRESSED = Markup('&lt;{0}<span class="visually-hidden">（少于{0}件，不公布）</span>').format(SMALL_CELL)
_NOTHING = Markup('<span aria-hidden="true">—</span><span class="visually-hidden">无数据</span>')


def figure(cell: object, name: str, kind: str = "count") -> Markup:
    """One published figure of a cell (a month, a department …, the home page's headline): "<5" where fewer than 5
    办件 are behind it (not published), "—" where nothing was counted; a share in percent, days to one place, a count
    with thousands separators. (A function, not a template macro: a page has hundreds.)"""
    if name in getattr(cell, "suppressed", ()):
        return _SUPPRESSED
    value = getattr(cell, name)
    if value is None:
        return _NOTHING
    if kind == "share":
        return escape(f"{value * 100:.1f}%")
    if kind == "days":
        return escape(f"{value:.1f}")
    return escape(f"{value:,}")


class Chart(NamedTuple):
    svg: Markup
    legend: list[tuple[int, str]]  # (series number for stats.css, name); empty for one series


class Charts(NamedTuple):
    received: Chart
    channels: Chart
    on_time: Chart
    satisfaction: Chart
    follow_ups: Chart
    online_available: Markup
    certificates: Markup


def _label(month: MonthFigures) -> str:
    return f"{int(month.month[5:])}月"


def _long(month: str) -> str:
    return f"{month[:4]}年{int(month[5:])}月"


def _points(report: StatsReport, name: str) -> list[Point]:
    return [Point(_label(m), getattr(m, name), name in m.suppressed) for m in report.months]


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _summary(report: StatsReport, kind: str, what: str, name: str, show: Callable[[float], str]) -> str:
    """What a screen reader says for a chart: the figure, the period, its highest and lowest month."""
    period = f"{_long(report.from_month)}至{_long(report.to_month)}"
    shown = [(m.month, getattr(m, name)) for m in report.months if getattr(m, name) is not None]
    text = f"{kind}：{period}每月{what}。"
    if shown:
        high = max(shown, key=lambda p: p[1])
        low = min(shown, key=lambda p: p[1])
        text += f"最高{_long(high[0])}，{show(high[1])}；最低{_long(low[0])}，{show(low[1])}。"
    else:
        text += "这一期间没有可公布的数字。"
    if any(name in m.suppressed for m in report.months):
        text += f"少于{SMALL_CELL}件的月份不公布。"
    return text + "各月数字见下表。"


def charts(report: StatsReport, *, elder: bool) -> Charts:
    def count(value: float) -> str:
        return f"{value:,.0f}件"

    channels = [
        ("online_share", "网上办理"),
        ("no_visit_share", "不见面办理"),
        ("instant_share", "即办件"),
    ]
    return Charts(
        received=Chart(
            bar_chart(
                _points(report, "received"), _summary(report, "柱状图", "收件量", "received", count), elder=elder
            ),
            [],
        ),
        channels=Chart(
            line_chart(
                [Series(label, _points(report, name)) for name, label in channels],
                _summary(
                    report, "折线图", "网上办理占比（另有不见面办理、即办件占比两条线）", "online_share", _percent
                ),
                elder=elder,
            ),
            [(number, label) for number, (_, label) in enumerate(channels, start=1)],
        ),
        on_time=_one_line(report, "on_time_rate", "按期办结率", elder),
        satisfaction=_one_line(report, "satisfaction_rate", "好评率", elder),
        follow_ups=_one_line(report, "follow_up_on_time_rate", "差评按时整改率", elder),
        online_available=gauge(
            report.catalogue.online_available_rate,
            report.catalogue.online_available_target,
            _gauge_summary(
                "网上可办率", report.catalogue.online_available_rate, report.catalogue.online_available_target
            ),
        ),
        certificates=gauge(
            report.catalogue.certificate_rate,
            report.catalogue.certificate_target,
            _gauge_summary("证照入库率", report.catalogue.certificate_rate, report.catalogue.certificate_target),
        ),
    )


def _one_line(report: StatsReport, name: str, what: str, elder: bool) -> Chart:
    return Chart(
        line_chart(
            [Series(what, _points(report, name))], _summary(report, "折线图", what, name, _percent), elder=elder
        ),
        [],
    )


def _gauge_summary(what: str, value: float | None, target: float) -> str:
    if value is None:
        return f"条形图：{what}暂无可公布的数字，目标{_percent(target)}。"
    met = "已达到" if value >= target else "未达到"
    return f"条形图：{what}{_percent(value)}，目标{_percent(target)}，{met}目标。"


class Drawings(Generic[T]):
    """What is drawn from a report (the page's figures as HTML, the API's JSON), once per report and display, kept
    while that report is the current one (app.stats.service keeps each report for a while; a new report object is
    drawn anew). Bounded: past `max_entries` the oldest drawing goes."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._kept: dict[Hashable, tuple[StatsReport, T]] = {}

    def kept(self, key: Hashable, report: StatsReport) -> T | None:
        """The drawing of this report, when kept (else None: get will draw)."""
        kept = self._kept.get(key)
        return kept[1] if kept is not None and kept[0] is report else None

    def get(self, key: Hashable, report: StatsReport, draw: Callable[[], T]) -> T:
        kept = self._kept.get(key)
        if kept is not None and kept[0] is report:
            return kept[1]
        drawn = draw()
        self._kept.pop(key, None)
        if len(self._kept) >= self.max_entries:
            del self._kept[next(iter(self._kept))]
        self._kept[key] = (report, drawn)
        return drawn
