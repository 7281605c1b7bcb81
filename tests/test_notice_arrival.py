"""必达通知: a notice the resident must receive (补正告知, 不予受理, 不予批准, 办结 with a result to collect) is
followed until it has reached them — push, else a text once every push has failed (or at once without a live device),
else 未送达 on the console until a clerk phones or posts a paper notice and records it. The case page and the public
tracking page say when and how each reached them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest

from app.notifications.service import may_have_followed, must_arrive
from config.settings import Settings
from db import jobs
from db.migrate import MIGRATIONS_DIR
from push import arrival
from push.models import PushOutcomes
from push.sender import PushSender, SendResult, Target
from push.store import SEND_ENTRYPOINT as PUSH_SEND
from sms.backends import SmsBackend
from sms.models import Outgoing, TextState
from sms.models import SendResult as SmsResult
from sms.store import SEND_ENTRYPOINT as SMS_SEND
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, signed_in_staff, sms_outbox
from tests.birth_helpers import BIRTH_CERTIFICATE, BirthDesk, act
from tests.push_helpers import file_case, local_push_service, resident_with_device, run_worker_with_texts
from tests.push_service import LocalPushService
from tests.sms_gateway import Answer, LocalSmsGateway

pytestmark = pytest.mark.anyio
MakeClient = Callable[[], httpx.AsyncClient]
REFUSAL = "材料不全，且不属于本窗口受理范围：请向户籍所在地派出所申请"


# --- the rule ------------------------------------------------------------------------------------------------------


def test_a_case_whose_steps_had_no_notice_that_must_arrive_has_none_to_read() -> None:
    assert not may_have_followed(["submitted", "accepted", "in_review", "approved", "delivered", "awaiting_consent"])
    assert not may_have_followed([])


@pytest.mark.parametrize(
    ("status", "to_collect", "expected"),
    [
        ("supplement_requested", False, True),
        ("rejected", False, True),
        ("denied", False, True),
        ("completed", True, True),
        ("completed", False, False),  # 邮寄 or 电子证照: nothing waits for them
        ("accepted", False, False),
        ("in_review", True, False),
        ("delivered", False, False),
        ("submitted", False, False),
    ],
)
def test_which_notices_must_arrive(status: str, to_collect: bool, expected: bool) -> None:
    assert must_arrive(status, result_to_collect=to_collect) is expected
    # A case page reads a case's deliveries only when one of its steps may have had a notice followed: never fewer.
    if expected:
        assert may_have_followed(["submitted", status])


@pytest.mark.parametrize(
    ("push", "text", "text_ready", "expected"),
    [
        ("delivered", "none", True, "delivered"),
        ("failed", "delivered", False, "delivered"),
        ("delivered", "pending", False, "delivered"),
        ("pending", "none", True, "wait"),  # the text waits for the pushes
        ("failed", "pending", False, "wait"),
        ("pending", "failed", False, "wait"),
        ("failed", "none", True, "text"),  # every push failed: text now
        ("none", "none", True, "text"),  # no device: text now
        ("failed", "none", False, "undelivered"),  # no number to text
        ("none", "none", False, "undelivered"),
        ("failed", "failed", False, "undelivered"),
        ("none", "failed", False, "undelivered"),
        ("failed", "failed", True, "undelivered"),  # never a second text
    ],
)
def test_the_fallback_rule(push: Any, text: Any, text_ready: bool, expected: str) -> None:
    assert arrival.next_step(push, text, text_ready=text_ready) == expected


def test_a_push_or_text_counts_as_ended_only_in_a_final_status() -> None:
    def outcomes(total: int, pending: int, delivered: bool = False) -> PushOutcomes:
        at = datetime(2026, 11, 29, 2, 31, tzinfo=UTC) if delivered else None
        return PushOutcomes(total=total, pending=pending, delivered_at=at, last_error=None)

    assert arrival.push_channel(None) == "none"
    assert arrival.push_channel(outcomes(0, 0)) == "none"
    assert arrival.push_channel(outcomes(2, 1)) == "pending"  # one device still retrying
    assert arrival.push_channel(outcomes(2, 0)) == "failed"
    assert arrival.push_channel(outcomes(2, 1, delivered=True)) == "delivered"
    for status, channel in {
        "created": "pending",
        "sending": "pending",
        "temporary-failure": "pending",
        "delivered": "delivered",
        "permanent-failure": "failed",
        "technical-failure": "failed",
    }.items():
        assert arrival.text_channel(7, TextState(status=status, sent_at=None, last_error=None)) == channel
    assert arrival.text_channel(None, None) == "none"


def test_the_clerk_is_told_why_a_notice_did_not_arrive() -> None:
    failed = PushOutcomes(total=1, pending=0, delivered_at=None, last_error="HTTP 410")
    capped = TextState(status="permanent-failure", sent_at=None, last_error="该号码今日短信已达上限")
    assert (
        arrival.failure_of(in_inbox=True, push="failed", outcomes=failed, text="failed", state=capped)
        == "推送未成功（HTTP 410）；短信未成功（该号码今日短信已达上限）"
    )
    assert (
        arrival.failure_of(in_inbox=False, push="none", outcomes=None, text="none", state=None)
        == "申请人没有账户，无法推送；没有可发短信的手机号码"
    )


# --- helpers -------------------------------------------------------------------------------------------------------


@pytest.fixture
async def push_service(client: httpx.AsyncClient) -> AsyncIterator[LocalPushService]:
    async with local_push_service(client) as service:
        yield service


@pytest.fixture
async def gateway() -> AsyncIterator[LocalSmsGateway]:
    async with LocalSmsGateway() as local:
        yield local


class _Refused(NamedTuple):
    case: dict[str, Any]
    task: dict[str, Any]
    clerk: httpx.AsyncClient


class _Office:
    """The 天宁 hall's side of a test: its clerks, and the worker that sends what they do."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings, database_url: str, make: MakeClient) -> None:
        self.pool, self.settings, self.database_url, self._make = pool, settings, database_url, make

    async def clerk(self, region: str = "320402") -> httpx.AsyncClient:
        """A new window clerk (of 天宁 unless `region` says otherwise), signed in."""
        return await signed_in_staff(
            self._make, self.pool, self.settings, name="王窗口", role="clerk", region=region, department="police"
        )

    async def run_worker(self, backend: SmsBackend | None = None, sender: type[PushSender] = PushSender) -> None:
        """One worker process's queue — pushes and texts — run here until it is empty."""
        await run_worker_with_texts(self.pool, self.database_url, self.settings, backend, sender=sender)

    async def refuse(self, case: dict[str, Any], region: str = "320402") -> tuple[dict[str, Any], httpx.AsyncClient]:
        """A clerk refuses the case's first task (不予受理: a notice that must arrive): that task and the clerk."""
        task = case["tasks"][0]
        clerk = await self.clerk(region)
        refused = await act(clerk, task["id"], "reject", note=REFUSAL)
        assert refused.status_code == 200, refused.text
        return task, clerk

    async def refused_case(self, client: httpx.AsyncClient) -> _Refused:
        """The signed-in resident files 新生儿出生, a worker sends what the filing queued (so that its next run has the
        refusal alone to send), and the 天宁 clerk refuses the first task."""
        case = await file_case(client)
        await self.run_worker()
        task, clerk = await self.refuse(case)
        return _Refused(case, task, clerk)


