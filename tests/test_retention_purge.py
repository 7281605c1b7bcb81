"""`python -m app purge` past retention (app/purge.py): cases that ended longer ago than their items keep them lose
their answers, files, step notes, consent requests, texted number and rating words; their skeleton, certificates and
public steps stay; one audit row each with no personal data; cases inside their retention, open cases and recent
forms are untouched; the pages and APIs of a purged case answer properly for the resident and for staff."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app import purge
from app.calendar.service import today_in_china
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up
from tests.birth_helpers import BIRTH_CERTIFICATE, BirthDesk, act, born_days_ago, file_birth_case
from tests.case_helpers import PNG_1X1
from tests.test_cli import run_cli
from tests.test_exchange_http import API, _bearer, _system

MakeClient = Callable[[], httpx.AsyncClient]
PURGED = "已按规定清除"


async def _case_id(pool: asyncpg.Pool, case_no: str) -> int:
    return await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)


async def _ended(pool: asyncpg.Pool, case_no: str, status: str, ago: timedelta) -> None:
    """Every task still open put in `status` and the whole case moved back in time: filed a month before it ended
    `ago`. (The steps that would have got it there are not the point: their dates are.)"""
    case_id = await _case_id(pool, case_no)
    await pool.execute(
        "UPDATE tasks SET status = $2 WHERE case_id = $1 AND status NOT IN ('delivered', 'rejected', 'denied')",
        case_id,
        status,
    )
    await pool.execute("UPDATE tasks SET updated_at = now() - $2::interval WHERE case_id = $1", case_id, ago)
    await pool.execute(
        "UPDATE cases SET created_at = now() - $2::interval - interval '30 days' WHERE id = $1", case_id, ago
    )


async def _facts(pool: asyncpg.Pool, case_no: str) -> dict[str, Any]:
    case_id = await _case_id(pool, case_no)
    row = await pool.fetchrow("SELECT data_enc IS NOT NULL AS answers, purged_at FROM cases WHERE id = $1", case_id)
    assert row is not None
    count = "SELECT count(*) FROM {} WHERE case_id = $1"
    return {
        "answers": row["answers"],
        "purged": row["purged_at"] is not None,
        "uploads": await pool.fetchval(count.format("uploads"), case_id),
        "notes": await pool.fetchval(count.format("timeline_events") + " AND note IS NOT NULL", case_id),
        "steps": await pool.fetchval(count.format("timeline_events"), case_id),
        "consents": await pool.fetchval(count.format("consents"), case_id),
        "phone": await pool.fetchval(count.format("case_sms_phones"), case_id),
        "certificates": await pool.fetchval(count.format("e_certificates"), case_id),
        "statuses": [r["status"] for r in await pool.fetch("SELECT status FROM tasks WHERE case_id = $1", case_id)],
        "waybills": await pool.fetchval(count.format("tasks") + " AND delivery_ref IS NOT NULL", case_id),
        "rating_texts": await pool.fetchval(count.format("reviews") + " AND text IS NOT NULL", case_id),
        "ratings": await pool.fetchval(count.format("reviews"), case_id),
    }


async def _upload(client: httpx.AsyncClient, life_event: str) -> str:
    """A file uploaded for a form that is never sent."""
    form = (await client.get(f"/api/v1/life-events/{life_event}/form")).json()
    material = form["materials"]["to_upload"][0]["code"]
    response = await client.post(
        "/api/v1/uploads",
        data={"life_event": life_event, "material_code": material},
        files={"file": ("张伟身份证.png", PNG_1X1, "image/png")},
        headers=await csrf(client),
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def _save_draft(client: httpx.AsyncClient, life_event: str) -> None:
    form = (await client.get(f"/api/v1/life-events/{life_event}/form")).json()
    saved = await client.put(
        f"/api/v1/drafts/{life_event}",
        json={"data": {"applicant.phone": "13800000002"}, "version": 0, "form_checksum": form["checksum"]},
        headers=await csrf(client),
    )
    assert saved.status_code == 200, saved.text


class Town:
    """张伟's cases at the 天宁区 window: one completed (出生医学证明 issued, posted, rated) then ended long ago, and
    others ended or filed at other times."""

    def __init__(self, resident: httpx.AsyncClient, desk: BirthDesk, cases: dict[str, str]) -> None:
        self.resident, self.desk, self.cases = resident, desk, cases


async def _town(client: httpx.AsyncClient, another_client: MakeClient, pool: asyncpg.Pool, secret: str) -> Town:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    desk = await BirthDesk.open(another_client, pool, secret)
    names = ("张甲", "张乙", "张丙", "张丁", "张戊")
    cases = {
        label: await file_birth_case(client, born_days_ago(3 + n), f"retention-{label}", child_name=names[n])
        for n, label in enumerate(("old", "recent", "refused_old", "refused_recent", "open"))
    }
    # The old case the long way round: 出生医学证明 issued into the library, posted with a waybill, rated in words.
    task = (await desk.tasks(cases["old"]))[BIRTH_CERTIFICATE]
    await desk.complete_health_task(task, note="母亲李娜的材料齐全")
    posted = await act(desk.clerk, task, "deliver", delivery_method="post", delivery_ref="SF1234567890")
    assert posted.status_code == 200, posted.text
    rated = await post(
        client, f"/api/v1/cases/{cases['old']}/reviews", {"task_id": task, "level": 5, "text": "张伟：王窗口很耐心"}
    )
    assert rated.status_code == 201, rated.text

    # 李娜 was asked to let the case use her documents, and agreed (uploads made it unnecessary here: written as is).
    await pool.execute(
        "INSERT INTO consents (case_id, requester_person_id, requester_name, subject_number_hash, about, "
        "life_event_code, life_event_name, certificate_kinds, certificate_titles, material_codes, item_codes, state, "
        "deadline, decided_at) SELECT id, applicant_person_id, '张伟', '\\x01', 'mother', 'birth', '新生儿出生', "
        "'{id_card}', '{居民身份证}', '{mother_id_card}', '{CZ-WJ-001}', 'granted', now(), now() "
        "FROM cases WHERE case_no = $1",
        cases["old"],
    )
    years = timedelta(days=365)
    await _ended(pool, cases["old"], "delivered", 31 * years)  # 出生户口登记 keeps 30 years: past
    await _ended(pool, cases["recent"], "delivered", 29 * years)  # inside the 30, though 生育津贴's 10 are past
    await _ended(pool, cases["refused_old"], "rejected", 400 * timedelta(days=1))  # refused: a year, past
    await _ended(pool, cases["refused_recent"], "rejected", 300 * timedelta(days=1))
    case_id = await _case_id(pool, cases["open"])  # filed 40 years ago and never finished
    await pool.execute("UPDATE cases SET created_at = now() - interval '40 years' WHERE id = $1", case_id)
    return Town(client, desk, cases)


async def test_purge_removes_what_is_past_retention_and_keeps_the_skeleton_and_certificates(
    client: httpx.AsyncClient,
    another_client: MakeClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    town = await _town(client, another_client, pool, settings.secret_key)
    before = {label: await _facts(pool, no) for label, no in town.cases.items()}
    old = before["old"]
    # What the old case held of a person, so that its going means something.
    assert old["uploads"] and old["notes"] and old["consents"] and old["phone"] and old["waybills"]
    assert old["rating_texts"] == 1 and old["certificates"] == 1
    # Forms never sent: one untouched for 200 days, one saved today.
    await _save_draft(client, "retirement")
    await _save_draft(client, "death")
    stale_upload, fresh_upload = (
        await _upload(client, "birth"),
        await _upload(client, "birth"),
    )
    await pool.execute(
        "UPDATE drafts SET updated_at = now() - interval '200 days' WHERE life_event_code = 'retirement'"
    )
    await pool.execute("UPDATE uploads SET created_at = now() - interval '200 days' WHERE token = $1", stale_upload)

    result = run_cli(database_url, tmp_path, "purge")

    assert result.returncode == 0, result.stderr
    # The refused case of 300 days ago was filed too recently to be examined at all (no period is under a year).
    assert "retention: 2 of 4 cases examined were past their retention and purged" in result.stdout
    assert "1 drafts and 1 files of forms never sent" in result.stdout
    for label in ("old", "refused_old"):
        after = await _facts(pool, town.cases[label])
        assert after["purged"] and not after["answers"]
        assert after["uploads"] == after["notes"] == after["consents"] == after["phone"] == after["waybills"] == 0
        assert after["rating_texts"] == 0 and after["ratings"] == before[label]["ratings"]  # the level stays
        # The skeleton: every step (with its public title), every task with its outcome, and the certificates.
        assert after["steps"] == before[label]["steps"]
        assert sorted(after["statuses"]) == sorted(before[label]["statuses"])
        assert after["certificates"] == before[label]["certificates"]
    assert await pool.fetchval("SELECT count(*) FROM e_certificates WHERE kind = 'birth_medical'") == 1
    for label in ("recent", "refused_recent", "open"):
        assert await _facts(pool, town.cases[label]) == before[label], label
    assert [r["life_event_code"] for r in await pool.fetch("SELECT life_event_code FROM drafts")] == ["death"]
    kept = {r["token"] for r in await pool.fetch("SELECT token FROM uploads WHERE case_id IS NULL")}
    assert fresh_upload in kept and stale_upload not in kept

    audited = await pool.fetch(
        "SELECT subject, actor, outcome, detail FROM audit_log WHERE action = 'case.purge' ORDER BY id"
    )
    assert sorted(r["subject"] for r in audited) == sorted(f"case:{town.cases[k]}" for k in ("old", "refused_old"))
    row = next(r for r in audited if r["subject"] == f"case:{town.cases['old']}")
    detail = json.loads(row["detail"]) if isinstance(row["detail"], str) else row["detail"]
    assert detail["uploads"] == old["uploads"] and detail["notes"] == old["notes"]
    assert detail["consent_requests"] == old["consents"] and detail["sms_phone"] is True
    assert detail["ended_on"] < detail["kept_until"] < today_in_china().isoformat()
    # No personal data in the audit rows: no name, number, phone, file name or note.
    written = json.dumps([dict(r) for r in audited], ensure_ascii=False, default=str)
    for personal in (ZHANG_WEI["name"], ZHANG_WEI["id_number"], LI_NA["id_number"], "1380000", "身份证.png", "李娜"):
        assert personal not in written

    again = run_cli(database_url, tmp_path, "purge")
    assert again.returncode == 0, again.stderr
    assert "retention: 0 of 2 cases examined were past their retention and purged" in again.stdout
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'case.purge'") == 2


async def test_a_purged_case_answers_the_resident_and_staff_properly(
    client: httpx.AsyncClient, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    town = await _town(client, another_client, pool, settings.secret_key)
    old, recent = town.cases["old"], town.cases["recent"]
    async with pool.acquire() as conn:
        report = await purge.purge_past_retention(conn, today_in_china())
    assert report.cases == 2

    page = await client.get(f"/cases/{old}")
    assert page.status_code == 200 and PURGED in page.text
    assert "母亲李娜的材料齐全" not in page.text and "SF1234567890" not in page.text
    case = (await client.get(f"/api/v1/cases/{old}")).json()
    assert case["purged_at"] and all(t["status"] == "delivered" for t in case["tasks"])
    assert case["timeline"] and all(step.get("note") is None for step in case["timeline"])
    assert (await client.get(f"/cases/{old}/receipt")).status_code == 200
    assert (await client.get(f"/api/v1/cases/{recent}")).json()["purged_at"] is None
    assert PURGED not in (await client.get(f"/cases/{recent}")).text

    for staff in (town.desk.clerk, town.desk.health):
        staff_page = await staff.get(f"/console/cases/{old}")
        assert staff_page.status_code == 200 and PURGED in staff_page.text
        assert LI_NA["name"] not in staff_page.text
        seen = (await staff.get(f"/api/v1/console/cases/{old}")).json()
        assert seen["purged_at"] and seen["uploads"] == [] and all(not s["rows"] for s in seen["answers"])
        assert PURGED not in (await staff.get(f"/console/cases/{recent}")).text
    revealed = await post(town.desk.clerk, f"/console/cases/{old}/reveal/mother.id_number")
    assert revealed.status_code == 404 and PURGED in revealed.text

    system, token, _ = await _system(another_client, pool)
    task = (await town.desk.tasks(old))[BIRTH_CERTIFICATE]
    seen_by_system = await system.get(f"{API}/tasks/{task}", headers=_bearer(token))
    assert seen_by_system.status_code == 200, seen_by_system.text
    body = seen_by_system.json()
    assert body["purged_at"] and body["fields"] == [] and body["materials"] == [] and body["status"] == "delivered"


async def test_a_purge_cut_short_resumes_without_purging_or_auditing_a_case_twice(
    client: httpx.AsyncClient,
    another_client: MakeClient,
    pool: asyncpg.Pool,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    town = await _town(client, another_client, pool, settings.secret_key)
    await _ended(pool, town.cases["recent"], "delivered", timedelta(days=31 * 365))  # now three are due
    written = 0
    real_audit = purge.audit

    async def audit_then_die(*args: Any, **kwargs: Any) -> None:
        nonlocal written
        if written == 1:  # the second batch: the process dies half-way through it
            raise ConnectionResetError("killed")
        written += 1
        await real_audit(*args, **kwargs)

    monkeypatch.setattr(purge, "audit", audit_then_die)
    async with pool.acquire() as conn:
        with pytest.raises(ConnectionResetError):
            await purge.purge_past_retention(conn, today_in_china(), page_size=1)
    purged = await pool.fetchval("SELECT count(*) FROM cases WHERE purged_at IS NOT NULL")
    assert purged == 1  # the first batch committed; the second rolled back whole (its files are still there)
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'case.purge'") == 1

    monkeypatch.setattr(purge, "audit", real_audit)
    async with pool.acquire() as conn:
        report = await purge.purge_past_retention(conn, today_in_china(), page_size=1)
    assert report.cases == 2
    subjects = [r["subject"] for r in await pool.fetch("SELECT subject FROM audit_log WHERE action = 'case.purge'")]
    assert sorted(subjects) == sorted(f"case:{town.cases[k]}" for k in ("old", "recent", "refused_old"))


async def test_pages_read_while_the_purge_runs_never_fail(
    client: httpx.AsyncClient, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    town = await _town(client, another_client, pool, settings.secret_key)
    old = town.cases["old"]

    async def read(n: int) -> list[int]:
        statuses = []
        for _ in range(n):
            for response in (
                await client.get(f"/cases/{old}"),
                await client.get(f"/api/v1/cases/{old}"),
                await town.desk.clerk.get(f"/console/cases/{old}"),
                await town.desk.health.get(f"/api/v1/console/cases/{old}"),
            ):
                statuses.append(response.status_code)
        return statuses

    async def run_purge() -> int:
        async with pool.acquire() as conn:
            return (await purge.purge_past_retention(conn, today_in_china(), page_size=1)).cases

    statuses, purged = await asyncio.gather(read(6), run_purge())
    assert purged == 2 and set(statuses) == {200}
    assert PURGED in (await client.get(f"/cases/{old}")).text


async def test_an_item_declaring_no_retention_keeps_its_cases_and_is_named(
    client: httpx.AsyncClient, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    town = await _town(client, another_client, pool, settings.secret_key)
    await pool.execute(
        "UPDATE service_items SET retention_years = NULL, retention_source = NULL WHERE code = 'CZ-GA-001'"
    )
    async with pool.acquire() as conn:
        report = await purge.purge_past_retention(conn, today_in_china())
    assert report.items_without_retention == ["CZ-GA-001"]
    assert not (await _facts(pool, town.cases["old"]))["purged"]  # delivered 户口登记, 31 years ago: kept
    assert (await _facts(pool, town.cases["refused_old"]))["purged"]  # refused: a year, whatever the item says


async def test_the_guide_tells_how_long_what_the_resident_gives_is_kept(client: httpx.AsyncClient) -> None:
    page = await client.get("/items/CZ-GA-001")
    assert page.status_code == 200
    assert "个人信息保存期限" in page.text and "办结后30年" in page.text and "撤回的，1年" in page.text
    assert "国家档案局令第8号" in page.text  # where the figure comes from
