"""Hot paths stay cheap: the status lookup uses an index, the case page makes a fixed number of queries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.main import create_app
from config.settings import Settings
from db.pool import create_pool
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio


async def test_the_status_lookup_by_tracking_token_is_an_index_scan(pool: asyncpg.Pool) -> None:
    # Enough cases that a sequential scan would be the planner's choice were there no index.
    account = await pool.fetchval(
        "INSERT INTO accounts (kind, person_id, name, roles, user_handle) "
        "SELECT 'resident', id, name, ARRAY['resident'], '\\x01' FROM people ORDER BY id LIMIT 1 RETURNING id"
    )
    await pool.execute(
        """INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                              filed_as, channel, data_enc, form_checksum, idempotency_key)
           SELECT 'CZ20990101' || lpad(n::text, 6, '0'), md5(n::text) || md5((n + 1)::text), 'birth',
                  (SELECT person_id FROM accounts WHERE id = $1), $1, 'self', 'online', '\\x00', 'x', 'bulk-' || n
           FROM generate_series(1, 20000) n""",
        account,
    )
    await pool.execute("ANALYZE cases")
    token = await pool.fetchval("SELECT tracking_token FROM cases LIMIT 1")
    plan = "\n".join(
        r[0]
        for r in await pool.fetch(
            "EXPLAIN SELECT c.id FROM cases c JOIN life_events e ON e.code = c.life_event_code "
            "WHERE c.tracking_token = $1",
            token,
        )
    )
    assert "Index Scan using cases_tracking_token_key" in plan, plan


@pytest.fixture
async def counted(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    queries: list[str] = []

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda record: queries.append(record.query))

    assert settings.database_url
    counting_pool = await create_pool(settings.database_url, min_size=1, max_size=4, on_connect=log_queries)
    transport = httpx.ASGITransport(app=create_app(settings, pool=counting_pool), client=("127.0.0.1", 50400))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        yield client, queries
    await counting_pool.close()


async def test_the_case_page_makes_the_same_few_queries_however_many_tasks(
    counted: tuple[httpx.AsyncClient, list[str]],
) -> None:
    client, queries = counted
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    counts = {}
    for life_event in ("birth", "retirement"):  # six tasks, three tasks
        created = await post(client, "/api/v1/cases", await submission_for(client, life_event, f"perf-{life_event}"))
        case_no = created.json()["case_no"]
        queries.clear()
        assert (await client.get(f"/cases/{case_no}")).status_code == 200
        counts[life_event] = len(queries)
    assert counts["birth"] == counts["retirement"], counts
    assert counts["birth"] <= 8, queries
