"""SQL for the back office: a case as staff open it, its uploads, and the cases a clerk filed at the window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db.pool import DB


async def case_head(db: DB, case_no: str) -> Any:
    return await db.fetchrow(
        "SELECT c.id, c.case_no, c.life_event_code, e.name AS life_event_name, c.created_at, c.channel, c.filed_as, "
        "c.data_enc, coalesce(p.region_code, '') AS applicant_region, p.name AS applicant_name, "
        "p.id_number_masked AS applicant_id_masked, p.id AS applicant_person_id "
        "FROM cases c JOIN life_events e ON e.code = c.life_event_code JOIN people p ON p.id = c.applicant_person_id "
        "WHERE c.case_no = $1",
        case_no,
    )


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
