"""The asyncpg connection pool: one per process, JSON codecs set on every connection; and how to tell the
database being out of reach from any other error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from types import TracebackType

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
