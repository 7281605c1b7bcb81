"""When the browser replaces a device's push subscription, its service worker reports the new one to
POST /api/v1/push/subscriptions/replace with no session and no CSRF token: the old endpoint with its auth
secret is the proof. The device moves in place, for the same account; anything unproven changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from auth.ratelimit import LIMITS
from config.settings import Settings
from tests.auth_helpers import LI_NA, new_authenticator, post, sign_up
from tests.push_helpers import file_case, local_push_service, resident_with_device, run_worker
from tests.push_service import FakeDevice, LocalPushService, b64url

pytestmark = pytest.mark.anyio

REPLACE = "/api/v1/push/subscriptions/replace"
NOT_PROVEN = "无法确认这台设备原来的提醒订阅，请打开“我的”页面重新开启办理进度提醒"


@pytest.fixture
async def push_service(client: httpx.AsyncClient) -> AsyncIterator[LocalPushService]:
    async with local_push_service(client) as service:
        yield service


@pytest.fixture
def worker_sw(another_client: Callable[[], httpx.AsyncClient]) -> httpx.AsyncClient:
    """The service worker's fetch as the server sees it: no session cookie, no CSRF cookie or header."""
    return another_client()


def report(old: FakeDevice, new: FakeDevice, *, old_auth: str | None = None) -> dict[str, Any]:
    """What sw-push.js sends: the old endpoint and auth secret, and the new PushSubscription.toJSON()."""
    return {
        "old_endpoint": old.endpoint,
        "old_auth": old_auth if old_auth is not None else old.subscription()["keys"]["auth"],
        "subscription": new.subscription(),
    }


async def devices(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT id, account_id, endpoint, p256dh, auth FROM push_subscriptions ORDER BY id")
    return [dict(r) for r in rows]


async def test_the_old_endpoint_and_its_secret_move_delivery_to_the_new_endpoint_for_the_same_account(
    client: httpx.AsyncClient,
    worker_sw: httpx.AsyncClient,
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    push_service: LocalPushService,
) -> None:
    old = await resident_with_device(client, push_service)
    [before] = await devices(pool)
    renewed = push_service.device("phone-renewed")

    answer = await worker_sw.post(REPLACE, json=report(old, renewed))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": before["id"]}
    [after] = await devices(pool)
    keys = renewed.subscription()["keys"]
    assert after == {**before, "endpoint": renewed.endpoint, "p256dh": keys["p256dh"], "auth": keys["auth"]}

    # The next step of the resident's case reaches the renewed subscription, and nothing goes to the old one.
    case = await file_case(client)
    assert await run_worker(pool, database_url, settings) == 1
    assert push_service.rejected == []
    assert [p.payload["case_no"] for p in push_service.pushes_to(renewed)] == [case["case_no"]]
    assert push_service.pushes_to(old) == []
    # Still one device on 我的, the same one.
    assert [d["id"] for d in (await client.get("/api/v1/push/subscriptions")).json()] == [before["id"]]

    # The same report again (its answer was lost on the way) is answered the same, and changes nothing.
    again = await worker_sw.post(REPLACE, json=report(old, renewed))
    assert again.status_code == 200 and again.json() == {"id": before["id"]}
    assert await devices(pool) == [after]


async def test_a_wrong_secret_or_an_unknown_endpoint_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, worker_sw: httpx.AsyncClient, pool: asyncpg.Pool, push_service: LocalPushService
) -> None:
    old = await resident_with_device(client, push_service)
    before = await devices(pool)
    attacker = push_service.device("attacker")
    someone_elses_secret = b64url(FakeDevice(name="x", endpoint="").auth_secret)

    wrong_secret = await worker_sw.post(REPLACE, json=report(old, attacker, old_auth=someone_elses_secret))
    unknown = await worker_sw.post(REPLACE, json=report(push_service.device("never-subscribed"), attacker))
    for refused in (wrong_secret, unknown):
        assert refused.status_code == 403, refused.text
        # One answer for both: it does not tell which endpoints we know.
        assert refused.json()["detail"] == NOT_PROVEN
    assert await devices(pool) == before


async def test_guessing_is_refused_for_a_while_after_too_many_failures_from_one_address(
    client: httpx.AsyncClient, worker_sw: httpx.AsyncClient, pool: asyncpg.Pool, push_service: LocalPushService
) -> None:
    old = await resident_with_device(client, push_service)
    before = await devices(pool)
    renewed = push_service.device("phone-renewed")
    for n in range(LIMITS["push-replace"]):
        guess = b64url(n.to_bytes(16, "big"))
        assert (await worker_sw.post(REPLACE, json=report(old, renewed, old_auth=guess))).status_code == 403

    limited = await worker_sw.post(REPLACE, json=report(old, renewed))  # even the right secret, for now
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["detail"].startswith("尝试次数过多")
    assert await devices(pool) == before


async def test_a_new_endpoint_outside_the_allowed_push_services_is_refused_per_field_in_chinese(
    client: httpx.AsyncClient, worker_sw: httpx.AsyncClient, pool: asyncpg.Pool, push_service: LocalPushService
) -> None:
    old = await resident_with_device(client, push_service)
    before = await devices(pool)

    elsewhere = await worker_sw.post(
        REPLACE, json=report(old, FakeDevice(name="x", endpoint="https://evil.example/p/1"))
    )
    assert elsewhere.status_code == 400, elsewhere.text
    assert elsewhere.json()["errors"] == {"subscription.endpoint": "不支持该推送服务，请使用常用浏览器开启提醒"}
    assert "不支持该推送服务" in elsewhere.json()["detail"]

    bad_keys = report(old, push_service.device("phone-renewed"))
    bad_keys["subscription"]["keys"] = {"p256dh": "AAAA", "auth": "short"}
    refused = await worker_sw.post(REPLACE, json=bad_keys)
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "subscription.keys.p256dh": "设备公钥不正确",
        "subscription.keys.auth": "设备认证密钥不正确",
    }
    assert await devices(pool) == before


async def test_a_new_endpoint_already_on_another_account_is_left_alone(
    client: httpx.AsyncClient,
    worker_sw: httpx.AsyncClient,
    another_client: Callable[[], httpx.AsyncClient],
    pool: asyncpg.Pool,
    push_service: LocalPushService,
) -> None:
    mine = await resident_with_device(client, push_service)
    li_na = another_client()
    await sign_up(li_na, new_authenticator(), LI_NA)
    hers = push_service.device("li-na")
    assert (await post(li_na, "/api/v1/push/subscriptions", hers.subscription())).status_code == 201
    before = await devices(pool)

    # Knowing my own old subscription says nothing about her device.
    answer = await worker_sw.post(REPLACE, json=report(mine, hers))
    assert answer.status_code == 409, answer.text
    assert await devices(pool) == before


async def test_a_new_subscription_the_page_saved_first_stays_and_the_old_device_goes(
    client: httpx.AsyncClient, worker_sw: httpx.AsyncClient, pool: asyncpg.Pool, push_service: LocalPushService
) -> None:
    old = await resident_with_device(client, push_service)
    renewed = push_service.device("phone-renewed")
    saved = await post(client, "/api/v1/push/subscriptions", renewed.subscription())
    assert saved.status_code == 201

    answer = await worker_sw.post(REPLACE, json=report(old, renewed))
    assert answer.status_code == 200 and answer.json() == {"id": saved.json()["id"]}
    assert [d["endpoint"] for d in await devices(pool)] == [renewed.endpoint]
