"""The calendar as the app uses it: the day and time in China whatever the server's time zone, and the working-day
calendar (the package's data plus admin-loaded years, cached briefly)."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_skeleton

from app.calendar import store
from app.calendar.workdays import Deadline, HolidayCalendar, YearOverride
from app.catalogue.models import CALENDAR_DAYS, TimeLimit
from app.web.cache import TtlCache
from db.pool import DB
from i18n import _, current_language

# Deadlines, case numbers and every time shown are in Beijing time; servers usually run in UTC.
CHINA = ZoneInfo("Asia/Shanghai")
# A schedule loaded with `load-holidays` reaches every worker within this many seconds.
CALENDAR_TTL_SECONDS = 30.0
_calendar: TtlCache[HolidayCalendar] = TtlCache(CALENDAR_TTL_SECONDS)


def today_in_china() -> date:
    return datetime.now(CHINA).date()


# The formats pages ask for (strftime, as Chinese writes them) and the same as Babel writes them in each other
# language: 2026-11-29 15:40 is "29 Nov 2026, 15:40" in English. A format not listed here is written as asked.
_FORMATS: dict[str, dict[str, str]] = {
    "en": {
        "%Y-%m-%d %H:%M": "d MMM y, HH:mm",
        "%Y-%m-%d": "d MMM y",
        "%Y年%m月%d日": "d MMMM y",  # i18n: data (the strftime format a page asks for, never shown)
        "%H:%M": "HH:mm",
    },
}
# Babel's locale for each language's dates: British English (day before month, 24-hour clock), as the texts are.
_LOCALES = {"en": "en_GB"}


def china_time(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as read in China (北京时间), whatever the server's time zone, written the reader's way."""
    return _written(moment, fmt, current_language())


# Written once per moment, format and language while in use: the back office's queue writes each case's moment on
# every page drawn (issue 20), the same few thousand moments over and over.
@functools.lru_cache(maxsize=4096)
def _written(moment: datetime, fmt: str, language: str) -> str:
    local = moment.astimezone(CHINA)
    pattern = _FORMATS.get(language, {}).get(fmt)
    if pattern is None:
        return local.strftime(fmt)
    return format_datetime(local, pattern, tzinfo=CHINA, locale=_LOCALES[language])


def month_and_year(day: date) -> str:
    """The month of `day` with its year, the reader's way (Babel's): 2026年5月, May 2026."""
    return format_skeleton("yMMM", day, locale=_LOCALES.get(current_language(), "zh_CN"))


def beijing_time(moment: datetime) -> str:
    """A moment with its time zone said, for a notice read anywhere: 2026-11-29 15:40（北京时间）."""
    return _("%(time)s（北京时间）") % {"time": china_time(moment)}


def promised_date(calendar: HolidayCalendar, limit: TimeLimit, start: date) -> Deadline:
    """A promised limit counted from `start`: working days by the Chinese calendar, or calendar days."""
    if limit.unit == CALENDAR_DAYS:
        return Deadline(due_on=start + timedelta(days=limit.value), provisional=False)
    return calendar.add_working_days(start, limit.value)


async def current_calendar(db: DB) -> HolidayCalendar:
    return await _calendar.get("calendar", lambda: store.load_calendar(db))


async def save_year(db: DB, override: YearOverride) -> None:
    """A year's holidays and make-up workdays as the State Council published them (`python -m app load-holidays`):
    they take precedence over the package's data, and every web worker counts with them within
    CALENDAR_TTL_SECONDS."""
    await store.save_year(db, override)
