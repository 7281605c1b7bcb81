"""The one working-day calendar the whole app shares.

Time limits for cases (承诺办结时限), follow-ups and rectifications are counted
in Chinese working days (工作日): weekdays, minus statutory holidays, plus the
weekend days the State Council moves work to (调休上班).

Where the answer for a year comes from, in order:

1. an override an administrator loaded for that year (see `parse_year_override`);
   it replaces every other source for that year, so a late or corrected State
   Council notice can be applied without a deploy;
2. the `chinesecalendar` package, which ships the published schedules
   (2004–2026 in version 1.11) and raises NotImplementedError for other years;
3. otherwise weekends only, and any deadline that relied on it is *provisional*,
   so the UI can say the date may still move once the year's schedule is out.

This module does no I/O: the caller reads overrides from the database and
passes them in. Dates are calendar dates in China (Asia/Shanghai); convert an
instant to that zone before asking which day it falls on.
"""

import re
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache
from types import MappingProxyType
from typing import Literal

import chinese_calendar
import msgspec

from i18n import N_, _

_ONE_DAY = timedelta(days=1)
_WEEKDAY_NAMES = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))

DayKind = Literal["holiday", "workday"]
_DAY_KIND_NAMES: dict[DayKind, str] = {"holiday": N_("放假日（holiday）"), "workday": N_("调休上班日（workday）")}


