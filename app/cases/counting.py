"""What the public statistics (app/stats) learn from cases: each task as counted, told in the transaction that files the
case or moves the task (so a figure never counts what was rolled back), and every task's history for a recount."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Protocol

from app.calendar.service import CHINA
from app.cases import offices, store
from app.cases.models import TaskRow
from app.certificates import service as certificates
from app.stats import service as stats
from app.stats.models import TaskFacts, TaskHistory
from db.pool import Tx

INSTANT = "即办件"  # i18n: data (the catalogue's item kind, a code matched against the task row)
_RECOUNT_CASES = 20_000  # cases read per batch of a recount


class _Task(Protocol):
    """What a task's row says that the statistics count (TaskRow, and TaskHistoryRow for a recount)."""

    @property
    def department_code(self) -> str: ...
    @property
    def office_region(self) -> str | None: ...
    @property
    def applicant_region(self) -> str: ...
    @property
    def item_code(self) -> str: ...
    @property
    def item_kind(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def submitted_at(self) -> datetime: ...
    @property
    def due_on(self) -> date | None: ...


def _facts(task: _Task, certificate_due: bool) -> TaskFacts:
    return TaskFacts(
        department_code=task.department_code,
        office_region=offices.answering_office(task.office_region, task.applicant_region),
        item_code=task.item_code,
        channel=task.channel,
        instant=task.item_kind == INSTANT,
        received_on=_day(task.submitted_at),
        due_on=task.due_on,
        certificate_due=certificate_due,
    )


def _day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def task_facts(task: TaskRow) -> TaskFacts:
    return _facts(task, task.result_certificate is not None)


async def count_received(tx: Tx, tasks: list[TaskRow]) -> None:
    """A new case's tasks (as made), received on the day it was filed."""
    await stats.tasks_received(tx, [task_facts(task) for task in tasks])


async def count_move(tx: Tx, before: TaskRow, after: TaskRow, today: date) -> None:
    """A move of a task, in its transaction: an office taking a 全城通办 task, 办结 (with whether its result went into
    the e-certificate library, issued in this same transaction), 出件. A correction (更正) is not a new 办件: its
    task is never counted (nor in a recount)."""
    if before.corrects_certificate_id is not None:
        return
    completed = after.status == "completed" and before.status != "completed"
    delivered = after.status == "delivered" and before.status != "delivered"
    if not (completed or delivered or before.office_region != after.office_region):
        return
    issued = False
    if completed and after.result_certificate is not None:
        held = await certificates.results_in_library(tx, [after.case_id])
        issued = (after.case_id, after.result_certificate.kind) in held
    await stats.task_moved(
        tx,
        task_facts(before),
        task_facts(after),
        completed_on=today if completed else None,
        certificate_issued=issued,
        delivered_on=today if delivered else None,
        delivered_in_person=after.delivery_method == "window",
    )


async def histories(tx: Tx) -> AsyncIterator[list[TaskHistory]]:
    """Every task with the days it was completed and delivered (its first such timeline events) and whether its case
    holds its result certificate, a batch of cases at a time (a recount: app.stats.service.rebuild)."""
    last = await store.last_case_id(tx)
    after = 0
    while after < last:
        upto = after + _RECOUNT_CASES
        rows = await store.task_histories(tx, after, upto)
        held = await certificates.results_in_library(tx, sorted({r.case_id for r in rows if r.certificate_kind}))
        yield [
            TaskHistory(
                task=_facts(r, r.certificate_kind is not None),
                completed_on=_day(r.completed_at) if r.completed_at else None,
                delivered_on=_day(r.delivered_at) if r.delivered_at else None,
                delivered_in_person=r.delivery_method == "window",
                certificate_issued=r.certificate_kind is not None and (r.case_id, r.certificate_kind) in held,
            )
            for r in rows
        ]
        after = upto