@pytest.fixture
def office(pool: asyncpg.Pool, settings: Settings, database_url: str, another_client: MakeClient) -> _Office:
    return _Office(pool, settings, database_url, another_client)


def _refusing_gateway(settings: Settings, gateway: LocalSmsGateway) -> SmsBackend:
    """阿里云 through the local gateway, which answers that the number cannot be texted."""
    gateway.answers.extend([Answer(code="isv.MOBILE_NUMBER_ILLEGAL")] * 5)
    return gateway.backend("aliyun", settings)


async def _notice(pool: asyncpg.Pool, task_id: int, status: str = "rejected") -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT a.* FROM notice_arrivals a JOIN timeline_events e ON e.id = a.event_id "
        "WHERE e.task_id = $1 AND e.status = $2",
        task_id,
        status,
    )
    assert row is not None, f"no notice followed for task {task_id} {status}"
    return dict(row)


async def _texts_for(pool: asyncpg.Pool, task_id: int, status: str = "rejected") -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT m.id, m.status, m.params FROM sms_messages m JOIN timeline_events e ON e.id = m.event_id "
        "WHERE e.task_id = $1 AND e.status = $2 ORDER BY m.id",
        task_id,
        status,
    )
    return [dict(r) for r in rows]


async def _tracking_page(client: httpx.AsyncClient, case_no: str, pool: asyncpg.Pool, **headers: str) -> Any:
    token = await pool.fetchval("SELECT tracking_token FROM cases WHERE case_no = $1", case_no)
    return await client.get(f"/t/{token}", headers=headers)


