"""A database that cannot be reached is a 503 in Chinese wherever it shows, and only that: any other error is
still a 500 (tests/test_faults.py stops a real PostgreSQL under a served app; these run in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar.exceptions import LitestarException

from app.main import create_app
from db.pool import database_unavailable
from tests.database_fixtures import settings_for


@pytest.fixture
async def no_database(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a pool whose server is not there (no socket where the URL points)."""
    database_url = f"postgresql://postgres@/ywtb?host={tmp_path / 'no-server'}"
    pool = await asyncpg.create_pool(database_url, min_size=0)
    transport = httpx.ASGITransport(app=create_app(settings_for(database_url, tmp_path / "data"), pool=pool))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        yield client
    await pool.close()


async def test_pages_api_and_health_answer_503_without_a_database(no_database: httpx.AsyncClient) -> None:
    page = await no_database.get("/life-events/birth")
    assert page.status_code == 503 and "系统维护中，请稍后再试" in page.text and "错误代码 503" in page.text
    assert page.headers["retry-after"] == "10"
    api = await no_database.get("/api/v1/life-events")
    assert api.status_code == 503 and api.json() == {"status_code": 503, "detail": "系统维护中，请稍后再试"}
    health = await no_database.get("/healthz")
    assert health.status_code == 503 and health.json() == {"status": "unavailable", "db": "unavailable"}


async def test_a_session_that_cannot_be_read_is_a_503_too(no_database: httpx.AsyncClient) -> None:
    no_database.cookies.set("ywtb_session", "ab" * 32)  # shaped like our ids: the store is asked
    page = await no_database.get("/me")
    assert page.status_code == 503 and "系统维护中" in page.text
    api = await no_database.get("/api/v1/me")
    assert api.status_code == 503 and api.json()["detail"] == "系统维护中，请稍后再试"


def _raised_from(cause: BaseException) -> LitestarException:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise LitestarException("Exception caught after response started") from exc
    except LitestarException as wrapped:
        return wrapped


def test_only_the_database_being_out_of_reach_counts_as_unavailable() -> None:
    shutdown = asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")
    assert database_unavailable(shutdown) is shutdown
    assert database_unavailable(asyncpg.exceptions.CannotConnectNowError("starting up")) is not None
    assert database_unavailable(asyncpg.ConnectionDoesNotExistError("closed mid-query")) is not None
    assert database_unavailable(asyncpg.InterfaceError("cannot perform operation: connection is closed")) is not None
    # The session written as the answer starts fails inside Litestar, which wraps the cause.
    assert database_unavailable(_raised_from(shutdown)) is shutdown
    # Not the database: a bug, still a logged 500.
    assert database_unavailable(FileNotFoundError(2, "No such file or directory")) is None
    assert database_unavailable(asyncpg.UniqueViolationError("duplicate key")) is None
    assert database_unavailable(asyncpg.InterfaceError("another operation is in progress")) is None
    assert database_unavailable(ValueError("bad input")) is None
