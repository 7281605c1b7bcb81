"""Submitting a life event over HTTP: one case, a task per item, idempotent, private, trackable."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import asyncpg
import httpx
import pytest
import zxingcpp

from app.cases import tracking
from config.settings import Settings
from tests.auth_helpers import (
    LI_NA,
    ZHANG_WEI,
    csrf,
    new_authenticator,
    post,
    sign_out,
    sign_up,
    staff_client_sign_up,
)
from tests.case_helpers import PNG_1X1, answers_for, submission_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient


async def _submit(client: Client, key: str = "key-0000001", life_event: str = "birth") -> httpx.Response:
    return await post(client, "/api/v1/cases", await submission_for(client, life_event, key))


async def test_a_submission_makes_one_case_with_a_task_per_item(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    response = await _submit(client)
    assert response.status_code == 201, response.text
    created = response.json()
    assert re.fullmatch(r"CZ\d{8}\d{6}", created["case_no"])
    assert len(created["tracking_token"]) >= 22  # ≥ 128 bits in base64url
    assert created["tracking_url"] == f"http://localhost:8000/t/{created['tracking_token']}"
    case = (await client.get(f"/api/v1/cases/{created['case_no']}")).json()
    events = (await client.get("/api/v1/life-events")).json()
    birth_items = next(e for e in events if e["code"] == "birth")["items"]
    assert [t["item_code"] for t in case["tasks"]] == [i["code"] for i in birth_items]
    assert all(t["department"] == i["department"] for t, i in zip(case["tasks"], birth_items, strict=True))
    assert all(t["status"] == "submitted" and t["due_on"] for t in case["tasks"])
    assert case["timeline"][0]["status"] == "submitted"
    # The answers are stored encrypted: no ID number in clear anywhere in the row.
    row = await pool.fetchrow("SELECT data_enc FROM cases")
    assert b"320402" not in row["data_enc"]
    listed = (await client.get("/api/v1/cases")).json()
    assert [c["case_no"] for c in listed] == [created["case_no"]]


async def test_case_numbers_follow_a_daily_sequence(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    first = (await _submit(client, "key-first-1")).json()["case_no"]
    second = (await _submit(client, "key-second-2")).json()["case_no"]
    assert second[:10] == first[:10] and int(second[10:]) == int(first[10:]) + 1


async def test_two_concurrent_submissions_with_one_key_make_one_case(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    body = await submission_for(client, "birth", "same-key-123")
    headers = await csrf(client)
    responses = await asyncio.gather(*(client.post("/api/v1/cases", json=body, headers=headers) for _ in range(5)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["case_no"] for r in responses}) == 1
    assert await pool.fetchval("SELECT count(*) FROM cases") == 1


async def test_a_repeat_whose_checks_ran_as_its_original_committed_is_answered_with_the_case(
    client: Client, pool: asyncpg.Pool
) -> None:
    """A double tap on a busy server: the repeat checks its answers after the original committed — when the uploads
    already belong to the case (a repeat does not look for its case before its checks: every submission would pay for
    that look). It is a repeat, answered with the case made, not "please upload" (the pgbouncer test's five posts at
    once met it under load)."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    body = await submission_for(client, "birth", "race-key-123")
    assert body["uploads"], "the submission's uploads are what its repeat's checks find taken"
    headers = await csrf(client)
    first = await client.post("/api/v1/cases", json=body, headers=headers)
    assert first.status_code == 201, first.text
    repeat = await client.post("/api/v1/cases", json=body, headers=headers)
    assert repeat.status_code == 201, repeat.text
    assert repeat.json()["case_no"] == first.json()["case_no"]
    assert await pool.fetchval("SELECT count(*) FROM cases") == 1


