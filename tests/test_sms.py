"""短信提醒: case steps texted to the case's phone when the resident would not hear otherwise (or chose texts), through
a gateway backend that is tested against a local gateway speaking the provider's API, with retries, statuses and a
per-number daily cap."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from app.cases.timeline import record_event
from app.sms.service import STEP_WORDS
from config.settings import Settings, SettingsError
from sms import texts
from sms.backends import LogBackend
from sms.models import Outgoing
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, sms_outbox, staff_client_sign_up
from tests.case_helpers import answers_for, upload_required_materials
from tests.database_fixtures import settings_for
from tests.push_helpers import QUICK_TEXT_RETRIES, file_case, local_push_service, run_worker_with_texts, subscribe
from tests.sms_gateway import GATEWAY_ENV, Answer, LocalSmsGateway
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body

pytestmark = pytest.mark.anyio
MakeClient = Callable[[], httpx.AsyncClient]
CASE_PHONE = "13800000002"  # 申请人手机号码 as tests/case_helpers.py types it


@pytest.fixture
async def gateway() -> AsyncIterator[LocalSmsGateway]:
    async with LocalSmsGateway() as local:
        yield local


async def _texts(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT m.phone, m.params, m.status, m.attempts, m.last_error, e.status AS step "
        "FROM sms_messages m JOIN timeline_events e ON e.id = m.event_id ORDER BY m.id"
    )
    return [dict(r) for r in rows]


async def _step(pool: asyncpg.Pool, case_id: int, status: str, title: str = "办件进度") -> None:
    async with pool.acquire() as tx, tx.transaction():
        await record_event(tx, case_id=case_id, status=status, title=title)


async def _case_id(pool: asyncpg.Pool, case_no: str) -> int:
    return await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case_no)


# --- who is texted --------------------------------------------------------------------------------------------------


async def test_a_resident_without_a_push_device_is_texted_each_step_at_the_forms_number(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await file_case(client)
    await _step(pool, await _case_id(pool, case["case_no"]), "accepted")
    queued = await _texts(pool)
    assert [(t["phone"], t["step"], t["status"]) for t in queued] == [
        (CASE_PHONE, "submitted", "created"),
        (CASE_PHONE, "accepted", "created"),
    ]

    with sms_outbox() as outbox:
        assert await run_worker_with_texts(pool, database_url, settings, LogBackend()) == 2
    token = await pool.fetchval("SELECT tracking_token FROM cases WHERE case_no = $1", case["case_no"])
    lines = outbox.to("138****0002")
    assert lines == [
        f"短信 → 138****0002: 【常州一网通办】您的办件{case['case_no']}已提交，详情：{settings.public_url}/t/{token}",
        f"短信 → 138****0002: 【常州一网通办】您的办件{case['case_no']}已受理，详情：{settings.public_url}/t/{token}",
    ]
    # No personal data beyond the case number and the step: not the name, not the ID number, not the number itself.
    for line in lines:
        assert ZHANG_WEI["name"] not in line and ZHANG_WEI["id_number"] not in line and CASE_PHONE not in line
    assert [(t["status"], t["attempts"]) for t in await _texts(pool)] == [("delivered", 1), ("delivered", 1)]


async def test_with_a_push_device_and_the_default_choice_only_supplement_and_completion_are_texted(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    async with local_push_service(client) as service:
        assert (await subscribe(client, service.device("phone"))).status_code == 201
        case = await file_case(client)
        police_task = next(t for t in case["tasks"] if t["department"] == "police")
        clerk = another_client()
        await staff_client_sign_up(
            clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
        )
        accepted = await post(clerk, f"/api/v1/console/tasks/{police_task['id']}/transition", {"action": "accept"})
        assert accepted.status_code == 200, accepted.text
        assert await _texts(pool) == []  # 已提交 and 已受理 reach the phone by push

        asked = await post(
            clerk,
            f"/api/v1/console/tasks/{police_task['id']}/transition",
            {"action": "request_supplement", "note": "请补交户口簿"},
        )
        assert asked.status_code == 200, asked.text
        await _step(pool, await _case_id(pool, case["case_no"]), "completed", "出生医学证明：已办结")
    assert [(t["step"], t["params"]["step"]) for t in await _texts(pool)] == [
        ("supplement_requested", "需补正材料，请尽快补正"),
        ("completed", "已办结"),
    ]


async def test_a_resident_who_chose_texts_on_me_is_texted_every_step_despite_push(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    async with local_push_service(client) as service:
        assert (await subscribe(client, service.device("phone"))).status_code == 201
        page = await client.get("/me")
        assert "短信提醒" in page.text and 'value="fallback" checked' in page.text
        chosen = await client.post(
            "/me/sms", data={"sms_preference": "always"}, headers={"x-csrftoken": client.cookies["csrftoken"]}
        )
        assert chosen.status_code == 303
        assert 'value="always" checked' in (await client.get("/me")).text
        await file_case(client)
    assert [t["step"] for t in await _texts(pool)] == ["submitted"]


async def test_a_forged_preference_keeps_the_default(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await client.get("/me")
    await client.post("/me/sms", data={"sms_preference": "never"}, headers={"x-csrftoken": client.cookies["csrftoken"]})
    assert await pool.fetchval("SELECT sms_preference FROM accounts WHERE kind = 'resident'") == "fallback"


async def test_completion_and_its_write_back_in_one_transaction_text_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_id = await _case_id(pool, (await file_case(client))["case_no"])
    async with pool.acquire() as tx, tx.transaction():
        await record_event(tx, case_id=case_id, status="completed", title="出生登记：已办结")
        await record_event(tx, case_id=case_id, status="completed", title="出生户口已登记")
    assert [t["step"] for t in await _texts(pool)] == ["submitted", "completed"]
    # Each text with its one job to send it, queued in the statement that queued the text; none for the repeat.
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM sms_messages ORDER BY id")]
    jobs = await pool.fetch("SELECT payload, dedupe_key FROM pgqueuer WHERE entrypoint = 'sms.send' ORDER BY id")
    assert [(bytes(j["payload"]), j["dedupe_key"]) for j in jobs] == [(str(i).encode(), f"sms:{i}") for i in ids]


# --- the daily cap, retries and statuses -------------------------------------------------------------------------


async def test_a_number_gets_at_most_the_daily_cap_of_texts(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_id = await _case_id(pool, (await file_case(client))["case_no"])
    for status in ("accepted", "in_review"):
        await _step(pool, case_id, status)
    with sms_outbox() as outbox:
        assert await run_worker_with_texts(pool, database_url, settings, LogBackend(), cap=2) == 2
    assert len(outbox.to("138****0002")) == 2
    # The worker sends several at once: which one finds the cap reached is not fixed, only that one does.
    statuses = sorted((t["status"], t["last_error"] or "") for t in await _texts(pool))
    assert [s for s, _ in statuses] == ["delivered", "delivered", "permanent-failure"]
    assert "上限" in statuses[2][1]
    assert await pool.fetchval("SELECT sent FROM sms_daily_counts WHERE phone = $1", CASE_PHONE) == 2


async def test_the_cap_also_holds_sign_up_codes(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    """Texts sent at once (sign-up codes) count in the same table; past the cap the number is texted nothing."""
    phone = await pool.fetchval("SELECT phone FROM people WHERE name = $1", ZHANG_WEI["name"])
    await pool.execute(
        "INSERT INTO sms_daily_counts (phone, day, sent) VALUES ($1, (now() AT TIME ZONE 'Asia/Shanghai')::date, 20)",
        phone,
    )
    with sms_outbox() as outbox:
        await client.get("/register")
        started = await post(client, "/api/v1/auth/register/options", ZHANG_WEI)
        assert started.status_code == 202
    assert outbox.lines == [] and outbox.last_code() is None


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
async def test_a_busy_gateway_is_tried_again_until_it_takes_the_text(
    provider: str,
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    gateway: LocalSmsGateway,
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await file_case(client)
    gateway.answers = [Answer(status=503), Answer(status=500)]
    backend = gateway.backend(provider, settings)
    assert await run_worker_with_texts(pool, database_url, settings, backend) == 1
    [text] = await _texts(pool)
    assert (text["status"], text["attempts"]) == ("delivered", 3)
    assert len(gateway.received) == 3


@pytest.mark.parametrize(
    ("provider", "code", "status"),
    [
        ("aliyun", "isv.MOBILE_NUMBER_ILLEGAL", "permanent-failure"),
        ("aliyun", "isv.SMS_TEMPLATE_ILLEGAL", "technical-failure"),
        ("tencent", "InvalidParameterValue.IncorrectPhoneNumber", "permanent-failure"),
        ("tencent", "FailedOperation.TemplateIncorrectOrUnapproved", "technical-failure"),
    ],
)
async def test_a_refusal_ends_the_text_without_retrying(
    provider: str,
    code: str,
    status: str,
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    gateway: LocalSmsGateway,
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await file_case(client)
    gateway.answers = [Answer(code=code)]
    assert await run_worker_with_texts(pool, database_url, settings, gateway.backend(provider, settings)) == 0
    [text] = await _texts(pool)
    assert (text["status"], text["attempts"]) == (status, 1) and code in text["last_error"]


async def test_a_gateway_down_for_good_ends_in_technical_failure_after_the_tries(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    gateway: LocalSmsGateway,
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await file_case(client)
    gateway.answers = [Answer(status=502)] * QUICK_TEXT_RETRIES.max_tries
    assert await run_worker_with_texts(pool, database_url, settings, gateway.backend("aliyun", settings)) == 0
    [text] = await _texts(pool)
    assert (text["status"], text["attempts"]) == ("technical-failure", QUICK_TEXT_RETRIES.max_tries)


# --- the backends against a local gateway speaking the provider's API ---------------------------------------------


STEP = Outgoing(
    phone="13800000002",
    template="case_step",
    params={"case_no": "CZ20261129000001", "step": "已受理", "link": "https://ywtb.example.cn/t/abc"},
)


async def test_aliyun_sends_sendsms_with_the_sign_template_and_its_parameters(
    gateway: LocalSmsGateway, settings: Settings
) -> None:
    result = await gateway.backend("aliyun", settings).send(STEP)
    assert result.outcome == "accepted" and result.provider_id == "biz-1"
    [request] = gateway.received
    assert request.action == "SendSms" and request.signed
    assert request.params["PhoneNumbers"] == "13800000002"
    assert request.params["SignName"] == "常州一网通办"
    assert request.params["TemplateCode"] == "SMS_102"
    assert request.params["TemplateParam"] == (
        '{"case_no": "CZ20261129000001", "step": "已受理", "link": "https://ywtb.example.cn/t/abc"}'
    )


async def test_tencent_sends_sendsms_with_the_app_template_and_ordered_parameters(
    gateway: LocalSmsGateway, settings: Settings
) -> None:
    backend = gateway.backend("tencent", settings)
    result = await backend.send(STEP)
    assert result.outcome == "accepted" and result.provider_id == "serial-1"
    code = await backend.send(texts.verification_code("13800000002", "123456"))
    assert code.outcome == "accepted"
    step, sign_up_code = gateway.received
    assert step.action == "SendSms" and step.signed
    assert step.params == {
        "PhoneNumberSet": ["+8613800000002"],
        "SmsSdkAppId": "1400000000",
        "SignName": "常州一网通办",
        "TemplateId": "SMS_102",
        "TemplateParamSet": ["CZ20261129000001", "已受理", "https://ywtb.example.cn/t/abc"],
    }
    assert sign_up_code.params["TemplateId"] == "SMS_100" and sign_up_code.params["TemplateParamSet"] == ["123456"]


async def test_an_unreachable_gateway_is_a_retry_not_an_error(settings: Settings) -> None:
    async with LocalSmsGateway() as closed:
        endpoint = closed.endpoint
    for provider in ("aliyun", "tencent"):
        stand_in = LocalSmsGateway()
        stand_in.endpoint = endpoint
        result = await stand_in.backend(provider, settings).send(STEP)
        assert result.outcome == "retry", (provider, result)


async def test_the_log_backend_masks_the_number(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sms"):
        await LogBackend().send(texts.verification_code("13912345678", "654321"))
    assert caplog.messages == ["短信 → 139****5678: 【常州一网通办】验证码 654321，10分钟内有效"]
    assert "13912345678" not in caplog.text


# --- the words ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [*STEP_WORDS.values()])
def test_a_step_text_fits_two_parts_of_at_most_70_characters(step: str) -> None:
    """The case number and the step fit the first part; the tracking link (a 32-character token on a production
    host name) the second: a carrier bills it as two texts at most."""
    link = "https://ywtb.changzhou.gov.cn/t/" + "x" * 32
    text = texts.render("case_step", {"case_no": "CZ20261129000123", "step": step, "link": link})
    parts = texts.segments(text)
    assert len(parts) <= 2 and all(len(part) <= texts.SINGLE_SEGMENT for part in parts)
    assert step in parts[0] and "CZ20261129000123" in parts[0]


def test_a_gateway_backend_needs_its_account_and_templates(tmp_path: Any) -> None:
    with pytest.raises(SettingsError, match=r"SMS_ACCESS_KEY_ID.*SMS_TEMPLATE_CASE_STEP"):
        settings_for("postgresql://x@localhost/x", tmp_path, SMS_BACKEND="aliyun")
    with pytest.raises(SettingsError, match="SMS_SDK_APP_ID"):
        settings_for(
            "postgresql://x@localhost/x",
            tmp_path,
            SMS_BACKEND="tencent",
            **{k: v for k, v in GATEWAY_ENV.items() if k != "SMS_SDK_APP_ID"},
        )


# --- a helper's client without an account -------------------------------------------------------------------------


async def test_a_helpers_client_without_an_account_is_texted_at_the_number_the_helper_recorded(
    app: Any, pool: asyncpg.Pool, settings: Settings
) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50300))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as helper:
        await staff_client_sign_up(helper, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
        form = (await helper.get("/api/v1/life-events/retirement/form")).json()
        data = answers_for(form)
        data["applicant.phone"] = "13912340001"  # the elder's daughter's phone, as the helper typed it
        filed = await post(
            helper,
            "/api/v1/cases",
            {
                "life_event": "retirement",
                "data": data,
                "idempotency_key": "sms-helper-case-1",
                "on_behalf_of": ELDER["id_number"],
                "uploads": await upload_required_materials(helper, "retirement", form, ELDER["id_number"]),
            },
        )
        assert filed.status_code == 201, filed.text
    case_id = await _case_id(pool, filed.json()["case_no"])
    assert [(t["phone"], t["step"]) for t in await _texts(pool)] == [("13912340001", "submitted")]

    # A case filed before its number was kept (or without one) is texted at the register's phone.
    await pool.execute("DELETE FROM case_sms_phones WHERE case_id = $1", case_id)
    await _step(pool, case_id, "accepted")
    assert [(t["phone"], t["step"]) for t in await _texts(pool)][-1] == ("13700000025", "accepted")


async def test_purge_forgets_old_texts_and_past_days_counts(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    from sms import housekeeping

    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await file_case(client)
    await _step(pool, await _case_id(pool, (await file_case(client, "sms-case-2"))["case_no"]), "accepted")
    await pool.execute("UPDATE sms_messages SET status = 'delivered'")
    await pool.execute("UPDATE sms_messages SET created_at = now() - interval '200 days' WHERE id = 1")
    await pool.execute(
        "INSERT INTO sms_daily_counts (phone, day, sent) VALUES ($1, current_date - 5, 3), ($1, current_date, 1)",
        CASE_PHONE,
    )
    assert await housekeeping.purge(pool, retention_days=184) == 1
    assert await pool.fetchval("SELECT count(*) FROM sms_messages") == 2
    assert await pool.fetchval("SELECT count(*) FROM sms_daily_counts WHERE phone = $1", CASE_PHONE) == 1
