"""The asyncpg connection pool: one per process, JSON codecs set on every connection."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import asyncpg


async def prepare_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python values, so store functions never call json themselves.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _no_session_reset(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's default reset query on release (one round trip per acquire, i.e. per statement
    through the pool). Our code leaves no session state behind: no LISTEN on pooled connections,
    advisory locks only transaction-scoped (the migration lock is released explicitly), SET only LOCAL.
    asyncpg still rolls back an unfinished transaction before calling this."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    on_connect: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    """on_connect runs after our own set-up on every new connection (tests use it to count queries)."""

    async def init(conn: asyncpg.Connection) -> None:
        await prepare_connection(conn)
        if on_connect is not None:
            await on_connect(conn)

    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init,
        reset=_no_session_reset,
        command_timeout=30,
        server_settings={"application_name": "ywtb", "timezone": "Asia/Shanghai"},
    )
    assert pool is not None
    return pool


# Store functions accept either: a pool acquires per statement, a connection joins a transaction.
DB = asyncpg.Pool | asyncpg.Connection
