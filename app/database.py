"""Which PostgreSQL the app talks to: DATABASE_URL, or the embedded server under DATA_DIR/pg; and
bringing its schema up to date: the SQL migrations with the data steps that need the app's keys.

Two doors to the same database. The pooled one (DATABASE_URL, perhaps PgBouncer in transaction mode)
serves every request. The direct one (DATABASE_DIRECT_URL, else DATABASE_URL) is for what needs a
session of its own: the migration runner's advisory lock, the push worker's LISTEN, pg_dump and
pg_restore, and the command line.
"""

from __future__ import annotations

import asyncpg

from app.certificates.service import seal_clear_rows
from auth.pii import PiiCipher
from config.settings import Settings
from db.embedded import embedded_database_url
from db.migrate import DataStep, apply_migrations
from db.pool import create_pool


async def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await embedded_database_url(settings.data_dir)


async def resolve_direct_database_url(settings: Settings) -> str:
    return settings.database_direct_url or await resolve_database_url(settings)


async def open_pool(settings: Settings, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """The pool requests use, set up for how DATABASE_URL pools connections (DATABASE_POOLING)."""
    return await create_pool(
        await resolve_database_url(settings),
        min_size=min_size,
        max_size=max_size,
        transaction_pooling=settings.transaction_pooling,
    )


def data_steps(cipher: PiiCipher) -> dict[str, DataStep]:
    """By the name a migration file gives on its `-- data step:` line."""

    async def seal_certificate_numbers(conn: asyncpg.Connection) -> None:
        await seal_clear_rows(conn, cipher)

    return {"seal_certificate_numbers": seal_certificate_numbers}


async def migrate_database(conn: asyncpg.Connection, cipher: PiiCipher) -> list[str]:
    """Every way the app starts migrates through here (`python -m app migrate|serve|seed`, the push worker,
    the tests and the bench), so no pending data step is ever left behind."""
    return await apply_migrations(conn, data_steps=data_steps(cipher))
