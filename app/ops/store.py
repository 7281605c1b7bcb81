"""The SQL behind the probes and the database gauges of /metrics. Each query reads a small set of rows: the live
push queue (pgqueuer keeps only unfinished jobs), open tasks through an index, the migration ledger."""

from __future__ import annotations

import msgspec

from db.pool import DB

# Tasks still with a department or the resident: everything before 出件 and not refused.
OPEN_TASK_STATUSES = (
    "submitted",
    "accepted",
    "supplement_requested",
    "resubmitted",
    "in_review",
    "approved",
    "completed",
)


class TaskCount(msgspec.Struct, frozen=True):
    department: str
    district: str  # the applicant's district (the office serving them), '' when the register has none
    status: str
    open: int
    # Past the promised date and not yet 办结 — the console's 已超期.
    overdue: int


class JobCount(msgspec.Struct, frozen=True):
    state: str  # queued (due now), delayed (a retry waiting for its time), sending, failed (held for a person)
    jobs: int
    oldest_due_seconds: float  # how long the oldest job due now has waited (0 when none)


async def applied_migrations(db: DB) -> set[int]:
    return {r["version"] for r in await db.fetch("SELECT version FROM schema_migrations")}


async def finished_data_steps(db: DB) -> set[int]:
    return {r["version"] for r in await db.fetch("SELECT version FROM schema_data_steps")}


async def open_tasks(db: DB) -> list[TaskCount]:
    rows = await db.fetch(
        """SELECT t.department_code AS department, coalesce(left(p.region_code, 6), '') AS district, t.status,
                  count(*) AS open,
                  count(*) FILTER (WHERE t.due_on < current_date AND t.status <> 'completed') AS overdue
           FROM tasks t
           JOIN cases c ON c.id = t.case_id
           LEFT JOIN people p ON p.id = c.applicant_person_id
           WHERE t.status = ANY($1::text[])
           GROUP BY 1, 2, 3""",
        list(OPEN_TASK_STATUSES),
    )
    return [TaskCount(**dict(r)) for r in rows]


async def push_jobs(db: DB, entrypoint: str) -> list[JobCount]:
    rows = await db.fetch(
        """SELECT CASE WHEN status = 'queued' AND execute_after > now() THEN 'delayed'
                       WHEN status = 'picked' THEN 'sending'
                       ELSE status::text END AS state,
                  count(*) AS jobs,
                  coalesce(extract(epoch FROM now() - min(created)
                           FILTER (WHERE status = 'queued' AND execute_after <= now())), 0)::float8
                      AS oldest_due_seconds
           FROM pgqueuer WHERE entrypoint = $1
           GROUP BY 1""",
        entrypoint,
    )
    return [JobCount(**dict(r)) for r in rows]
