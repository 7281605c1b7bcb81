"""HTTP tests run the app in the test's own event loop, sharing the test's asyncpg pool.

httpx's ASGITransport calls the app directly in this loop. (Litestar's AsyncTestClient runs the app
through a blocking portal on another thread's loop, where a pool made here cannot be used.)
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.main import create_app
from config.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every coroutine test runs under anyio without each one saying so.
    for item in items:
        is_coroutine = isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.function)
        if is_coroutine and item.get_closest_marker("anyio") is None:
            item.add_marker(pytest.mark.anyio)


@pytest.fixture
def app(settings: Settings, pool: asyncpg.Pool) -> Litestar:
    return create_app(settings, pool=pool)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        yield client


@pytest.fixture
async def another_client(app: Litestar) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    """More browsers on the same app (a clerk, an approver, another resident), each from its own address."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50100 + len(clients)))
        made = httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()
