"""Which PostgreSQL a process talks to: DATABASE_URL, or the embedded server under DATA_DIR/pg.

Two doors to the same database. The pooled one (DATABASE_URL, perhaps PgBouncer in transaction mode)
serves every request. The direct one (DATABASE_DIRECT_URL, else DATABASE_URL) is for what needs a
session of its own: the migration runner's advisory lock, the push worker's LISTEN, pg_dump and
pg_restore, and the command line.
"""

from __future__ import annotations

import asyncpg

from config.settings import Settings
from db.embedded import embedded_database_url
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
