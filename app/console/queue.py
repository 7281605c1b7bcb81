"""The back office's queue as a page: one row per case with the caller's tasks inside, who applied (masked) and
where it was received, narrowed by status, department, overdue or due soon (app.console.service.task_queue decides
which tasks are the caller's).

A page as drawn is kept by the web worker (KeptQueues) and sent again while nothing it shows can have changed: the
database counts every change to the tasks of each district, to the tasks no office has taken yet and to what a row
shows of a case (migration 0050), and a page is kept with the count of its region when it was read. Each view reads
that count (one statement) in place of the page's three and the drawing of its rows (issue 20: a third of the
worker's CPU a page, half of the database's). A page of the API's queue (`/api/v1/console/tasks`, by task) is kept
the same way, as the JSON it is sent as. What moves with the clock is in the key a page is kept under: the day
(overdue) and the last day due soon (working days, by the calendar in force); so is everything of the caller the
queue depends on."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Generic, Protocol, TypeVar
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar.serialization import encode_json
from markupsafe import Markup

import i18n
from app.cases import consent_flow, workflow
from app.cases.models import QueueCaseFacts
from app.cases.states import TASK_STATUS_LABELS
from app.catalogue import service as catalogue
from app.console import store
from app.console.models import ConsoleQueue, ConsoleTask, QueueCase, QueueFilters, QueueOption
from app.console.service import (
    QUEUE_PAGE,
    QUEUE_PAGE_CASES,
    QUEUE_STATUSES,
    RECEIVED_HOW,
    task_queue,
    today_and_soon,
)
from app.people.identity import mask_name
from auth.models import CurrentUser
from auth.scope import region_prefix
from i18n import N_, _

# Their labels are marked here and translated where the page draws them.
DUE_FILTERS = {"overdue": N_("已超期"), "soon": N_("即将到期（2个工作日内）")}
# 即办件 (done at once: 马上办 at the window) apart from 承诺件 (done within the promised working days).
AT_ONCE = "即办件"  # i18n: data (the catalogue's item kind: a code in the query string)
KIND_FILTERS = {AT_ONCE: N_("即办件（可当场办结）"), "承诺件": N_("承诺件")}  # i18n: data (keys are codes)


def queue_filters(status: str, department: str, due: str, kind: str = "") -> QueueFilters:
    """The filters as asked in the query string; a value the queue does not know is ignored, not an error."""
    return QueueFilters(
        status=status if status in TASK_STATUS_LABELS else "",
        department=department.strip()[:40],
        due=due if due in DUE_FILTERS else "",
        kind=kind if kind in KIND_FILTERS else "",
    )


def _received(facts: QueueCaseFacts | None) -> tuple[str, str]:
    """(where, how) a case was received: the hall that took it at a window (recorded on the case: 全城通办, any hall
    receives any resident), else the applicant's district."""
    if facts is None:
        return "—", ""
    how = _(RECEIVED_HOW[facts.channel]) if facts.channel in RECEIVED_HOW else facts.channel
    if facts.filed_as == "clerk" and facts.receiving_region:
        return _("%(hall)s政务服务窗口") % {"hall": facts.receiving_region}, how
    return facts.applicant_district or "—", how


def _case_rows(tasks: list[ConsoleTask], facts: Mapping[str, QueueCaseFacts], *, flags_shown: bool) -> list[QueueCase]:
    """Tasks grouped by case, in the order of each case's most urgent task (the queue comes soonest due first)."""
    grouped: dict[str, list[ConsoleTask]] = {}
    for task in tasks:
        grouped.setdefault(task.case_no, []).append(task)
    rows: list[QueueCase] = []
    for case_no, own in grouped.items():
        first, found = own[0], facts.get(case_no)
        where, how = _received(found)
        rows.append(
            QueueCase(
                case_no=case_no,
                life_event_name=first.life_event_name,
                applicant_name_masked=mask_name(found.applicant_name) if found else "—",
                subject_org_name=found.subject_org_name if found else None,
                received_where=where,
                received_how=how,
                submitted_at=first.submitted_at,
                tasks=own,
                overdue=any(t.overdue for t in own),
                due_soon=any(t.due_soon for t in own),
                duplicate=flags_shown and found is not None and found.duplicate,
            )
        )
    return rows


async def case_queue(
    db: asyncpg.Pool, user: CurrentUser, filters: QueueFilters, cursor: str | None = None
) -> ConsoleQueue:
    """A page of the caller's queue (app.console.service.task_queue) as cases, from `cursor` (the page before's)."""
    page = await task_queue(db, user, filters, cursor, QUEUE_PAGE_CASES, whole_cases=True)
    is_clerk = "clerk" in user.roles
    # 一事不二办: the window clerk sees which cases wait for their check as perhaps one matter with another.
    rows = _case_rows(page.tasks, page.case_facts, flags_shown=is_clerk)
    # A window clerk receives for every department: each may be chosen, whether or not this page shows its tasks.
    departments = [QueueOption(value=d.code, label=d.short_name) for d in await catalogue.departments(db)]
    return ConsoleQueue(
        cases=rows,
        task_count=len(page.tasks),
        overdue_cases=sum(1 for r in rows if r.overdue),
        filters=filters,
        statuses=[
            QueueOption(value=s, label=TASK_STATUS_LABELS[s])
            for s in QUEUE_STATUSES["clerk" if is_clerk else "approver"]
        ],
        departments=departments if is_clerk else [],
        next_query=_query(filters, page.next_cursor) if page.next_cursor else None,
        first_query=_query(filters, None) if cursor else None,
    )


