"""Public statistics (/stats): what counts and when, the increments other units report in their own transactions,
folding them into the rollups, recounting everything from the records, and the figures as published — a figure
counted over fewer than 5 办件 is not published ("<5").

What counts (the page's 统计口径 says the same):
- A 办件 is a task: one service item of a case (一件事 filed with four items: four 办件), counted for the department and
  the office handling it (tasks.office_region; its district, or 市本级 for the city's own offices; a 全城通办 task no
  office has taken: the applicant's district, which receives it), each figure on the day of its own event.
- Received on the day its case was filed, through the case's channel (online, at a window, by a helper); 即办件 by its
  item's kind.
- Completed (办结) on its day: on time when no later than the promised date (tasks.due_on); working days from the
  filing day to 办结 (app/calendar); 证照入库 when its item issues a result and the case holds a certificate of that
  kind.
- Delivered (出件) on its day: 不见面 when the case was filed online or by a helper and the result not collected at a
  window (窗口领取) — the resident came to no hall from filing to delivery.
- A rating on the day first given (an edit changes its level, not its day); 好评 is 满意 or 非常满意.
- A follow-up (整改) on the day its result is due: on time when 回访 and the result each came by their deadline. Only
  those already due are published.

Who calls what: app.cases (a case filed, a task moved) and app.reviews (a rating, a follow-up) report through the
functions under "increments"; they never touch the tables. A recount (migration 0035's data step, `python -m app
stats-rebuild`) reads the records through those units' services, handed in as `Sources`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import urlencode

import asyncpg
import msgspec

from app.calendar.service import current_calendar, month_and_year, today_in_china
from app.calendar.workdays import WorkdayCounter
from app.catalogue import service as catalogue
from app.errors import FieldErrors
from app.stats import store
from app.stats.models import (
    MEASURES,
    SMALL_CELL,
    CatalogueFigures,
    Choice,
    Delta,
    Figures,
    FilterChoices,
    FollowUpFacts,
    GroupFigures,
    Headline,
    MonthFigures,
    RatingFacts,
    Sources,
    StatsQuery,
    StatsReport,
    Sums,
    TaskFacts,
)
from app.web.cache import TtlCache
from db.pool import DB, Tx
from i18n import N_, gettext

log = logging.getLogger("app.stats")

FOLD_SECONDS = 5.0
FOLD_BATCH = 5_000
HEADLINE_SECONDS = 60.0
# A figure may be this many seconds behind (besides the fold's few): public aggregates, read by many.
REPORT_SECONDS = 30.0
# Past that, a report is still answered for up to this long while one worker's reload replaces it (app/web/cache.py):
# no request waits for a reload, which takes tens of milliseconds at a city's million cases.
REPORT_STALE_SECONDS = 300.0
REPORT_ENTRIES = 256
FIRST_MONTH = date(2018, 1, 1)  # the plan (常政发〔2018〕69号): nothing to count before it
DEFAULT_MONTHS = 12
MAX_MONTHS = 36
ONLINE_TARGET = 0.85  # 网上可办率 ≥ 85% (§三(二)2)
CERTIFICATE_TARGET = 1.0  # every result into the e-certificate library
GOOD_LEVELS = frozenset({4, 5})  # 满意, 非常满意
# Which count each figure is counted over: when that count is 1–4, the figures go unpublished together.
_BASES: dict[str, tuple[str, ...]] = {
    "received": ("received", "online_share", "window_share", "helper_share", "instant_share"),
    "delivered": ("delivered", "no_visit_share"),
    "completed": ("completed", "on_time_rate", "average_working_days"),
    "ratings": ("ratings", "satisfaction_rate"),
    "follow_ups": ("follow_ups_due", "follow_up_on_time_rate"),
    "certificates_due": ("certificates_due", "certificate_rate"),
}
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


# --- what counts ------------------------------------------------------------------------------------------------------


def _delta(day: date, task: TaskFacts, **measures: int) -> Delta:
    return Delta(day, task.department_code, task.office_region, task.item_code, task.channel, measures)


def received_part(task: TaskFacts) -> Delta:
    return _delta(task.received_on, task, received=1, received_instant=int(task.instant))


def completion_part(
    task: TaskFacts, completed_on: date, certificate_issued: bool, working_days: Callable[[date, date], int]
) -> Delta:
    return _delta(
        completed_on,
        task,
        completed=1,
        completed_on_time=int(task.due_on is None or completed_on <= task.due_on),
        working_days=working_days(task.received_on, completed_on) if completed_on >= task.received_on else 0,
        certificates_due=int(task.certificate_due),
        certificates_issued=int(task.certificate_due and certificate_issued),
    )


def delivery_part(task: TaskFacts, delivered_on: date, in_person: bool) -> Delta:
    return _delta(delivered_on, task, delivered=1, delivered_no_visit=int(task.channel != "window" and not in_person))


def rating_part(rating: RatingFacts) -> Delta:
    return Delta(
        rating.rated_on,
        rating.department_code,
        rating.office_region,
        rating.item_code,
        rating.channel,
        {"ratings": 1, "ratings_good": int(rating.level in GOOD_LEVELS)},
    )


def follow_up_part(follow_up: FollowUpFacts) -> Delta:
    return Delta(
        follow_up.due_on,
        follow_up.department_code,
        follow_up.office_region,
        "",
        "",
        {"follow_ups": 1, "follow_ups_on_time": int(follow_up.on_time)},
    )


def _negated(delta: Delta) -> Delta:
    return delta._replace(measures={name: -value for name, value in delta.measures.items()})


def _net(deltas: list[Delta]) -> list[Delta]:
    """The increments summed per row, rows that come to nothing left out (a rating edited to the same level)."""
    rows: dict[tuple[date, str, str, str, str], dict[str, int]] = {}
    for delta in deltas:
        row = rows.setdefault(delta[:5], {})
        for name, value in delta.measures.items():
            row[name] = row.get(name, 0) + value
    return [Delta(*key, measures) for key, measures in rows.items() if any(measures.values())]


# --- increments, in the reporting unit's transaction ------------------------------------------------------------------


async def tasks_received(tx: Tx, tasks: list[TaskFacts]) -> None:
    """A case was filed: its tasks are received today."""
    await store.append(tx, _net([received_part(task) for task in tasks]))


async def task_moved(
    tx: Tx,
    before: TaskFacts,
    after: TaskFacts,
    *,
    completed_on: date | None = None,
    certificate_issued: bool = False,
    delivered_on: date | None = None,
    delivered_in_person: bool = False,
) -> None:
    """A task moved: taken by an office (a 全城通办 task: its receipt moves to that office), completed, delivered."""
    deltas: list[Delta] = []
    if before.office_region != after.office_region:
        deltas += [_negated(received_part(before)), received_part(after)]
    if completed_on is not None:
        calendar = await current_calendar(tx)
        deltas.append(completion_part(after, completed_on, certificate_issued, calendar.working_days_between))
    if delivered_on is not None:
        deltas.append(delivery_part(after, delivered_on, delivered_in_person))
    await store.append(tx, _net(deltas))


async def rating_changed(tx: Tx, before: RatingFacts | None, after: RatingFacts) -> None:
    """A rating given (before: None) or changed."""
    deltas = [rating_part(after)] + ([_negated(rating_part(before))] if before else [])
    await store.append(tx, _net(deltas))


async def follow_up_changed(tx: Tx, before: FollowUpFacts | None, after: FollowUpFacts) -> None:
    """A follow-up opened (before: None), answered, or opened again after an answer (a new bad rating)."""
    deltas = [follow_up_part(after)] + ([_negated(follow_up_part(before))] if before else [])
    await store.append(tx, _net(deltas))


# --- folding and recounting -------------------------------------------------------------------------------------------


async def fold(pool: asyncpg.Pool) -> int:
    """Move every increment committed so far into the rollups, a batch per transaction; how many were moved (0 when
    another process is folding: it moves them). Safe to stop anywhere: a batch is moved and deleted together."""
    moved = 0
    while True:
        async with pool.acquire() as tx, tx.transaction():
            batch = await store.fold_batch(tx, FOLD_BATCH)
        if batch is None:
            return moved
        moved += batch
        if batch < FOLD_BATCH:
            return moved


async def keep_folding(pool: asyncpg.Pool) -> None:
    """Each web worker: fold every few seconds (one at a time across workers and hosts), and read this month's
    headline for the home page once a minute. Until cancelled."""
    last_headline = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            await fold(pool)
            if loop.time() - last_headline >= HEADLINE_SECONDS:
                await refresh_headline(pool)
                last_headline = loop.time()
        except Exception:  # the database may be briefly away: the increments wait for the next round
            log.warning("statistics not folded yet", exc_info=True)
        await asyncio.sleep(FOLD_SECONDS)


async def rebuild(conn: Tx, sources: Sources) -> int:
    """Recount every figure from the records (migration 0035's data step; `python -m app stats-rebuild`): the rollups
    replaced in one repeatable-read transaction, so the records read and the increments dropped are of one moment;
    increments committed meanwhile stay for the next fold. Takes a session lock on `conn` (a connection of its own,
    not a pooled one): folds wait. Returns how many daily rows it wrote."""
    await store.lock_for_recount(conn)
    try:
        async with conn.transaction(isolation="repeatable_read"):
            calendar = await current_calendar(conn)
            today = today_in_china()
            counter = WorkdayCounter(calendar, FIRST_MONTH, today + timedelta(days=366))

            def working_days(start: date, end: date) -> int:
                try:
                    return counter.between(start, end)
                except ValueError:  # a date outside the counter's years (a clock gone wrong): count it the long way
                    return calendar.working_days_between(start, end)

            rows: dict[tuple[date, str, str, str, str], list[int]] = {}
            index = {name: position for position, name in enumerate(MEASURES)}

            def add(delta: Delta) -> None:
                row = rows.setdefault(delta[:5], [0] * len(MEASURES))
                for name, value in delta.measures.items():
                    row[index[name]] += value

            async for batch in sources.tasks(conn):
                for history in batch:
                    add(received_part(history.task))
                    if history.completed_on is not None:
                        add(
                            completion_part(
                                history.task, history.completed_on, history.certificate_issued, working_days
                            )
                        )
                    if history.delivered_on is not None:
                        add(delivery_part(history.task, history.delivered_on, history.delivered_in_person))
            async for ratings in sources.ratings(conn):
                for rating in ratings:
                    add(rating_part(rating))
            async for follow_ups in sources.follow_ups(conn):
                for follow_up in follow_ups:
                    add(follow_up_part(follow_up))
            await store.replace_rollups(conn, [(*key, *values) for key, values in rows.items()])
    finally:
        await store.unlock_after_recount(conn)
    forget_cached_figures()
    return len(rows)


# --- the query --------------------------------------------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _parse_month(raw: str | None, field: str, label: str, this_month: date, errors: dict[str, str]) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    match = _MONTH.fullmatch(text)
    month = int(match.group(2)) if match else 0
    if match is None or not 1 <= month <= 12:
        errors[field] = gettext("%(label)s请按“年-月”填写，例如 %(example)s") % {
            "label": label,
            "example": f"{this_month:%Y-%m}",
        }
        return None
    value = date(int(match.group(1)), month, 1)
    if value < FIRST_MONTH:
        errors[field] = gettext("%(label)s不能早于%(month_text)s：统计从%(year)s年开始") % {
            "label": label,
            "month_text": month_and_year(FIRST_MONTH),
            "year": FIRST_MONTH.year,
        }
    elif value > this_month:
        errors[field] = gettext("%(label)s不能晚于本月（%(month_text)s）") % {
            "label": label,
            "month_text": month_and_year(this_month),
        }
    return value


async def checked_query(
    db: DB, *, from_month: str | None, to_month: str | None, department: str | None, district: str | None
) -> StatsQuery:
    """The period (whole months; the last 12 up to this month unless asked otherwise, at most 36) and the filters, or
    FieldErrors with one Chinese message per field."""
    errors: dict[str, str] = {}
    this_month = _month_start(today_in_china())
    first = _parse_month(from_month, "from", N_("起始月份"), this_month, errors)
    last = _parse_month(to_month, "to", N_("截止月份"), this_month, errors)
    department = (department or "").strip() or None
    district = (district or "").strip() or None
    names = await _names(db)
    if department is not None and department not in names.departments:
        errors["department"] = N_("没有这个部门，请从列表中选择部门，或选“全部部门”")
    if district is not None and district not in names.districts:
        errors["district"] = N_("没有这个区，请从列表中选择区（县级市）、“市本级”，或选“全市”")
    if errors:
        raise FieldErrors(errors)
    if first is None and last is None:
        last = this_month
    if last is None:
        assert first is not None
        last = min(_add_months(first, DEFAULT_MONTHS - 1), this_month)
    if first is None:
        first = max(_add_months(last, 1 - DEFAULT_MONTHS), FIRST_MONTH)
    if last < first:
        raise FieldErrors({"to": N_("截止月份不能早于起始月份")})
    if _months_between(first, last) > MAX_MONTHS:
        raise FieldErrors(
            {"to": gettext("一次最多查看%(max_months)s个月，请缩短起止月份") % {"max_months": MAX_MONTHS}}
        )
    return StatsQuery(first_month=first, last_month=last, department=department, district=district)


# --- the figures ------------------------------------------------------------------------------------------------------


class _Names:
    def __init__(self, departments: dict[str, str], districts: dict[str, str], first_month: date | None) -> None:
        self.departments = departments
        self.districts = districts
        self.first_month = first_month  # the first month with any figure


_catalogue_names: TtlCache[_Names] = TtlCache(60.0)
_reports: TtlCache[StatsReport] = TtlCache(REPORT_SECONDS, max_entries=REPORT_ENTRIES, stale_for=REPORT_STALE_SECONDS)


async def _names(db: DB) -> _Names:
    async def load() -> _Names:
        departments = {d.code: d.short_name for d in await catalogue.departments(db)}
        districts = {
            r.code: (N_("市本级") if r.level == "city" else r.name) for r in await catalogue.city_and_districts(db)
        }
        return _Names(departments, districts, await store.first_month(db))

    return await _catalogue_names.get("names", load)


def forget_cached_figures() -> None:
    """Read the figures afresh on the next request (this process's copies dropped): after a recount, and in tests."""
    _reports.clear()
    _catalogue_names.clear()
    _latest.headline = None


async def choices(db: DB) -> FilterChoices:
    """The page's filters: every department; the city's own offices (市本级) and every district; the months back to
    the first with any figure (at least the last 12), the latest first — chosen from a list: no date format to get
    wrong, whatever the browser. (The API takes any month from 2018 on.)"""
    names = await _names(db)
    months: list[Choice] = []
    month = _month_start(today_in_china())
    first = max(FIRST_MONTH, min(names.first_month or month, _add_months(month, 1 - DEFAULT_MONTHS)))
    while month >= first:
        months.append(Choice(f"{month:%Y-%m}", month_and_year(month)))
        month = _add_months(month, -1)
    return FilterChoices(
        departments=[Choice(code, name) for code, name in names.departments.items()],
        districts=[Choice(code, name) for code, name in names.districts.items()],
        months=months,
    )


def query_params(report: StatsReport) -> dict[str, str]:
    """The query of these figures, as a link repeats it."""
    params = {"from": report.from_month, "to": report.to_month}
    if report.department:
        params["department"] = report.department.code
    if report.district:
        params["district"] = report.district.code
    return params


def links(report: StatsReport) -> dict[str, str]:
    query = urlencode(query_params(report))
    return {"csv": f"/stats.csv?{query}", "json": f"/api/v1/stats?{query}"}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def figures_of(sums: Sums) -> Figures:
    """Every figure of one cell, with those counted over 1–4 办件 left unpublished (and named in `suppressed`)."""
    values: dict[str, int | float | None] = {
        "received": sums.received,
        "online_share": _share(sums.received_online, sums.received),
        "window_share": _share(sums.received_window, sums.received),
        "helper_share": _share(sums.received_helper, sums.received),
        "instant_share": _share(sums.received_instant, sums.received),
        "delivered": sums.delivered,
        "no_visit_share": _share(sums.delivered_no_visit, sums.delivered),
        "completed": sums.completed,
        "on_time_rate": _share(sums.completed_on_time, sums.completed),
        "average_working_days": round(sums.working_days / sums.completed, 1) if sums.completed > 0 else None,
        "ratings": sums.ratings,
        "satisfaction_rate": _share(sums.ratings_good, sums.ratings),
        "follow_ups_due": sums.follow_ups,
        "follow_up_on_time_rate": _share(sums.follow_ups_on_time, sums.follow_ups),
        "certificates_due": sums.certificates_due,
        "certificate_rate": _share(sums.certificates_issued, sums.certificates_due),
    }
    suppressed: list[str] = []
    for base, names in _BASES.items():
        if 0 < getattr(sums, base) < SMALL_CELL:
            suppressed += names
            values.update(dict.fromkeys(names))
    return msgspec.convert({**values, "suppressed": suppressed}, Figures)


def _add(a: Sums, b: Sums) -> Sums:
    return Sums(**{name: getattr(a, name) + getattr(b, name) for name in Sums.__struct_fields__})


def _with_follow_ups(sums: Sums | None, follow_ups: tuple[int, int] | None) -> Sums:
    due, on_time = follow_ups or (0, 0)
    return msgspec.structs.replace(sums or Sums(), follow_ups=due, follow_ups_on_time=on_time)


def _group(code: str, name: str, figures: Figures) -> GroupFigures:
    return GroupFigures(code=code, name=name, **msgspec.structs.asdict(figures))


async def report(db: DB, query: StatsQuery) -> StatsReport:
    """The figures for the query, as published (computed at most every REPORT_SECONDS per worker)."""
    return await _reports.get(query, lambda: _report(db, query))


async def _report(db: DB, q: StatsQuery) -> StatsReport:
    today = today_in_china()
    names = await _names(db)
    due_before = min(_add_months(q.last_month, 1), today)  # follow-ups are published once due
    first, last, department, district = q.first_month, q.last_month, q.department, q.district
    by_month = await store.sums(db, first, last, department, district, by="month")
    follow_ups = await store.follow_ups(db, first, due_before, department, district, by="month")
    by_department = await store.sums(db, first, last, None, district, by="department")
    department_follow_ups = await store.follow_ups(db, first, due_before, None, district, by="department")
    by_district = await store.sums(db, first, last, department, None, by="district")
    district_follow_ups = await store.follow_ups(db, first, due_before, department, None, by="district")
    months: list[MonthFigures] = []
    total = Sums()
    month = first
    while month <= last:
        sums = _with_follow_ups(by_month.get(month), follow_ups.get(month))
        total = _add(total, sums)
        months.append(MonthFigures(month=f"{month:%Y-%m}", **msgspec.structs.asdict(figures_of(sums))))
        month = _add_months(month, 1)
    return StatsReport(
        from_month=f"{first:%Y-%m}",
        to_month=f"{last:%Y-%m}",
        department=Choice(department, names.departments[department]) if department else None,
        district=Choice(district, names.districts[district]) if district else None,
        as_of=today,
        months=months,
        total=figures_of(total),
        departments=[
            _group(code, name, figures_of(_with_follow_ups(by_department.get(code), department_follow_ups.get(code))))
            for code, name in names.departments.items()
        ],
        districts=[
            _group(code, name, figures_of(_with_follow_ups(by_district.get(code), district_follow_ups.get(code))))
            for code, name in names.districts.items()
        ],
        catalogue=await _catalogue_figures(db, department, total),
    )


async def _catalogue_figures(db: DB, department: str | None, total: Sums) -> CatalogueFigures:
    availability = [a for a in await catalogue.online_availability(db) if department in (None, a.department_code)]
    items = sum(a.items for a in availability)
    online = sum(a.online_items for a in availability)
    figures = figures_of(total)
    suppressed = [n for n in ("certificates_due", "certificate_rate") if n in figures.suppressed]
    return CatalogueFigures(
        items=items,
        online_items=online,
        online_available_rate=_share(online, items),
        online_available_target=ONLINE_TARGET,
        certificates_due=figures.certificates_due,
        certificates_issued=None if suppressed else total.certificates_issued,
        certificate_rate=figures.certificate_rate,
        certificate_target=CERTIFICATE_TARGET,
        suppressed=suppressed,
    )


# --- the home page's headline -----------------------------------------------------------------------------------------


class _Latest:
    headline: Headline | None = None


_latest = _Latest()


async def refresh_headline(db: DB) -> Headline:
    """This month's city figures, kept in the process for the home page (read once a minute: keep_folding), so the
    home page makes no query for them."""
    month = _month_start(today_in_china())
    figures = figures_of((await store.sums(db, month, month, None, None, by="month")).get(month, Sums()))
    _latest.headline = Headline(
        month=f"{month:%Y-%m}",
        received=figures.received,
        on_time_rate=figures.on_time_rate,
        satisfaction_rate=figures.satisfaction_rate,
        suppressed=figures.suppressed,
    )
    return _latest.headline


def current_headline() -> Headline | None:
    """The home page's figures as last read; None before the first reading (the home page then leaves them out)."""
    return _latest.headline


# --- CSV --------------------------------------------------------------------------------------------------------------

_CSV_COLUMNS = (
    ("received", N_("收件量（件）"), "count"),
    ("online_share", N_("网上办理占比（%）"), "share"),
    ("window_share", N_("窗口办理占比（%）"), "share"),
    ("helper_share", N_("帮办代办占比（%）"), "share"),
    ("instant_share", N_("即办件占比（%）"), "share"),
    ("delivered", N_("出件量（件）"), "count"),
    ("no_visit_share", N_("不见面办理占比（%）"), "share"),
    ("completed", N_("办结量（件）"), "count"),
    ("on_time_rate", N_("按期办结率（%）"), "share"),
    ("average_working_days", N_("平均办理用时（工作日）"), "days"),
    ("ratings", N_("评价数"), "count"),
    ("satisfaction_rate", N_("好评率（%）"), "share"),
    ("follow_ups_due", N_("到期差评整改数"), "count"),
    ("follow_up_on_time_rate", N_("差评按时整改率（%）"), "share"),
    ("certificates_due", N_("应入库证照数"), "count"),
    ("certificate_rate", N_("证照入库率（%）"), "share"),
)


def _csv_cell(figures: Figures, name: str, kind: str) -> str:
    if name in figures.suppressed:
        return f"<{SMALL_CELL}"
    value = getattr(figures, name)
    if value is None:
        return ""
    if kind == "share":
        return f"{value * 100:.1f}"
    return str(value)


def csv_text(report: StatsReport) -> str:
    """One row per month and one for the whole period: "<5" where a figure is not published, empty where nothing
    was counted; shares in percent. With a byte-order mark, so spreadsheet programs read it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    department = report.department.name if report.department else N_("全部部门")
    district = report.district.name if report.district else N_("全市")
    writer.writerow([N_("月份"), N_("部门"), N_("区（县级市）"), *[label for _, label, _ in _CSV_COLUMNS]])
    rows: list[tuple[str, Figures]] = [(m.month, m) for m in report.months]
    rows.append(
        (
            gettext("%(from_month)s至%(to_month)s合计")
            % {"from_month": report.from_month, "to_month": report.to_month},
            report.total,
        )
    )
    for label, figures in rows:
        writer.writerow([label, department, district, *[_csv_cell(figures, n, k) for n, _, k in _CSV_COLUMNS]])
    return "\ufeff" + out.getvalue()


def csv_filename(report: StatsReport) -> str:
    return f"changzhou-stats-{report.from_month}-{report.to_month}.csv"
