"""家庭成员, filing for a minor child, 我的证照 and 亮证 over HTTP: who may see and do what, and what a scan shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest

from app.certificates import service as certificates
from app.people import service as people
from app.people.identity import check_char
from auth.pii import PiiCipher
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import PNG_1X1, answers_for, upload_required_materials

pytestmark = pytest.mark.anyio

WANG_JIANGUO = {"name": "王建国", "id_number": "320412196608080133"}


def _number(born: date, sequence: int, sex: str = "M") -> str:
    first17 = f"320402{born:%Y%m%d}{sequence * 2 + (1 if sex == 'M' else 0):03d}"
    return first17 + check_char(first17)


async def _person_id(pool: asyncpg.Pool, name: str) -> int:
    return await pool.fetchval("SELECT id FROM people WHERE name = $1", name)


async def _child(pool: asyncpg.Pool, settings: Settings, name: str, born: date, sequence: int) -> tuple[int, str]:
    """A child of 张伟 and 李娜 on their 户口簿, with an 出生医学证明: (person id, full number)."""
    cipher = PiiCipher(settings.secret_key)
    number = _number(born, sequence)
    child_id = await people.register_newborn(
        pool,
        cipher,
        id_number=number,
        name=name,
        birth_date=born,
        sex="M",
        region_code="320402001001",
        household_no="020010001",
        mother_id=await _person_id(pool, "李娜"),
        father_id=await _person_id(pool, "张伟"),
    )
    assert child_id is not None
    await certificates.issue_to_person(
        pool,
        cipher,
        person_id=child_id,
        kind="birth_medical",
        title="出生医学证明",
        number=f"Q{sequence:09d}",
        issued_by="常州市卫生健康委员会",
        issued_on=born,
    )
    return child_id, number


async def _certificate_id(pool: asyncpg.Pool, person_id: int, kind: str = "birth_medical") -> int:
    return await pool.fetchval("SELECT id FROM e_certificates WHERE person_id = $1 AND kind = $2", person_id, kind)


async def test_family_lists_the_household_and_the_minor_children_masked(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    baby_id, baby_number = await _child(pool, settings, "张小宝", date.today() - timedelta(days=10), 1)
    adult_id, adult_number = await _child(pool, settings, "张大宝", date(2000, 1, 1), 2)
    await sign_up(client, new_authenticator(), ZHANG_WEI)

    family = (await client.get("/api/v1/family")).json()

    assert [c["name"] for c in family["children"]] == ["张小宝"]
    assert family["children"][0]["may_file_for"] is True and family["children"][0]["id"] == baby_id
    household = {m["name"]: m for m in family["household"]}
    assert {"张伟", "李娜", "张小宝", "张大宝"} <= set(household)
    assert household["张伟"]["relation"] == "本人" and not household["张大宝"].get("may_file_for")
    text = str(family)
    for clear in (baby_number, adult_number, ZHANG_WEI["id_number"], LI_NA["id_number"]):
        assert clear not in text
    me = await client.get("/me")
    assert (
        "家庭成员" in me.text and f'href="/family/{baby_id}"' in me.text and f'href="/family/{adult_id}"' not in me.text
    )


async def test_a_parent_files_for_a_minor_child_and_a_stranger_or_an_adult_child_is_refused(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    baby_id, baby_number = await _child(pool, settings, "张小宝", date.today() - timedelta(days=400), 3)
    _adult_id, adult_number = await _child(pool, settings, "张大宝", date(2000, 1, 1), 4)
    await sign_up(client, new_authenticator(), ZHANG_WEI)

    life_form = (await client.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": baby_number})).json()
    body = {
        "life_event": "retirement",
        "data": answers_for(life_form),
        "idempotency_key": "parent-files-1",
        "on_behalf_of": baby_number,
        "uploads": await upload_required_materials(client, "retirement", life_form, on_behalf_of=baby_number),
    }
    created = await post(client, "/api/v1/cases", body)
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    row = await pool.fetchrow(
        "SELECT c.applicant_person_id, c.filed_as, a.name AS filer FROM cases c "
        "JOIN accounts a ON a.id = c.filed_by_account_id WHERE c.case_no = $1",
        case_no,
    )
    assert (row["applicant_person_id"], row["filed_as"], row["filer"]) == (baby_id, "parent", "张伟")
    assert (await client.get(f"/api/v1/cases/{case_no}")).status_code == 200  # the parent follows it
    page = await client.get(f"/life-events/retirement/apply?for={baby_id}")
    assert page.status_code == 200 and "为张小宝填写申请表" in page.text

    # 张伟 for his adult son: refused, and audited.
    adult = await post(
        client, "/api/v1/cases", {**body, "idempotency_key": "parent-files-2", "on_behalf_of": adult_number}
    )
    assert adult.status_code == 403
    assert (await client.get(f"/family/{_adult_id}")).status_code == 404
    # A stranger (王建国) for 张伟's baby: refused, however the number is sent.
    stranger = another_client()
    await sign_up(stranger, new_authenticator(), WANG_JIANGUO)
    refused = await post(stranger, "/api/v1/cases", {**body, "idempotency_key": "stranger-files-1"})
    assert refused.status_code == 403
    assert (
        await stranger.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": baby_number})
    ).status_code == 403
    assert (await stranger.get(f"/life-events/retirement/apply?for={baby_id}")).status_code == 404
    assert (await stranger.get("/api/v1/family")).json()["children"] == []
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'family.check' AND outcome = 'forbidden'")
        >= 3
    )


async def test_my_certificates_lists_the_childs_and_another_resident_gets_404(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    baby_id, baby_number = await _child(pool, settings, "张小宝", date.today() - timedelta(days=10), 5)
    cert_id = await _certificate_id(pool, baby_id)
    own_id = await _certificate_id(pool, await _person_id(pool, "张伟"), "id_card")
    await sign_up(client, new_authenticator(), ZHANG_WEI)

    wallet = await client.get("/certificates")
    assert wallet.status_code == 200
    assert "张小宝的证照" in wallet.text and f'href="/certificates/{cert_id}"' in wallet.text
    assert ZHANG_WEI["id_number"] not in wallet.text and baby_number not in wallet.text
    detail = await client.get(f"/certificates/{cert_id}")
    assert detail.status_code == 200 and "出生医学证明" in detail.text and "<svg" in detail.text

    stranger = another_client()
    await sign_up(stranger, new_authenticator(), WANG_JIANGUO)
    for path in (f"/certificates/{cert_id}", f"/certificates/{own_id}", f"/api/v1/certificates/{cert_id}/share"):
        assert (await stranger.get(path)).status_code == 404, path
    assert "张小宝" not in (await stranger.get("/certificates")).text


async def test_a_shown_certificate_verifies_until_it_expires_is_tampered_or_revoked(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    baby_id, baby_number = await _child(pool, settings, "张小宝", date.today() - timedelta(days=10), 6)
    cert_id = await _certificate_id(pool, baby_id)
    await sign_up(client, new_authenticator(), ZHANG_WEI)

    shared = (await client.get(f"/api/v1/certificates/{cert_id}/share")).json()
    assert shared["url"].endswith(f"/verify/{shared['token']}")
    expires_at = datetime.fromisoformat(shared["expires_at"])
    assert timedelta(minutes=4) < expires_at - datetime.now(UTC) <= timedelta(minutes=5)

    anyone = another_client()  # not signed in: a clerk's scanner or any phone
    answer = await anyone.get(f"/api/v1/verify/{shared['token']}")
    assert answer.headers["cache-control"] == "no-store"
    checked = answer.json()
    assert checked["valid"] is True and checked["title"] == "出生医学证明"
    assert checked["holder_masked"] == "张**" and checked["number_masked"].endswith("0006")
    page = await anyone.get(f"/verify/{shared['token']}")
    assert page.status_code == 200 and "证照真实有效" in page.text and page.headers["cache-control"] == "no-store"
    for answer in (str(checked), page.text, shared["token"]):
        assert "张小宝" not in answer and baby_number not in answer and "Q000000006" not in answer

    # Expired: the same token checked six minutes on (the clock moved, nobody slept).
    later = await certificates.verify(
        pool, settings.secret_key, shared["token"], datetime.now(UTC) + timedelta(minutes=6)
    )
    assert later.valid is False and "已过期" in (later.reason or "") and later.title is None
    # Tampered: one character of the signature changed, or another certificate's id put in the payload.
    token = shared["token"]
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    tampered = (await anyone.get(f"/api/v1/verify/{forged}")).json()
    assert tampered["valid"] is False and "不是本平台签发" in tampered["reason"]
    assert (await anyone.get("/api/v1/verify/not-a-token")).json()["valid"] is False
    # Revoked: the holder's 户口 deregistered.
    await people.record_death(pool, baby_id, date.today())
    revoked = (await anyone.get(f"/api/v1/verify/{shared['token']}")).json()
    assert revoked["valid"] is False and "户口已注销" in revoked["reason"]
    # Withdrawn: the certificate no longer in the library.
    await pool.execute("DELETE FROM e_certificates WHERE id = $1", cert_id)
    withdrawn = (await anyone.get(f"/api/v1/verify/{shared['token']}")).json()
    assert withdrawn["valid"] is False and "已撤销" in withdrawn["reason"]


async def test_a_parent_files_for_a_minor_child_on_the_page_without_javascript(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    baby_id, baby_number = await _child(pool, settings, "张小宝", date.today() - timedelta(days=400), 7)
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    page = await client.get(f"/life-events/retirement/apply?for={baby_id}")
    assert f'action="/life-events/retirement/apply?for={baby_id}"' in page.text
    form = (await client.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": baby_number})).json()
    fields = {k: "true" if v is True else str(v) for k, v in answers_for(form).items()}
    fields |= {"idempotency_key": "parent-nojs-0001", "on_behalf_of": baby_number}
    files = [
        (f"materials.{need['code']}", ("scan.png", PNG_1X1, "image/png"))
        for need in form["materials"]["to_upload"]
        if need["required"]
    ]

    filed = await client.post(
        f"/life-events/retirement/apply?for={baby_id}", data=fields, files=files, headers=await csrf(client)
    )

    assert filed.status_code == 303, filed.text
    case = await pool.fetchrow("SELECT case_no, applicant_person_id, filed_as FROM cases")
    assert (case["applicant_person_id"], case["filed_as"]) == (baby_id, "parent")
    assert filed.headers["location"] == f"/cases/{case['case_no']}/receipt"
    assert (await client.get(filed.headers["location"])).status_code == 200
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE case_id IS NOT NULL") == len(files)
    # The parent hears of every step (the child has no account): the submission is already in their inbox.
    inbox = (await client.get("/api/v1/notifications")).json()
    assert any(case["case_no"] == e.get("case_no") for e in inbox["items"])


async def test_the_parent_answers_a_supplement_request_on_the_case_they_filed_for_their_child(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    _baby_id, baby_number = await _child(pool, settings, "张小宝", date.today() - timedelta(days=400), 8)
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    form = (await client.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": baby_number})).json()
    body = {
        "life_event": "retirement",
        "data": answers_for(form),
        "idempotency_key": "parent-supplement-1",
        "on_behalf_of": baby_number,
        "uploads": await upload_required_materials(client, "retirement", form, on_behalf_of=baby_number),
    }
    case_no = (await post(client, "/api/v1/cases", body)).json()["case_no"]
    task_id = (await client.get(f"/api/v1/cases/{case_no}")).json()["tasks"][0]["id"]
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    asked = await post(
        clerk, f"/api/v1/console/tasks/{task_id}/transition", {"action": "request_supplement", "note": "请补交材料"}
    )
    assert asked.status_code == 200, asked.text

    answered = await client.post(
        f"/cases/{case_no}/tasks/{task_id}/supplement",
        data={"note": "已补"},
        files=[("file", ("scan.png", PNG_1X1, "image/png"))],
        headers=await csrf(client),
    )

    assert answered.status_code == 303, answered.text
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "resubmitted"
    # Another resident still cannot.
    stranger = another_client()
    await sign_up(stranger, new_authenticator(), WANG_JIANGUO)
    refused = await stranger.post(
        f"/cases/{case_no}/tasks/{task_id}/supplement", data={"note": "x"}, headers=await csrf(stranger)
    )
    assert refused.status_code == 403
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "resubmitted"
