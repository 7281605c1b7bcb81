"""A department's system through the data-exchange API, played with httpx as the department's developers would.

Token (OAuth 2.0 client credentials) → its department's tasks → 受理 … 办结 with its own certificate; what it may not
do (a scope it lacks, another department's task, a revoked client, a replayed write), what it never sees (another
item's answers: data minimisation), and a hospital filing a record that the mother's form then shows as held.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from app.main import create_app
from auth import clients
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, new_authenticator, post, sign_up
from tests.case_helpers import PNG_1X1, submission_for

pytestmark = pytest.mark.anyio
API = "/api/exchange/v1"
MakeClient = Callable[[], httpx.AsyncClient]
ALL_DEPARTMENT_SCOPES = list(clients.DEPARTMENT_SCOPES)
# 新生儿出生 answers only other departments' items ask for: 户口登记 (公安) and 生育津贴 (医保).
NOT_HEALTHS = ("bank.account", "bank.name", "household.head_name", "father.phone", "mother.employer")


async def _register(pool: asyncpg.Pool, **kind: Any) -> clients.IssuedSecret:
    async with pool.acquire() as tx, tx.transaction():
        return await clients.register(
            tx,
            name=kind.pop("name", "测试系统"),
            department_code=kind.pop("department_code", None),
            hospital=kind.pop("hospital", None),
            region_code=kind.pop("region_code", "320402"),
            scopes=kind.pop("scopes"),
        )


async def _token(client: httpx.AsyncClient, issued: clients.IssuedSecret, scope: str | None = None) -> str:
    basic = base64.b64encode(f"{issued.client_id}:{issued.secret}".encode()).decode()
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    answer = await client.post("/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    return body["access_token"]


def _bearer(token: str, key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}


async def _file_birth(client: httpx.AsyncClient, key: str = "exchange-birth-1") -> str:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", key))
    assert created.status_code == 201, created.text
    return created.json()["case_no"]


async def _system(
    make: MakeClient,
    pool: asyncpg.Pool,
    department: str = "health",
    scopes: list[str] | None = None,
    region_code: str = "320400",
) -> tuple[httpx.AsyncClient, str, clients.IssuedSecret]:
    """A department's system, the city's by default: 出生医学证明 is a 市级 item, routed to the city's office."""
    system = make()
    issued = await _register(
        pool, department_code=department, scopes=scopes or ALL_DEPARTMENT_SCOPES, region_code=region_code
    )
    return system, await _token(system, issued), issued


async def _task_of(system: httpx.AsyncClient, token: str, item_code: str) -> dict[str, Any]:
    listed = await system.get(f"{API}/tasks", headers=_bearer(token))
    assert listed.status_code == 200, listed.text
    return next(t for t in listed.json()["items"] if t["item_code"] == item_code)


async def _move(system: httpx.AsyncClient, token: str, task_id: int, action: str, key: str) -> httpx.Response:
    return await system.post(f"{API}/tasks/{task_id}/transition", json={"action": action}, headers=_bearer(token, key))


