"""/metrics: the operations team's series, for allowed addresses only, and never a case number, token or ID number
in a label — after a run of what residents and staff do over HTTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.ops.metrics import DatabaseGauges
from config.settings import Settings
from db import pool_usage
from db.pool import create_pool
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for
from tests.database_fixtures import settings_for

pytestmark = pytest.mark.anyio

CASE_NUMBER = re.compile(r"CZ\d{14}")
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
# A tracking token, an upload token, a session id: long runs of letters and digits with no template braces.
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,}")


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def without_request_id(page: str) -> str:
    return re.sub(r'class="request-id">[^<]*<', "", page)


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float | None:
    for sample_labels, sample_value in found.get(name, []):
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            return sample_value
    return None


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def scrape(client: httpx.AsyncClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return families(response.text)


def client_from(app: Litestar, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")


async def test_metrics_answer_an_allowed_address_with_the_custom_series_and_404_elsewhere(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    await client.get("/")
    found = await scrape(client)
    assert value(found, "ywtb_http_requests_total", method="GET", route="/", status="200") is not None
    assert value(found, "ywtb_ready", check="database") == 1.0
    assert value(found, "ywtb_ready", check="migrations") == 1.0
    assert value(found, "ywtb_push_jobs", state="queued") == 0.0
    assert "ywtb_metrics_query_seconds" in found
    async with client_from(app, "203.0.113.9") as outsider:
        refused = await outsider.get("/metrics")
        assert refused.status_code == 404 and "ywtb_" not in refused.text
        # As any unknown path answers (but for the request's own id): nothing says the endpoint exists.
        unknown = await outsider.get("/nothing-here")
        assert without_request_id(refused.text).replace("/metrics", "/nothing-here").replace(
            "%2Fmetrics", "%2Fnothing-here"
        ) == without_request_id(unknown.text)


async def test_behind_a_proxy_on_this_machine_the_forwarded_address_is_the_one_judged(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """nginx on 127.0.0.1 in front of the app: what it forwards from the internet must not count as loopback."""
    app = create_app(settings_for(database_url, tmp_path / "data", TRUSTED_PROXIES="127.0.0.1"), pool=pool)
    async with client_from(app, "127.0.0.1") as via_proxy:
        forwarded = await via_proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert forwarded.status_code == 404
        assert (await via_proxy.get("/metrics")).status_code == 200  # Prometheus on this machine, not through nginx


async def test_no_label_holds_a_case_number_token_or_id_number_after_a_run_of_the_http_suite(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    sms_before = counted("ywtb_sms_messages_total", result="sent")
    codes_before = counted("ywtb_audit_events_total", action="signup.sms_code", outcome="ok")
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "metrics-labels-1"))
    assert created.status_code == 201, created.text
    case = created.json()
    case_no, token = case["case_no"], case["tracking_token"]
    for path in (f"/cases/{case_no}", f"/api/v1/cases/{case_no}", f"/t/{token}", f"/api/v1/track/{token}"):
        assert (await client.get(path)).status_code == 200, path
    await client.get(f"/t/{'x' * 32}")  # an unknown token
    await client.get(f"/{ZHANG_WEI['id_number']}/{case_no}?on_behalf_of={ZHANG_WEI['id_number']}")  # unrouted
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    assert (await clerk.get(f"/console/cases/{case_no}")).status_code == 200
    assert (await clerk.get(f"/console?q={case_no}")).status_code in (200, 303)
    tasks = (await client.get(f"/api/v1/cases/{case_no}")).json()["tasks"]
    police = next(t for t in tasks if t["department"] == "police")
    accepted = await post(clerk, f"/api/v1/console/tasks/{police['id']}/transition", {"action": "accept"})
    assert accepted.status_code == 200, accepted.text

    body = (await client.get("/metrics")).text
    for secret in (case_no, token, ZHANG_WEI["id_number"]):
        assert secret not in body
    labels = [v for samples in families(body).values() for sample_labels, _ in samples for v in sample_labels.values()]
    assert labels
    for label in labels:
        assert not CASE_NUMBER.search(label), label
        assert not ID_NUMBER.search(label), label
        assert not TOKEN.search(label), label
    found = families(body)
    assert value(found, "ywtb_http_requests_total", route="/t/{token}", status="200") is not None
    assert value(found, "ywtb_http_requests_total", route="unmatched", status="404") is not None
    assert value(found, "ywtb_tasks_open", department="police", district="320402", status="accepted") == 1.0
    assert counted("ywtb_sms_messages_total", result="sent") == sms_before + 1
    assert counted("ywtb_audit_events_total", action="signup.sms_code", outcome="ok") == codes_before + 1


async def test_overdue_tasks_are_counted_by_department_office(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "metrics-overdue-1"))
    assert created.status_code == 201, created.text
    late = await pool.fetchval(
        "WITH late AS (UPDATE tasks SET status = 'in_review', due_on = current_date - 3 "
        "WHERE department_code = 'health' RETURNING 1) SELECT count(*) FROM late"
    )
    assert late >= 1
    found = await scrape(client)
    assert value(found, "ywtb_tasks_overdue", department="health", district="320402") == late
    assert value(found, "ywtb_tasks_overdue", department="police", district="320402") == 0.0
    assert value(found, "ywtb_tasks_open", department="health", district="320402", status="in_review") == late


async def test_refusals_and_failed_sign_ins_are_counted(database_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    app = create_app(settings_for(database_url, tmp_path / "data", TRACK_SCANS_PER_MINUTE="1"), pool=pool)
    scans_before = counted("ywtb_rate_limit_refusals_total", limit="track-scan")
    failures_before = counted("ywtb_audit_events_total", action="signin", outcome="refused")
    async with client_from(app, "127.0.0.1") as client:
        statuses = [(await client.get(f"/api/v1/track/{'y' * 32}")).status_code for _ in range(2)]
        assert statuses[-1] == 429
        junk = await post(client, "/api/v1/auth/login/verify", {"credential": {"id": "AAAA", "response": {}}})
        assert junk.status_code in (400, 401)
    assert counted("ywtb_rate_limit_refusals_total", limit="track-scan") == scans_before + 1
    assert counted("ywtb_audit_events_total", action="signin", outcome="refused") == failures_before + 1


@pytest.fixture
async def tiny_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    yield pool
    await pool.close()


async def test_the_pool_gauges_see_a_caller_waiting_for_a_connection(tiny_pool: asyncpg.Pool) -> None:
    """Guards the one place that reads asyncpg's internals (its queue's waiters): an upgrade that moves them fails."""
    async with tiny_pool.acquire():
        waiter = asyncio.create_task(tiny_pool.fetchval("SELECT 1"))
        await asyncio.sleep(0.05)
        pool_usage.sample(tiny_pool)
        assert REGISTRY.get_sample_value("ywtb_db_pool_waiting") == 1.0
        assert REGISTRY.get_sample_value("ywtb_db_pool_in_use") == 1.0
    assert await waiter == 1
    pool_usage.sample(tiny_pool)
    assert REGISTRY.get_sample_value("ywtb_db_pool_waiting") == 0.0
    assert REGISTRY.get_sample_value("ywtb_db_pool_max") == 1.0


async def test_scrapes_within_the_cache_time_read_the_database_once(settings: Settings, tmp_path: Path) -> None:
    """A scrape every 15 s (from two Prometheus servers, say) costs one read of the queue per 10 s and one of the
    tasks per minute per worker; `ywtb_metrics_query_seconds` says what a read took."""
    queries: list[str] = []

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda record: queries.append(record.query))

    assert settings.database_url
    counting = await create_pool(settings.database_url, min_size=1, max_size=2, on_connect=log_queries)
    try:
        gauges = DatabaseGauges()
        for _ in range(3):
            text = (await gauges.exposition(counting, tmp_path)).decode()
    finally:
        await counting.close()
    assert sum("FROM tasks t" in q for q in queries) == 1
    assert sum("FROM pgqueuer" in q for q in queries) == 1
    assert 'ywtb_metrics_query_seconds{part="tasks"}' in text
