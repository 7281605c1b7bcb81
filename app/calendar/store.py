"""SQL for admin-loaded holiday schedules (they take precedence over the chinesecalendar package)."""

from __future__ import annotations

from app.calendar.workdays import HolidayCalendar, YearOverride
from db.pool import DB


async def load_calendar(db: DB) -> HolidayCalendar:
    rows = await db.fetch("SELECT year, holidays, workdays FROM holiday_years")
    return HolidayCalendar(
        {r["year"]: YearOverride(r["year"], frozenset(r["holidays"]), frozenset(r["workdays"])) for r in rows}
    )


async def save_year(db: DB, override: YearOverride) -> None:
    await db.execute(
        "INSERT INTO holiday_years (year, holidays, workdays) VALUES ($1, $2, $3) "
        "ON CONFLICT (year) DO UPDATE SET holidays = $2, workdays = $3, loaded_at = now()",
        override.year,
        sorted(override.holidays),
        sorted(override.workdays),
    )