# --- push fails: text; text fails: 未送达; a clerk phones -----------------------------------------------------------


async def test_a_refusal_whose_push_is_gone_410_is_texted_and_shows_as_delivered_by_text(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    office: _Office,
    push_service: LocalPushService,
    another_client: MakeClient,
) -> None:
    phone = await resident_with_device(client, push_service)
    case, task, _ = await office.refused_case(client)
    assert len(push_service.pushes_to(phone)) == 1  # the submission reached the phone
    waiting = await _notice(pool, task["id"])
    # The phone takes pushes: the refusal goes by push, its text is only prepared.
    assert waiting["state"] == "sending" and waiting["fallback_text"] is not None
    assert await _texts_for(pool, task["id"]) == []

    push_service.answer(phone, 410)  # the browser dropped the subscription
    with sms_outbox() as outbox:
        await office.run_worker()
    [text] = await _texts_for(pool, task["id"])
    assert text["status"] == "delivered" and text["params"]["step"] == "不予受理"
    assert len(outbox.to("138****0002")) == 1
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "delivered" and notice["pushed_at"] is None and notice["texted_at"] is not None
    assert notice["fallback_text"] is None  # the number is not kept once it is no longer needed

    page = (await client.get(f"/cases/{case['case_no']}")).text
    assert "重要通知送达情况" in page and "已送达" in page and "短信" in page and "站内信" in page
    [shown] = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["notices"]
    assert [r["channel"] for r in shown["reached"]] == ["sms", "inbox"] and shown["state"] == "delivered"
    public = (await _tracking_page(another_client(), case["case_no"], pool)).text
    assert "重要通知送达情况" in public and "短信" in public and REFUSAL not in public


async def test_a_push_failing_with_500_until_its_tries_are_spent_falls_back_to_a_text(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office, push_service: LocalPushService
) -> None:
    phone = await resident_with_device(client, push_service)
    _case, task, _ = await office.refused_case(client)
    push_service.answer(phone, 500, 500, 500, 500, 500)
    await office.run_worker()
    assert (
        await pool.fetchval(
            "SELECT n.status FROM notifications n JOIN inbox_entries i ON i.id = n.inbox_entry_id "
            "JOIN timeline_events e ON e.id = i.event_id WHERE e.task_id = $1 AND e.status = 'rejected'",
            task["id"],
        )
        == "technical-failure"
    )
    assert [t["status"] for t in await _texts_for(pool, task["id"])] == ["delivered"]
    assert (await _notice(pool, task["id"]))["state"] == "delivered"


async def test_a_delivered_push_needs_no_text(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office, push_service: LocalPushService
) -> None:
    await resident_with_device(client, push_service)
    case, task, _ = await office.refused_case(client)
    await office.run_worker()
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "delivered" and notice["pushed_at"] is not None and notice["fallback_text"] is None
    assert await _texts_for(pool, task["id"]) == []
    [shown] = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["notices"]
    assert [r["label"] for r in shown["reached"]] == ["推送", "站内信"]


