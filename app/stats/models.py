"""The public statistics at their boundaries: what other units tell the statistics (a task, a rating, a follow-up as
they count), the increments kept, and the figures published (page, JSON, CSV)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import NamedTuple

import msgspec

from db.pool import Tx

# What each day's row counts, in the order of the tables' columns (db/migrations/0035_statistics.sql).
MEASURES = (
    "received",
    "received_instant",
    "completed",
    "completed_on_time",
    "working_days",
    "delivered",
    "delivered_no_visit",
    "certificates_due",
    "certificates_issued",
    "ratings",
    "ratings_good",
    "follow_ups",
    "follow_ups_on_time",
)
CHANNELS = ("online", "window", "helper")


# --- what other units report ------------------------------------------------------------------------------------


class TaskFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A task (one service item of a case) as the statistics count it."""

    department_code: str
    office_region: str  # the office answering for it (app.cases.offices.answering_office)
    item_code: str
    channel: str  # how its case was filed: online, window, helper
    instant: bool  # a 即办件
    received_on: date  # the day its case was filed, in Beijing
    due_on: date | None  # the promised date (承诺办结日期)
    certificate_due: bool  # its item puts a result into the e-certificate library


class TaskHistory(msgspec.Struct, frozen=True, kw_only=True):
    """A task with what has happened to it, as a recount reads it from the records."""

    task: TaskFacts
    completed_on: date | None
    delivered_on: date | None
    delivered_in_person: bool  # 出件 by 窗口领取
    certificate_issued: bool  # its case holds a certificate of the item's result kind


class RatingFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A rating (好差评) as counted: on the day it was first given, for the office rated."""

    department_code: str  # '' for the case as a whole
    office_region: str
    item_code: str  # '' for the case as a whole
    channel: str  # how the case was filed
    rated_on: date
    level: int


class FollowUpFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A bad rating's follow-up (整改) as counted: on the day its result is due, and whether it was answered in time
    (回访 and result each by its deadline)."""

    department_code: str  # '' for the case as a whole
    office_region: str
    due_on: date
    on_time: bool


class Delta(NamedTuple):
    """Signed increments of one day's row."""

    day: date
    department_code: str
    office_region: str
    item_code: str
    channel: str
    measures: dict[str, int]


# Where a recount reads the records from: each unit's own service, handed in by the composition root (app/database.py),
# so the statistics never import the units that report to them. Each yields batches until the records are read.
TaskHistories = Callable[[Tx], AsyncIterator[list[TaskHistory]]]
RatingRecords = Callable[[Tx], AsyncIterator[list[RatingFacts]]]
FollowUpRecords = Callable[[Tx], AsyncIterator[list[FollowUpFacts]]]


class Sources(msgspec.Struct, frozen=True):
    tasks: TaskHistories
    ratings: RatingRecords
    follow_ups: FollowUpRecords


# --- what the rollups hold -----------------------------------------------------------------------------------------


class Sums(msgspec.Struct, frozen=True, kw_only=True):
    """Counts over some months and offices (stats_monthly, and follow-ups from stats_daily)."""

    received: int = 0
    received_online: int = 0
    received_window: int = 0
    received_helper: int = 0
    received_instant: int = 0
    completed: int = 0
    completed_on_time: int = 0
    working_days: int = 0
    delivered: int = 0
    delivered_no_visit: int = 0
    certificates_due: int = 0
    certificates_issued: int = 0
    ratings: int = 0
    ratings_good: int = 0
    follow_ups: int = 0
    follow_ups_on_time: int = 0


# --- what is published -----------------------------------------------------------------------------------------------

# Fewer cases than this behind a figure and it is not published ("<5"): nobody is recognisable in it.
SMALL_CELL = 5


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """Every figure of one cell (a month, the period, a department or district). Shares and rates are fractions of
    1, rounded to 4 places; null when nothing was counted or when the cell is suppressed. A figure counted over fewer
    than 5 办件 is suppressed: it is null, and its name is listed in `suppressed` (shown as "<5")."""

    received: int | None
    online_share: float | None
    window_share: float | None
    helper_share: float | None
    instant_share: float | None
    delivered: int | None
    no_visit_share: float | None
    completed: int | None
    on_time_rate: float | None
    average_working_days: float | None
    ratings: int | None
    satisfaction_rate: float | None
    follow_ups_due: int | None
    follow_up_on_time_rate: float | None
    certificates_due: int | None
    certificate_rate: float | None
    suppressed: list[str]


class MonthFigures(Figures, frozen=True, kw_only=True):
    month: str  # YYYY-MM


class GroupFigures(Figures, frozen=True, kw_only=True):
    code: str
    name: str


class Choice(msgspec.Struct, frozen=True):
    code: str
    name: str


class FilterChoices(msgspec.Struct, frozen=True, kw_only=True):
    departments: list[Choice]
    districts: list[Choice]  # 320400 (市本级) first
    months: list[Choice]  # YYYY-MM, the latest first


class CatalogueFigures(msgspec.Struct, frozen=True, kw_only=True):
    """网上可办率 of the catalogue (items offered 网上办理 / all items, of the department chosen) beside the plan's
    85%, and 证照入库率 (completed items whose result is in the e-certificate library, in the period) beside 100%."""

    items: int
    online_items: int
    online_available_rate: float | None
    online_available_target: float
    certificates_due: int | None
    certificates_issued: int | None
    certificate_rate: float | None
    certificate_target: float
    suppressed: list[str]


class StatsReport(msgspec.Struct, frozen=True, kw_only=True):
    """GET /api/v1/stats."""

    from_month: str = msgspec.field(name="from")
    to_month: str = msgspec.field(name="to")
    department: Choice | None
    district: Choice | None
    as_of: date  # figures include what happened up to this day (Beijing); the last month may be partial
    months: list[MonthFigures]
    total: Figures  # the whole period
    departments: list[GroupFigures]  # the period, per department (within the district chosen)
    districts: list[GroupFigures]  # the period, per district (of the department chosen); 320400: the city's offices
    catalogue: CatalogueFigures
    small_cell_threshold: int = SMALL_CELL


class StatsQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A checked query: whole months, first days."""

    first_month: date
    last_month: date
    department: str | None
    district: str | None


class Headline(msgspec.Struct, frozen=True, kw_only=True):
    """The home page's three figures for this month (city): None where suppressed or nothing was counted."""

    month: str  # YYYY-MM
    received: int | None
    on_time_rate: float | None
    satisfaction_rate: float | None
    suppressed: list[str]
