"""Which half-days a hall may be booked for, on the Chinese working-day calendar (app/appointments/slots.py)."""

from __future__ import annotations

from datetime import date, datetime, time

from app.appointments.slots import (
    BOOKING_DAYS,
    OpeningHours,
    SlotKey,
    bookable_days,
    booking_window,
    is_bookable,
    parse_slot_id,
    reminder_due,
    slot_keys,
    slot_label,
    slot_times,
)
from app.calendar.service import CHINA
from app.calendar.workdays import HolidayCalendar, YearOverride

PACKAGE = HolidayCalendar({})  # the State Council's schedules as the chinesecalendar package has them
HOURS = OpeningHours(am_opens=time(9), am_closes=time(12), pm_opens=time(13, 30), pm_closes=time(17))


def test_the_national_day_week_is_closed_and_its_make_up_sunday_is_open() -> None:
    # Friday 26 September 2025: the window runs to 10 October, across 国庆 (1–8 October off; Sunday 28 September
    # and Saturday 11 October worked).
    days = bookable_days(PACKAGE, date(2025, 9, 26))
    assert days == [date(2025, 9, 28), date(2025, 9, 29), date(2025, 9, 30), date(2025, 10, 9), date(2025, 10, 10)]


def test_a_make_up_saturday_inside_the_window_is_bookable() -> None:
    days = bookable_days(PACKAGE, date(2025, 9, 30))  # the window runs to 14 October
    assert date(2025, 10, 11) in days  # 调休上班 (a Saturday)
    assert date(2025, 10, 12) not in days  # an ordinary Sunday
    assert not any(date(2025, 10, 1) <= day <= date(2025, 10, 8) for day in days)


def test_today_is_never_booked_and_the_window_ends_after_booking_days() -> None:
    today = date(2025, 11, 3)  # a Monday
    first, last = booking_window(today)
    assert (first, last) == (date(2025, 11, 4), date(2025, 11, 17))
    assert (last - today).days == BOOKING_DAYS
    assert not is_bookable(PACKAGE, today, SlotKey(day=today, half="pm"))
    assert is_bookable(PACKAGE, today, SlotKey(day=date(2025, 11, 4), half="am"))
    assert is_bookable(PACKAGE, today, SlotKey(day=date(2025, 11, 17), half="pm"))
    assert not is_bookable(PACKAGE, today, SlotKey(day=date(2025, 11, 18), half="am"))
    assert not is_bookable(PACKAGE, today, SlotKey(day=date(2025, 11, 8), half="am"))  # a Saturday


def test_an_administrators_year_decides_for_a_year_the_package_does_not_know() -> None:
    # 2031: no published schedule in the package; a loaded year takes a Wednesday off and works a Sunday.
    override = YearOverride(year=2031, holidays=frozenset({date(2031, 1, 1)}), workdays=frozenset({date(2031, 1, 5)}))
    calendar = HolidayCalendar({2031: override})
    days = bookable_days(calendar, date(2030, 12, 30))
    assert date(2031, 1, 1) not in days
    assert date(2031, 1, 5) in days  # a Sunday worked
    assert date(2031, 1, 4) not in days  # a Saturday


def test_each_day_has_a_morning_and_an_afternoon_in_order_within_a_range() -> None:
    keys = slot_keys(PACKAGE, date(2025, 11, 3), start=date(2025, 11, 6), end=date(2025, 11, 7))
    assert [k.id for k in keys] == ["2025-11-06-am", "2025-11-06-pm", "2025-11-07-am", "2025-11-07-pm"]
    # A range outside the window gives nothing, whatever is asked.
    assert slot_keys(PACKAGE, date(2025, 11, 3), start=date(2025, 12, 1)) == []


def test_slot_ids_round_trip_and_nonsense_is_refused() -> None:
    assert parse_slot_id("2025-11-06-pm") == SlotKey(day=date(2025, 11, 6), half="pm")
    assert parse_slot_id(" 2025-11-06-am ") == SlotKey(day=date(2025, 11, 6), half="am")
    for bad in ("2025-02-30-am", "2025-11-06-noon", "2025-11-06", "", "2025-11-06-am-x", "１２"):
        assert parse_slot_id(bad) is None, bad


def test_times_are_beijing_time_and_the_reminder_is_the_morning_before() -> None:
    key = SlotKey(day=date(2025, 11, 6), half="pm")
    begins, ends = slot_times(HOURS, key)
    assert begins == datetime(2025, 11, 6, 13, 30, tzinfo=CHINA) and ends == datetime(2025, 11, 6, 17, tzinfo=CHINA)
    assert begins.utcoffset() is not None and begins.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert reminder_due(key) == datetime(2025, 11, 5, 10, tzinfo=CHINA)
    assert slot_label(HOURS, key) == "11月6日 周四 下午 13:30-17:00"
