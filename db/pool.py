"""The asyncpg connection pool: one per process, JSON codecs set on every connection."""

from __future__ import annotations

import json

import asyncpg


async def prepare_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python values, so store functions never call json themselves.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=prepare_connection,
        command_timeout=30,
        server_settings={"application_name": "ywtb", "timezone": "Asia/Shanghai"},
    )
    assert pool is not None
    return pool


# Store functions accept either: a pool acquires per statement, a connection joins a transaction.
DB = asyncpg.Pool | asyncpg.Connection
