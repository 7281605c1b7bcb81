"""The audit viewer: supervisors and admin only; search by case, person (masked), actor, action and period, newest
first with keyset pages; pii.read entries stand out; CSV export; every search and export is itself audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio


async def _staff(
    another_client: Callable[[], httpx.AsyncClient], pool: asyncpg.Pool, settings: Settings, role: str, **kw: str
) -> httpx.AsyncClient:
    made = another_client()
    await staff_client_sign_up(made, pool, settings.secret_key, name=f"测试{role}", role=role, **kw)  # type: ignore[arg-type]
    return made


async def _case_with_audit_trail(client: httpx.AsyncClient, pool: asyncpg.Pool) -> str:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "audit-case-1"))
    case_no = created.json()["case_no"]
    await pool.execute(
        "INSERT INTO audit_log (actor, action, subject, outcome, detail) VALUES "
        "('account:999', 'pii.read', $1, 'ok', '{\"field\": \"mother.id_number\"}'), "
        "('account:998', 'case.open', $1, 'forbidden', '{}'), "
        "('account:999', 'pii.read', 'case:CZ20000101000001', 'ok', '{}')",
        f"case:{case_no}",
    )
    return case_no


async def test_only_supervisors_and_admin_search_the_audit_log(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case_no = await _case_with_audit_trail(client, pool)
    clerk = await _staff(another_client, pool, settings, "clerk", region="320402", department="police")
    assert (await client.get("/api/v1/console/audit", params={"case_no": case_no})).status_code == 403
    assert (await clerk.get("/api/v1/console/audit", params={"case_no": case_no})).status_code == 403
    assert (await clerk.get("/console/audit")).status_code == 403
    for role, extra in (("supervisor", {"region": "320402"}), ("admin", {"region": "320400"})):
        auditor = await _staff(another_client, pool, settings, role, **extra)
        found = await auditor.get("/api/v1/console/audit", params={"case_no": case_no})
        assert found.status_code == 200, found.text
        entries = found.json()["entries"]
        assert [(e["action"], e["pii_read"]) for e in entries[:2]] == [("case.open", False), ("pii.read", True)]
        assert all(e["subject"] == f"case:{case_no}" or e["detail"].get("case") == case_no for e in entries)


async def test_each_search_is_itself_audited_with_the_person_masked(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    await _case_with_audit_trail(client, pool)
    admin = await _staff(another_client, pool, settings, "admin", region="320400")
    found = await admin.get(
        "/api/v1/console/audit", params={"action": "signin"}, headers={"X-Audit-Person": ZHANG_WEI["id_number"]}
    )
    assert found.status_code == 200, found.text
    searches = await pool.fetch("SELECT detail FROM audit_log WHERE action = 'audit.search'")
    assert len(searches) == 1
    assert searches[0]["detail"]["query"]["person"] == "320402********0119"
    whole_log = str(await pool.fetch("SELECT actor, subject, detail FROM audit_log"))
    assert ZHANG_WEI["id_number"] not in whole_log
    page = await admin.post("/console/audit", data={"person": ZHANG_WEI["id_number"]}, headers=await csrf(admin))
    assert page.status_code == 200 and ZHANG_WEI["id_number"] not in str(page.url)
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit.search'") == 2


async def test_pages_follow_each_other_by_keyset(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    await pool.execute(
        "INSERT INTO audit_log (actor, action, subject, outcome) "
        "SELECT 'account:7', 'task.transition', 'task:' || n, 'ok' FROM generate_series(1, 120) n"
    )
    supervisor = await _staff(another_client, pool, settings, "supervisor", region="320400")
    seen: list[int] = []
    cursor = None
    while True:
        params = {"actor": "account:7", **({"cursor": cursor} if cursor else {})}
        page = (await supervisor.get("/api/v1/console/audit", params=params)).json()
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 120 and seen == sorted(seen, reverse=True) and len(set(seen)) == 120


async def test_the_csv_export_holds_the_matching_entries_and_is_audited(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case_no = await _case_with_audit_trail(client, pool)
    await pool.execute(
        "INSERT INTO audit_log (actor, action, subject, outcome, detail) "
        "VALUES ('=cmd|calc', 'pii.read', $1, 'ok', '{}')",
        f"case:{case_no}",
    )
    supervisor = await _staff(another_client, pool, settings, "supervisor", region="320402")
    exported = await supervisor.post(
        "/console/audit.csv", data={"case_no": case_no, "action": "pii.read"}, headers=await csrf(supervisor)
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][3] == "操作" and len(rows) == 3
    assert {r[3] for r in rows[1:]} == {"pii.read"} and all(r[8] == "是" for r in rows[1:])
    assert rows[1][2] == "'=cmd|calc"  # never a formula in a spreadsheet
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'audit.export'") == 1
