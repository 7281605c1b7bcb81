"""A page view's statements share one pool connection (db/request_pool.py), and each still has a connection to itself,
as a plain pool gives: nothing runs inside another statement's transaction, concurrent statements do not collide, and
the connection goes back to the pool when the view is done."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from litestar import Litestar, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Stream

from app.web.database import provide_db, request_pool_middleware
from app.web.params import Db
from auth.access import public
from config.settings import Settings
from db.pool import create_pool
from db.request_pool import RequestPool

pytestmark = pytest.mark.anyio


@pytest.fixture
async def small_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=3)
    await pool.execute("CREATE TABLE IF NOT EXISTS request_pool_probe (n int)")
    await pool.execute("TRUNCATE request_pool_probe")
    yield pool
    await pool.execute("DROP TABLE request_pool_probe")
    await pool.close()


async def test_a_views_statements_run_on_one_connection_and_it_goes_back_to_the_pool(small_pool: asyncpg.Pool) -> None:
    view = RequestPool(small_pool)
    backends = {await view.fetchval("SELECT pg_backend_pid()") for _ in range(4)}
    async with view.acquire() as tx:
        backends.add(await tx.fetchval("SELECT pg_backend_pid()"))
    assert len(backends) == 1
    assert small_pool.get_idle_size() == small_pool.get_size() - 1  # kept by the view meanwhile
    await view.give_back()
    assert small_pool.get_idle_size() == small_pool.get_size()
    # Given back, it is the plain pool: a statement takes a connection and returns it.
    assert await view.fetchval("SELECT 1") == 1
    assert small_pool.get_idle_size() == small_pool.get_size()


async def test_a_statement_beside_an_open_transaction_runs_outside_it(small_pool: asyncpg.Pool) -> None:
    """As with a plain pool: a write made beside a transaction that rolls back stays (an audit line, a counter)."""
    view = RequestPool(small_pool)
    with pytest.raises(RuntimeError):
        async with view.acquire() as tx, tx.transaction():
            await tx.execute("INSERT INTO request_pool_probe VALUES (1)")
            inside = await tx.fetchval("SELECT pg_backend_pid()")
            assert await view.fetchval("SELECT pg_backend_pid()") != inside
            await view.execute("INSERT INTO request_pool_probe VALUES (2)")
            raise RuntimeError("the transaction fails")
    await view.give_back()
    assert [r["n"] for r in await small_pool.fetch("SELECT n FROM request_pool_probe")] == [2]


async def test_concurrent_statements_of_one_view_do_not_collide(small_pool: asyncpg.Pool) -> None:
    view = RequestPool(small_pool)
    found = await asyncio.gather(*(view.fetchval("SELECT $1::int FROM pg_sleep(0.05)", n) for n in range(3)))
    assert found == [0, 1, 2]
    await view.give_back()
    assert small_pool.get_idle_size() == small_pool.get_size()


async def test_a_transaction_left_open_is_rolled_back_before_the_connection_is_used_again(
    small_pool: asyncpg.Pool,
) -> None:
    view = RequestPool(small_pool)
    async with view.acquire() as tx:
        await tx.execute("BEGIN")
        await tx.execute("INSERT INTO request_pool_probe VALUES (3)")
    assert await view.fetchval("SELECT count(*) FROM request_pool_probe") == 0
    await view.give_back()
    assert small_pool.get_idle_size() == small_pool.get_size()


async def test_given_back_while_a_statement_runs_the_connection_returns_when_it_ends(small_pool: asyncpg.Pool) -> None:
    view = RequestPool(small_pool)
    running = asyncio.ensure_future(view.fetchval("SELECT 7 FROM pg_sleep(0.1)"))
    await asyncio.sleep(0.02)
    await view.give_back()
    assert await running == 7
    assert small_pool.get_idle_size() == small_pool.get_size()


async def test_a_page_view_gets_its_own_view_of_the_pool_and_a_form_post_the_pool_itself(
    small_pool: asyncpg.Pool,
) -> None:
    """A POST's body (an upload) arrives after the session is read: no connection is held while a slow client sends
    it. A GET's connection is back in the pool before its body is sent."""
    seen: dict[str, object] = {}

    @get("/view", opt=public())
    async def view(db: Db) -> Stream:
        await db.fetchval("SELECT 1")
        seen["get"] = db

        async def body() -> AsyncIterator[bytes]:
            seen["idle while sending"] = small_pool.get_idle_size() == small_pool.get_size()
            yield b"ok"

        return Stream(body())

    @post("/view", opt=public())
    async def form(db: Db) -> None:
        seen["post"] = db

    app = Litestar(
        route_handlers=[view, form],
        middleware=[request_pool_middleware],
        dependencies={"db": Provide(provide_db, sync_to_thread=False)},
        state=State({"pool": small_pool}),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        assert (await client.get("/view")).text == "ok"
        assert (await client.post("/view")).status_code == 201
    assert isinstance(seen["get"], RequestPool)
    assert seen["idle while sending"] is True
    assert seen["post"] is small_pool


async def test_a_connection_lost_mid_view_is_replaced_for_its_next_statement(small_pool: asyncpg.Pool) -> None:
    view = RequestPool(small_pool)
    try:
        lost = await view.fetchval("SELECT pg_backend_pid()")
        await small_pool.execute("SELECT pg_terminate_backend($1)", lost)  # the server goes away under the view
        # Whether asyncpg has seen the server go before the next statement is a race: that statement fails (as a
        # connection error, or asyncpg's protocol caught mid-operation), or it finds the connection closed and
        # takes another. Either way the one after it runs on a live connection.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError):
            await view.fetchval("SELECT 1")
        assert await view.fetchval("SELECT pg_backend_pid()") != lost
    finally:
        await view.give_back()  # as the middleware always does: else the pool could never close
    assert small_pool.get_idle_size() == small_pool.get_size()


async def test_a_failed_statement_gives_the_kept_connection_back(small_pool: asyncpg.Pool) -> None:
    """After an error the kept connection goes back to the pool (reset there) and the next statement takes one."""
    view = RequestPool(small_pool)
    first = await view.fetchval("SELECT pg_backend_pid()")
    with pytest.raises(asyncpg.PostgresError):
        await view.fetchval("SELECT 1/0")
    assert small_pool.get_idle_size() == small_pool.get_size()  # not kept by the view
    assert await view.fetchval("SELECT 2") == 2
    await view.give_back()
    assert first is not None and small_pool.get_idle_size() == small_pool.get_size()