async def test_the_page_kept_for_anyone_shows_a_push_the_worker_saw_delivered_at_once(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    office: _Office,
    push_service: LocalPushService,
    another_client: MakeClient,
) -> None:
    """The worker settles a notice with no timeline event and without app/ (push.arrival.after_push): the tracking
    page kept for anonymous visitors is drawn again at the next look, not sent as kept (migration 0048)."""
    await resident_with_device(client, push_service)
    case, task, _ = await office.refused_case(client)
    sending = await _tracking_page(another_client(), case["case_no"], pool)
    assert 'data-state="sending"' in sending.text
    kept = await _tracking_page(another_client(), case["case_no"], pool)  # sent as kept: the same page, the same tag
    assert kept.headers["etag"] == sending.headers["etag"] and 'data-state="sending"' in kept.text
    token = await pool.fetchval("SELECT tracking_token FROM cases WHERE case_no = $1", case["case_no"])
    kept_tags = "SELECT p.etag FROM tracking_pages p JOIN cases c ON c.id = p.case_id WHERE c.tracking_token = $1"
    assert await pool.fetchval(kept_tags, token) == sending.headers["etag"]

    await office.run_worker()
    assert (await _notice(pool, task["id"]))["state"] == "delivered"
    delivered = await _tracking_page(another_client(), case["case_no"], pool)
    assert 'data-state="delivered"' in delivered.text and "推送" in delivered.text
    assert delivered.headers["etag"] != sending.headers["etag"]
    assert await pool.fetchval(kept_tags, token) == delivered.headers["etag"]  # kept again, as now drawn


async def test_a_resident_without_a_device_is_texted_at_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    _case, task, _ = await office.refused_case(client)
    # Queued with the step itself: nothing to wait for.
    notice = await _notice(pool, task["id"])
    [text] = await _texts_for(pool, task["id"])
    assert notice["sms_message_id"] == text["id"] and notice["inbox_entry_id"] is not None
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 0
    await office.run_worker()
    assert (await _notice(pool, task["id"]))["state"] == "delivered"
    assert [t["status"] for t in await _texts_for(pool, task["id"])] == ["delivered"]


class _CrashingSender(PushSender):
    """A sender that fails in a way nobody planned for (a bug, a library's surprise): not an answer of the push
    service, so pgqueuer's executor retries the job and, its tries spent, gives it up."""

    async def send(self, target: Target, payload: bytes, *, urgency: str, topic: str) -> SendResult:
        raise RuntimeError("unexpected")


class _CrashingBackend:
    async def send(self, message: Outgoing) -> SmsResult:
        raise RuntimeError("unexpected")


async def _on_last_try(pool: asyncpg.Pool, entrypoint: str) -> None:
    """The queue's jobs of `entrypoint` as on pgqueuer's last try: one more unexpected failure and it gives them up
    (as it would after about 18 minutes of retries)."""
    await pool.execute("UPDATE pgqueuer SET attempts = $2 WHERE entrypoint = $1", entrypoint, jobs.TRIES)


async def test_a_push_whose_job_the_worker_gives_up_on_falls_back_to_a_text(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office, push_service: LocalPushService
) -> None:
    await resident_with_device(client, push_service)
    _case, task, _ = await office.refused_case(client)
    await _on_last_try(pool, PUSH_SEND)
    await office.run_worker(sender=_CrashingSender)
    pushed = await pool.fetchrow(
        "SELECT n.status, n.last_error FROM notifications n "
        "JOIN notice_arrivals a ON a.inbox_entry_id = n.inbox_entry_id"
    )
    assert pushed is not None and tuple(pushed) == ("technical-failure", jobs.GIVEN_UP)
    # Not 正在送达 for ever: the prepared text went, and reached the resident.
    assert [t["status"] for t in await _texts_for(pool, task["id"])] == ["delivered"]
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "delivered" and notice["texted_at"] is not None


