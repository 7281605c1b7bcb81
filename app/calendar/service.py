"""The working-day calendar as the app uses it: the package's data plus admin-loaded years, cached briefly."""

from __future__ import annotations

from app.calendar import store
from app.calendar.workdays import HolidayCalendar
from app.web.cache import TtlCache
from db.pool import DB

# A schedule loaded with `load-holidays` reaches every worker within this many seconds.
CALENDAR_TTL_SECONDS = 30.0
_calendar: TtlCache[HolidayCalendar] = TtlCache(CALENDAR_TTL_SECONDS)


async def current_calendar(db: DB) -> HolidayCalendar:
    return await _calendar.get("calendar", lambda: store.load_calendar(db))


def forget_calendar() -> None:
    """After loading a schedule in this process (the CLI, tests), use it at once."""
    _calendar.clear()