async def test_bad_answers_are_400_with_errors_per_field(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    body = await submission_for(client, "birth", "key-bad-0001")
    body["data"].update(
        {"mother.id_number": "320402199506180127", "mother.phone": "1234", "child.birth_date": "2099-01-01"}
    )
    del body["data"]["child.name"]
    body["uploads"] = []
    response = await post(client, "/api/v1/cases", body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"mother.id_number", "mother.phone", "child.birth_date", "child.name"} <= set(errors)
    assert any(key.startswith("materials.") for key in errors)
    for junk in (
        {"life_event": "birth", "data": [], "idempotency_key": "k" * 10},
        {"life_event": "nope", "data": {}, "idempotency_key": "key-12345"},
        {"life_event": "birth", "data": {}, "idempotency_key": "x"},
    ):
        assert (await post(client, "/api/v1/cases", junk)).status_code in (400, 404)


async def test_held_materials_are_never_requested(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    held = {m["certificate_kind"] for m in form["materials"]["held"]}
    asked = {m.get("certificate_kind") for m in form["materials"]["to_upload"] if m["about"] == "applicant"}
    assert "hukou" in held and not held & asked


async def test_another_resident_gets_404_for_my_case(client: Client, app) -> None:  # type: ignore[no-untyped-def]
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_no = (await _submit(client)).json()["case_no"]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50010))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as other:
        await sign_up(other, new_authenticator(), LI_NA)
        for path in ("", "/qr.svg", "/qr.png"):
            assert (await other.get(f"/api/v1/cases/{case_no}{path}")).status_code == 404


