"""The calendar as the app uses it: the day and time in China whatever the server's time zone, and the working-day
calendar (the package's data plus admin-loaded years, cached briefly)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.calendar import store
from app.calendar.workdays import Deadline, HolidayCalendar, YearOverride
from app.catalogue.models import TimeLimit
from app.web.cache import TtlCache
from db.pool import DB

# Deadlines, case numbers and every time shown are in Beijing time; servers usually run in UTC.
CHINA = ZoneInfo("Asia/Shanghai")
# A schedule loaded with `load-holidays` reaches every worker within this many seconds.
CALENDAR_TTL_SECONDS = 30.0
_calendar: TtlCache[HolidayCalendar] = TtlCache(CALENDAR_TTL_SECONDS)


def today_in_china() -> date:
    return datetime.now(CHINA).date()


def china_time(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as read in China (北京时间), whatever the server's time zone."""
    return moment.astimezone(CHINA).strftime(fmt)


def promised_date(calendar: HolidayCalendar, limit: TimeLimit, start: date) -> Deadline:
    """A promised limit counted from `start`: working days by the Chinese calendar, or calendar days."""
    if limit.unit == "日历日":
        return Deadline(due_on=start + timedelta(days=limit.value), provisional=False)
    return calendar.add_working_days(start, limit.value)


async def current_calendar(db: DB) -> HolidayCalendar:
    return await _calendar.get("calendar", lambda: store.load_calendar(db))


async def save_year(db: DB, override: YearOverride) -> None:
    """A year's holidays and make-up workdays as the State Council published them (`python -m app load-holidays`):
    they take precedence over the package's data, and every web worker counts with them within
    CALENDAR_TTL_SECONDS."""
    await store.save_year(db, override)
