"""SQL for the statistics' own tables (stats_deltas, stats_daily, stats_monthly): appending increments, folding them
into the rollups, replacing the rollups after a recount, and summing them for the published figures."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from app.stats.models import MEASURES, Delta, Sums
from db.pool import DB, Tx

# Only one fold (or recount) at a time: an arbitrary constant naming it among advisory locks.
FOLD_LOCK_KEY = 7_204_069_030
# A recount writes a city's years of rows at once: longer than the pool's usual 30 s per statement is allowed.
RECOUNT_SECONDS = 900.0
_COLUMNS = ", ".join(MEASURES)
_SUMS = {
    "received": "sum(received)",
    "received_online": "sum(received_online)",
    "received_window": "sum(received_window)",
    "received_helper": "sum(received_helper)",
    "received_instant": "sum(received_instant)",
    "completed": "sum(completed)",
    "completed_on_time": "sum(completed_on_time)",
    "working_days": "sum(working_days)",
    "delivered": "sum(delivered)",
    "delivered_no_visit": "sum(delivered_no_visit)",
    "certificates_due": "sum(certificates_due)",
    "certificates_issued": "sum(certificates_issued)",
    "ratings": "sum(ratings)",
    "ratings_good": "sum(ratings_good)",
}
_MONTHLY_SUMS = ", ".join(f"coalesce({expression}, 0)::bigint AS {name}" for name, expression in _SUMS.items())
# The monthly rollup's columns from a set of daily rows (the channel goes into columns, the office to its district).
_TO_MONTHLY = (
    "date_trunc('month', day)::date, department_code, left(office_region, 6), sum(received), "
    "coalesce(sum(received) FILTER (WHERE channel = 'online'), 0), "
    "coalesce(sum(received) FILTER (WHERE channel = 'window'), 0), "
    "coalesce(sum(received) FILTER (WHERE channel = 'helper'), 0), "
    "sum(received_instant), sum(completed), sum(completed_on_time), sum(working_days), sum(delivered), "
    "sum(delivered_no_visit), sum(certificates_due), sum(certificates_issued), sum(ratings), sum(ratings_good)"
)
_MONTHLY_COLUMNS = (
    "month, department_code, district, received, received_online, received_window, received_helper, "
    "received_instant, completed, completed_on_time, working_days, delivered, delivered_no_visit, "
    "certificates_due, certificates_issued, ratings, ratings_good"
)
_MONTHLY_ADD = ", ".join(f"{c} = m.{c} + EXCLUDED.{c}" for c in _MONTHLY_COLUMNS.split(", ")[3:])
_DAILY_ADD = ", ".join(f"{c} = d.{c} + EXCLUDED.{c}" for c in MEASURES)
_DAILY_KEY = "day, department_code, office_region, item_code, channel"

_FOLD = f"""
WITH batch AS (
    DELETE FROM stats_deltas WHERE id IN (SELECT id FROM stats_deltas ORDER BY id LIMIT $1)
    RETURNING {_DAILY_KEY}, {_COLUMNS}
), daily AS (
    INSERT INTO stats_daily AS d ({_DAILY_KEY}, {_COLUMNS})
    SELECT {_DAILY_KEY}, {", ".join(f"sum({c})" for c in MEASURES)} FROM batch GROUP BY {_DAILY_KEY}
    ON CONFLICT ({_DAILY_KEY}) DO UPDATE SET {_DAILY_ADD}
), monthly AS (
    INSERT INTO stats_monthly AS m ({_MONTHLY_COLUMNS})
    SELECT {_TO_MONTHLY} FROM batch GROUP BY 1, 2, 3
    ON CONFLICT (month, department_code, district) DO UPDATE SET {_MONTHLY_ADD}
)
SELECT count(*) FROM batch
"""


async def append(db: DB, deltas: list[Delta]) -> None:
    """The increments, in the caller's transaction (insert only: nothing waits on a counter row)."""
    if not deltas:
        return
    await db.execute(
        f"INSERT INTO stats_deltas ({_DAILY_KEY}, {_COLUMNS}) "
        f"SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::text[], "
        + ", ".join(f"${i}::int[]" for i in range(6, 6 + len(MEASURES)))
        + ")",
        [d.day for d in deltas],
        [d.department_code for d in deltas],
        [d.office_region for d in deltas],
        [d.item_code for d in deltas],
        [d.channel for d in deltas],
        *[[d.measures.get(name, 0) for d in deltas] for name in MEASURES],
    )


