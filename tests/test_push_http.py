"""Subscribing a device, the VAPID key, and the inbox over HTTP."""

from __future__ import annotations

import base64
import os
import stat

import asyncpg
import httpx
import pytest

from app.main import create_app
from app.settings import DEFAULT_PUSH_HOSTS, Settings
from push.keys import KEY_FILE
from push.subscriptions import endpoint_problem
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_out, sign_up
from tests.push_helpers import file_case, local_push_service, resident_with_device, subscribe
from tests.push_service import FakeDevice

pytestmark = pytest.mark.anyio


def _device(endpoint: str) -> dict:
    return FakeDevice(name="x", endpoint=endpoint).subscription()


async def test_the_vapid_key_is_made_once_kept_private_and_served_public(
    client: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    answer = (await client.get("/api/v1/push/key")).json()
    assert list(answer) == ["public_key"]
    point = base64.urlsafe_b64decode(answer["public_key"] + "=" * (-len(answer["public_key"]) % 4))
    assert len(point) == 65 and point[0] == 4  # an uncompressed P-256 point
    key_file = settings.data_dir / KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    private_pem = key_file.read_text()
    assert "PRIVATE KEY" in private_pem and private_pem not in str(answer)
    # A restart (a new app on the same DATA_DIR) keeps the same key, so existing subscriptions still work.
    again = create_app(settings, pool=pool)
    assert again.state.vapid_public_key == answer["public_key"]
    assert (await client.get("/sw.js")).headers["cache-control"] == "no-cache"


async def test_subscribing_needs_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    response = await post(client, "/api/v1/push/subscriptions", _device("https://fcm.googleapis.com/fcm/send/abc"))
    assert response.status_code == 401


async def test_an_endpoint_outside_the_allowed_push_services_is_refused(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    for endpoint in (
        "https://evil.example.com/push/1",
        "http://fcm.googleapis.com/fcm/send/abc",  # plain http to a real push service
        "https://user:pw@fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com.evil.example/fcm/send/abc",
        "http://10.0.0.1/push",
    ):
        response = await post(client, "/api/v1/push/subscriptions", _device(endpoint))
        assert response.status_code == 400, endpoint
        assert "endpoint" in response.json()["errors"], endpoint
    bad_keys = _device("https://fcm.googleapis.com/fcm/send/abc")
    bad_keys["keys"] = {"p256dh": "AAAA", "auth": "short"}
    response = await post(client, "/api/v1/push/subscriptions", bad_keys)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"keys.p256dh", "keys.auth"}
    accepted = await post(client, "/api/v1/push/subscriptions", _device("https://fcm.googleapis.com/fcm/send/abc"))
    assert accepted.status_code == 201


def test_the_default_push_services_are_the_browser_vendors_https_only() -> None:
    allowed = DEFAULT_PUSH_HOSTS
    assert endpoint_problem("https://fcm.googleapis.com/fcm/send/x", allowed) is None
    assert endpoint_problem("https://web.push.apple.com/QG1", allowed) is None
    assert endpoint_problem("https://updates.push.services.mozilla.com/wpush/v2/x", allowed) is None
    assert endpoint_problem("https://wns2-bn3p.notify.windows.com/w/?token=x", allowed) is None
    assert endpoint_problem("https://notify.windows.com.evil.cn/w", allowed) is not None
    assert endpoint_problem("http://127.0.0.1:9/push", allowed) is not None  # only when listed
    assert endpoint_problem("http://127.0.0.1:9/push", ("127.0.0.1",)) is None


async def test_a_device_is_stored_once_listed_without_its_endpoint_and_removable(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    async with local_push_service(client) as service:
        device = await resident_with_device(client, service)
        again = await subscribe(client, device)  # the page sends it again after a re-subscribe
        assert again.status_code == 201
        assert await pool.fetchval("SELECT count(*) FROM push_subscriptions") == 1
        listed = (await client.get("/api/v1/push/subscriptions")).json()
        assert len(listed) == 1 and "endpoint" not in listed[0] and listed[0]["push_service"] == "127.0.0.1"
        page = await client.get("/me/devices")
        assert "不再提醒" in page.text
        removed = await client.request(
            "DELETE", "/api/v1/push/subscriptions", json={"endpoint": device.endpoint}, headers=await csrf(client)
        )
        assert removed.status_code == 204
        assert await pool.fetchval("SELECT count(*) FROM push_subscriptions") == 0


async def test_someone_else_cannot_remove_my_device(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    async with local_push_service(client) as service:
        device = await resident_with_device(client, service)
        device_id = await pool.fetchval("SELECT id FROM push_subscriptions")
        await sign_out(client)
        await sign_up(client, new_authenticator(), LI_NA)
        await client.request(
            "DELETE", "/api/v1/push/subscriptions", json={"endpoint": device.endpoint}, headers=await csrf(client)
        )
        assert (await post(client, f"/me/devices/{device_id}/remove")).status_code == 404
        assert await pool.fetchval("SELECT count(*) FROM push_subscriptions") == 1


async def test_the_inbox_has_every_step_even_without_a_device(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await file_case(client)
    inbox = (await client.get("/api/v1/notifications")).json()
    assert inbox["unread"] == 1
    [entry] = inbox["items"]
    assert entry["case_no"] == case["case_no"] and entry["url"] == f"/cases/{case['case_no']}"
    assert entry["title"] == "办件进度：新生儿出生" and not entry["read"] and entry["deliveries"] == []
    badge = await client.get("/notifications/badge")
    assert "1条未读" in badge.text
    page = await client.get("/notifications")
    assert entry["body"] in page.text and "未开启推送" in page.text
    opened = await client.get(f"/notifications/{entry['id']}")
    assert opened.status_code == 303 and opened.headers["location"] == entry["url"]
    assert (await client.get("/api/v1/notifications")).json()["unread"] == 0
    assert "条未读" not in (await client.get("/notifications/badge")).text


async def test_marking_read_through_the_api_and_the_page(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await file_case(client, "inbox-key-1")
    await file_case(client, "inbox-key-2")
    items = (await client.get("/api/v1/notifications")).json()["items"]
    marked = await post(client, "/api/v1/notifications/read", {"ids": [items[0]["id"]]})
    assert marked.json() == {"unread": 1}
    everything = await post(client, "/notifications/read-all")
    assert everything.status_code == 303
    assert (await client.get("/api/v1/notifications")).json()["unread"] == 0


async def test_nobody_reads_another_residents_inbox(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await file_case(client)
    entry_id = (await client.get("/api/v1/notifications")).json()["items"][0]["id"]
    await sign_out(client)
    assert (await client.get("/api/v1/notifications")).status_code == 401
    await sign_up(client, new_authenticator(), LI_NA)
    assert (await client.get("/api/v1/notifications")).json() == {"unread": 0, "items": []}
    assert (await client.get(f"/notifications/{entry_id}")).status_code == 404
    marked = await post(client, "/api/v1/notifications/read", {"ids": [entry_id]})
    assert marked.json() == {"unread": 0}
