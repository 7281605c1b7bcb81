"""SQL for the back office: task queues, locking a task to move it, issuing results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from db.pool import DB

_TASK = """
    SELECT t.id, t.case_id, t.status, t.due_on, t.due_provisional, t.item_code, t.department_code,
           i.name AS item_name, i.promised_limit_value, i.promised_limit_unit, i.result_certificate,
           d.short_name AS department_name, d.name AS department_full_name,
           c.case_no, c.created_at AS submitted_at, c.applicant_person_id, c.life_event_code,
           e.name AS life_event_name,
           coalesce(p.region_code, '') AS applicant_region
    FROM tasks t
    JOIN cases c ON c.id = t.case_id
    JOIN life_events e ON e.code = c.life_event_code
    JOIN people p ON p.id = c.applicant_person_id
    JOIN service_items i ON i.code = t.item_code
    JOIN departments d ON d.code = t.department_code
"""


async def lock_task(db: DB, task_id: int) -> Any:
    """The task row locked for this transaction: a second actor waits, then sees the new state."""
    return await db.fetchrow(_TASK + " WHERE t.id = $1 FOR UPDATE OF t", task_id)


async def get_task(db: DB, task_id: int) -> Any:
    return await db.fetchrow(_TASK + " WHERE t.id = $1", task_id)


async def set_task_status(db: DB, task_id: int, status: str, due_on: date | None, provisional: bool) -> None:
    await db.execute(
        "UPDATE tasks SET status = $2, due_on = $3, due_provisional = $4, version = version + 1, updated_at = now() "
        "WHERE id = $1",
        task_id,
        status,
        due_on,
        provisional,
    )


async def record_delivery(db: DB, task_id: int, method: str, ref: str | None) -> None:
    await db.execute("UPDATE tasks SET delivery_method = $2, delivery_ref = $3 WHERE id = $1", task_id, method, ref)


async def last_event_day(db: DB, task_id: int, status: str) -> date | None:
    return await db.fetchval(
        "SELECT (max(at) AT TIME ZONE 'Asia/Shanghai')::date FROM timeline_events WHERE task_id = $1 AND status = $2",
        task_id,
        status,
    )


async def queue(db: DB, *, statuses: list[str], region_prefix: str, department: str | None) -> list[Any]:
    return await db.fetch(
        _TASK + " WHERE t.status = ANY($1::text[]) AND coalesce(p.region_code, '') LIKE $2 || '%' "
        "AND ($3::text IS NULL OR t.department_code = $3) ORDER BY t.due_on NULLS LAST, t.id LIMIT 500",
        statuses,
        region_prefix,
        department,
    )


async def case_head(db: DB, case_no: str) -> Any:
    return await db.fetchrow(
        "SELECT c.id, c.case_no, c.life_event_code, e.name AS life_event_name, c.created_at, c.channel, c.filed_as, "
        "c.data_enc, coalesce(p.region_code, '') AS applicant_region, p.name AS applicant_name, "
        "p.id_number_masked AS applicant_id_masked, p.id AS applicant_person_id "
        "FROM cases c JOIN life_events e ON e.code = c.life_event_code JOIN people p ON p.id = c.applicant_person_id "
        "WHERE c.case_no = $1",
        case_no,
    )


async def tasks_of_case(db: DB, case_id: int) -> list[Any]:
    return await db.fetch(_TASK + " WHERE t.case_id = $1 ORDER BY t.position", case_id)


async def uploads_of_case(db: DB, case_id: int) -> list[Any]:
    return await db.fetch(
        "SELECT token, material_code, filename, content_type, size FROM uploads WHERE case_id = $1 ORDER BY id",
        case_id,
    )


async def upload_of_case(db: DB, token: str) -> Any:
    return await db.fetchrow(
        "SELECT u.filename, u.content_type, u.content, u.material_code, c.case_no "
        "FROM uploads u JOIN cases c ON c.id = u.case_id WHERE u.token = $1",
        token,
    )


async def cases_filed_at_window(db: DB, clerk_account_id: int, person_id: int, since: datetime) -> list[Any]:
    """Cases one clerk filed at the window for one resident since a moment (the in-person ID check)."""
    return await db.fetch(
        "SELECT c.case_no, c.created_at, e.name AS life_event_name FROM cases c "
        "JOIN life_events e ON e.code = c.life_event_code "
        "WHERE c.applicant_person_id = $1 AND c.created_at >= $2 AND c.filed_by_account_id = $3 "
        "AND c.filed_as = 'clerk' ORDER BY c.created_at",
        person_id,
        since,
        clerk_account_id,
    )
