"""Notices in the recipient's language (issue 21): a resident whose account reads English gets the push, the inbox
entry and the text of a case step in English, whoever moved the case and in whatever language they work; a resident
who never chose stays in Chinese, the default and the text of record."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest

from config.settings import Settings
from sms import texts
from sms.models import Outgoing
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, signed_in_staff, sms_outbox
from tests.push_helpers import file_case, local_push_service, resident_with_device, run_worker, run_worker_with_texts
from tests.sms_gateway import LocalSmsGateway

pytestmark = pytest.mark.anyio
CHINESE = re.compile(r"[\u3400-\u9fff]")
ENGLISH = {"Accept-Language": "en"}


async def _choose_english(client: httpx.AsyncClient) -> None:
    chosen = await client.put("/api/v1/preferences", json={"language": "en"}, headers=await csrf(client))
    assert chosen.status_code == 200, chosen.text


class _Pushed(NamedTuple):
    case: dict[str, Any]
    task: dict[str, Any]
    pushes: dict[int, dict[str, Any]]  # by timeline event id: 已提交, then 已受理


AcceptedCase = Callable[..., Awaitable[_Pushed]]


@pytest.fixture
def accepted_case(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    another_client: Callable[[], httpx.AsyncClient],
) -> AcceptedCase:
    """The resident (`client`), a phone subscribed, files 新生儿出生; the 天宁 clerk accepts its 出生户口登记; a worker
    sends both steps: the pushes the phone got."""

    async def pushes(*, resident_reads_english: bool = False, **clerk_headers: str) -> _Pushed:
        """`resident_reads_english`: the resident chose English before filing; `clerk_headers`: the clerk's browser
        asks for a language of its own."""
        async with local_push_service(client) as service:
            phone = await resident_with_device(client, service)
            if resident_reads_english:
                await _choose_english(client)
            case = await file_case(client)
            clerk = await signed_in_staff(
                another_client, pool, settings, name="王窗口", role="clerk", region="320402", department="police"
            )
            task = next(t for t in case["tasks"] if t["department"] == "police")
            accepted = await clerk.post(
                f"/api/v1/console/tasks/{task['id']}/transition",
                json={"action": "accept"},
                headers={**await csrf(clerk), **clerk_headers},
            )
            assert accepted.status_code == 200, accepted.text
            assert await run_worker(pool, database_url, settings) == 2
            sent = {p.payload["event_id"]: p.payload for p in service.pushes_to(phone)}
        return _Pushed(case, task, sent)

    return pushes


async def test_a_resident_who_reads_english_gets_the_push_and_the_inbox_entry_in_english(
    client: httpx.AsyncClient, accepted_case: AcceptedCase
) -> None:
    # The clerk works in Chinese: the resident still reads the step in their own language.
    case, task, pushes = await accepted_case(resident_reads_english=True)
    submitted, accepted = (pushes[k] for k in sorted(pushes))
    assert accepted["title"].startswith("Case update: ")
    # The service named as the catalogue names it in English (the task keeps its Chinese: the text of record).
    assert task["item_name"] == "出生户口登记"
    assert accepted["body"] == f"Birth registration (hukou): Accepted (case number {case['case_no']})"
    assert submitted["title"].startswith("Case update: ") and "(case number" in submitted["body"]
    # The inbox keeps the words the lock screen showed.
    inbox = (await client.get("/api/v1/notifications")).json()["items"]
    assert {(i["title"], i["body"]) for i in inbox} == {(p["title"], p["body"]) for p in pushes.values()}
    # Nothing Chinese left but the life event's name in the title (data).
    for payload in pushes.values():
        words = f"{payload['title']} {payload['body']}"
        assert not CHINESE.search(re.sub(r"Case update: \S+", "", words)), payload


async def test_a_resident_who_never_chose_reads_chinese_though_the_clerk_works_in_english(
    accepted_case: AcceptedCase,
) -> None:
    case, task, pushes = await accepted_case(**ENGLISH)
    accepted = pushes[max(pushes)]
    assert accepted["title"] == "办件进度：新生儿出生"
    assert accepted["body"] == f"{task['item_name']}：已受理（办件编号 {case['case_no']}）"


async def test_a_resident_who_reads_english_is_texted_in_english_and_the_text_of_record_stays_chinese(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str
) -> None:
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    await _choose_english(client)
    created = await post(client, "/api/v1/cases", await _submission(client))
    case_no = created.json()["case_no"]
    [queued] = await pool.fetch("SELECT template, params FROM sms_messages")
    assert queued["template"] == "case_step_en"
    assert queued["params"]["step"] == "已提交" and queued["params"]["step_en"] == "Submitted"
    with sms_outbox() as outbox:
        assert await run_worker_with_texts(pool, database_url, settings) == 1
    token = await pool.fetchval("SELECT tracking_token FROM cases WHERE case_no = $1", case_no)
    assert outbox.to("138****0002") == [
        f"短信 → 138****0002: 【常州一网通办】Your case {case_no}: Submitted. Details: {settings.public_url}/t/{token}"
    ]


async def _submission(client: httpx.AsyncClient) -> dict[str, Any]:
    from tests.case_helpers import submission_for

    return await submission_for(client, "birth", "i18n-sms-1")


@pytest.mark.parametrize("english_template", ["SMS_103", ""])
async def test_a_gateway_sends_the_english_template_when_it_has_one_else_the_chinese(
    settings: Settings, english_template: str
) -> None:
    message = Outgoing(
        phone="13800000002",
        template="case_step_en",
        params={"case_no": "CZ1", "step": "已受理", "step_en": "accepted", "link": "https://ywtb.example.cn/t/abc"},
    )
    async with LocalSmsGateway() as gateway:
        backend = gateway.backend("aliyun", settings, SMS_TEMPLATE_CASE_STEP_EN=english_template)
        assert (await backend.send(message)).outcome == "accepted"
        [request] = gateway.received
    if english_template:
        assert request.params["TemplateCode"] == "SMS_103"
        assert '"step_en": "accepted"' in request.params["TemplateParam"]
    else:  # no English template approved at the provider yet: the Chinese one, with the Chinese step
        assert request.params["TemplateCode"] == "SMS_102"
        assert (
            '"step": "已受理"' in request.params["TemplateParam"] and "step_en" not in request.params["TemplateParam"]
        )


def test_an_english_step_text_fits_three_parts() -> None:
    """English takes more characters than Chinese, and the sign keeps the text in UCS-2 (70 to a part)."""
    from app.sms.service import STEP_WORDS
    from i18n import _, use_language

    link = "https://ywtb.changzhou.gov.cn/t/" + "x" * 32
    with use_language("en"):
        for step in STEP_WORDS.values():
            text = texts.render("case_step_en", {"case_no": "CZ20261129000123", "step_en": _(step), "link": link})
            assert texts.segment_count(text) <= 3, text
