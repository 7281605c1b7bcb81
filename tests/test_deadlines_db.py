"""Deadlines through the database calendar: provisional beyond the package's data, exact after load-holidays."""

from datetime import date
from pathlib import Path

import asyncpg
import pytest

from app.calendar.service import promised_date
from app.calendar.store import load_calendar
from app.catalogue.models import TimeLimit
from tests.test_cli import run_cli

pytestmark = pytest.mark.anyio

HOLIDAYS_2027 = """# 2027 schedule (test data, not the State Council's)
2027-01-01 holiday
2027-01-04 holiday
"""


async def test_a_deadline_into_2027_is_provisional_until_the_year_is_loaded(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    five_days = TimeLimit(5, "工作日")
    before = promised_date(await load_calendar(pool), five_days, date(2026, 12, 28))
    assert before.provisional
    assert before.due_on == date(2027, 1, 4)  # weekends only: 29, 30, 31, 1, 4
    schedule = tmp_path / "2027.txt"
    schedule.write_text(HOLIDAYS_2027, encoding="utf-8")
    result = run_cli(database_url, tmp_path, "load-holidays", str(schedule))
    assert result.returncode == 0, result.stderr
    after = promised_date(await load_calendar(pool), five_days, date(2026, 12, 28))
    assert not after.provisional
    assert after.due_on == date(2027, 1, 6)  # 29, 30, 31, then 1 Jan and 4 Jan are holidays: 5, 6


async def test_a_bad_schedule_file_is_refused_with_its_line(database_url: str, tmp_path: Path) -> None:
    schedule = tmp_path / "bad.txt"
    schedule.write_text("2027-01-01 holiday\n2027-01-05 workday\n", encoding="utf-8")
    result = run_cli(database_url, tmp_path, "load-holidays", str(schedule))
    assert result.returncode == 2 and "第2行" in result.stderr


def test_calendar_days_are_counted_plainly() -> None:
    from app.calendar.workdays import HolidayCalendar

    deadline = promised_date(HolidayCalendar({}), TimeLimit(30, "日历日"), date(2026, 9, 30))
    assert deadline.due_on == date(2026, 10, 30) and not deadline.provisional
