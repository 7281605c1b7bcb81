"""The SQL behind the readiness probe: the migration ledger. The gauges' counts come from the units that own their
tables (app.cases.service.open_task_counts, push.outbox.queue_counts)."""

from __future__ import annotations

from db.pool import DB


async def applied_migrations(db: DB) -> set[int]:
    return {r["version"] for r in await db.fetch("SELECT version FROM schema_migrations")}


async def finished_data_steps(db: DB) -> set[int]:
    return {r["version"] for r in await db.fetch("SELECT version FROM schema_data_steps")}
