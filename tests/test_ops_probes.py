"""Probes: `/healthz/live` answers while the process does; `/healthz/ready` says 503 — naming what is missing — while
the database is away, a migration is not applied or the push key is gone, so a load balancer sends residents
elsewhere. `/healthz` itself is as it was (tests/test_unavailable.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from app.main import create_app
from config.settings import Settings
from push.keys import KEY_FILE
from tests.database_fixtures import settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
async def no_database(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a pool whose server is not there (as in tests/test_unavailable.py)."""
    database_url = f"postgresql://postgres@/ywtb?host={tmp_path / 'no-server'}"
    pool = await asyncpg.create_pool(database_url, min_size=0)
    app = create_app(settings_for(database_url, tmp_path / "data"), pool=pool)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        yield client
    await pool.close()


async def test_a_served_app_is_live_and_ready(client: httpx.AsyncClient) -> None:
    live = await client.get("/healthz/live")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await client.get("/healthz/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "migrations": "ok", "push_key": "ok"}
    assert "set-cookie" not in ready.headers  # probes make no session and mint no CSRF cookie


async def test_ready_is_503_with_the_database_down_and_live_stays_200(no_database: httpx.AsyncClient) -> None:
    ready = await no_database.get("/healthz/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready", "database": "unavailable", "migrations": "unknown", "push_key": "ok"}
    assert (await no_database.get("/healthz/live")).status_code == 200
    # /metrics still answers, and says why the host is not ready.
    metrics = await no_database.get("/metrics")
    assert metrics.status_code == 200
    assert 'ywtb_ready{check="database"} 0.0' in metrics.text
    assert 'ywtb_ready{check="push_key"} 1.0' in metrics.text


async def test_ready_is_503_while_a_migration_or_its_data_step_is_missing(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    step = await pool.fetchval("SELECT max(version) FROM schema_data_steps")
    await pool.execute("DELETE FROM schema_data_steps WHERE version = $1", step)
    ready = await client.get("/healthz/ready")
    assert ready.status_code == 503 and ready.json()["migrations"] == "pending"
    await pool.execute("INSERT INTO schema_data_steps (version, name) VALUES ($1, 'again')", step)
    assert (await client.get("/healthz/ready")).status_code == 200
    latest = await pool.fetchval("SELECT max(version) FROM schema_migrations")
    await pool.execute("DELETE FROM schema_data_steps WHERE version = $1", latest)
    await pool.execute("DELETE FROM schema_migrations WHERE version = $1", latest)
    ready = await client.get("/healthz/ready")
    assert ready.status_code == 503 and ready.json()["migrations"] == "pending"


async def test_ready_is_503_without_the_push_key(client: httpx.AsyncClient, settings: Settings) -> None:
    (settings.data_dir / KEY_FILE).unlink()
    ready = await client.get("/healthz/ready")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready", "database": "ok", "migrations": "ok", "push_key": "missing"}


async def test_the_maintenance_page_prints_the_request_id_a_resident_can_quote(no_database: httpx.AsyncClient) -> None:
    page = await no_database.get("/life-events/birth")
    assert page.status_code == 503 and "系统维护中" in page.text
    request_id = page.headers["x-request-id"]
    assert f'请求编号 <span class="request-id">{request_id}</span>' in page.text


async def test_a_503_raised_in_the_session_middleware_is_counted_as_a_503(no_database: httpx.AsyncClient) -> None:
    """The database fails before any route runs (reading the session): Litestar's per-route Prometheus middleware
    would record that answer as a 200; ours wraps routing itself."""
    labels = {"method": "GET", "route": "/me", "status": "503"}
    before = REGISTRY.get_sample_value("ywtb_http_requests_total", labels) or 0.0
    no_database.cookies.set("ywtb_session", "ab" * 32)  # shaped like our ids: the store is asked
    assert (await no_database.get("/me")).status_code == 503
    assert REGISTRY.get_sample_value("ywtb_http_requests_total", labels) == before + 1