class YearOverride(msgspec.Struct, frozen=True):
    """An administrator's schedule for one year.

    `holidays` are days off (a weekend day may be listed, e.g. inside the Spring
    Festival week); `workdays` are weekend days on which people work (调休上班).
    Every other day follows the plain weekday/weekend rule.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]

    def __post_init__(self) -> None:
        # Checked here as well as in the parser because overrides also arrive
        # from the database, and a calendar built on inconsistent data would
        # silently move every deadline in that year.
        outside_year = sorted(day for day in self.holidays | self.workdays if day.year != self.year)
        if outside_year:
            raise ValueError(
                _("%(year)s年的调休安排中出现了其他年份的日期：%(days)s")
                % {"year": self.year, "days": _format_days(outside_year)}
            )
        in_both = sorted(self.holidays & self.workdays)
        if in_both:
            raise ValueError(_("以下日期不能既放假又上班：%(days)s") % {"days": _format_days(in_both)})
        weekday_workdays = sorted(day for day in self.workdays if not _is_weekend(day))
        if weekday_workdays:
            raise ValueError(
                _("调休上班日应为周六或周日，以下日期本来就是工作日：%(days)s")
                % {"days": _format_days(weekday_workdays)}
            )


class Deadline(msgspec.Struct, frozen=True):
    """A due date, and whether it was computed without the official schedule for some year it spans."""

    due_on: date
    provisional: bool


class HolidayCalendar:
    """Answers working-day questions from admin overrides, then the package, then weekends."""

    __slots__ = ("_overrides",)

    def __init__(self, overrides: Mapping[int, YearOverride]) -> None:
        for year, override in overrides.items():
            if override.year != year:
                raise ValueError(f"override for {override.year} was filed under {year}")
        # A private read-only copy: a caller mutating its dict later must not
        # change deadlines that were already computed from this calendar.
        self._overrides = MappingProxyType(dict(overrides))

    def has_data_for(self, year: int) -> bool:
        """True if holidays and make-up workdays are known for `year`, not merely guessed."""
        return year in self._overrides or _package_knows_year(year)

    def is_workday(self, day: date) -> bool:
        override = self._overrides.get(day.year)
        if override is not None:
            return _is_workday_by_override(day, override)
        if _package_knows_year(day.year):
            return chinese_calendar.is_workday(day)
        return not _is_weekend(day)

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The day on which a limit of `days` working days ends.

        Counting starts the day after `start`, as for a case accepted on `start`:
        with a limit of 1 it is due on the next working day. A limit of 0 (即办件)
        is due on `start` itself. The result is provisional if any day looked at
        lies in a year with no schedule, because that day might yet turn out to
        be a holiday or a make-up workday.
        """
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        remaining = days
        provisional = False
        while remaining > 0:
            day += _ONE_DAY
            provisional = provisional or not self.has_data_for(day.year)
            if self.is_workday(day):
                remaining -= 1
        return Deadline(due_on=day, provisional=provisional)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.add_working_days(day, 1).due_on

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`, e.g. how long an SLA was paused.

        It is the inverse of `add_working_days`: for `d = add_working_days(s, n).due_on`,
        `working_days_between(s, d) == n`.
        """
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            count += self.is_workday(day)
            day += _ONE_DAY
        return count


class WorkdayCounter:
    """`working_days_between` for many pairs of dates at once (the statistics count every completed task's days): each
    day's running count of working days from `first` to `last`, worked out once, so a pair is one subtraction."""

    __slots__ = ("_first", "_last", "_running")

    def __init__(self, calendar: HolidayCalendar, first: date, last: date) -> None:
        self._first, self._last = first, last
        running, count, day = [0], 0, first
        while day < last:
            day += _ONE_DAY
            count += calendar.is_workday(day)
            running.append(count)
        self._running = running

    def between(self, start: date, end: date) -> int:
        """The same as `HolidayCalendar.working_days_between(start, end)`, for dates from `first` to `last`."""
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        if start < self._first or end > self._last:
            raise ValueError(f"{start}–{end} lies outside {self._first}–{self._last}")
        return self._running[(end - self._first).days] - self._running[(start - self._first).days]


def parse_year_override(text: str) -> YearOverride:
    """Read the schedule file an administrator uploads for one year.

    Format, one entry per line::

        # 2027年部分节假日安排（示例）
        2027-01-01 holiday   # 元旦
        2027-02-06 workday   # 春节调休，周六上班

    - `YYYY-MM-DD holiday` marks a day off; it may fall on a weekend.
    - `YYYY-MM-DD workday` marks a weekend day on which people work (调休上班);
      listing a weekday here is an error, as it is a working day anyway.
    - `#` starts a comment; blank lines are ignored.
    - All dates must be in the same year; a date may appear only once.

    Days not listed follow the weekday/weekend rule. Any error raises
    ValueError with a Chinese message that starts with the line number
    ("第3行：…") so the administrator can fix the file and upload it again.
    """
    kinds: dict[date, DayKind] = {}
    first_seen_on_line: dict[date, int] = {}
    year: int | None = None
    year_line = 0
    # Files saved by Windows Notepad start with a byte-order mark.
    for line_number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        day, kind = _parse_entry(content, line_number)
        if year is None:
            year, year_line = day.year, line_number
        elif day.year != year:
            raise ValueError(
                _(
                    "第%(line)s行：%(day)s 不在%(year)s年（第%(first)s行起的日期都是%(year)s年），"
                    "一个文件只能包含同一年的日期"
                )
                % {"line": line_number, "day": day, "year": year, "first": year_line}
            )
        if kind == "workday" and not _is_weekend(day):
            raise ValueError(
                _("第%(line)s行：%(day)s 是%(weekday)s，本来就是工作日；workday 只用于调到周六或周日上班的日子")
                % {"line": line_number, "day": day, "weekday": _(_WEEKDAY_NAMES[day.weekday()])}
            )
        if day in kinds:
            raise ValueError(_repeated_day_message(line_number, day, kind, kinds[day], first_seen_on_line[day]))
        kinds[day] = kind
        first_seen_on_line[day] = line_number
    if year is None:
        raise ValueError(_("文件中没有任何日期；每行应为“YYYY-MM-DD holiday”或“YYYY-MM-DD workday”"))
    return YearOverride(
        year=year,
        holidays=frozenset(day for day, kind in kinds.items() if kind == "holiday"),
        workdays=frozenset(day for day, kind in kinds.items() if kind == "workday"),
    )


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_entry(content: str, line_number: int) -> tuple[date, DayKind]:
    fields = content.split()
    if len(fields) != 2 or not _ISO_DATE.fullmatch(fields[0]) or fields[1].lower() not in _DAY_KIND_NAMES:
        raise ValueError(
            _(
                "第%(line)s行：无法识别“%(content)s”；"
                "每行应为“YYYY-MM-DD holiday”（放假）或“YYYY-MM-DD workday”（调休上班）"
            )
            % {"line": line_number, "content": content}
        )
    # The pattern check comes first because date.fromisoformat also accepts
    # forms such as 20270101 or 2027-W01-1, which would hide typos.
    try:
        day = date.fromisoformat(fields[0])
    except ValueError:
        raise ValueError(
            _("第%(line)s行：日期“%(day)s”不存在，请核对月份和日") % {"line": line_number, "day": fields[0]}
        ) from None
    kind: DayKind = "holiday" if fields[1].lower() == "holiday" else "workday"
    return day, kind


def _repeated_day_message(line_number: int, day: date, kind: DayKind, earlier_kind: DayKind, earlier_line: int) -> str:
    if kind == earlier_kind:
        return _("第%(line)s行：%(day)s 与第%(earlier)s行重复，请删去其中一行") % {
            "line": line_number,
            "day": day,
            "earlier": earlier_line,
        }
    return _("第%(line)s行：%(day)s 在第%(earlier)s行已列为%(earlier_kind)s，不能同时列为%(kind)s") % {
        "line": line_number,
        "day": day,
        "earlier": earlier_line,
        "earlier_kind": _(_DAY_KIND_NAMES[earlier_kind]),
        "kind": _(_DAY_KIND_NAMES[kind]),
    }


def _is_workday_by_override(day: date, override: YearOverride) -> bool:
    if day in override.holidays:
        return False
    if day in override.workdays:
        return True
    return not _is_weekend(day)


@cache
def _package_knows_year(year: int) -> bool:
    # The package has no public "supported years" API; it raises for a year it
    # has no schedule for, so asking about one day tells us about the year.
    # Probing (rather than hard-coding 2004–2026) lets a package upgrade add
    # years without a code change.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def _format_days(days: list[date]) -> str:
    return "、".join(day.isoformat() for day in days)
