"""SQL for 征求意见 (the consultations table)."""

from __future__ import annotations

from datetime import date

import msgspec
from asyncpg import Record

from app.consultations.models import ConsultationRow
from db.pool import DB

_ROW = """
    SELECT c.id, c.case_id, c.task_id, ca.case_no, e.name AS life_event_name, i.name AS item_name,
           t.department_code AS asking_department_code, dt.short_name AS asking_department_name,
           c.department_code, d.short_name AS department_name, c.region_code, c.question,
           c.asked_by_account_id, asker.name AS asked_by_name, c.asked_at, c.due_on, c.due_provisional,
           c.answer, answerer.name AS answered_by_name, c.answered_at
    FROM consultations c
    JOIN tasks t ON t.id = c.task_id
    JOIN cases ca ON ca.id = c.case_id
    JOIN life_events e ON e.code = ca.life_event_code
    JOIN service_items i ON i.code = t.item_code
    JOIN departments dt ON dt.code = t.department_code
    JOIN departments d ON d.code = c.department_code
    JOIN accounts asker ON asker.id = c.asked_by_account_id
    LEFT JOIN accounts answerer ON answerer.id = c.answered_by_account_id
"""


def _row(row: Record) -> ConsultationRow:
    return msgspec.convert(dict(row), ConsultationRow)


async def insert(
    db: DB,
    *,
    case_id: int,
    task_id: int,
    department_code: str,
    region_code: str,
    question: str,
    asked_by_account_id: int,
    due_on: date,
    due_provisional: bool,
) -> int:
    return await db.fetchval(
        "INSERT INTO consultations (case_id, task_id, department_code, region_code, question, asked_by_account_id, "
        "due_on, due_provisional) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        case_id,
        task_id,
        department_code,
        region_code,
        question,
        asked_by_account_id,
        due_on,
        due_provisional,
    )


async def get(db: DB, consultation_id: int) -> ConsultationRow | None:
    row = await db.fetchrow(_ROW + " WHERE c.id = $1", consultation_id)
    return _row(row) if row else None


async def lock(db: DB, consultation_id: int) -> ConsultationRow | None:
    """The consultation locked for this transaction: a second answer waits, then finds it answered."""
    row = await db.fetchrow(_ROW + " WHERE c.id = $1 FOR UPDATE OF c", consultation_id)
    return _row(row) if row else None


async def set_answer(db: DB, consultation_id: int, answer: str, account_id: int) -> None:
    await db.execute(
        "UPDATE consultations SET answer = $2, answered_by_account_id = $3, answered_at = now() WHERE id = $1",
        consultation_id,
        answer,
        account_id,
    )


async def of_case(db: DB, case_id: int) -> list[ConsultationRow]:
    rows = await db.fetch(_ROW + " WHERE c.case_id = $1 ORDER BY c.asked_at, c.id", case_id)
    return [_row(r) for r in rows]


async def open_for(db: DB, *, department_code: str | None, region_prefix: str) -> list[ConsultationRow]:
    """Unanswered consultations of a department (every department's: None) whose competent region lies within the
    prefix, soonest due first."""
    rows = await db.fetch(
        _ROW + " WHERE c.answered_at IS NULL AND ($1::text IS NULL OR c.department_code = $1) "
        "AND c.region_code LIKE $2 || '%' ORDER BY c.due_on, c.id",
        department_code,
        region_prefix,
    )
    return [_row(r) for r in rows]


async def overdue(db: DB, *, department_code: str | None, region_prefix: str, today: date) -> list[ConsultationRow]:
    """Unanswered consultations past their date, as open_for narrows them, most overdue first."""
    rows = await db.fetch(
        _ROW + " WHERE c.answered_at IS NULL AND c.due_on < $3 AND ($1::text IS NULL OR c.department_code = $1) "
        "AND c.region_code LIKE $2 || '%' ORDER BY c.due_on, c.id",
        department_code,
        region_prefix,
        today,
    )
    return [_row(r) for r in rows]