async def test_a_department_system_takes_its_task_from_token_to_completion_with_its_certificate(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    case_no = await _file_birth(client)
    system, token, issued = await _system(another_client, pool)

    task = await _task_of(system, token, "CZ-WJ-001")
    assert task["case_no"] == case_no and task["status"] == "submitted"
    assert {t["item_code"] for t in (await system.get(f"{API}/tasks", headers=_bearer(token))).json()["items"]} == {
        "CZ-WJ-001",
        "CZ-WJ-002",
    }  # health's two items of the case, not 公安's or 医保's
    # Data minimisation: only the answers and materials of 出生医学证明签发 itself.
    keys = {f["key"] for f in task["fields"]}
    assert {"mother.id_number", "child.birth_hospital"} <= keys
    assert not keys & set(NOT_HEALTHS)
    assert all(m["code"].startswith("CZ-WJ-001:") for m in task["materials"])
    assert task["allowed_actions"] == ["accept", "reject", "request_supplement"]
    # The delivery record the resident uploaded, streamed.
    record = next(m for m in task["materials"] if m["code"] == "CZ-WJ-001:delivery_record")
    assert record["provided"] == "upload"
    download = await system.get(record["file"]["url"], headers=_bearer(token))
    assert download.status_code == 200 and download.content == PNG_1X1
    assert download.headers["content-type"] == "image/png"

    for step, action in enumerate(["accept", "review", "approve"]):
        moved = await _move(system, token, task["id"], action, f"move-{task['id']}-{step}")
        assert moved.status_code == 200, moved.text
    done = await system.post(
        f"{API}/tasks/{task['id']}/certificates",
        json={"number": "O320402600123", "issued_on": date.today().isoformat(), "data": {"child_name": "张小宝"}},
        headers=_bearer(token, f"certificate-{task['id']}"),
    )
    assert done.status_code == 201, done.text
    assert done.json()["status"] == "completed"

    held = await pool.fetch(
        "SELECT e.number_masked, e.issued_by FROM e_certificates e JOIN people p ON p.id = e.person_id "
        "WHERE p.name = $1 AND e.kind = 'birth_medical'",
        ZHANG_WEI["name"],
    )
    assert [(r["number_masked"], r["issued_by"]) for r in held] == [("*********0123", "常州市卫生健康委员会")]
    steps = await pool.fetch(
        "SELECT e.status, e.actor_account_id FROM timeline_events e JOIN cases c ON c.id = e.case_id "
        "WHERE c.case_no = $1 AND e.task_id = $2 ORDER BY e.id",
        case_no,
        task["id"],
    )
    assert [r["status"] for r in steps] == ["accepted", "in_review", "approved", "completed"]
    # Every call audited with the client's id.
    audited = await pool.fetch(
        "SELECT subject, detail FROM audit_log WHERE action = 'exchange.call' AND actor = $1 ORDER BY id",
        f"client:{issued.client_id}",
    )
    assert len(audited) == 7 and audited[-1]["detail"]["status"] == 201


async def test_a_scope_the_token_lacks_is_403_naming_the_scope(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    await _file_birth(client)
    system, token, _ = await _system(another_client, pool, scopes=["tasks:read"])
    task = await _task_of(system, token, "CZ-WJ-001")

    moved = await _move(system, token, task["id"], "accept", "no-scope-1")
    assert moved.status_code == 403
    assert "tasks:write" in moved.json()["detail"]
    assert 'error="insufficient_scope"' in moved.headers["www-authenticate"]
    material = await system.get(f"{API}/tasks/{task['id']}/materials/CZ-WJ-001:delivery_record", headers=_bearer(token))
    assert material.status_code == 403
    # A token asked for with fewer scopes than the client holds grants only those.
    full_system, _, issued = await _system(another_client, pool)
    narrow = await _token(full_system, issued, scope="tasks:read")
    assert (await _move(full_system, narrow, task["id"], "accept", "no-scope-2")).status_code == 403


async def test_another_departments_task_is_404_and_its_files_too(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    await _file_birth(client)
    police, police_token, _ = await _system(another_client, pool, department="police")
    police_task = await _task_of(police, police_token, "CZ-GA-001")
    health, token, _ = await _system(another_client, pool)

    assert (await health.get(f"{API}/tasks/{police_task['id']}", headers=_bearer(token))).status_code == 404
    moved = await _move(health, token, police_task["id"], "accept", "foreign-task-1")
    assert moved.status_code == 404
    foreign_file = await health.get(
        f"{API}/tasks/{police_task['id']}/materials/CZ-GA-001:settle_declaration", headers=_bearer(token)
    )
    assert foreign_file.status_code == 404
    # Nor another item's file through its own task.
    own = await _task_of(health, token, "CZ-WJ-001")
    other_items_file = await health.get(
        f"{API}/tasks/{own['id']}/materials/CZ-GA-001:settle_declaration", headers=_bearer(token)
    )
    assert other_items_file.status_code == 404
    # And a system of another region sees nothing of this case.
    elsewhere = another_client()
    far = await _register(pool, department_code="health", region_code="320411", scopes=ALL_DEPARTMENT_SCOPES)
    far_token = await _token(elsewhere, far)
    assert (await elsewhere.get(f"{API}/tasks", headers=_bearer(far_token))).json()["items"] == []
    assert (await elsewhere.get(f"{API}/tasks/{own['id']}", headers=_bearer(far_token))).status_code == 404


async def test_a_revoked_client_is_401_at_once_and_gets_no_new_token(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    system, token, issued = await _system(another_client, pool)
    assert (await system.get(f"{API}/tasks", headers=_bearer(token))).status_code == 200

    async with pool.acquire() as tx:
        await clients.revoke(tx, issued.client_id)

    refused = await system.get(f"{API}/tasks", headers=_bearer(token))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    basic = base64.b64encode(f"{issued.client_id}:{issued.secret}".encode()).decode()
    again = await system.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


async def test_a_replayed_write_with_the_same_key_has_one_effect(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    await _file_birth(client)
    system, token, _ = await _system(another_client, pool)
    task = await _task_of(system, token, "CZ-WJ-001")

    first = await _move(system, token, task["id"], "accept", "accept-once-0001")
    second = await _move(system, token, task["id"], "accept", "accept-once-0001")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    accepted = await pool.fetchval(
        "SELECT count(*) FROM timeline_events WHERE task_id = $1 AND status = 'accepted'", task["id"]
    )
    assert accepted == 1
    # The same key for another request is refused; a new key for the same move is a new request (not allowed now).
    reused = await system.post(
        f"{API}/tasks/{task['id']}/transition",
        json={"action": "reject", "note": "材料不全"},
        headers=_bearer(token, "accept-once-0001"),
    )
    assert reused.status_code == 409
    fresh = await _move(system, token, task["id"], "accept", "accept-once-0002")
    assert fresh.status_code == 409
    assert fresh.json()["allowed_actions"] == ["request_supplement", "review"]
    # A write without a key is refused before anything happens.
    unkeyed = await _move(system, token, task["id"], "review", "")
    assert unkeyed.status_code == 400 and "Idempotency-Key" in unkeyed.json()["errors"]


async def test_sessions_never_reach_the_exchange_api_and_tokens_never_reach_residents_routes(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    await _file_birth(client)  # `client` is a signed-in resident
    assert (await client.get(f"{API}/tasks")).status_code == 401
    system, token, _ = await _system(another_client, pool)
    assert (await system.get("/api/v1/cases", headers=_bearer(token))).status_code == 401
    assert (await system.get("/api/v1/console/tasks", headers=_bearer(token))).status_code == 401
    # A token that is not ours, or tampered with, is no token.
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await system.get(f"{API}/tasks", headers=_bearer(forged))).status_code == 401


async def test_the_token_endpoint_refuses_wrong_secrets_and_unknown_grants_in_rfc_6749_terms(
    pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    system = another_client()
    issued = await _register(pool, department_code="health", scopes=ALL_DEPARTMENT_SCOPES)
    wrong = await system.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": "czs_wrong"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = await system.post(
        "/oauth/token",
        data={"grant_type": "password", "client_id": issued.client_id, "client_secret": issued.secret},
    )
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    scope = await system.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": issued.client_id,
            "client_secret": issued.secret,
            "scope": "records:write",
        },
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    in_body = await system.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.secret},
    )
    assert in_body.status_code == 200


async def test_a_rotated_secret_overlaps_the_old_one_for_the_given_time(
    pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    system = another_client()
    issued = await _register(pool, department_code="health", scopes=ALL_DEPARTMENT_SCOPES)
    async with pool.acquire() as tx, tx.transaction():
        rotated = await clients.rotate(tx, issued.client_id, timedelta(hours=1))
    await _token(system, issued)  # the old secret still works during the overlap
    await _token(system, rotated)
    async with pool.acquire() as tx, tx.transaction():
        latest = await clients.rotate(tx, issued.client_id, timedelta(0))
    await _token(system, latest)
    for ended in (issued, rotated):
        basic = base64.b64encode(f"{ended.client_id}:{ended.secret}".encode()).decode()
        refused = await system.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        )
        assert refused.status_code == 401


async def test_lists_are_walked_page_by_page_with_a_cursor_each_task_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    await _file_birth(client, "exchange-birth-a")
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "exchange-birth-b"))
    assert created.status_code == 201
    system, token, _ = await _system(another_client, pool)

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        answer = await system.get(
            f"{API}/tasks", params={"limit": 1, **({"cursor": cursor} if cursor else {})}, headers=_bearer(token)
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4 and len(seen) == len(set(seen)) == 4
    submitted = await system.get(f"{API}/tasks", params={"status": "accepted"}, headers=_bearer(token))
    assert submitted.json()["items"] == []
    bad = await system.get(f"{API}/tasks", params={"cursor": "not-a-cursor"}, headers=_bearer(token))
    assert bad.status_code == 400 and "cursor" in bad.json()["errors"]


async def test_each_client_is_limited_per_minute_across_hosts(settings: Settings, pool: asyncpg.Pool) -> None:
    limited = msgspec.structs.replace(settings, exchange_requests_per_minute=3)
    issued = await _register(pool, department_code="health", scopes=ALL_DEPARTMENT_SCOPES)
    # Two app instances on one database: two hosts behind a load balancer.
    hosts: list[Litestar] = [create_app(limited, pool=pool), create_app(limited, pool=pool)]
    answers = []
    for n in range(5):
        transport = httpx.ASGITransport(app=hosts[n % 2], client=("127.0.0.1", 51000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as system:
            token = await _token(system, issued)
            answers.append(await system.get(f"{API}/tasks", headers=_bearer(token)))
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert int(answers[-1].headers["retry-after"]) > 0


async def test_a_hospital_files_a_delivery_record_that_the_mothers_form_then_shows_as_held(
    client: httpx.AsyncClient, pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    hospital = another_client()
    issued = await _register(pool, hospital="常州市妇幼保健院", scopes=["records:write"])
    token = await _token(hospital, issued)
    record = {
        "kind": "delivery_record",
        "id_number": LI_NA["id_number"],
        "name": LI_NA["name"],
        "number": "FY2026112900017",
        "issued_on": date.today().isoformat(),
        "data": {"delivery_date": date.today().isoformat(), "method": "顺产"},
    }
    filed = await hospital.post(f"{API}/records", json=record, headers=_bearer(token, "record-li-na-0001"))
    assert filed.status_code == 201, filed.text
    assert filed.json()["holder_id_number_masked"].endswith("0126")
    assert LI_NA["id_number"] not in filed.text
    again = await hospital.post(f"{API}/records", json=record, headers=_bearer(token, "record-li-na-0001"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    count = await pool.fetchval("SELECT count(*) FROM e_certificates WHERE kind = 'delivery_record'")
    assert count == 1

    await sign_up(client, new_authenticator(), LI_NA)
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    held = {m["code"]: m for m in form["materials"]["held"]}
    assert held["CZ-WJ-001:delivery_record"]["issued_by"] == "常州市妇幼保健院"

    # A name that does not match the register files nothing; a hospital reads no tasks; a department files no record.
    wrong = await hospital.post(
        f"{API}/records", json={**record, "name": "王芳"}, headers=_bearer(token, "record-wrong-0001")
    )
    assert wrong.status_code == 400 and "id_number" in wrong.json()["errors"]
    assert (await hospital.get(f"{API}/tasks", headers=_bearer(token))).status_code == 403
    system, department_token, _ = await _system(another_client, pool)
    refused = await system.post(f"{API}/records", json=record, headers=_bearer(department_token, "record-dept-0001"))
    assert refused.status_code == 403
