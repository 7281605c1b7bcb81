"""记录 → 基础库: what completing 出生户口登记 and 户口注销 writes back, in one transaction with the timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import asyncpg
import httpx
import pytest

from app.calendar.service import today_in_china
from app.delegations import store as delegations_store
from app.people import service as people_service
from app.people import store as people_store
from auth.pii import PiiCipher
from config.settings import Settings
from push import store as push_store
from tests.auth_helpers import LI_NA, ZHANG_WEI, new_authenticator, post, sign_in, sign_up, staff_client_sign_up
from tests.birth_helpers import BirthDesk, act, born_days_ago, file_birth_case, newborn_number
from tests.case_helpers import answers_for, submission_for, upload_required_materials

pytestmark = pytest.mark.anyio


async def _registered_case(client: httpx.AsyncClient, desk: BirthDesk, key: str = "birth-wb-1") -> tuple[str, int]:
    born = born_days_ago()
    case_no = await file_birth_case(client, born, key)
    return case_no, await desk.ready_to_register(case_no)


async def _person_count(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM people")


async def test_completing_birth_registration_enters_the_child_with_parents_household_and_certificates(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    case_no, task_id = await _registered_case(client, desk)
    number = newborn_number(born_days_ago())

    done = await act(desk.police, task_id, "complete", child_id_number=number)

    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    cipher = PiiCipher(settings.secret_key)
    child = await people_store.find_person_by_hash(pool, cipher.lookup_hash(number))
    assert child is not None
    assert (child.name, child.sex, child.birth_date, child.household_no) == (
        "张小宝",
        "M",
        born_days_ago(),
        "020010001",
    )
    parents = {
        r["name"]: r["id"] for r in await pool.fetch("SELECT id, name FROM people WHERE name IN ('张伟', '李娜')")
    }
    assert (child.mother_id, child.father_id) == (parents["李娜"], parents["张伟"])
    held = await pool.fetch("SELECT kind, title, number_masked FROM e_certificates WHERE person_id = $1", child.id)
    assert sorted(r["kind"] for r in held) == ["birth_medical", "hukou"]
    assert not await pool.fetchval(
        "SELECT count(*) FROM e_certificates WHERE person_id = $1 AND kind = 'birth_medical'", parents["张伟"]
    )
    resident_view = (await client.get(f"/api/v1/cases/{case_no}")).json()
    assert any("已将新生儿登记入人口库" in e["title"] for e in resident_view["timeline"])
    # Both parents see him under 家庭成员, his 出生医学证明 under 我的证照, and may file for him.
    mother = another_client()
    await sign_up(mother, new_authenticator(), LI_NA)
    for parent in (client, mother):
        family = (await parent.get("/api/v1/family")).json()
        assert [(c["name"], c["id"], c["may_file_for"]) for c in family["children"]] == [("张小宝", child.id, True)]
        assert number not in str(family)
        wallet = await parent.get("/certificates")
        assert "张小宝的证照" in wallet.text and "出生医学证明" in wallet.text and number not in wallet.text
    audited = await pool.fetchrow(
        "SELECT actor, subject, detail::text AS detail FROM audit_log WHERE action = 'register.birth'"
    )
    assert audited["subject"] == f"person:{child.id}" and number not in audited["detail"]


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "请填写身份证号码"),
        ("32040220261120001X", "校验位不正确"),
        ("wrong-date", "出生日期"),
        ("wrong-sex", "性别为女"),
        ("taken", "已在人口库中登记"),
    ],
)
async def test_a_bad_child_number_is_refused_beside_its_field_and_nothing_is_written(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    another_client: Callable[[], httpx.AsyncClient],
    typed: str,
    says: str,
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    case_no, task_id = await _registered_case(client, desk)
    born = born_days_ago()
    number = {
        "wrong-date": newborn_number(born_days_ago(6)),
        "wrong-sex": newborn_number(born, sex="F"),
        "taken": newborn_number(born, 7),
    }.get(typed, typed)
    if typed == "taken":  # someone already holds the number in the register
        cipher = PiiCipher(settings.secret_key)
        await people_store.insert_person(
            pool,
            id_number_hash=cipher.lookup_hash(number),
            id_number_enc=cipher.encrypt(number),
            id_number_masked="x",
            name="别人",
            region_code=None,
            birth_date=born,
            sex="M",
            household_no=None,
            mother_id=None,
            father_id=None,
        )
    people_before = await _person_count(pool)
    events_before = await pool.fetchval("SELECT count(*) FROM timeline_events")

    refused = await act(desk.police, task_id, "complete", child_id_number=number)

    assert refused.status_code == 400, refused.text
    assert says in refused.json()["errors"]["child_id_number"]
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id) == "approved"
    assert await _person_count(pool) == people_before
    assert await pool.fetchval("SELECT count(*) FROM timeline_events") == events_before
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM e_certificates WHERE kind = 'birth_medical' AND person_id = "
            "(SELECT id FROM people WHERE name = '张伟')"
        )
        == 1
    )
    # The console page says the same beside the field, never a 500.
    page = await desk.police.post(
        f"/console/tasks/{task_id}/transition",
        data={"action": "complete", "case_no": case_no, "child_id_number": number},
        headers={"X-CSRFToken": desk.police.cookies.get("csrftoken", "")},
    )
    assert page.status_code == 400 and says in page.text and 'aria-invalid="true"' in page.text


async def test_birth_registration_waits_for_the_birth_certificate(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    case_no = await file_birth_case(client, born_days_ago(), "birth-wb-wait")
    tasks = await desk.tasks(case_no)
    assert (await act(desk.clerk, tasks["CZ-GA-001"], "accept")).status_code == 200
    for action in ("review", "approve"):
        assert (await act(desk.police, tasks["CZ-GA-001"], action)).status_code == 200

    early = await act(desk.police, tasks["CZ-GA-001"], "complete", child_id_number=newborn_number(born_days_ago()))

    assert early.status_code == 409 and "出生医学证明尚未签发" in early.json()["detail"]
    assert await pool.fetchval("SELECT status FROM tasks WHERE id = $1", tasks["CZ-GA-001"]) == "approved"


ZHOU_LIHUA = {"name": "周丽华", "id_number": "320412196801221647"}
ZHOU_DEMING = {"name": "周德明", "id_number": "320412194104121430"}


async def test_deregistration_marks_the_person_deceased_and_ends_sign_in_sessions_push_and_delegations(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    # 周德明 has an account on his phone, a device for push, a delegation to his village helper and a case of his own.
    father, father_key = another_client(), new_authenticator()
    await sign_up(father, father_key, ZHOU_DEMING)
    own_case = await father.post(
        "/api/v1/cases",
        json=await submission_for(father, "retirement", "zdm-own-case"),
        headers={"X-CSRFToken": father.cookies.get("csrftoken", "")},
    )
    assert own_case.status_code == 201, own_case.text
    account_id = await pool.fetchval("SELECT id FROM accounts WHERE name = '周德明'")
    person_id = await pool.fetchval("SELECT id FROM people WHERE name = '周德明'")
    await push_store.save_subscription(
        pool,
        account_id=account_id,
        endpoint="https://127.0.0.1/push/zdm",
        push_service="127.0.0.1",
        p256dh="k",
        auth="a",
        user_agent="test",
    )
    helper = another_client()
    await staff_client_sign_up(helper, pool, settings.secret_key, name="村帮办", role="helper", region="320412002001")
    helper_id = await pool.fetchval("SELECT id FROM accounts WHERE name = '村帮办'")
    delegation_id = await delegations_store.insert(
        pool,
        helper_account_id=helper_id,
        client_person_id=person_id,
        scope=None,
        expires_on=today_in_china() + timedelta(days=30),
        identity_check="id_card",
        consent_method="signature",
        consent_signature=b"png",
        consent_account_id=None,
        region_code="320412002001",
    )

    # His daughter files 公民身后; the police approver completes 户口注销.
    await sign_up(client, new_authenticator(), ZHOU_LIHUA)
    form = (await client.get("/api/v1/life-events/death/form")).json()
    died_on = today_in_china() - timedelta(days=2)
    data = answers_for(form) | {
        "deceased.name": ZHOU_DEMING["name"],
        "deceased.id_number": ZHOU_DEMING["id_number"],
        "deceased.death_date": died_on.isoformat(),
    }
    created = await client.post(
        "/api/v1/cases",
        json={
            "life_event": "death",
            "data": data,
            "idempotency_key": "zlh-death-1",
            "uploads": await upload_required_materials(client, "death", form),
        },
        headers={"X-CSRFToken": client.cookies.get("csrftoken", "")},
    )
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    clerk, police = another_client(), another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320412", department="police"
    )
    await staff_client_sign_up(
        police, pool, settings.secret_key, name="赵户籍", role="approver", region="320412", department="police"
    )
    case = (await clerk.get(f"/api/v1/console/cases/{case_no}")).json()
    task_id = next(t["id"] for t in case["tasks"] if t["item_code"] == "CZ-GA-003")
    assert (await act(clerk, task_id, "accept")).status_code == 200
    for action in ("review", "approve", "complete"):
        moved = await act(police, task_id, action)
        assert moved.status_code == 200, moved.text

    row = await pool.fetchrow("SELECT status, died_on FROM people WHERE id = $1", person_id)
    assert (row["status"], row["died_on"]) == ("deceased", died_on)
    assert (await father.get("/api/v1/me")).status_code == 401  # his session ended
    refused = await sign_in(father, father_key)
    assert refused.status_code == 400 and "已注销" in refused.text  # and he cannot sign in again
    assert await pool.fetchval("SELECT count(*) FROM push_subscriptions WHERE account_id = $1", account_id) == 0
    revoked = await pool.fetchrow("SELECT revoked_at, revoked_reason FROM delegations WHERE id = $1", delegation_id)
    assert revoked["revoked_at"] is not None and case_no in revoked["revoked_reason"]
    timeline = (await client.get(f"/api/v1/cases/{case_no}")).json()["timeline"]
    assert any(e["title"] == "户口注销：已在人口库中注销" for e in timeline)
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'register.death' AND outcome = 'ok'") == 1
    console = await clerk.get("/console")
    assert "已注销人员的在办件" in console.text and own_case.json()["case_no"] in console.text


async def test_nobody_is_received_or_given_a_signup_code_as_a_deregistered_person(
    pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320412", department="police"
    )
    person_id = await pool.fetchval("SELECT id FROM people WHERE name = '周德明'")
    assert await people_service.record_death(pool, person_id, today_in_china() - timedelta(days=1))
    check = {**ZHOU_DEMING, "identity_checked": True}

    walk_in = await post(clerk, "/api/v1/console/walk-ins", check)
    code = await post(clerk, "/api/v1/console/enrollment-codes", check)

    assert walk_in.status_code == 400 and "id_number" in walk_in.json()["errors"]
    assert code.status_code == 400 and "id_number" in code.json()["errors"]
    assert await pool.fetchval("SELECT count(*) FROM enrollment_codes WHERE person_id = $1", person_id) == 0
