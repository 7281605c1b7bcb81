"""Bulk SQL for the benchmark data set: residents, accounts, cases with tasks and timelines."""

from __future__ import annotations

from datetime import date

import asyncpg


async def copy_people(conn: asyncpg.Connection, rows: list[tuple[bytes, bytes, str, str, str, str, date, str]]) -> None:
    await conn.copy_records_to_table(
        "people",
        records=rows,
        columns=[
            "id_number_hash",
            "id_number_enc",
            "id_number_masked",
            "name",
            "phone",
            "region_code",
            "birth_date",
            "sex",
        ],
    )


async def create_accounts_for_bench_people(conn: asyncpg.Connection) -> int:
    return int(
        (
            await conn.execute(
                "INSERT INTO accounts (kind, person_id, name, roles, region_code, user_handle) "
                "SELECT 'resident', p.id, p.name, ARRAY['resident'], p.region_code, "
                "       decode(md5(p.id::text || 'bench'), 'hex') "
                "FROM people p WHERE p.phone LIKE '199%' "
                "AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id)"
            )
        ).split()[-1]
    )


async def create_cases(conn: asyncpg.Connection, count: int, data_enc: bytes, checksum: str) -> None:
    """`count` 新生儿出生 cases spread over the bench residents, each with its six tasks and a timeline."""
    await conn.execute(
        """
        WITH applicants AS (
            SELECT row_number() OVER (ORDER BY a.id) AS n, a.id AS account_id, a.person_id
            FROM accounts a JOIN people p ON p.id = a.person_id WHERE p.phone LIKE '199%'
        ), total AS (SELECT count(*) AS c FROM applicants)
        INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                           filed_as, channel, data_enc, form_checksum, idempotency_key, created_at)
        SELECT 'CZ2026' || to_char(date '2026-01-01' + (g % 300), 'MMDD') || lpad(g::text, 6, '0'),
               translate(encode(decode(md5(g::text || random()::text) || md5(random()::text), 'hex'), 'base64'),
                         '+/=', '-_'),
               'birth', ap.person_id, ap.account_id, 'self', 'online', $2, $3, 'bench-' || g,
               timestamptz '2026-01-01 09:00+08' + (g % 300) * interval '1 day'
        FROM generate_series(1, $1) g
        JOIN applicants ap ON ap.n = 1 + (g % (SELECT c FROM total))
        """,
        count,
        data_enc,
        checksum,
    )
    await conn.execute(
        """
        INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on)
        SELECT c.id, le.item_code, i.department_code, le.position,
               (ARRAY['submitted', 'accepted', 'in_review', 'approved', 'completed', 'delivered'])
                   [1 + (c.id + le.position) % 6],
               (c.created_at AT TIME ZONE 'Asia/Shanghai')::date + 7
        FROM cases c JOIN life_event_items le ON le.life_event_code = c.life_event_code
        JOIN service_items i ON i.code = le.item_code
        WHERE c.idempotency_key LIKE 'bench-%'
        """
    )
    await conn.execute(
        """
        INSERT INTO timeline_events (case_id, task_id, status, title, department_code, at)
        SELECT c.id, NULL, 'submitted', '申请已提交，共6个事项，已分送各部门', NULL, c.created_at
        FROM cases c WHERE c.idempotency_key LIKE 'bench-%'
        UNION ALL
        SELECT t.case_id, t.id, 'accepted', i.name || '：已受理', t.department_code, c.created_at + interval '1 hour'
        FROM tasks t JOIN cases c ON c.id = t.case_id JOIN service_items i ON i.code = t.item_code
        WHERE c.idempotency_key LIKE 'bench-%' AND t.status <> 'submitted'
        """
    )
    await conn.execute("ANALYZE")


async def sample_tokens(conn: asyncpg.Connection, limit: int) -> list[str]:
    rows = await conn.fetch("SELECT tracking_token FROM cases ORDER BY random() LIMIT $1", limit)
    return [r["tracking_token"] for r in rows]


async def counts(conn: asyncpg.Connection) -> tuple[int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM cases"),
        await conn.fetchval("SELECT count(DISTINCT applicant_person_id) FROM cases"),
    )


async def give_cases_to(conn: asyncpg.Connection, person_id: int, how_many: int) -> list[str]:
    rows = await conn.fetch(
        "UPDATE cases SET applicant_person_id = $1 WHERE id IN (SELECT id FROM cases ORDER BY id LIMIT $2) "
        "RETURNING case_no",
        person_id,
        how_many,
    )
    return [r["case_no"] for r in rows]


async def case_ids(conn: asyncpg.Connection, tokens: list[str]) -> list[int]:
    return [r["id"] for r in await conn.fetch("SELECT id FROM cases WHERE tracking_token = ANY($1::text[])", tokens)]