async def test_a_text_whose_job_the_worker_gives_up_on_leaves_the_notice_undelivered_for_a_clerk(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)  # no device: texted at once
    _case, task, clerk = await office.refused_case(client)
    await _on_last_try(pool, SMS_SEND)
    await office.run_worker(backend=_CrashingBackend())
    [text] = await _texts_for(pool, task["id"])
    assert text["status"] == "technical-failure"
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "undelivered" and "短信未成功" in notice["failure"]
    assert [n["id"] for n in (await clerk.get("/api/v1/console/notices")).json()] == [notice["id"]]


async def test_when_the_text_fails_too_the_notice_is_undelivered_on_the_console_until_a_clerk_phones(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    office: _Office,
    push_service: LocalPushService,
    gateway: LocalSmsGateway,
    another_client: MakeClient,
) -> None:
    phone = await resident_with_device(client, push_service)
    case, task, clerk = await office.refused_case(client)
    visitor = another_client()
    before = await _tracking_page(visitor, case["case_no"], pool)
    etag = before.headers["etag"]

    push_service.answer(phone, 410)
    await office.run_worker(_refusing_gateway(settings, gateway))
    assert [t["status"] for t in await _texts_for(pool, task["id"])] == ["permanent-failure"]
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "undelivered" and notice["undelivered_at"] is not None
    assert "推送未成功" in notice["failure"] and "短信未成功（isv.MOBILE_NUMBER_ILLEGAL" in notice["failure"]
    # The tracking page's delivery changed with no new timeline event: the browser's copy is no longer the page.
    after = await _tracking_page(visitor, case["case_no"], pool, **{"if-none-match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag and "未送达" in after.text

    queue = (await clerk.get("/console")).text
    assert "未送达的通知（1）" in queue and f"/console/cases/{case['case_no']}#notice-{notice['id']}" in queue
    [listed] = (await clerk.get("/api/v1/console/notices")).json()
    assert listed["id"] == notice["id"] and listed["case_no"] == case["case_no"]
    assert "记录已告知" in (await clerk.get(f"/console/cases/{case['case_no']}")).text
    assert "未送达" in (await client.get(f"/cases/{case['case_no']}")).text

    recorded = await clerk.post(
        f"/console/notices/{notice['id']}/by-hand",
        data={"channel": "phone", "note": "已与本人通话", "case_no": case["case_no"]},
        headers={"x-csrftoken": clerk.cookies["csrftoken"]},
    )
    assert recorded.status_code == 303
    assert recorded.headers["location"] == f"/console/cases/{case['case_no']}#notice-{notice['id']}"
    assert "未送达的通知" not in (await clerk.get("/console")).text
    assert (await clerk.get("/api/v1/console/notices")).json() == []
    done = await _notice(pool, task["id"])
    assert done["state"] == "delivered" and done["by_hand"] == "phone" and done["by_hand_note"] == "已与本人通话"
    step = await pool.fetchrow(
        "SELECT title, actor_account_id FROM timeline_events WHERE task_id = $1 AND status = 'notice_by_hand'",
        task["id"],
    )
    assert step is not None and step["title"].startswith("已电话告知申请人")
    assert step["actor_account_id"] == done["by_hand_account_id"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'notice.by_hand' AND outcome = 'ok' AND subject = $1",
            f"case:{case['case_no']}",
        )
        == 1
    )
    public = (await _tracking_page(another_client(), case["case_no"], pool)).text
    assert "电话" in public and "已电话告知申请人" in public and "已与本人通话" not in public
    [shown] = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["notices"]
    assert [r["label"] for r in shown["reached"]] == ["电话", "站内信"]

    again = await post(clerk, f"/api/v1/console/notices/{notice['id']}/by-hand", {"channel": "paper"})
    assert again.status_code == 409


async def test_no_device_and_no_number_is_undelivered_at_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await file_case(client)
    case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case["case_no"])
    # A number neither on the form nor on the register (an elder filed for at a window, say).
    await pool.execute("DELETE FROM case_sms_phones WHERE case_id = $1", case_id)
    await pool.execute(
        "UPDATE people SET phone = NULL WHERE id = (SELECT applicant_person_id FROM cases WHERE id = $1)", case_id
    )
    task, clerk = await office.refuse(case)
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "undelivered" and notice["failure"] == "没有可推送的设备；没有可发短信的手机号码"
    assert [n["id"] for n in (await clerk.get("/api/v1/console/notices")).json()] == [notice["id"]]


