"""SQL for case_duplicates: pairs of cases flagged to the window clerk as perhaps one matter (一事不二办), and the
clerk's decision on each."""

from __future__ import annotations

from app.cases.models import DuplicateFlag
from db.pool import DB

_FLAG = """
    SELECT f.id, f.case_id, c.case_no, f.earlier_case_id, e.case_no AS earlier_case_no, f.match, f.reason, f.state,
           k.case_no AS kept_case_no, a.name AS decided_by_name, f.decided_at, f.note, f.created_at
    FROM case_duplicates f
    JOIN cases c ON c.id = f.case_id
    JOIN cases e ON e.id = f.earlier_case_id
    LEFT JOIN cases k ON k.id = f.kept_case_id
    LEFT JOIN accounts a ON a.id = f.decided_by
"""


async def insert_flags(db: DB, case_id: int, flags: list[tuple[int, str, str]]) -> None:
    """The new case flagged against each earlier one: (earlier case id, exact | near, reason)."""
    await db.execute(
        "INSERT INTO case_duplicates (case_id, earlier_case_id, match, reason) "
        "SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
        case_id,
        [f[0] for f in flags],
        [f[1] for f in flags],
        [f[2] for f in flags],
    )


async def flags_of_case(db: DB, case_id: int) -> list[DuplicateFlag]:
    """Every flag a case is on, either side, newest first."""
    rows = await db.fetch(
        _FLAG + " WHERE f.case_id = $1 OR f.earlier_case_id = $1 ORDER BY f.created_at DESC, f.id DESC", case_id
    )
    return [DuplicateFlag(**dict(r)) for r in rows]


async def lock_flag(db: DB, flag_id: int) -> DuplicateFlag | None:
    row = await db.fetchrow(_FLAG + " WHERE f.id = $1 FOR UPDATE OF f", flag_id)
    return DuplicateFlag(**dict(row)) if row else None


async def decide(
    db: DB, flag_id: int, *, state: str, kept_case_id: int | None, decided_by: int, note: str | None
) -> None:
    await db.execute(
        "UPDATE case_duplicates SET state = $2, kept_case_id = $3, decided_by = $4, decided_at = now(), note = $5 "
        "WHERE id = $1",
        flag_id,
        state,
        kept_case_id,
        decided_by,
        note,
    )


# Whether the case aliased `c` is on a flag still open, either side (the queue's 疑似重复 marker): a clause of the
# query reading the queue's cases (app/cases/store.py queue_case_facts), not a query of its own per page.
OPEN_FLAG_OF_CASE = (
    "EXISTS (SELECT 1 FROM case_duplicates f WHERE f.state = 'open' AND (f.case_id = c.id OR f.earlier_case_id = c.id))"
)
