"""Webhooks to a department's system: a real HTTP receiver (aiohttp) on this machine verifies every delivery's
signature with the `standardwebhooks` package and sees each event exactly once, after a 503 and a retry; where a
webhook may go is limited (WEBHOOK_ALLOWED_HOSTS, no private or loopback address unless listed)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from auth import clients
from config.settings import Settings, SettingsError, load_settings
from hooks.delivery import RetryPolicy as WebhookRetryPolicy
from hooks.sender import WebhookSender
from hooks.targets import address_allowed, url_problem
from push.keys import load_or_create
from push.sender import PushSender
from push.worker import PushWorker
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up
from tests.case_helpers import PNG_1X1, submission_for
from tests.database_fixtures import settings_for
from tests.push_helpers import QUICK_OPTIONS

pytestmark = pytest.mark.anyio
API = "/api/exchange/v1"
MakeClient = Callable[[], httpx.AsyncClient]
RESULTS = ("delivered", "retry", "failed")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path / "data", WEBHOOK_ALLOWED_HOSTS="127.0.0.1,*.czgov.example")


class Receiver:
    """A department system's webhook endpoint: verifies each delivery, answers 503 to the very first one."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.answers: list[int] = []
        self.acknowledged: list[dict[str, Any]] = []  # the payloads answered 2xx
        self.message_ids: list[str] = []
        self.bad_signatures = 0
        self.url = ""
        self.down = False  # answers 503 to everything (a receiver down for longer than the retries last)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        assert self.secret is not None
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            self.answers.append(401)
            return web.Response(status=401)
        status = 503 if self.down or not self.answers else 204
        self.answers.append(status)
        if status == 204:
            self.acknowledged.append(payload)
            self.message_ids.append(request.headers["webhook-id"])
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    found.url = f"http://127.0.0.1:{port}/hook"
    yield found
    await runner.cleanup()


async def _drain(
    pool: asyncpg.Pool, database_url: str, settings: Settings, allowed: tuple[str, ...] | None = None
) -> int:
    """One worker here, pushes and webhooks, until the queue is empty; the webhooks it delivered. `allowed`: the
    worker's WEBHOOK_ALLOWED_HOSTS, when it differs from the web's."""
    connection = await asyncpg.connect(database_url)
    try:
        async with (
            PushSender(load_or_create(settings.data_dir), settings.vapid_subject, settings.push_allowed_hosts) as push,
            WebhookSender(settings.webhook_allowed_hosts if allowed is None else allowed) as hooks,
        ):
            worker = PushWorker(
                pool,
                connection,
                push,
                options=QUICK_OPTIONS,
                webhooks=hooks,
                webhook_policy=WebhookRetryPolicy(delays=(0.2, 0.2, 0.2)),
            )
            await asyncio.wait_for(worker.run(drain=True), 60)
            assert worker.webhooks is not None
            return worker.webhooks.delivered
    finally:
        await connection.close()


async def _department_system(make: MakeClient, pool: asyncpg.Pool) -> tuple[httpx.AsyncClient, dict[str, str]]:
    async with pool.acquire() as tx, tx.transaction():
        issued = await clients.register(
            tx,
            name="卫健业务系统",
            department_code="health",
            hospital=None,
            region_code="320402",
            scopes=list(clients.DEPARTMENT_SCOPES),
        )
    system = make()
    basic = base64.b64encode(f"{issued.client_id}:{issued.secret}".encode()).decode()
    token = (
        await system.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
        )
    ).json()["access_token"]
    return system, {"Authorization": f"Bearer {token}"}


async def _subscribe(
    system: httpx.AsyncClient, auth: dict[str, str], receiver: Receiver, events: list[str], key: str
) -> str:
    """The department's system subscribes the tests' receiver, which then checks signatures with its secret."""
    made = await system.post(
        f"{API}/webhooks", json={"url": receiver.url, "events": events}, headers={**auth, "Idempotency-Key": key}
    )
    assert made.status_code == 201, made.text
    receiver.secret = made.json()["secret"]
    return made.json()["id"]


async def _zhang_wei_files_a_birth(client: httpx.AsyncClient, key: str) -> str:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", key))
    assert created.status_code == 201, created.text
    return created.json()["case_no"]


