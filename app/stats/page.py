"""How /stats and the home page write the figures: each published figure ("<5", "—", a share, a count), each chart
(app.stats.charts) with its spoken summary, drawn for the device (长辈版 writes fewer month labels), and the drawn
HTML kept while its report is current (Drawings)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Generic, NamedTuple, TypeVar

from babel.core import Locale
from markupsafe import Markup, escape

import i18n
from app.stats.charts import Point, Series, bar_chart, gauge, line_chart
from app.stats.models import SMALL_CELL, MonthFigures, StatsReport
from i18n import N_, _, ngettext

T = TypeVar("T")

# Each month's name as the reader's language writes it beside a year or alone on an axis (5月, May).
MONTH_NAMES = (
    N_("1月"),
    N_("2月"),
    N_("3月"),
    N_("4月"),
    N_("5月"),
    N_("6月"),
    N_("7月"),
    N_("8月"),
    N_("9月"),
    N_("10月"),
    N_("11月"),
    N_("12月"),
)


def month_short(month: str) -> str:
    """A month ("2026-05") without its year: 5月, May."""
    return _(MONTH_NAMES[int(month[5:7]) - 1])


def month_name(month: str) -> str:
    """A month ("2026-05") with its year: 2026年5月, May 2026."""
    return _("%(year)s年%(month)s") % {"year": month[:4], "month": month_short(month)}


def month_row(month: str, year_shown: bool) -> Markup:
    """A month ("2026-05") heading a table's row, in the order the reader's language writes a month and its year
    (Babel's): 2026年12月, Dec 2026. Its year is shown on the first row and on January, else there for a screen
    reader only: 12月, Dec."""
    year = _("%(year)s年") % {"year": month[:4]}
    name = month_short(month)
    year_first = _year_first(i18n.html_lang())
    if year_shown:
        shown = Markup('<span class="nowrap">%s</span>')
        # Chinese has no space to break at: the year and the month may go on two lines, each whole.
        joint = Markup("<wbr>") if year_first else Markup(" ")
        return shown % year + joint + shown % name if year_first else shown % name + joint + shown % year
    if year_first:
        return Markup('<span class="visually-hidden">%s</span>%s') % (year, name)
    return Markup('%s<span class="visually-hidden"> %s</span>') % (name, year)


@functools.cache
def _year_first(tag: str) -> bool:
    """Whether a language writes a month's year before it (y年M月) or after (MMM y), as Babel's locale data says."""
    pattern = Locale.parse(tag, sep="-").datetime_skeletons["yMMM"].pattern
    return pattern.index("y") < pattern.index("M")


def _suppressed() -> Markup:
    return _suppressed_in(i18n.current_language())


def _nothing() -> Markup:
    return _nothing_in(i18n.current_language())


# A page draws hundreds of these: made once per language (drawn inside a request in that language).
@functools.cache
def _suppressed_in(language: str) -> Markup:
    hidden = _("（少于%(count)s件，不公布）") % {"count": SMALL_CELL}
    return Markup('&lt;{0}<span class="visually-hidden">{1}</span>').format(SMALL_CELL, hidden)


@functools.cache
def _nothing_in(language: str) -> Markup:
    return Markup('<span aria-hidden="true">—</span><span class="visually-hidden">{0}</span>').format(_("无数据"))


def figure(cell: object, name: str, kind: str = "count") -> Markup:
    """One published figure of a cell (a month, a department …, the home page's headline): "<5" where fewer than 5
    办件 are behind it (not published), "—" where nothing was counted; a share in percent, days to one place, a count
    with thousands separators. (A function, not a template macro: a page has hundreds.)"""
    if name in getattr(cell, "suppressed", ()):
        return _suppressed()
    value = getattr(cell, name)
    if value is None:
        return _nothing()
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
    return month_short(month.month)


def _points(report: StatsReport, name: str) -> list[Point]:
    return [Point(_label(m), getattr(m, name), name in m.suppressed) for m in report.months]


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _summary(report: StatsReport, kind: str, what: str, name: str, show: Callable[[float], str]) -> str:
    """What a screen reader says for a chart: the figure, the period, its highest and lowest month (`kind` and `what`
    already in the reader's language)."""
    shown = [(m.month, getattr(m, name)) for m in report.months if getattr(m, name) is not None]
    sentences = [
        _("%(kind)s：%(from)s至%(to)s每月%(what)s。")
        % {"kind": kind, "from": month_name(report.from_month), "to": month_name(report.to_month), "what": what}
    ]
    if shown:
        high = max(shown, key=lambda p: p[1])
        low = min(shown, key=lambda p: p[1])
        sentences.append(
            _("最高%(high_month)s，%(high)s；最低%(low_month)s，%(low)s。")
            % {
                "high_month": month_name(high[0]),
                "high": show(high[1]),
                "low_month": month_name(low[0]),
                "low": show(low[1]),
            }
        )
    else:
        sentences.append(_("这一期间没有可公布的数字。"))
    if any(name in m.suppressed for m in report.months):
        sentences.append(_("少于%(count)s件的月份不公布。") % {"count": SMALL_CELL})
    sentences.append(_("各月数字见下表。"))
    # Chinese sets sentences side by side; English puts a space between them.
    return ("" if i18n.current_language() == "zh" else " ").join(sentences)


def _count_label(value: float) -> str:
    """A bar's number of cases: 1 case, 1,234 cases; 1件."""
    return ngettext("%(count)s件", "%(count)s件", round(value)) % {"count": f"{value:,.0f}"}


def charts(report: StatsReport, *, elder: bool) -> Charts:
    """The page's charts, their words in the language of the request (the drawing is kept per language)."""

    channels = [
        ("online_share", _("网上办理")),
        ("no_visit_share", _("不见面办理")),
        ("instant_share", _("即办件")),
    ]
    line, bar = _("折线图"), _("柱状图")
    return Charts(
        received=Chart(
            bar_chart(
                _points(report, "received"), _summary(report, bar, _("收件量"), "received", _count_label), elder=elder
            ),
            [],
        ),
        channels=Chart(
            line_chart(
                [Series(label, _points(report, name)) for name, label in channels],
                _summary(report, line, _("网上办理占比（另有不见面办理、即办件占比两条线）"), "online_share", _percent),
                elder=elder,
            ),
            [(number, label) for number, (_name, label) in enumerate(channels, start=1)],
        ),
        on_time=_one_line(report, "on_time_rate", _("按期办结率"), elder),
        satisfaction=_one_line(report, "satisfaction_rate", _("好评率"), elder),
        follow_ups=_one_line(report, "follow_up_on_time_rate", _("差评按时整改率"), elder),
        online_available=gauge(
            report.catalogue.online_available_rate,
            report.catalogue.online_available_target,
            _gauge_summary(
                _("网上可办率"), report.catalogue.online_available_rate, report.catalogue.online_available_target
            ),
        ),
        certificates=gauge(
            report.catalogue.certificate_rate,
            report.catalogue.certificate_target,
            _gauge_summary(_("证照入库率"), report.catalogue.certificate_rate, report.catalogue.certificate_target),
        ),
    )


def _one_line(report: StatsReport, name: str, what: str, elder: bool) -> Chart:
    return Chart(
        line_chart(
            [Series(what, _points(report, name))], _summary(report, _("折线图"), what, name, _percent), elder=elder
        ),
        [],
    )


def _gauge_summary(what: str, value: float | None, target: float) -> str:
    if value is None:
        return _("条形图：%(what)s暂无可公布的数字，目标%(target)s。") % {"what": what, "target": _percent(target)}
    words = (
        _("条形图：%(what)s%(value)s，目标%(target)s，已达到目标。")
        if value >= target
        else _("条形图：%(what)s%(value)s，目标%(target)s，未达到目标。")
    )
    return words % {"what": what, "value": _percent(value), "target": _percent(target)}


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
