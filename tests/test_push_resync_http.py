"""A page confirming the subscription its browser already holds (POST /api/v1/push/subscriptions?resync=true):
the same account's device is answered as it is, or stored again when the server lost it; another account's
device is never taken over without a click."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_out, sign_up
from tests.push_service import FakeDevice

pytestmark = pytest.mark.anyio
RESYNC = "/api/v1/push/subscriptions?resync=true"


def _device(name: str) -> FakeDevice:
    return FakeDevice(name=name, endpoint=f"https://fcm.googleapis.com/fcm/send/resync-{name}")


async def _owner(pool: asyncpg.Pool, device: FakeDevice) -> str | None:
    return await pool.fetchval(
        "SELECT a.name FROM push_subscriptions s JOIN accounts a ON a.id = s.account_id WHERE s.endpoint = $1",
        device.endpoint,
    )


async def test_a_held_subscription_the_server_lost_is_stored_again_and_a_known_one_left_as_it_is(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    phone = _device("phone")
    first = await post(client, "/api/v1/push/subscriptions", phone.subscription())
    device_id = first.json()["id"]
    await pool.execute("UPDATE push_subscriptions SET failures = 3")

    # Known as it is: the same device, nothing rewritten (its run of failed deliveries still shows on 我的).
    again = await post(client, RESYNC, phone.subscription())
    assert again.status_code == 201 and again.json() == {"id": device_id}
    assert await pool.fetchval("SELECT failures FROM push_subscriptions") == 3

    # Removed (a 410 from its push service, or 不再提醒 on another device): the page stores it again.
    await pool.execute("DELETE FROM push_subscriptions")
    restored = await post(client, RESYNC, phone.subscription())
    assert restored.status_code == 201
    assert await _owner(pool, phone) == ZHANG_WEI["name"]
    assert [d["id"] for d in (await client.get("/api/v1/push/subscriptions")).json()] == [restored.json()["id"]]

    # New keys for the same endpoint are taken.
    renewed = FakeDevice(name="phone", endpoint=phone.endpoint)
    assert (await post(client, RESYNC, renewed.subscription())).json() == restored.json()
    stored_auth = await pool.fetchval("SELECT auth FROM push_subscriptions")
    assert stored_auth.rstrip("=") == renewed.subscription()["keys"]["auth"].rstrip("=")


async def test_resync_never_takes_a_device_from_another_account_but_a_click_does(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # A shared phone: 张伟 turned reminders on, signed out; 李娜 signs in on the same browser.
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    shared = _device("shared")
    assert (await post(client, "/api/v1/push/subscriptions", shared.subscription())).status_code == 201
    await sign_out(client)
    await sign_up(client, new_authenticator(), LI_NA)

    refused = await post(client, RESYNC, shared.subscription())
    assert refused.status_code == 409
    assert "另一个账号" in refused.json()["detail"]
    assert await _owner(pool, shared) == ZHANG_WEI["name"]
    assert (await client.get("/api/v1/push/subscriptions")).json() == []

    # 开启办理进度提醒 pressed: her say-so moves the device to her.
    assert (await post(client, "/api/v1/push/subscriptions", shared.subscription())).status_code == 201
    assert await _owner(pool, shared) == LI_NA["name"]


async def test_resync_checks_the_caller_and_the_subscription_like_subscribing(client: httpx.AsyncClient) -> None:
    assert (await post(client, RESYNC, _device("anonymous").subscription())).status_code == 401
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    elsewhere = FakeDevice(name="x", endpoint="https://evil.example.com/push/1").subscription()
    response = await client.post(RESYNC, json=elsewhere, headers=await csrf(client))
    assert response.status_code == 400 and "endpoint" in response.json()["errors"]