async def test_a_receiver_verifies_every_signature_and_sees_each_event_once_after_a_503_and_a_retry(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    another_client: MakeClient,
    receiver: Receiver,
) -> None:
    system, auth = await _department_system(another_client, pool)
    hook = await _subscribe(
        system, auth, receiver, ["task.created", "task.resubmitted", "task.updated"], "subscribe-0001"
    )
    assert receiver.secret.startswith("whsec_")
    listed = (await system.get(f"{API}/webhooks", headers=auth)).json()["items"]
    assert [w["url"] for w in listed] == [receiver.url] and "secret" not in listed[0]

    # The resident files a birth: 预防接种证 is the district health office's (出生医学证明, 市级, the city's).
    case_no = await _zhang_wei_files_a_birth(client, "hooks-birth-1")
    tasks = (await system.get(f"{API}/tasks", headers=auth)).json()["items"]
    [task] = tasks
    assert task["item_code"] == "CZ-WJ-002"
    # The system asks for a supplement; the resident answers it.
    asked = await system.post(
        f"{API}/tasks/{task['id']}/transition",
        json={"action": "request_supplement", "note": "请补交分娩记录原件照片"},
        headers={**auth, "Idempotency-Key": "supplement-0001"},
    )
    assert asked.status_code == 200, asked.text
    answered = await client.post(
        f"/cases/{case_no}/tasks/{task['id']}/supplement",
        data={"note": "已补"},
        files=[("file", ("photo.png", PNG_1X1, "image/png"))],
        headers=await csrf(client),
        follow_redirects=False,
    )
    assert answered.status_code in (200, 303), answered.text

    before = {r: REGISTRY.get_sample_value("ywtb_webhook_deliveries_total", {"result": r}) or 0 for r in RESULTS}
    delivered = await _drain(pool, database_url, settings)

    expected = sorted(
        [("task.created", t["id"]) for t in tasks] + [("task.updated", task["id"]), ("task.resubmitted", task["id"])]
    )
    seen = sorted((p["type"], p["data"]["task_id"]) for p in receiver.acknowledged)
    assert seen == expected  # each event exactly once
    assert delivered == len(expected)
    assert receiver.bad_signatures == 0
    assert receiver.answers.count(503) == 1 and len(receiver.answers) == len(expected) + 1
    assert len(set(receiver.message_ids)) == len(expected)
    counted = {
        r: (REGISTRY.get_sample_value("ywtb_webhook_deliveries_total", {"result": r}) or 0) - before[r] for r in RESULTS
    }
    assert counted == {"delivered": len(expected), "retry": 1, "failed": 0}  # on the worker's /metrics
    # No personal data in an event: the system reads the task with its own token.
    assert all(
        set(p["data"]) == {"task_id", "case_no", "item_code", "status", "timeline_event_id"}
        for p in receiver.acknowledged
    )

    # The delivery log: the retried one shows its two tries and the 503 it got first.
    log = (await system.get(f"{API}/webhooks/{hook}/deliveries", headers=auth)).json()
    assert [d["status"] for d in log["items"]] == ["delivered"] * len(expected)
    assert sorted(d["attempts"] for d in log["items"]) == [1] * (len(expected) - 1) + [2]
    first_page = (await system.get(f"{API}/webhooks/{hook}/deliveries", params={"limit": 2}, headers=auth)).json()
    assert len(first_page["items"]) == 2 and first_page["next_cursor"] is not None


async def test_a_deleted_subscription_hears_nothing_more_and_anothers_log_is_404(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    another_client: MakeClient,
    receiver: Receiver,
) -> None:
    system, auth = await _department_system(another_client, pool)
    hook = await _subscribe(system, auth, receiver, ["task.created"], "subscribe-0002")
    other, other_auth = await _department_system(another_client, pool)
    assert (await other.get(f"{API}/webhooks/{hook}/deliveries", headers=other_auth)).status_code == 404
    assert (await other.delete(f"{API}/webhooks/{hook}", headers=other_auth)).status_code == 404

    assert (await system.delete(f"{API}/webhooks/{hook}", headers=auth)).status_code == 204
    await _zhang_wei_files_a_birth(client, "hooks-birth-2")
    assert await _drain(pool, database_url, settings) == 0
    assert receiver.answers == []


