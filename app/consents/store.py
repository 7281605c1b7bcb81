"""SQL for consents (授权使用证照) and spouses' standing permissions: the only store of both tables."""

from __future__ import annotations

from datetime import datetime

from asyncpg import Record

from app.consents.models import ConsentRow
from db.pool import DB

_COLUMNS = (
    "id, case_id, requester_person_id, requester_name, about, life_event_code, life_event_name, certificate_kinds, "
    "certificate_titles, material_codes, item_codes, state, deadline, decided_at, decided_by_person_id, created_at"
)


def _row(row: Record) -> ConsentRow:
    return ConsentRow(**dict(row))


async def insert(
    db: DB,
    *,
    case_id: int,
    requester_person_id: int,
    requester_name: str,
    subject_number_hash: bytes,
    about: str,
    life_event_code: str,
    life_event_name: str,
    certificate_kinds: list[str],
    certificate_titles: list[str],
    material_codes: list[str],
    item_codes: list[str],
    deadline: datetime,
) -> int:
    return await db.fetchval(
        "INSERT INTO consents (case_id, requester_person_id, requester_name, subject_number_hash, about, "
        "life_event_code, life_event_name, certificate_kinds, certificate_titles, material_codes, item_codes, "
        "deadline) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        case_id,
        requester_person_id,
        requester_name,
        subject_number_hash,
        about,
        life_event_code,
        life_event_name,
        certificate_kinds,
        certificate_titles,
        material_codes,
        item_codes,
        deadline,
    )


async def addressed_to(db: DB, subject_number_hash: bytes) -> list[ConsentRow]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM consents WHERE subject_number_hash = $1 ORDER BY created_at DESC, id DESC LIMIT 100",
        subject_number_hash,
    )
    return [_row(r) for r in rows]


async def of_case(db: DB, case_id: int) -> list[ConsentRow]:
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM consents WHERE case_id = $1 ORDER BY id", case_id)
    return [_row(r) for r in rows]


async def lock_addressed(db: DB, consent_id: int, subject_number_hash: bytes) -> ConsentRow | None:
    """The request, locked, if it is addressed to this number; None for anyone else's (or none)."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM consents WHERE id = $1 AND subject_number_hash = $2 FOR UPDATE",
        consent_id,
        subject_number_hash,
    )
    return _row(row) if row else None


async def decide(db: DB, consent_id: int, state: str, person_id: int | None, at: datetime) -> ConsentRow:
    row = await db.fetchrow(
        "UPDATE consents SET state = $2, decided_by_person_id = $3, decided_at = $4 "
        f"WHERE id = $1 RETURNING {_COLUMNS}",
        consent_id,
        state,
        person_id,
        at,
    )
    assert row is not None  # locked by the caller's transaction
    return _row(row)


async def withdraw(db: DB, consent_ids: list[int], at: datetime) -> list[ConsentRow]:
    """These requests, still waiting for an answer, marked withdrawn (their case no longer needs them)."""
    rows = await db.fetch(
        "UPDATE consents SET state = 'withdrawn', decided_at = $2 "
        f"WHERE id = ANY($1::bigint[]) AND state = 'requested' RETURNING {_COLUMNS}",
        consent_ids,
        at,
    )
    return [_row(r) for r in rows]


async def any_due(db: DB, now: datetime) -> bool:
    """Whether any request is past its deadline and not yet expired (an index's first entry: consents_due_idx)."""
    return bool(
        await db.fetchval("SELECT EXISTS (SELECT 1 FROM consents WHERE state = 'requested' AND deadline <= $1)", now)
    )


async def expire_due(db: DB, now: datetime) -> list[ConsentRow]:
    """Every request past its deadline, marked expired (as of its deadline); skipping rows another transaction is
    deciding, which will see the deadline themselves."""
    rows = await db.fetch(
        f"UPDATE consents SET state = 'expired', decided_at = deadline WHERE id IN ("
        "SELECT id FROM consents WHERE state = 'requested' AND deadline <= $1 FOR UPDATE SKIP LOCKED"
        f") RETURNING {_COLUMNS}",
        now,
    )
    return [_row(r) for r in rows]


async def preauthorised_events(db: DB, person_id: int) -> list[str]:
    rows = await db.fetch(
        "SELECT life_event_code FROM consent_preauthorisations WHERE person_id = $1 ORDER BY life_event_code",
        person_id,
    )
    return [r["life_event_code"] for r in rows]


async def preauthorised_among(db: DB, person_ids: list[int], life_event_code: str) -> set[int]:
    rows = await db.fetch(
        "SELECT person_id FROM consent_preauthorisations WHERE person_id = ANY($1::bigint[]) AND life_event_code = $2",
        person_ids,
        life_event_code,
    )
    return {r["person_id"] for r in rows}


async def replace_preauthorised(db: DB, person_id: int, life_event_codes: list[str]) -> None:
    await db.execute(
        "DELETE FROM consent_preauthorisations WHERE person_id = $1 AND NOT (life_event_code = ANY($2::text[]))",
        person_id,
        life_event_codes,
    )
    await db.execute(
        "INSERT INTO consent_preauthorisations (person_id, life_event_code) "
        "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
        person_id,
        life_event_codes,
    )


async def delete_of_cases(db: DB, case_ids: list[int]) -> dict[int, int]:
    """Every request made for the cases (who asked, whose documents, the answer); by case id: how many."""
    rows = await db.fetch(
        "WITH gone AS (DELETE FROM consents WHERE case_id = ANY($1::bigint[]) RETURNING case_id) "
        "SELECT case_id, count(*) AS requests FROM gone GROUP BY case_id",
        case_ids,
    )
    return {r["case_id"]: r["requests"] for r in rows}