async def fold_batch(tx: Tx, limit: int) -> int | None:
    """Move up to `limit` of the oldest increments into the rollups, in the caller's transaction; how many were moved,
    or None when another fold holds the lock (it will move them)."""
    if not await tx.fetchval("SELECT pg_try_advisory_xact_lock($1)", FOLD_LOCK_KEY):
        return None
    return int(await tx.fetchval(_FOLD, limit))


async def lock_for_recount(db: DB) -> None:
    """Wait until no fold runs, and keep them off until `unlock_after_recount` (a session lock)."""
    await db.execute("SELECT pg_advisory_lock($1)", FOLD_LOCK_KEY)


async def unlock_after_recount(db: DB) -> None:
    await db.execute("SELECT pg_advisory_unlock($1)", FOLD_LOCK_KEY)


async def replace_rollups(tx: Tx, rows: list[tuple[object, ...]]) -> None:
    """After a recount (in the caller's repeatable-read transaction): the daily rows as counted, the monthly ones
    summed from them, and the increments this transaction can see dropped — the recount read the records they came
    from. Increments committed since it began stay for the next fold."""
    for table in ("stats_deltas", "stats_daily", "stats_monthly"):
        await tx.execute(f"DELETE FROM {table}", timeout=RECOUNT_SECONDS)
    if rows:
        columns = [*_DAILY_KEY.split(", "), *MEASURES]
        await tx.copy_records_to_table("stats_daily", records=rows, columns=columns, timeout=RECOUNT_SECONDS)
    await tx.execute(
        f"INSERT INTO stats_monthly ({_MONTHLY_COLUMNS}) SELECT {_TO_MONTHLY} FROM stats_daily GROUP BY 1, 2, 3",
        timeout=RECOUNT_SECONDS,
    )


# --- reading the figures ----------------------------------------------------------------------------------------------

# What a sum is grouped by: (its expression in stats_monthly, in stats_daily). Constants, never a caller's text.
_GROUPS: dict[str, tuple[str, str]] = {
    "month": ("month", "date_trunc('month', day)::date"),
    "department": ("department_code", "department_code"),
    "district": ("district", "left(office_region, 6)"),
}


async def sums(
    db: DB, first: date, last: date, department: str | None, district: str | None, *, by: str
) -> dict[Any, Sums]:
    """The monthly rollup summed over the months `first`…`last` (first days) of a department and a district (None:
    all), per month, department or district. Per department: ratings of a case as a whole ('') are left out."""
    group = _GROUPS[by][0]
    rows = await db.fetch(
        f"SELECT {group} AS key, {_MONTHLY_SUMS} FROM stats_monthly WHERE month BETWEEN $1 AND $2 "
        "AND ($3::text IS NULL OR department_code = $3) AND ($4::text IS NULL OR district = $4) "
        + ("AND department_code <> '' " if by == "department" else "")
        + "GROUP BY 1",
        first,
        last,
        department,
        district,
    )
    return {r["key"]: msgspec.convert({k: v for k, v in dict(r).items() if k != "key"}, Sums) for r in rows}


async def follow_ups(
    db: DB, first: date, before: date, department: str | None, district: str | None, *, by: str
) -> dict[Any, tuple[int, int]]:
    """Follow-ups whose result was due from `first` up to the day before `before`: (due, answered on time), per month,
    department or district of the office."""
    group = _GROUPS[by][1]
    rows = await db.fetch(
        f"SELECT {group} AS key, sum(follow_ups) AS due, sum(follow_ups_on_time) AS on_time FROM stats_daily "
        "WHERE follow_ups <> 0 AND day >= $1 AND day < $2 AND ($3::text IS NULL OR department_code = $3) "
        "AND ($4::text IS NULL OR left(office_region, 6) = $4) GROUP BY 1",
        first,
        before,
        department,
        district,
    )
    return {r["key"]: (int(r["due"]), int(r["on_time"])) for r in rows}


async def first_month(db: DB) -> date | None:
    return await db.fetchval("SELECT min(month) FROM stats_monthly")
