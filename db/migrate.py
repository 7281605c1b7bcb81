"""Apply db/migrations/NNNN_name.sql in order, each once, under an advisory lock.

Two processes starting at once queue on the lock; the second finds everything applied.
Each file runs in its own transaction together with its schema_migrations row.

A file may name a data step on a line `-- data step: <name>`: Python work the SQL cannot do (encrypting rows
needs the app's SECRET_KEY, which the database never sees). The caller hands the steps in by name; each runs
right after its file and before any later one (so a later file may drop what the step has emptied), and is
recorded in schema_data_steps once it has finished. A step must be safe to run again after a crash half-way.
A caller without the step a pending file needs stops there rather than skip it.

A process that does not migrate (the push worker) asks `pending_migrations` and waits until it is empty.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from db.pool import Tx

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# An arbitrary constant that names "the migration runner" among advisory locks.
MIGRATION_LOCK_KEY = 7_204_069_001
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_DATA_STEP = re.compile(r"^-- data step: ([a-z0-9_]+)[ \t]*$", re.MULTILINE)

DataStep = Callable[[Tx], Awaitable[object]]


class MissingDataStep(RuntimeError):
    """A pending migration needs Python work this caller cannot do; nothing after it was applied."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def data_step(self) -> str | None:
        match = _DATA_STEP.search(self.sql)
        return match.group(1) if match else None


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name must look like 0001_name.sql: {path.name}")
        migrations.append(Migration(int(match.group(1)), path.stem, path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError("two migration files share a version number")
    return migrations


async def apply_migrations(
    conn: Tx,
    directory: Path = MIGRATIONS_DIR,
    *,
    data_steps: Mapping[str, DataStep] | None = None,
) -> list[str]:
    """Apply pending migrations and their data steps; return the names of the files applied by this call."""
    data_steps = data_steps or {}
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_data_steps (
                   version integer PRIMARY KEY REFERENCES schema_migrations (version),
                   name text NOT NULL,
                   finished_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["version"]: r["checksum"] for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        steps_done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_data_steps")}
        for migration in discover(directory):
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    # Migrations are forward-only: an edited, already-applied file is a mistake to fix, not to rerun.
                    raise RuntimeError(f"migration {migration.name} changed after it was applied")
            else:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
                applied_now.append(migration.name)
            if migration.data_step is not None and migration.version not in steps_done:
                await _run_data_step(conn, migration, data_steps)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    return applied_now


async def _run_data_step(conn: Tx, migration: Migration, data_steps: Mapping[str, DataStep]) -> None:
    step = data_steps.get(migration.data_step or "")
    if step is None:
        raise MissingDataStep(
            f"migration {migration.name} needs its data step {migration.data_step!r}, which this process does not "
            "run: run `python -m app migrate` (it has SECRET_KEY)"
        )
    # The step commits as it goes (a big table in batches), so it runs outside any transaction of ours; it is
    # marked done only once it has returned.
    await step(conn)
    await conn.execute(
        "INSERT INTO schema_data_steps (version, name) VALUES ($1, $2)", migration.version, migration.data_step
    )


async def pending_migrations(conn: Tx, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """The files this code knows that the database has not applied yet, or whose data step has not finished (empty
    when the schema is what the code expects; later files the database has, from newer code, do not matter)."""
    if await conn.fetchval("SELECT to_regclass('public.schema_migrations')") is None:
        return [m.name for m in discover(directory)]
    applied = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    steps_done: set[int] = set()
    if await conn.fetchval("SELECT to_regclass('public.schema_data_steps')") is not None:
        steps_done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_data_steps")}
    return [
        m.name
        for m in discover(directory)
        if m.version not in applied or (m.data_step is not None and m.version not in steps_done)
    ]