async def _filed_by_a_resident_of_no_region(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> tuple[int, dict[str, Any]]:
    """A resident signed up whom the register places nowhere and who has no number to text, and a case they filed:
    their person id and the case."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    person_id = await pool.fetchval("SELECT person_id FROM accounts WHERE person_id IS NOT NULL ORDER BY id LIMIT 1")
    await pool.execute("UPDATE people SET region_code = NULL, phone = NULL WHERE id = $1", person_id)
    case = await file_case(client)
    case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case["case_no"])
    await pool.execute("DELETE FROM case_sms_phones WHERE case_id = $1", case_id)
    return person_id, case


async def test_a_resident_the_register_places_nowhere_is_followed_up_by_the_office_handling_the_case(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office
) -> None:
    """No region on the register: no district hall is theirs, and their case goes to the city's office (app.cases.
    offices.office_for). Its clerks, who handle it, phone or post a 未送达 notice — no other hall's."""
    _, case = await _filed_by_a_resident_of_no_region(client, pool)
    task, city = await office.refuse(case, region="320400")
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "undelivered"
    assert [n["id"] for n in (await city.get("/api/v1/console/notices")).json()] == [notice["id"]]
    district = await office.clerk(region="320402")
    assert (await district.get("/api/v1/console/notices")).json() == []
    recorded = await post(city, f"/api/v1/console/notices/{notice['id']}/by-hand", {"channel": "paper"})
    assert recorded.status_code == 200, recorded.text


async def test_notices_stored_with_no_region_before_0051_reach_the_list_of_those_who_follow_them_up_now(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office
) -> None:
    """Before a resident the register places nowhere had anyone to follow them up, their 未送达 notices were stored
    with an empty region: on no clerk's list. Migration 0051 gives each the region a new one gets
    (app.cases.offices.follow_up_region): the city office's that handles the case, or the resident's own region once
    the register places them."""
    person_id, case = await _filed_by_a_resident_of_no_region(client, pool)
    # Two of its tasks refused by the city's window (the office handling the case): two notices that must arrive.
    task, city = await office.refuse(case, region="320400")
    second = case["tasks"][1]
    assert (await act(city, second["id"], "reject", note=REFUSAL)).status_code == 200
    notices = [(await _notice(pool, t["id"]))["id"] for t in (task, second)]
    backfill = (MIGRATIONS_DIR / "0051_notice_follow_up_region.sql").read_text()

    async def stored_as_before_0051() -> None:
        await pool.execute("UPDATE notice_arrivals SET region_code = '' WHERE id = ANY($1::bigint[])", notices)

    async def listed(clerk: httpx.AsyncClient) -> list[int]:
        return sorted(n["id"] for n in (await clerk.get("/api/v1/console/notices")).json())

    await stored_as_before_0051()
    assert await listed(city) == []
    await pool.execute(backfill)
    # Still no region on the register: the office handling the case (the city's) follows them up.
    assert await listed(city) == sorted(notices)
    district = await office.clerk(region="320402")
    assert await listed(district) == []

    # Once the register places the resident (in 武进), their own district's clerks, near them.
    await stored_as_before_0051()
    await pool.execute("UPDATE people SET region_code = '320412' WHERE id = $1", person_id)
    await pool.execute(backfill)
    in_wujin = await office.clerk(region="320412")
    assert await listed(in_wujin) == sorted(notices) and await listed(district) == []
    recorded = await post(in_wujin, f"/api/v1/console/notices/{notices[0]}/by-hand", {"channel": "phone"})
    assert recorded.status_code == 200, recorded.text
    # None is left with no region.
    assert await pool.fetchval("SELECT count(*) FROM notice_arrivals WHERE region_code = ''") == 0