def _query(filters: QueueFilters, cursor: str | None) -> str:
    """The query string of a page of the queue: its filters (those set) and where it starts."""
    asked = {**msgspec.structs.asdict(filters), "cursor": cursor or ""}
    return urlencode({key: value for key, value in asked.items() if value})


# Pages a worker keeps: a few KB of rows each, the queues of a hall's clerks and the pages they turn to.
KEPT_QUEUE_PAGES = 32


class KeptQueue(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a queue and its rows as drawn, with the count of changes to its region's queues when it was read."""

    changes: int
    queue: ConsoleQueue
    rows: str


class KeptTaskPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the API's queue as sent (the JSON Litestar makes of its tasks) and where the next page starts, with
    the count of changes to its region's queues when it was read."""

    changes: int
    body: bytes
    next_cursor: str | None


class _Counted(Protocol):
    @property
    def changes(self) -> int: ...


Page = TypeVar("Page", bound=_Counted)


class KeptQueues(Generic[Page]):
    """The pages of queues one app keeps (app.state: a test's app does not see another's database's pages), the
    least recently sent dropped first."""

    def __init__(self, size: int = KEPT_QUEUE_PAGES) -> None:
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._size = size

    def standing(self, key: Hashable, changes: int) -> Page | None:
        """The page kept under `key`, if its queue has seen no change since it was read."""
        kept = self._pages.get(key)
        if kept is None or kept.changes != changes:
            return None
        self._pages.move_to_end(key)
        return kept

    def keep(self, key: Hashable, page: Page) -> None:
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > self._size:
            self._pages.popitem(last=False)


async def drawn_case_queue(
    db: asyncpg.Pool,
    user: CurrentUser,
    filters: QueueFilters,
    cursor: str | None,
    kept: KeptQueues[KeptQueue],
    draw: Callable[[ConsoleQueue], str],
) -> tuple[ConsoleQueue, Markup]:
    """A page of the caller's queue (case_queue) and its rows as `draw` draws them: the page kept for this view while
    its region's queues have seen no change, else read, drawn and kept."""
    changes, key = await _count_and_view(db, user, filters, cursor)
    page = kept.standing(key, changes)
    if page is None:
        queue = await case_queue(db, user, filters, cursor)
        page = KeptQueue(changes=changes, queue=queue, rows=draw(queue))
        kept.keep(key, page)
    return page.queue, Markup(page.rows)  # noqa: S704 -- drawn by our own template, autoescaped


async def sent_task_page(
    db: asyncpg.Pool, user: CurrentUser, cursor: str | None, limit: int, kept: KeptQueues[KeptTaskPage]
) -> KeptTaskPage:
    """A page of the caller's queue by task (app.console.service.task_queue: the API's), as sent: the page kept for
    this view while its region's queues have seen no change, else read and kept. Only pages of the default size are
    kept (about 25 KB each, so at most KEPT_QUEUE_PAGES × 25 KB a worker; a page of 200 weighs four times that). A
    cursor or limit the queue refuses is refused as ever (nothing is kept under it)."""
    changes, view = await _count_and_view(db, user, QueueFilters(), cursor)
    key = (limit, view)
    page = kept.standing(key, changes)
    if page is None:
        read = await task_queue(db, user, cursor=cursor, limit=limit)
        page = KeptTaskPage(changes=changes, body=encode_json(read.tasks), next_cursor=read.next_cursor)
        if limit == QUEUE_PAGE:
            kept.keep(key, page)
    return page


async def _count_and_view(
    db: asyncpg.Pool, user: CurrentUser, filters: QueueFilters, cursor: str | None
) -> tuple[int, Hashable]:
    """The count of changes the caller's queue has seen and the key of the view asked for. The count is read before
    the page, so a page read after a change it missed is kept under the count before that change, and never sent
    again."""
    await consent_flow.sweep(db)  # a lapsed consent moves its tasks (a change counted) before the count is read
    changes = await store.queue_changes(db, region_prefix(user.region_code)) if user.region_code else 0
    return changes, _view_of(user, filters, cursor, *await today_and_soon(db))


def _view_of(user: CurrentUser, filters: QueueFilters, cursor: str | None, *clock: object) -> Hashable:
    """Everything a page of the queue depends on but its data: what of the caller task_queue and case_queue read
    (role, region, department, window authorisations), the page asked for, the day and the last day due soon
    (`clock`), and the language it is drawn in."""
    is_clerk = "clerk" in user.roles
    departments = tuple(workflow.clerk_departments(user)) if is_clerk else ()
    return (
        is_clerk,
        user.region_code,
        user.department_code,
        departments,
        filters,
        cursor,
        *clock,
        i18n.current_language(),
    )