async def test_deliveries_failed_while_the_receiver_was_down_are_sent_again_on_recover_with_the_same_webhook_id(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    another_client: MakeClient,
    receiver: Receiver,
) -> None:
    system, auth = await _department_system(another_client, pool)
    hook = await _subscribe(system, auth, receiver, ["task.created"], "subscribe-0003")
    receiver.down = True
    await _zhang_wei_files_a_birth(client, "hooks-birth-3")
    assert await _drain(pool, database_url, settings) == 0
    [failed] = (await system.get(f"{API}/webhooks/{hook}/deliveries", headers=auth)).json()["items"]
    assert failed["status"] == "failed" and failed["attempts"] == 4 and failed["last_status"] == 503
    assert failed["recovered_at"] is None

    def recover(key: str, **body: str) -> Any:
        return system.post(f"{API}/webhooks/{hook}/recover", json=body, headers={**auth, "Idempotency-Key": key})

    # Only its own subscription, a live one, and a time with its zone.
    other, other_auth = await _department_system(another_client, pool)
    theirs = await other.post(
        f"{API}/webhooks/{hook}/recover", json={}, headers={**other_auth, "Idempotency-Key": "recover-other"}
    )
    assert theirs.status_code == 404
    naive = await recover("recover-naive", since="2026-11-30T08:00:00")
    assert naive.status_code == 400 and "时区" in naive.json()["errors"]["since"]
    later = await recover("recover-later", since="2999-01-01T00:00:00+08:00")
    assert later.json() == {"queued": 0, "remaining": 0}

    receiver.down = False
    recovered = await recover("recover-0001")
    assert recovered.status_code == 202 and recovered.json() == {"queued": 1, "remaining": 0}
    assert (await recover("recover-0001")).json() == {"queued": 1, "remaining": 0}  # the same call, answered again
    assert (await recover("recover-0002")).json()["queued"] == 0  # a new call: nothing failed is left
    assert (await system.post(f"{API}/webhooks/{hook}/recover", json={}, headers=auth)).status_code == 400
    assert await _drain(pool, database_url, settings) == 1
    [sent] = (await system.get(f"{API}/webhooks/{hook}/deliveries", headers=auth)).json()["items"]
    assert sent["status"] == "delivered" and sent["attempts"] == 1 and sent["recovered_at"] is not None
    assert receiver.message_ids == [failed["message_id"]]  # the same webhook-id: a receiver drops a repeat
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'exchange.webhook.recover' AND subject = $1",
            f"webhook:{hook}",
        )
        == 3
    )

    assert (await system.delete(f"{API}/webhooks/{hook}", headers=auth)).status_code == 204
    assert (await recover("recover-0003")).status_code == 404


async def test_a_host_taken_off_the_allow_list_after_subscribing_gets_nothing(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    another_client: MakeClient,
    receiver: Receiver,
) -> None:
    system, auth = await _department_system(another_client, pool)
    hook = await _subscribe(system, auth, receiver, ["task.created"], "subscribe-0004")
    await _zhang_wei_files_a_birth(client, "hooks-birth-3")

    # The worker's setting no longer lists 127.0.0.1 (narrowed after the client subscribed): checked at send time.
    assert await _drain(pool, database_url, settings, allowed=("*.czgov.example",)) == 0
    assert receiver.answers == []
    log = (await system.get(f"{API}/webhooks/{hook}/deliveries", headers=auth)).json()["items"]
    assert log and all(d["status"] == "failed" and "不在允许范围内" in d["last_error"] for d in log)
    assert all(d["attempts"] == 1 for d in log)  # refused: not retried


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://10.0.0.5/hook", True),  # a private address not listed
        ("http://169.254.169.254/latest/meta-data", True),  # the cloud metadata service
        ("http://localhost:8080/hook", True),  # a name, over plain http
        ("https://evil.example.com/hook", True),  # a host not listed
        ("https://user:pw@ga.czgov.example/hook", True),  # credentials in the URL
        ("https://ga.czgov.example/hook", False),
        ("http://127.0.0.1:9/hook", False),  # listed (the tests' own receiver)
    ],
)
def test_where_a_webhook_may_go(url: str, refused: bool, settings: Settings) -> None:
    assert (url_problem(url, settings.webhook_allowed_hosts) is not None) == refused


def test_a_listed_name_resolving_to_a_private_address_is_refused_at_connection_time() -> None:
    allowed = ("*.czgov.example",)
    assert not address_allowed("10.1.2.3", allowed)
    assert not address_allowed("127.0.0.1", allowed)
    assert not address_allowed("::1", allowed)
    assert address_allowed("10.1.2.3", (*allowed, "10.1.0.0/16"))
    assert address_allowed("202.102.3.4", allowed)


