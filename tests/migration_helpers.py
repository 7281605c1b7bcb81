"""Databases as an older version of the code left them, for the tests of a migration's upgrade path: created on the
test server and migrated up to (not including) the migration under test, with whatever data steps those need."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import asyncpg

from db.embedded import with_database
from db.migrate import MIGRATIONS_DIR, DataStep, apply_migrations


def migrations_before(version: int, into: Path) -> Path:
    """A folder (made under `into`) holding the migration files numbered below `version`."""
    before = into / f"migrations-before-{version:04d}"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if int(path.name[:4]) < version:
            shutil.copy(path, before / path.name)
    return before


async def database_before(
    server_dsn: str, name: str, version: int, workdir: Path, data_steps: Mapping[str, DataStep] | None = None
) -> asyncpg.Connection:
    """A new database `name`, migrated up to migration `version` (not applied): a connection to it, for the caller
    to write the old data with and close."""
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(with_database(server_dsn, name))
    await apply_migrations(conn, migrations_before(version, workdir), data_steps=data_steps)
    return conn
