"""A route's dependencies are resolved in the request's own task (app/web/dependencies.py): Litestar's task group,
an asyncio task per dependency, cost a tenth of the case page's Python calls for nothing to wait for."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

import httpx
import pytest

from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio


# asyncpg gives a connection back to its pool in a task of its own (asyncio.shield): the page view's one.
POOL_RELEASE = "PoolConnectionHolder.release"


async def _tasks_started_by(client: httpx.AsyncClient, path: str) -> tuple[int, list[str]]:
    """The answer's status and the asyncio tasks answering `path` started, by their coroutines' names (the app runs
    in this loop)."""
    loop = asyncio.get_running_loop()
    started: list[str] = []
    factory = loop.get_task_factory()

    def counting(
        loop: asyncio.AbstractEventLoop, coroutine: Generator[Any, None, Any] | Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        started.append(getattr(coroutine, "__qualname__", repr(coroutine)))
        return asyncio.Task(coroutine, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        response = await client.get(path)
    finally:
        loop.set_task_factory(factory)
    return response.status_code, [name for name in started if name != POOL_RELEASE]


async def test_pages_whose_routes_take_several_dependencies_start_no_task_to_resolve_them(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "key-dependencies-1"))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    # The case page, its receipt and the withdrawal's confirmation each take `db` and `settings`.
    for path in (f"/cases/{case_no}", f"/cases/{case_no}/receipt", f"/cases/{case_no}/withdraw"):
        assert await _tasks_started_by(client, path) == (200, []), path
