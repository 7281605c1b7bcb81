from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.calendar.workdays import Deadline, HolidayCalendar, YearOverride, parse_year_override

# With no overrides the calendar answers from chinesecalendar 1.11 (2004–2026).
PACKAGE_ONLY = HolidayCalendar({})

# Illustrative 2027 data for the tests, NOT the official 2027 schedule (which
# had not been published when this was written). 2027-01-01 is a Friday and
# 2027-02-06 a Saturday.
SAMPLE_2027_OVERRIDE_TEXT = """\
# 2027年节假日安排（测试用示例数据）

2027-01-01 holiday   # 元旦
2027-02-06 workday   # 调休：周六上班
2027-02-08 holiday
2027-02-09 holiday
2027-02-10 holiday
"""


def test_package_schedule_covers_2004_to_2026_only() -> None:
    assert PACKAGE_ONLY.has_data_for(2004)
    assert PACKAGE_ONLY.has_data_for(2026)
    assert not PACKAGE_ONLY.has_data_for(2003)
    assert not PACKAGE_ONLY.has_data_for(2027)


def test_case_accepted_before_national_day_2026_is_due_after_the_golden_week() -> None:
    # The 2026 schedule as chinesecalendar 1.11 encodes it (State Council notice
    # for 2026): 中秋 25–27 Sep off; 国庆 1–7 Oct off, with Sun 20 Sep and
    # Sat 10 Oct worked. From Wed 30 Sep the five working days are therefore
    # Thu 8, Fri 9, Sat 10 (调休上班), Mon 12 and Tue 13 October.
    assert PACKAGE_ONLY.add_working_days(date(2026, 9, 30), 5) == Deadline(due_on=date(2026, 10, 13), provisional=False)


def test_2026_make_up_saturday_counts_as_a_working_day() -> None:
    make_up_saturday = date(2026, 10, 10)
    assert make_up_saturday.weekday() == 5
    assert PACKAGE_ONLY.is_workday(make_up_saturday)
    assert PACKAGE_ONLY.next_working_day(date(2026, 10, 9)) == make_up_saturday


def test_2026_make_up_sunday_before_mid_autumn_counts_as_a_working_day() -> None:
    assert date(2026, 9, 20).weekday() == 6
    assert PACKAGE_ONLY.is_workday(date(2026, 9, 20))
    assert not PACKAGE_ONLY.is_workday(date(2026, 9, 27))


def test_one_working_day_limit_is_due_on_the_next_working_day() -> None:
    assert PACKAGE_ONLY.add_working_days(date(2026, 9, 30), 1).due_on == date(2026, 10, 8)
    assert PACKAGE_ONLY.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)


def test_zero_day_limit_is_due_the_same_day() -> None:
    assert PACKAGE_ONLY.add_working_days(date(2026, 10, 3), 0) == Deadline(due_on=date(2026, 10, 3), provisional=False)


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        PACKAGE_ONLY.add_working_days(date(2026, 10, 3), -1)


def test_year_without_any_schedule_falls_back_to_weekends_and_is_provisional() -> None:
    friday = date(2027, 3, 5)
    assert PACKAGE_ONLY.is_workday(friday)
    assert not PACKAGE_ONLY.is_workday(date(2027, 3, 6))
    assert PACKAGE_ONLY.add_working_days(friday, 1) == Deadline(due_on=date(2027, 3, 8), provisional=True)


def test_deadline_running_into_an_unknown_year_is_provisional() -> None:
    # 2027-01-01 is very likely 元旦, but without a schedule it counts as a Friday.
    assert PACKAGE_ONLY.add_working_days(date(2026, 12, 31), 1) == Deadline(due_on=date(2027, 1, 1), provisional=True)


def test_deadline_within_a_known_year_is_not_provisional() -> None:
    assert not PACKAGE_ONLY.add_working_days(date(2026, 12, 1), 20).provisional


def test_admin_override_for_2027_gives_exact_deadlines() -> None:
    calendar = HolidayCalendar({2027: parse_year_override(SAMPLE_2027_OVERRIDE_TEXT)})
    assert calendar.has_data_for(2027)
    assert calendar.add_working_days(date(2026, 12, 31), 1) == Deadline(due_on=date(2027, 1, 4), provisional=False)
    # Fri 5 Feb, then the make-up Saturday, then the 8–10 Feb holidays.
    assert calendar.add_working_days(date(2027, 2, 4), 3) == Deadline(due_on=date(2027, 2, 11), provisional=False)


