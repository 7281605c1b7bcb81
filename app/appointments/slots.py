"""Which half-days a hall can be booked for, worked out from the working-day calendar (no I/O here).

A hall opens on working days only (app/calendar: statutory holidays closed, 调休 weekend workdays open), a morning
and an afternoon each. A visit is booked from tomorrow through BOOKING_DAYS days ahead (Beijing dates); today's
places are for those who walk in. A half-day is named by its slot id, `2026-12-03-am`, in the API and in the forms.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Literal

import msgspec

from app.calendar.service import CHINA
from app.calendar.workdays import HolidayCalendar
from i18n import N_, _

Half = Literal["am", "pm"]
HALVES: tuple[Half, ...] = ("am", "pm")
HALF_NAMES: dict[str, str] = {"am": N_("上午"), "pm": N_("下午")}
# How far ahead a visit may be booked, in calendar days from today.
BOOKING_DAYS = 14
# The reminder goes out the day before the visit, at this hour (Beijing time).
REMINDER_HOUR = 10
_WEEKDAYS = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))
_SLOT_ID = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})-(am|pm)")


class OpeningHours(msgspec.Struct, frozen=True, kw_only=True):
    am_opens: time
    am_closes: time
    pm_opens: time
    pm_closes: time

    def of(self, half: str) -> tuple[time, time]:
        return (self.am_opens, self.am_closes) if half == "am" else (self.pm_opens, self.pm_closes)

    @property
    def text(self) -> str:
        """工作日 9:00-12:00，13:30-17:00（法定节假日除外）"""
        return _("工作日 %(clock)s-%(clock2)s，%(clock3)s-%(clock4)s（法定节假日除外）") % {
            "clock": _clock(self.am_opens),
            "clock2": _clock(self.am_closes),
            "clock3": _clock(self.pm_opens),
            "clock4": _clock(self.pm_closes),
        }


class SlotKey(msgspec.Struct, frozen=True, order=True):
    """One half-day: a day and "am" or "pm"."""

    day: date
    half: str

    @property
    def id(self) -> str:
        return f"{self.day.isoformat()}-{self.half}"


def parse_slot_id(raw: str) -> SlotKey | None:
    """`2026-12-03-am` → its half-day; None for anything else (a date that does not exist included)."""
    match = _SLOT_ID.fullmatch(raw.strip())
    if match is None:
        return None
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError:
        return None
    return SlotKey(day=day, half=match.group(2))


def booking_window(today: date) -> tuple[date, date]:
    """The first and last day a visit may be booked for, booked today."""
    return today + timedelta(days=1), today + timedelta(days=BOOKING_DAYS)


def bookable_days(
    calendar: HolidayCalendar, today: date, start: date | None = None, end: date | None = None
) -> list[date]:
    """The working days within the booking window (and within [start, end], when given)."""
    first, last = booking_window(today)
    first, last = max(first, start or first), min(last, end or last)
    days: list[date] = []
    day = first
    while day <= last:
        if calendar.is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def slot_keys(
    calendar: HolidayCalendar, today: date, start: date | None = None, end: date | None = None
) -> list[SlotKey]:
    """Every half-day that may be booked today, in order."""
    return [SlotKey(day=day, half=half) for day in bookable_days(calendar, today, start, end) for half in HALVES]


def is_bookable(calendar: HolidayCalendar, today: date, key: SlotKey) -> bool:
    first, last = booking_window(today)
    return first <= key.day <= last and calendar.is_workday(key.day)


def slot_times(hours: OpeningHours, key: SlotKey) -> tuple[datetime, datetime]:
    """When the half-day starts and ends, in Beijing time."""
    opens, closes = hours.of(key.half)
    return datetime.combine(key.day, opens, CHINA), datetime.combine(key.day, closes, CHINA)


def reminder_due(key: SlotKey) -> datetime:
    """When the reminder of a visit goes out: the day before, at REMINDER_HOUR (Beijing time)."""
    return datetime.combine(key.day - timedelta(days=1), time(REMINDER_HOUR), CHINA)


def day_label(day: date) -> str:
    """12月3日 周三"""
    return _("%(month)s月%(day)s日 %(weekdays)s") % {
        "month": day.month,
        "day": day.day,
        "weekdays": _(_WEEKDAYS[day.weekday()]),
    }


def slot_label(hours: OpeningHours, key: SlotKey) -> str:
    """12月3日 周三 上午 9:00-12:00"""
    opens, closes = hours.of(key.half)
    return f"{day_label(key.day)} {HALF_NAMES[key.half]} {_clock(opens)}-{_clock(closes)}"


def half_label(hours: OpeningHours, half: str) -> str:
    """上午 9:00-12:00"""
    opens, closes = hours.of(half)
    return f"{HALF_NAMES[half]} {_clock(opens)}-{_clock(closes)}"


def _clock(moment: time) -> str:
    return f"{moment.hour}:{moment.minute:02d}"
