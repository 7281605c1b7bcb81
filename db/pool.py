"""The asyncpg connection pool: one per process, JSON codecs set on every connection; and how to tell the
database being out of reach from any other error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import TracebackType

import asyncpg
from asyncpg.pool import PoolConnectionProxy


async def prepare_connection(conn: asyncpg.Connection) -> None:
    # jsonb in and out as Python values, so store functions never call json themselves.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _no_session_reset(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's default reset query on release (one round trip per acquire, i.e. per statement
    through the pool). Our code leaves no session state behind: no LISTEN on pooled connections,
    advisory locks only transaction-scoped (the migration lock, a session lock, is taken on a connection
    of its own, never a pooled one), SET only LOCAL. asyncpg still rolls back an unfinished transaction
    before calling this. Under PgBouncer's transaction pooling a reset would run on whichever server
    connection is free, so it must be skipped there anyway."""


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    on_connect: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    transaction_pooling: bool = False,
) -> asyncpg.Pool:
    """on_connect runs after our own set-up on every new connection (tests use it to count queries).

    transaction_pooling: `dsn` is PgBouncer in transaction mode, which gives each transaction whichever
    server connection is free. asyncpg's statement cache keeps named prepared statements that live on one
    server connection, so a cached statement used in a later transaction is "does not exist" there (or,
    from another process, "already exists"). Without the cache asyncpg uses only the unnamed statement and
    sends its Parse again together with the Bind that runs it, so no query depends on the server connection
    of an earlier round trip (executemany too; we use no cursors or conn.prepare). That works with any
    PgBouncer, also Debian 12's 1.18, which predates protocol-level prepared statements (1.21,
    max_prepared_statements), whatever max_prepared_statements is set to. The cost: every query is
    parsed again and described in a round trip of its own, instead of once per connection."""

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
        statement_cache_size=0 if transaction_pooling else 100,
        server_settings={"application_name": "ywtb", "timezone": "Asia/Shanghai"},
    )
    assert pool is not None
    return pool


# A connection: one of its own (asyncpg.connect), or one borrowed from the pool (`pool.acquire()` hands out a proxy
# of one), usually inside a transaction.
Tx = asyncpg.Connection | PoolConnectionProxy
# Store functions accept either: a pool acquires per statement, a connection joins a transaction.
DB = asyncpg.Pool | Tx


# The server is gone, going or not there yet: connection exceptions (SQLSTATE class 08, e.g. a connection cut
# mid-query), shut down by an administrator or a crash (57P01, 57P02), still starting (57P03), or full (53300).
_SERVER_AWAY: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def _raised_in_asyncpg(traceback: TracebackType | None) -> bool:
    while traceback is not None:
        if str(traceback.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        traceback = traceback.tb_next
    return False


def database_unavailable(exc: BaseException | None) -> BaseException | None:
    """The error, `exc` or one it was raised from, that says the database cannot be reached; else None.

    Such an error is worth waiting out (503 and Retry-After, a worker reconnecting); any other is a bug."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _SERVER_AWAY):
            return exc
        # A statement on a connection the server has closed (asyncpg has no class of its own for it).
        if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
            return exc
        # No server to connect to (refused, no socket file, timed out): plain OSErrors, raised inside asyncpg.
        if isinstance(exc, OSError) and _raised_in_asyncpg(exc.__traceback__):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