# --- idempotent, whoever tells it and however often ---------------------------------------------------------------


async def test_two_workers_told_at_once_that_every_push_failed_queue_one_text(
    client: httpx.AsyncClient, pool: asyncpg.Pool, office: _Office, push_service: LocalPushService
) -> None:
    await resident_with_device(client, push_service)
    _case, task, _ = await office.refused_case(client)
    notification = await pool.fetchval(
        "SELECT n.id FROM notifications n JOIN notice_arrivals a ON a.inbox_entry_id = n.inbox_entry_id"
    )
    # As push.delivery leaves it after a 410 (without the worker: the outcome alone is what counts).
    await pool.execute("UPDATE notifications SET status = 'permanent-failure', last_error = 'HTTP 410'")
    await asyncio.gather(*(arrival.after_push(pool, notification) for _ in range(4)))
    await arrival.after_push(pool, notification)  # a job run again later
    assert len(await _texts_for(pool, task["id"])) == 1
    notice = await _notice(pool, task["id"])
    assert notice["state"] == "sending" and notice["fallback_text"] is None
    assert notice["sms_message_id"] == (await _texts_for(pool, task["id"]))[0]["id"]


# --- 办结 with something to collect ---------------------------------------------------------------------------------


async def test_completion_must_arrive_when_its_result_waits_at_the_window(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await file_case(client)  # 领取方式: 窗口领取
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    tasks = await desk.tasks(case["case_no"])
    vaccination = "CZ-WJ-002"  # its result is not handed over at a window (no 领取方式)
    for item in (BIRTH_CERTIFICATE, vaccination):
        await desk.complete_health_task(tasks[item])
    assert (await _notice(pool, tasks[BIRTH_CERTIFICATE], "completed"))["state"] == "sending"
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM notice_arrivals a JOIN timeline_events e ON e.id = a.event_id WHERE e.task_id = $1",
            tasks[vaccination],
        )
        == 0
    )
    staff_view = (await desk.clerk.get(f"/api/v1/console/cases/{case['case_no']}")).json()
    assert [n["delivery"]["title"] for n in staff_view["notices"]] == ["出生医学证明签发：已办结"]


# --- who may record -------------------------------------------------------------------------------------------------


async def test_only_a_clerk_of_the_residents_region_records_a_call(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, office: _Office, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await office.refused_case(client)
    notice_id = await pool.fetchval("SELECT id FROM notice_arrivals")

    elsewhere = await office.clerk(region="320411")
    assert (await elsewhere.get("/api/v1/console/notices")).json() == []
    refused = await post(elsewhere, f"/api/v1/console/notices/{notice_id}/by-hand", {"channel": "phone"})
    assert refused.status_code == 403
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'notice.by_hand' AND outcome = 'forbidden'")
        == 1
    )
    approver = await signed_in_staff(
        another_client, pool, settings, name="刘卫健", role="approver", region="320402", department="health"
    )
    assert (
        await post(approver, f"/api/v1/console/notices/{notice_id}/by-hand", {"channel": "phone"})
    ).status_code == 403
    own = await office.clerk()
    forged = await post(own, f"/api/v1/console/notices/{notice_id}/by-hand", {"channel": "pigeon"})
    assert forged.status_code == 400 and "电话或纸质通知" in forged.json()["errors"]["channel"]
    assert (await pool.fetchval("SELECT by_hand FROM notice_arrivals")) is None
