"""A push worker's own /metrics (PUSH_METRICS_PORT): its deliveries and their latency, for METRICS_ALLOWED only."""

from __future__ import annotations

import asyncio
import http.client

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.app_process import free_port
from tests.push_helpers import (
    WorkerProcess,
    file_case,
    local_push_service,
    resident_with_device,
    wait_until,
    worker_env,
)

pytestmark = pytest.mark.anyio


def scrape_from(source: str, port: int) -> tuple[int, str]:
    """GET /metrics from a given loopback address (Linux answers on all of 127.0.0.0/8)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


async def test_a_push_worker_serves_its_deliveries_and_their_latency_to_allowed_addresses(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    port = free_port()
    env = {**worker_env(database_url, settings.data_dir), "PUSH_METRICS_PORT": str(port)}
    env["METRICS_ALLOWED"] = "127.0.0.2"
    async with local_push_service(client) as service:
        await resident_with_device(client, service)
        worker = await WorkerProcess.start(env)
        try:
            await file_case(client)
            await wait_until(pool, "SELECT count(*) FROM notifications WHERE status = 'delivered'", 1)
            status, text = await asyncio.to_thread(scrape_from, "127.0.0.2", port)
            refused, _ = await asyncio.to_thread(scrape_from, "127.0.0.1", port)
        finally:
            assert await worker.stop() == 0
    assert status == 200 and refused == 404
    assert 'ywtb_push_deliveries_total{result="delivered"} 1.0' in text
    assert "ywtb_push_delivery_latency_seconds_count 1.0" in text
    assert "ywtb_db_pool_max" in text
