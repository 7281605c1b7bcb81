"""One pool connection per page view: the pool as one request sees it.

A page reads the session with its account, then its own rows: three or four statements, and through a plain pool
each is an acquire and a release of its own (asyncpg returns a connection through asyncio.shield: about 200 Python
calls each, a fifth of what the case page's queries cost in Python). A RequestPool borrows one connection at the
request's first statement and keeps it until the answer is ready (`give_back`), so they share one.

What a statement sees is what a plain pool gives: each statement, and each `acquire()` (a transaction), has the kept
connection to itself, and one asked for while it is in use — a statement beside an open transaction, or run
concurrently — takes another connection from the pool, as before. So nothing runs inside someone else's transaction,
and a write made beside a transaction commits on its own, as it did. After `give_back` it is the plain pool again.
"""

# asyncpg.Pool's own signatures, overridden: `timeout` is asyncpg's per-statement timeout, passed on.
# ruff: noqa: ASYNC109

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

# Where the request's RequestPool is kept in the ASGI scope (app/web/database.py puts it there; the session
# middleware and the `db` dependency take it from there).
SCOPE_KEY = "ywtb.request_pool"


class RequestPool(asyncpg.Pool):
    """A subclass of asyncpg.Pool so that every service typed `asyncpg.Pool` takes it, but not a pool of its own: it
    never runs Pool.__init__, and every public Pool method is overridden here — statements on the kept connection (or,
    while it is in use, on `pool`), the pool's own housekeeping on `pool`."""

    __slots__ = ("_given_back", "_in_use", "_kept", "_pool")

    def __init__(self, pool: asyncpg.Pool) -> None:  # pyright: ignore[reportMissingSuperCall]
        self._pool = pool
        self._kept: PoolConnectionProxy | None = None
        self._in_use = False
        self._given_back = False

    # --- the kept connection ---------------------------------------------------------------------------------------

    async def _borrow(self) -> PoolConnectionProxy | None:
        """The kept connection, now in use (acquired at the first statement); None when it is in use already or
        given back: the caller takes one from the pool then."""
        if self._in_use or self._given_back:
            return None
        self._in_use = True
        try:
            if self._kept is not None and _back_to_the_pool(self._kept):
                lost, self._kept = self._kept, None
                await self._pool.release(lost)
            if self._kept is None:
                self._kept = await self._pool.acquire()
        except BaseException:
            self._in_use = False
            raise
        return self._kept

    async def _done_with(self, conn: PoolConnectionProxy, *, failed: bool = False) -> None:
        """A statement or a transaction has finished with the kept connection. One that failed goes back to the pool
        (which resets it, or closes it when it cannot): after an error — the server gone away mid-statement leaves
        asyncpg's protocol in a state no call of ours can see — the next statement takes a fresh one."""
        self._in_use = False
        if failed or self._given_back or _back_to_the_pool(conn):
            self._kept = None
            await self._pool.release(conn)

    async def give_back(self) -> None:
        """The request has its answer: the kept connection goes back to the pool (at once, or when the statement
        running on it ends); from now on every statement takes a connection from the pool."""
        self._given_back = True
        if self._kept is not None and not self._in_use:
            kept, self._kept = self._kept, None
            await self._pool.release(kept)

    # --- statements --------------------------------------------------------------------------------------------------

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        conn = await self._borrow()
        if conn is None:
            return await self._pool.execute(query, *args, timeout=timeout)
        try:
            result = await conn.execute(query, *args, timeout=timeout)
        except BaseException:
            await self._done_with(conn, failed=True)
            raise
        await self._done_with(conn)
        return result

    async def executemany(self, command: str, args: object, *, timeout: float | None = None) -> None:
        conn = await self._borrow()
        if conn is None:
            return await self._pool.executemany(command, args, timeout=timeout)
        try:
            result = await conn.executemany(command, cast("Iterable[Sequence[object]]", args), timeout=timeout)
        except BaseException:
            await self._done_with(conn, failed=True)
            raise
        await self._done_with(conn)
        return result

    async def fetch(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> list[Any]:
        conn = await self._borrow()
        if conn is None:
            return await self._pool.fetch(query, *args, timeout=timeout, record_class=record_class)
        try:
            result = await conn.fetch(query, *args, timeout=timeout, record_class=record_class)
        except BaseException:
            await self._done_with(conn, failed=True)
            raise
        await self._done_with(conn)
        return result

    async def fetchval(self, query: str, *args: Any, column: int = 0, timeout: float | None = None) -> Any:
        conn = await self._borrow()
        if conn is None:
            return await self._pool.fetchval(query, *args, column=column, timeout=timeout)
        try:
            result = await conn.fetchval(query, *args, column=column, timeout=timeout)
        except BaseException:
            await self._done_with(conn, failed=True)
            raise
        await self._done_with(conn)
        return result

    async def fetchrow(self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None) -> Any:
        conn = await self._borrow()
        if conn is None:
            return await self._pool.fetchrow(query, *args, timeout=timeout, record_class=record_class)
        try:
            result = await conn.fetchrow(query, *args, timeout=timeout, record_class=record_class)
        except BaseException:
            await self._done_with(conn, failed=True)
            raise
        await self._done_with(conn)
        return result

    async def fetchmany(
        self, query: str, args: Iterable[Sequence[Any]], *, timeout: float | None = None, record_class: Any = None
    ) -> list[Any]:
        conn = await self._borrow()
        if conn is None:
            return await self._pool.fetchmany(query, args, timeout=timeout, record_class=record_class)
        try:
            result = await conn.fetchmany(query, args, timeout=timeout, record_class=record_class)
        except BaseException:
            await self._done_with(conn, failed=True)
            raise
        await self._done_with(conn)
        return result

    # COPY is for bulk work, never a page's: on a connection of the pool's, as a plain pool runs it.
    async def copy_from_table(self, table_name: str, **kwargs: Any) -> str:
        return await self._pool.copy_from_table(table_name, **kwargs)

    async def copy_from_query(self, query: str, *args: Any, **kwargs: Any) -> str:
        return await self._pool.copy_from_query(query, *args, **kwargs)

    async def copy_to_table(self, table_name: str, **kwargs: Any) -> str:
        return await self._pool.copy_to_table(table_name, **kwargs)

    async def copy_records_to_table(self, table_name: str, **kwargs: Any) -> str:
        return await self._pool.copy_records_to_table(table_name, **kwargs)

    # --- connections -------------------------------------------------------------------------------------------------

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        """`async with db.acquire() as tx`: the kept connection while it is free, else one of the pool's."""
        return _Lent(self, timeout)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        # Only a connection from `await db.acquire()` comes back here, and that form is always one of the pool's.
        await self._pool.release(connection, timeout=timeout)

    # --- the pool's own housekeeping: the pool's ---------------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._pool.is_closing()

    def get_size(self) -> int:
        return self._pool.get_size()

    def get_init_size(self) -> int:
        return self._pool.get_init_size()

    def get_min_size(self) -> int:
        return self._pool.get_min_size()

    def get_max_size(self) -> int:
        return self._pool.get_max_size()

    def get_idle_size(self) -> int:
        return self._pool.get_idle_size()

    def set_connect_args(self, dsn: str | None = None, **connect_kwargs: Any) -> None:
        self._pool.set_connect_args(dsn, **connect_kwargs)

    async def close(self) -> None:
        raise TypeError("a request's view of the pool is not closed: the pool is the app's")

    def terminate(self) -> None:
        raise TypeError("a request's view of the pool is not terminated: the pool is the app's")

    async def expire_connections(self) -> None:
        await self._pool.expire_connections()

    def __repr__(self) -> str:
        return f"<RequestPool of {self._pool!r}>"


def _back_to_the_pool(conn: PoolConnectionProxy) -> bool:
    """Whether the kept connection must go back to the pool rather than serve the view's next statement: a transaction
    left open (asyncpg's release rolls it back, as it would for a plain pool's connection), or the connection lost —
    the server went away; asyncpg may have taken it back itself already, and its proxy then refuses every call (a
    release of it is then nothing)."""
    try:
        return conn.is_closed() or conn.is_in_transaction()
    except asyncpg.InterfaceError:
        return True


class _Lent(PoolAcquireContext):
    """RequestPool.acquire(): the kept connection when it is free; otherwise asyncpg's own acquire from the pool."""

    __slots__ = ("_lender", "_lent")

    def __init__(self, lender: RequestPool, timeout: float | None) -> None:
        super().__init__(lender._pool, timeout)  # pyright: ignore[reportPrivateUsage]
        self._lender = lender
        self._lent: PoolConnectionProxy | None = None

    async def __aenter__(self) -> PoolConnectionProxy:
        self._lent = await self._lender._borrow()  # pyright: ignore[reportPrivateUsage]
        if self._lent is None:
            return await super().__aenter__()
        return self._lent

    async def __aexit__(self, *exc: object) -> None:
        if self._lent is None:
            await super().__aexit__(*exc)
            return
        lent, self._lent = self._lent, None
        await self._lender._done_with(lent, failed=exc[0] is not None)  # pyright: ignore[reportPrivateUsage]


def pool_of_request(scope: Mapping[str, object], pool: asyncpg.Pool) -> asyncpg.Pool:
    """The request's RequestPool when it has one (a page view: app/web/database.py), else `pool`."""
    lent = scope.get(SCOPE_KEY)
    return lent if isinstance(lent, RequestPool) else pool
