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
        timeout=LONG,
    )
    await conn.execute(
        """
        INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on, receiving_region)
        SELECT c.id, le.item_code, i.department_code, le.position,
               (ARRAY['submitted', 'accepted', 'in_review', 'approved', 'completed', 'delivered'])
                   [1 + (c.id + le.position) % 6],
               (c.created_at AT TIME ZONE 'Asia/Shanghai')::date + 7, coalesce(c.received_region, p.region_code)
        FROM cases c JOIN life_event_items le ON le.life_event_code = c.life_event_code
        JOIN service_items i ON i.code = le.item_code JOIN people p ON p.id = c.applicant_person_id
        WHERE c.idempotency_key LIKE 'bench-%'
        """,
        timeout=LONG,
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
        """,
        timeout=LONG,
    )
    # As autovacuum leaves loaded tables (their insert threshold), before any row is measured: it vacuumed `cases` and
    # `timeline_events` about 40 s after the load, a few seconds each on one of the two cores, inside the first rows.
    # Their rows' hint bits are set here too, not by the first reads of the status check.
    await conn.execute("VACUUM (ANALYZE)", timeout=LONG)


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
    # Their tasks' receiving hall (migration 0042) is the new applicant's, as the app keeps it.
    await conn.execute(
        "UPDATE tasks t SET receiving_region = coalesce(c.received_region, p.region_code) FROM cases c "
        "JOIN people p ON p.id = c.applicant_person_id WHERE c.id = t.case_id AND c.applicant_person_id = $1",
        person_id,
    )
    return [r["case_no"] for r in rows]


async def case_ids(conn: asyncpg.Connection, tokens: list[str]) -> list[int]:
    return [r["id"] for r in await conn.fetch("SELECT id FROM cases WHERE tracking_token = ANY($1::text[])", tokens)]


# --- the public statistics at city scale ------------------------------------------------------------------------------

DEMO_PREFIX = "stats-demo-"
LONG = 3600.0  # seconds a statement of a million rows may take (the pool's default is 30)


async def create_statistics_data(
    conn: asyncpg.Connection,
    count: int,
    *,
    person_enc: bytes,
    certificate_number_enc: bytes,
    certificate_data_enc: bytes,
    days: int = 365,
) -> int:
    """`count` single-item cases filed over the last `days` days by invented residents (演示居民…) across every
    district, through every channel, for every item offered 网上办理, each with its task, its 办结 and 出件 steps as
    they would have happened (some late), a third of them rated (a few badly, with their follow-ups) and the result
    certificates in the library — what app/stats counts, for the benchmark and the screenshots. The encrypted values
    are the caller's (made with the app's key), shared by every row. Returns how many cases it added."""
    async with conn.transaction():
        return await _statistics_data(conn, count, person_enc, certificate_number_enc, certificate_data_enc, days)


async def _statistics_data(
    conn: asyncpg.Connection,
    count: int,
    person_enc: bytes,
    certificate_number_enc: bytes,
    certificate_data_enc: bytes,
    days: int,
) -> int:
    filer = await conn.fetchval(
        "INSERT INTO accounts (kind, name, roles, region_code, user_handle) "
        "VALUES ('staff', '统计演示录入', ARRAY['clerk'], '320400', decode(md5('stats-demo-filer'), 'hex')) "
        "ON CONFLICT (user_handle) DO UPDATE SET name = EXCLUDED.name RETURNING id"
    )
    await conn.execute(
        """
        WITH villages AS (SELECT array_agg(code ORDER BY code) AS codes FROM regions WHERE level = 'village')
        INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, region_code, birth_date, sex)
        SELECT decode(md5('stats-demo-person-' || n) || md5('stats-demo-' || n), 'hex'), $2, '320400********0000',
               '演示居民' || n, v.codes[1 + n % cardinality(v.codes)], date '1950-01-01' + n % 20000,
               CASE WHEN n % 2 = 0 THEN 'M' ELSE 'F' END
        FROM generate_series(1, $1) n, villages v
        ON CONFLICT (id_number_hash) DO NOTHING
        """,
        max(200, count // 50),
        person_enc,
        timeout=LONG,
    )
    added = await conn.fetchval(
        """
        WITH items AS (
            SELECT row_number() OVER (ORDER BY i.code) AS k, i.code
            FROM service_items i JOIN life_events e ON e.single_item = i.code
        ), folk AS (
            SELECT row_number() OVER (ORDER BY id) AS k, id, region_code FROM people WHERE name LIKE '演示居民%'
        ), sizes AS (SELECT (SELECT count(*) FROM items) AS items, (SELECT count(*) FROM folk) AS folk),
        start AS (SELECT coalesce(max(substr(idempotency_key, 12)::bigint), 0) AS g0 FROM cases
                  WHERE idempotency_key LIKE 'stats-demo-%'),
        made AS (
            INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                               filed_as, channel, data_enc, form_checksum, idempotency_key, received_region,
                               created_at)
            SELECT 'CS' || to_char(start.g0 + g, 'FM0000000000'), md5('stats-token-' || (start.g0 + g)) ||
                   md5('stats-t2-' || (start.g0 + g)), it.code, f.id, $2,
                   CASE ch.channel WHEN 'online' THEN 'self' WHEN 'window' THEN 'clerk' ELSE 'helper' END,
                   ch.channel, $3, 'stats-demo', 'stats-demo-' || (start.g0 + g),
                   CASE WHEN ch.channel = 'window' THEN left(f.region_code, 6) END,
                   now() - make_interval(days => ((g * 7) % $4)::int, hours => (g % 9)::int, mins => (g % 53)::int)
            FROM generate_series(1, $1) g
            CROSS JOIN start CROSS JOIN sizes
            CROSS JOIN LATERAL (SELECT CASE WHEN g % 10 < 6 THEN 'online' WHEN g % 10 < 9 THEN 'window'
                                            ELSE 'helper' END AS channel) ch
            JOIN items it ON it.k = 1 + (g * 31) % sizes.items
            JOIN folk f ON f.k = 1 + (g * 17) % sizes.folk
            RETURNING 1
        )
        SELECT count(*) FROM made
        """,
        count,
        filer,
        person_enc,
        days,
        timeout=LONG,
    )
    await conn.execute(
        """
        CREATE TEMP TABLE stats_plan ON COMMIT DROP AS
        SELECT c.id AS case_id, c.created_at, c.channel, c.applicant_person_id, i.code AS item_code,
               i.department_code, i.kind, i.result_certificate ->> 'kind' AS certificate_kind,
               i.result_certificate ->> 'title' AS certificate_title,
               CASE WHEN i.level = '市级' AND NOT i.citywide THEN '320400' ELSE left(p.region_code, 6) END AS office,
               (c.created_at AT TIME ZONE 'Asia/Shanghai')::date AS filed_on,
               CASE WHEN i.kind = '即办件' THEN 0 ELSE greatest(i.promised_limit_value, 1) * 7 / 5 END AS due_days,
               (c.id * 2654435761) % 1000 AS h
        FROM cases c JOIN service_items i ON i.code = c.life_event_code JOIN people p ON p.id = c.applicant_person_id
        WHERE c.form_checksum = 'stats-demo' AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = c.id);
        ALTER TABLE stats_plan ADD COLUMN done_at timestamptz, ADD COLUMN task_id bigint;
        UPDATE stats_plan SET done_at = created_at + interval '2 hours' + make_interval(days =>
            (CASE WHEN kind = '即办件' THEN (h % 17 = 0)::int
                  ELSE (h * 7) % (due_days + 1) + CASE WHEN h % 20 = 0 THEN 3 ELSE 0 END END)::int);
        """,
        timeout=LONG,
    )
    await conn.execute(
        """
        WITH made AS (
            INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on, office_region,
                               delivery_method, receiving_region)
            SELECT case_id, item_code, department_code, 0,
                   CASE WHEN done_at > now() THEN 'in_review'
                        WHEN h % 10 = 3 OR done_at + interval '1 day' > now() THEN 'completed'
                        ELSE 'delivered' END,
                   filed_on + due_days, office,
                   CASE WHEN done_at + interval '1 day' > now() OR h % 10 = 3 THEN NULL
                        WHEN channel = 'window' THEN (ARRAY['window', 'post'])[1 + h % 2]
                        ELSE (ARRAY['electronic', 'post', 'window'])[1 + h % 3] END,
                   (SELECT coalesce(c.received_region, p.region_code) FROM cases c
                    JOIN people p ON p.id = c.applicant_person_id WHERE c.id = stats_plan.case_id)
            FROM stats_plan
            RETURNING id, case_id
        )
        UPDATE stats_plan s SET task_id = made.id FROM made WHERE made.case_id = s.case_id
        """,
        timeout=LONG,
    )
    await conn.execute(
        """
        INSERT INTO timeline_events (case_id, task_id, status, title, department_code, at)
        SELECT case_id, NULL, 'submitted', '申请已提交，共1个事项，已分送各部门', NULL, created_at FROM stats_plan
        UNION ALL
        SELECT s.case_id, s.task_id, 'completed', '已办结', s.department_code, s.done_at
        FROM stats_plan s WHERE s.done_at <= now()
        UNION ALL
        SELECT s.case_id, s.task_id, 'delivered', '已出件', s.department_code, s.done_at + interval '1 day'
        FROM stats_plan s JOIN tasks t ON t.id = s.task_id WHERE t.status = 'delivered'
        """,
        timeout=LONG,
    )
    await conn.execute(
        """
        INSERT INTO e_certificates (person_id, kind, title, number, issued_by, issued_on, data, number_hash,
                                    number_enc, number_masked, data_enc, case_id)
        SELECT applicant_person_id, certificate_kind, certificate_title, NULL, '演示', done_at::date, '{}',
               decode(md5('stats-demo-certificate-' || case_id), 'hex'), $1, '演示证照****', $2, case_id
        FROM stats_plan WHERE certificate_kind IS NOT NULL AND done_at <= now() AND h % 50 <> 7
        """,
        certificate_number_enc,
        certificate_data_enc,
        timeout=LONG,
    )
    await conn.execute(
        """
        WITH rated AS (
            INSERT INTO reviews (case_id, task_id, department_code, region_code, level, channel, client_present,
                                 created_at, updated_at, editable_until)
            SELECT s.case_id, s.task_id, s.department_code, s.office,
                   CASE WHEN h % 97 < 2 THEN 1 WHEN h % 97 < 5 THEN 2 WHEN h % 11 = 0 THEN 3 WHEN h % 4 = 0 THEN 4
                        ELSE 5 END,
                   s.channel, s.channel = 'helper', s.done_at + interval '1 day 3 hours',
                   s.done_at + interval '1 day 3 hours', s.done_at + interval '8 days 3 hours'
            FROM stats_plan s JOIN tasks t ON t.id = s.task_id
            WHERE t.status = 'delivered' AND s.h % 3 = 0 AND s.done_at + interval '1 day 3 hours' <= now()
            RETURNING id, case_id, department_code, region_code, level, created_at
        )
        INSERT INTO review_followups (review_id, case_id, department_code, region_code, opened_at, contact_due_on,
                                      result_due_on, contacted_at, resolved_at, result_text)
        SELECT r.id, r.case_id, r.department_code, r.region_code, r.created_at,
               (r.created_at AT TIME ZONE 'Asia/Shanghai')::date + 1,
               (r.created_at AT TIME ZONE 'Asia/Shanghai')::date + 7,
               CASE WHEN r.created_at + interval '20 hours' <= now() THEN r.created_at + interval '20 hours' END,
               CASE WHEN x.answer_at <= now() THEN x.answer_at END,
               CASE WHEN x.answer_at <= now() THEN '已回访并整改' END
        FROM rated r
        CROSS JOIN LATERAL (SELECT r.created_at + make_interval(days => CASE WHEN r.case_id % 7 = 0 THEN 9 ELSE 2 END)
                            AS answer_at) x
        WHERE r.level <= 2
        """,
        timeout=LONG,
    )
    return int(added)


# --- the back office's queue at city scale ----------------------------------------------------------------------------

QUEUE_OPEN_STATUSES = ["submitted", "accepted", "in_review", "approved", "completed", "supplement_requested"]


async def create_queue_data(
    conn: asyncpg.Connection,
    *,
    open_tasks: int,
    office: str,
    in_office: int,
    closed_tasks: int,
    person_enc: bytes,
    data_enc: bytes,
) -> None:
    """Single-item cases filed online by invented residents (队列居民…) of every district, each with its one task routed
    to the office of the applicant's district (区级 items, not 全城通办): `open_tasks` still open, `in_office` of them
    for residents of `office`'s district, due from three weeks ago to six weeks ahead, in every open state; and
    `closed_tasks` delivered long ago (most of a city's tasks, in no queue)."""
    async with conn.transaction():
        filer = await conn.fetchval(
            "INSERT INTO accounts (kind, name, roles, region_code, user_handle) "
            "VALUES ('staff', '队列演示录入', ARRAY['clerk'], '320400', decode(md5('queue-demo-filer'), 'hex')) "
            "ON CONFLICT (user_handle) DO UPDATE SET name = EXCLUDED.name RETURNING id"
        )
        await conn.execute(
            """
            INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, region_code, birth_date, sex)
            SELECT decode(md5('queue-person-' || v.code || '-' || n) || md5('queue-' || n), 'hex'), $1,
                   '320400********0000', '队列居民' || v.code || '-' || n, v.code, date '1950-01-01' + n * 37 % 20000,
                   CASE WHEN n % 2 = 0 THEN 'M' ELSE 'F' END
            FROM regions v, generate_series(1, 50) n WHERE v.level = 'village'
            ON CONFLICT (id_number_hash) DO NOTHING
            """,
            person_enc,
        )
        # Case g (1…open) is the office's when g·in_office/open passes a whole number: evenly spread, exactly in_office.
        await conn.execute(
            """
            WITH items AS (
                SELECT row_number() OVER (ORDER BY i.code) AS k, i.code
                FROM service_items i JOIN life_events e ON e.single_item = i.code
                WHERE i.level = '区级' AND NOT i.citywide
            ), folk AS (
                SELECT row_number() OVER (PARTITION BY left(region_code, 6) ORDER BY id) AS k, id,
                       left(region_code, 6) AS district
                FROM people WHERE name LIKE '队列居民%'
            ), districts AS (
                SELECT array_agg(code ORDER BY code) FILTER (WHERE code <> $4) AS others, array_agg(code) AS every
                FROM regions WHERE level = 'district'
            ), sizes AS (SELECT (SELECT count(*) FROM items) AS items, (SELECT min(c) FROM (
                SELECT count(*) AS c FROM folk GROUP BY district) x) AS folk)
            INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                               filed_as, channel, data_enc, form_checksum, idempotency_key, created_at)
            SELECT 'CQ' || lpad(g::text, 10, '0'), md5('queue-token-' || g) || md5('queue-t2-' || g), it.code, f.id,
                   $3, 'self', 'online', $5, 'queue-demo', 'queue-demo-' || g,
                   now() - make_interval(days => (g % 40)::int, hours => (g % 9)::int)
            FROM generate_series(1, $1::int + $2::int) g
            CROSS JOIN districts d CROSS JOIN sizes
            CROSS JOIN LATERAL (SELECT CASE
                WHEN g > $1::int THEN d.every[1 + g % cardinality(d.every)]
                WHEN (g::bigint * $6::int) / $1::int > ((g::bigint - 1) * $6::int) / $1::int THEN $4::text
                ELSE d.others[1 + g % cardinality(d.others)] END AS district) pick
            JOIN items it ON it.k = 1 + (g * 7) % sizes.items
            JOIN folk f ON f.district = pick.district AND f.k = 1 + (g * 13) % sizes.folk
            """,
            open_tasks,
            closed_tasks,
            filer,
            office,
            data_enc,
            in_office,
            timeout=LONG,
        )
        await conn.execute(
            """
            INSERT INTO tasks (case_id, item_code, department_code, position, status, due_on, office_region,
                               updated_at, receiving_region)
            SELECT c.id, i.code, i.department_code, 0,
                   CASE WHEN x.g <= $1 THEN ($2::text[])[1 + x.g % cardinality($2::text[])] ELSE 'delivered' END,
                   CASE WHEN x.g <= $1 THEN current_date - 21 + (x.g % 63)::int
                        ELSE (c.created_at AT TIME ZONE 'Asia/Shanghai')::date + 10 END,
                   left(p.region_code, 6), c.created_at, p.region_code
            FROM cases c JOIN service_items i ON i.code = c.life_event_code
                 JOIN people p ON p.id = c.applicant_person_id
            CROSS JOIN LATERAL (SELECT substr(c.idempotency_key, 12)::bigint AS g) x
            WHERE c.form_checksum = 'queue-demo'
            """,
            open_tasks,
            QUEUE_OPEN_STATUSES,
            timeout=LONG,
        )
    # As autovacuum leaves a loaded table (its insert threshold): the visibility map set, so the queue's index-only
    # walk reads the index alone, not each task's page too.
    await conn.execute("VACUUM tasks", timeout=LONG)
    await conn.execute("ANALYZE", timeout=LONG)


async def queue_counts(conn: asyncpg.Connection, statuses: list[str], office: str) -> tuple[int, int]:
    """Open tasks in the database, and those routed to the office."""
    row = await conn.fetchrow(
        "SELECT count(*) AS open, count(*) FILTER (WHERE office_region = $2) AS office FROM tasks "
        "WHERE status = ANY($1::text[])",
        statuses,
        office,
    )
    assert row is not None
    return row["open"], row["office"]