async def test_a_subscription_outside_the_allow_list_is_refused_with_the_field_named(
    pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    system, auth = await _department_system(another_client, pool)
    refused = await system.post(
        f"{API}/webhooks",
        json={"url": "http://10.0.0.5/hook", "events": ["task.created", "case.unknown"]},
        headers={**auth, "Idempotency-Key": "subscribe-0003"},
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"url", "events"}
    assert (await system.get(f"{API}/webhooks", headers=auth)).json()["items"] == []


@pytest.mark.parametrize("bad", ["https://ga.czgov.example", "*", "ga.czgov.example/hook", "localhost"])
def test_a_webhook_host_setting_that_is_no_host_stops_start_up_naming_it(bad: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOWED_HOSTS"):
        load_settings({"DATA_DIR": str(tmp_path), "WEBHOOK_ALLOWED_HOSTS": bad})


def test_webhook_hosts_are_names_and_networks(tmp_path: Path) -> None:
    loaded = load_settings(
        {"DATA_DIR": str(tmp_path), "WEBHOOK_ALLOWED_HOSTS": " *.CZgov.example, 10.1.0.0/16,127.0.0.1"}
    )
    assert loaded.webhook_allowed_hosts == ("*.czgov.example", "10.1.0.0/16", "127.0.0.1/32")
    assert load_settings({"DATA_DIR": str(tmp_path)}).webhook_allowed_hosts == ()


async def test_a_rating_of_the_departments_work_reaches_its_system_without_the_residents_words(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    another_client: MakeClient,
    receiver: Receiver,
) -> None:
    system, auth = await _department_system(another_client, pool)
    await _subscribe(system, auth, receiver, ["review.created"], "subscribe-review-1")
    case_no = await _zhang_wei_files_a_birth(client, "hooks-review-1")
    [task] = (await system.get(f"{API}/tasks", headers=auth)).json()["items"]  # 预防接种证, the district's
    for step, action in enumerate(["accept", "review", "approve", "complete"]):
        moved = await system.post(
            f"{API}/tasks/{task['id']}/transition",
            json={"action": action},
            headers={**auth, "Idempotency-Key": f"review-move-{step}"},
        )
        assert moved.status_code == 200, moved.text

    words = "窗口人员态度冷淡，让我跑了三趟"
    rated = await post(
        client,
        f"/api/v1/cases/{case_no}/reviews",
        {"task_id": task["id"], "level": 2, "tags": ["态度不好", "多次跑动"], "text": words},
    )
    assert rated.status_code == 201, rated.text
    # An edit within 7 days is not a new rating; a rating of the whole case is no one department's.
    assert (
        await post(client, f"/api/v1/cases/{case_no}/reviews", {"task_id": task["id"], "level": 1})
    ).status_code == 200
    await _drain(pool, database_url, settings)

    [event] = receiver.acknowledged
    assert event["type"] == "review.created"
    assert event["data"]["case_no"] == case_no and event["data"]["task_id"] == task["id"]
    assert event["data"]["level"] == 2 and event["data"]["tags"] == ["态度不好", "多次跑动"]
    assert words not in str(event) and ZHANG_WEI["name"] not in str(event)
    assert receiver.bad_signatures == 0


async def test_a_withdrawal_reaches_each_department_for_its_own_tasks_without_the_applicants_words(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    another_client: MakeClient,
    receiver: Receiver,
) -> None:
    """撤回申请: case.withdrawn once to the district health office's system, naming its own task (预防接种证) and
    not the city's (出生医学证明) nor another department's; task.updated for its task as for every step."""
    system, auth = await _department_system(another_client, pool)
    await _subscribe(system, auth, receiver, ["case.withdrawn", "task.updated"], "subscribe-withdraw-1")
    case_no = await _zhang_wei_files_a_birth(client, "hooks-withdraw-1")
    [task] = (await system.get(f"{API}/tasks", headers=auth)).json()["items"]
    words = "孩子随父母回老家落户"

    withdrawn = await post(
        client, f"/api/v1/cases/{case_no}/withdraw", {"reason": "no_longer_needed", "reason_text": words}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    await _drain(pool, database_url, settings)

    by_type = {p["type"]: p for p in receiver.acknowledged}
    assert sorted(p["type"] for p in receiver.acknowledged) == ["case.withdrawn", "task.updated"]  # each once
    assert by_type["case.withdrawn"]["data"] == {
        "case_no": case_no,
        "tasks": [{"task_id": task["id"], "item_code": "CZ-WJ-002"}],
        "reason": "no_longer_needed",
    }
    assert by_type["task.updated"]["data"]["task_id"] == task["id"]
    assert by_type["task.updated"]["data"]["status"] == "withdrawn"
    assert words not in str(receiver.acknowledged) and ZHANG_WEI["name"] not in str(receiver.acknowledged)
    assert receiver.bad_signatures == 0
    # Read with its token, the task says it is withdrawn and takes no further step.
    assert (await system.get(f"{API}/tasks/{task['id']}", headers=auth)).json()["status"] == "withdrawn"
    refused = await system.post(
        f"{API}/tasks/{task['id']}/transition",
        json={"action": "accept"},
        headers={**auth, "Idempotency-Key": "withdrawn-accept-1"},
    )
    assert refused.status_code == 409 and refused.json()["allowed_actions"] == []
