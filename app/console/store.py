"""SQL of the back office's own table: the count of changes to what the queue shows (migration 0050)."""

from __future__ import annotations

from db.pool import DB


async def queue_changes(db: DB, region_prefix: str) -> int:
    """How many changes the queues of a region have seen so far: to the tasks of its districts (or of the district
    it lies in), to the tasks no office has taken yet, and to what a row shows of a case. It only grows."""
    counted: int = await db.fetchval(
        "SELECT coalesce(sum(changes), 0)::bigint FROM console_queue_changes "
        "WHERE scope IN ('untaken', 'facts') OR starts_with(scope, $1) OR starts_with($1, scope)",
        region_prefix,
    )
    return counted