def test_admin_override_replaces_the_package_schedule_for_its_year() -> None:
    # If a State Council notice is corrected after the package shipped, the
    # admin's file must win for that whole year.
    no_holidays_2026 = YearOverride(year=2026, holidays=frozenset(), workdays=frozenset())
    calendar = HolidayCalendar({2026: no_holidays_2026})
    assert calendar.is_workday(date(2026, 10, 1))
    assert not calendar.is_workday(date(2026, 10, 10))


def test_override_filed_under_the_wrong_year_is_refused() -> None:
    with pytest.raises(ValueError):
        HolidayCalendar({2028: parse_year_override(SAMPLE_2027_OVERRIDE_TEXT)})


def test_inconsistent_override_from_the_database_is_refused() -> None:
    with pytest.raises(ValueError, match="调休上班日应为周六或周日"):
        YearOverride(year=2027, holidays=frozenset(), workdays=frozenset({date(2027, 2, 10)}))
    with pytest.raises(ValueError, match="其他年份"):
        YearOverride(year=2027, holidays=frozenset({date(2028, 1, 1)}), workdays=frozenset())
    with pytest.raises(ValueError, match="既放假又上班"):
        YearOverride(year=2027, holidays=frozenset({date(2027, 2, 6)}), workdays=frozenset({date(2027, 2, 6)}))


def test_parsed_override_has_the_listed_days() -> None:
    override = parse_year_override(SAMPLE_2027_OVERRIDE_TEXT)
    assert override.year == 2027
    assert override.holidays == {date(2027, 1, 1), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)}
    assert override.workdays == {date(2027, 2, 6)}


def test_holiday_on_a_weekend_and_windows_file_quirks_are_accepted() -> None:
    text = "\ufeff2027-02-07 HOLIDAY\r\n2027-02-06 workday # 周六\r\n"
    override = parse_year_override(text)
    assert override.holidays == {date(2027, 2, 7)}
    assert override.workdays == {date(2027, 2, 6)}


@pytest.mark.parametrize(
    ("text", "message_start", "hint"),
    [
        ("2027-01-01 holiday\n\n2027-02-10 workday\n", "第3行：", "本来就是工作日"),
        ("# 注释\n2027-01-01 holiday\n2028-01-03 holiday\n", "第3行：", "同一年"),
        ("2027-01-01 holiday\n2027-01-01 holiday\n", "第2行：", "与第1行重复"),
        ("2027-02-06 workday\n2027-02-06 holiday\n", "第2行：", "不能同时列为"),
        ("2027-01-01 holiday\n2027-02-30 holiday\n", "第2行：", "不存在"),
        ("2027-01-01 holiday\n2027-01-02 off\n", "第2行：", "无法识别"),
        ("20270101 holiday\n", "第1行：", "无法识别"),
        ("2027-01-01\n", "第1行：", "无法识别"),
        ("2027-01-01 holiday extra\n", "第1行：", "无法识别"),
    ],
)
def test_parse_errors_name_the_line_to_fix(text: str, message_start: str, hint: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_year_override(text)
    message = str(raised.value)
    assert message.startswith(message_start)
    assert hint in message


def test_file_without_dates_is_refused() -> None:
    with pytest.raises(ValueError, match="没有任何日期"):
        parse_year_override("# 只有注释\n\n")


def test_working_days_between_counts_after_start_up_to_end() -> None:
    assert PACKAGE_ONLY.working_days_between(date(2026, 9, 30), date(2026, 10, 13)) == 5
    assert PACKAGE_ONLY.working_days_between(date(2026, 9, 30), date(2026, 10, 7)) == 0
    assert PACKAGE_ONLY.working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0
    assert PACKAGE_ONLY.working_days_between(date(2026, 10, 7), date(2026, 10, 8)) == 1


def test_working_days_between_refuses_an_end_before_the_start() -> None:
    with pytest.raises(ValueError):
        PACKAGE_ONLY.working_days_between(date(2026, 10, 8), date(2026, 10, 7))


@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    days=st.integers(min_value=0, max_value=40),
)
def test_working_days_between_undoes_add_working_days(start: date, days: int) -> None:
    due_on = PACKAGE_ONLY.add_working_days(start, days).due_on
    assert PACKAGE_ONLY.working_days_between(start, due_on) == days
    if days > 0:
        assert PACKAGE_ONLY.is_workday(due_on)
        assert PACKAGE_ONLY.working_days_between(start, due_on - timedelta(days=1)) == days - 1