async def test_tracking_shows_progress_without_personal_data(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = (await _submit(client)).json()
    await sign_out(client)
    response = await client.get(f"/api/v1/track/{created['tracking_token']}")
    assert response.status_code == 200
    text = response.text
    for personal in ("张伟", "李娜", "320402199403150119", "320402199506180126", "0119", "丽华", "13800000002"):
        assert personal not in text
    assert response.json()["tasks"][0]["steps"] == [] and response.json()["steps"][0]["title"].startswith("申请已提交")
    page = await client.get(f"/t/{created['tracking_token']}")
    assert page.status_code == 200 and "张伟" not in page.text and created["case_no"] in page.text
    missing = await client.get("/t/" + "x" * 32)
    assert missing.status_code == 404 and "没有找到" in missing.text


async def test_the_receipt_qr_png_decodes_to_the_tracking_url(client: Client) -> None:
    from PIL import Image  # noqa: F401  (zxing-cpp reads PIL images or numpy arrays)

    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = (await _submit(client)).json()
    png = await client.get(f"/api/v1/cases/{created['case_no']}/qr.png")
    assert png.headers["content-type"] == "image/png"
    import io

    from PIL import Image as PilImage

    results = zxingcpp.read_barcodes(PilImage.open(io.BytesIO(png.content)))
    assert [r.text for r in results] == [created["tracking_url"]]
    svg = await client.get(f"/api/v1/cases/{created['case_no']}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content


async def test_uploads_are_checked_by_content_not_name(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    code = form["materials"]["to_upload"][0]["code"]
    fake = await client.post(
        "/api/v1/uploads",
        data={"life_event": "birth", "material_code": code},
        files={"file": ("photo.png", b"MZ\x90\x00 not an image", "image/png")},
        headers=await csrf(client),
    )
    assert fake.status_code == 400 and "PDF" in fake.json()["errors"]["file"]
    good = await client.post(
        "/api/v1/uploads",
        data={"life_event": "birth", "material_code": code},
        files={"file": ("scan.bin", PNG_1X1, "application/octet-stream")},
        headers=await csrf(client),
    )
    assert good.status_code == 201 and good.json()["content_type"] == "image/png"
    assert (await client.get(f"/api/v1/uploads/{good.json()['token']}")).content == PNG_1X1


async def test_drafts_keep_a_version_and_refuse_a_stale_write(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    empty = (await client.get("/api/v1/drafts/birth")).json()
    assert empty["version"] == 0 and empty["data"] == {}
    headers = await csrf(client)
    body = {
        "data": {"child.name": "张小宝", "no.such.field": "x"},
        "version": 0,
        "form_checksum": empty["form_checksum"],
    }
    saved = await client.put("/api/v1/drafts/birth", json=body, headers=headers)
    assert saved.status_code == 200 and saved.json() == {"version": 1}
    stale = await client.put("/api/v1/drafts/birth", json=body, headers=headers)
    assert stale.status_code == 409 and stale.json()["current"]["data"] == {"child.name": "张小宝"}
    draft = (await client.get("/api/v1/drafts/birth")).json()
    assert draft["version"] == 1 and draft["data"] == {"child.name": "张小宝"}


async def test_a_submission_forgets_its_own_draft_and_keeps_the_others(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    headers = await csrf(client)
    for life_event in ("birth", "retirement"):
        empty = (await client.get(f"/api/v1/drafts/{life_event}")).json()
        body = {"data": {"applicant.phone": "13800000002"}, "version": 0, "form_checksum": empty["form_checksum"]}
        assert (await client.put(f"/api/v1/drafts/{life_event}", json=body, headers=headers)).status_code == 200
    assert (await _submit(client)).status_code == 201  # 新生儿出生
    assert (await client.get("/api/v1/drafts/birth")).json()["version"] == 0
    assert (await client.get("/api/v1/drafts/retirement")).json()["version"] == 1


async def test_public_tracking_is_rate_limited_per_address(client: Client, app) -> None:  # type: ignore[no-untyped-def]
    app.state.scan_limiter.per_minute = 3
    statuses = [(await client.get("/api/v1/track/" + "y" * 32)).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    limited = await client.get("/t/" + "y" * 32)
    assert limited.status_code == 429 and "秒后再试" in limited.text


async def test_scans_are_counted_and_flushed_in_one_write(client: Client, app, pool: asyncpg.Pool) -> None:  # type: ignore[no-untyped-def]
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    token = (await _submit(client)).json()["tracking_token"]
    for _ in range(3):
        assert (await client.get(f"/api/v1/track/{token}")).status_code == 200
    assert (await client.get(f"/t/{token}")).status_code == 200
    assert await pool.fetchval("SELECT scan_count FROM cases") == 0  # not yet: no write per scan
    assert await app.state.scans.flush(pool) == 4
    assert await pool.fetchval("SELECT scan_count FROM cases") == 4


async def test_a_new_cases_tracking_snapshot_is_the_one_its_tasks_and_first_step_read_back_give(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    """A submission draws its case's first snapshot from what it has just made (never reading it back): byte for byte
    what rebuilding it from the database gives, for a resident's own case (no note) and a window filing (a note)."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    numbers = [(await _submit(client)).json()["case_no"]]
    async with another_client() as clerk:
        await staff_client_sign_up(
            clerk, pool, settings.secret_key, name="窗口快照", role="clerk", region="320400", department="police"
        )
        walk_in = {"name": "王建国", "id_number": "320412196608080133"}
        assert (await post(clerk, "/api/v1/console/walk-ins", {**walk_in, "identity_checked": True})).is_success
        form = (await clerk.get("/api/v1/life-events/retirement/form")).json()
        body = {
            "life_event": "retirement",
            "data": answers_for(form),
            "idempotency_key": "snapshot-window-1",
            "on_behalf_of": walk_in["id_number"],
        }
        filed = await post(clerk, "/api/v1/cases", body)
        assert filed.status_code == 201, filed.text
        numbers.append(filed.json()["case_no"])
    for case_no in numbers:
        case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)
        written = await pool.fetchval("SELECT tracking_json FROM cases WHERE id = $1", case_id)
        async with pool.acquire() as conn:
            assert written == await tracking.refresh(conn, case_id), case_no
    view = tracking.decode(written)
    assert len(view.steps) == 1 and len(view.tasks) == 3  # the window filing: 退休 of three items


async def test_a_case_without_a_tracking_snapshot_gets_one_on_its_first_scan(
    client: Client, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = (await _submit(client)).json()
    before = (await client.get(f"/api/v1/track/{created['tracking_token']}")).json()
    await pool.execute("UPDATE cases SET tracking_json = NULL")
    after = await client.get(f"/api/v1/track/{created['tracking_token']}")
    assert after.headers["content-type"].startswith("application/json")
    assert after.json() == before
    assert await pool.fetchval("SELECT tracking_json IS NOT NULL FROM cases")
