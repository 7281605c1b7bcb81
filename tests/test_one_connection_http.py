"""A page view holds one pool connection from its first statement until its answer starts (db/request_pool.py): the
session and its account, then the page's own rows, on one connection. Nothing on its way may then wait for a second
connection: with as many such views at once as the pool has connections, each would hold one and wait for another,
and the worker would answer no one again. The bench found it: 64 signed-in case pages at once, whose sessions were all
due their once-a-minute SEEN_AT write (auth/sessions.py), which took its connection from the app's pool.

Here the app runs on a pool of ONE connection, so that one view alone shows it: a view that needs a second connection
while it holds the first waits for ever, and the time limit says which."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import asyncpg
import httpx
import pytest

import auth.sessions
from app.main import create_app
from auth.sessions import SEEN_AT_GRANULARITY
from config.settings import Settings
from db.pool import create_pool
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, signed_in_staff
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
WAIT_SECONDS = 15  # a page answers in well under a second here; a view waiting for a second connection never does


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    yield pool
    pool.terminate()  # not close(): a view stuck before the fix would keep close() waiting for its connection


class Clock:
    """auth.sessions' clock, moved on past SEEN_AT's granularity before each view: every view is one whose session
    is due its write (the first views of a person who comes back after a minute or more)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.time()
        monkeypatch.setattr(auth.sessions, "time", SimpleNamespace(time=lambda: self.now))

    def a_while_later(self) -> None:
        self.now += 2 * SEEN_AT_GRANULARITY


def on_one_connection(settings: Settings, pool: asyncpg.Pool, signed_in: httpx.AsyncClient) -> httpx.AsyncClient:
    """The same browser (its cookies) on an app whose pool has one connection."""
    app = create_app(settings, pool=pool)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50300))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000", cookies=signed_in.cookies)


async def _views_answer(client: httpx.AsyncClient, clock: Clock, paths: list[str]) -> None:
    for path in paths:
        clock.a_while_later()
        try:
            answer = await asyncio.wait_for(client.get(path), WAIT_SECONDS)
        except TimeoutError:
            pytest.fail(f"GET {path} waited for a second connection while holding its first")
        assert answer.status_code == 200, (path, answer.status_code)


async def test_a_residents_views_due_their_session_write_answer_on_one_connection(
    client: httpx.AsyncClient, one_connection: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    filed = await post(client, "/api/v1/cases", await submission_for(client, "birth", "key-one-connection"))
    assert filed.status_code == 201, filed.text
    case_no, token = filed.json()["case_no"], filed.json()["tracking_token"]
    clock = Clock(monkeypatch)
    async with on_one_connection(settings, one_connection, client) as resident:
        paths = [
            *("/", "/cases", f"/cases/{case_no}", f"/cases/{case_no}/receipt", f"/t/{token}", "/me"),
            *("/notifications", "/certificates", "/appointments", "/life-events/birth/apply?items=CZ-YB-002"),
        ]
        await _views_answer(resident, clock, paths)


async def test_a_clerks_views_due_their_session_write_answer_on_one_connection(
    another_client: Callable[[], httpx.AsyncClient],
    pool: asyncpg.Pool,
    one_connection: asyncpg.Pool,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clerk = await signed_in_staff(another_client, pool, settings, name="天宁窗口", role="clerk", department="hrss")
    clock = Clock(monkeypatch)
    async with on_one_connection(settings, one_connection, clerk) as on_one:
        await _views_answer(on_one, clock, ["/console", "/api/v1/console/tasks", "/"])
