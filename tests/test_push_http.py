"""Subscribing a device, the VAPID key, and the inbox over HTTP."""

from __future__ import annotations

import base64
import os
import re
import stat
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from app.main import create_app
from auth.ratelimit import LIMITS
from config.settings import DEFAULT_PUSH_HOSTS, Settings
from push import store as push_store
from push.keys import KEY_FILE
from push.subscriptions import endpoint_problem
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_out, sign_up
from tests.push_helpers import file_case, local_push_service, resident_with_device, subscribe
from tests.push_service import FakeDevice, b64url

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


async def _device_row(pool: asyncpg.Pool, endpoint: str) -> dict:
    row = await pool.fetchrow(
        "SELECT s.id, a.name AS owner, s.p256dh, s.auth FROM push_subscriptions s "
        "JOIN accounts a ON a.id = s.account_id WHERE s.endpoint = $1",
        endpoint,
    )
    assert row is not None
    return dict(row)


async def test_an_endpoint_of_another_account_moves_only_with_its_auth_secret(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    phone = FakeDevice(name="phone", endpoint="https://fcm.googleapis.com/fcm/send/victims-phone")
    assert (await post(client, "/api/v1/push/subscriptions", phone.subscription())).status_code == 201
    before = await _device_row(pool, phone.endpoint)

    # Someone who learnt the endpoint URL, with keys of their own, signed in as themselves: refused, audited, counted.
    attacker = another_client()
    await sign_up(attacker, new_authenticator(), LI_NA)
    forged = FakeDevice(name="attacker", endpoint=phone.endpoint).subscription()
    refused = await post(attacker, "/api/v1/push/subscriptions", forged)
    assert refused.status_code == 403, refused.text
    assert "另一个账号" in refused.json()["detail"]
    assert await _device_row(pool, phone.endpoint) == before  # still 张伟's, with its own keys
    assert (await attacker.get("/api/v1/push/subscriptions")).json() == []
    audited = await pool.fetch("SELECT subject, detail FROM audit_log WHERE action = 'push.subscribe'")
    assert [(r["subject"], r["detail"]["reason"]) for r in audited] == [
        (f"push_subscription:{before['id']}", "auth secret differs")
    ]
    assert await pool.fetchval("SELECT count(*) FROM auth_failures WHERE subject LIKE 'push-replace:%'") == 1

    # The browser that holds the subscription holds its secret too (a phone shared by two people): it moves.
    moved = await post(attacker, "/api/v1/push/subscriptions", phone.subscription())
    assert moved.status_code == 201, moved.text
    assert await _device_row(pool, phone.endpoint) == {**before, "owner": LI_NA["name"]}
    assert (await client.get("/api/v1/push/subscriptions")).json() == []


async def test_the_same_account_resubscribing_an_endpoint_with_new_keys_keeps_it(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    phone = FakeDevice(name="phone", endpoint="https://fcm.googleapis.com/fcm/send/rekeyed")
    first = await post(client, "/api/v1/push/subscriptions", phone.subscription())
    rekeyed = FakeDevice(name="phone", endpoint=phone.endpoint)  # the browser rotated the keys
    again = await post(client, "/api/v1/push/subscriptions", rekeyed.subscription())
    assert again.status_code == 201 and again.json() == first.json()
    row = await _device_row(pool, phone.endpoint)
    assert row["auth"].rstrip("=") == b64url(rekeyed.auth_secret).rstrip("=")


async def test_storing_a_device_never_changes_its_owner_unless_told_to(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], pool: asyncpg.Pool
) -> None:
    """The last word is the database's: a subscription another account stored after the service looked (a race
    with its check) keeps its owner and keys."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    phone = FakeDevice(name="phone", endpoint="https://fcm.googleapis.com/fcm/send/raced")
    assert (await post(client, "/api/v1/push/subscriptions", phone.subscription())).status_code == 201
    before = await _device_row(pool, phone.endpoint)
    await sign_up(another_client(), new_authenticator(), LI_NA)
    other = await pool.fetchval("SELECT id FROM accounts WHERE name = $1", LI_NA["name"])
    keys = FakeDevice(name="other", endpoint=phone.endpoint).subscription()["keys"]
    fields = {"endpoint": phone.endpoint, "push_service": "fcm.googleapis.com", "user_agent": ""}
    assert await push_store.save_subscription(pool, account_id=other, **keys, **fields) is None
    assert await _device_row(pool, phone.endpoint) == before
    assert await push_store.save_subscription(pool, account_id=other, **keys, **fields, take_over=True) == before["id"]


async def test_takeover_guesses_share_the_push_proof_limit_and_a_new_device_is_still_accepted(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    phone = FakeDevice(name="phone", endpoint="https://fcm.googleapis.com/fcm/send/guessed")
    assert (await post(client, "/api/v1/push/subscriptions", phone.subscription())).status_code == 201
    before = await _device_row(pool, phone.endpoint)
    attacker = another_client()
    await sign_up(attacker, new_authenticator(), LI_NA)
    for _ in range(LIMITS["push-replace"]):
        guess = FakeDevice(name="guess", endpoint=phone.endpoint).subscription()
        assert (await post(attacker, "/api/v1/push/subscriptions", guess)).status_code == 403

    limited = await post(attacker, "/api/v1/push/subscriptions", phone.subscription())  # even the right secret
    assert limited.status_code == 429 and limited.json()["detail"].startswith("尝试次数过多")
    assert await _device_row(pool, phone.endpoint) == before
    # The same count guards /replace, which proves a subscription the same way.
    report = {
        "old_endpoint": phone.endpoint,
        "old_auth": phone.subscription()["keys"]["auth"],
        "subscription": _device("https://fcm.googleapis.com/fcm/send/renewed"),
    }
    assert (await another_client().post("/api/v1/push/subscriptions/replace", json=report)).status_code == 429
    # Nobody is locked out of turning on a device of their own by someone's guessing from a shared address.
    own = await post(attacker, "/api/v1/push/subscriptions", _device("https://fcm.googleapis.com/fcm/send/hers"))
    assert own.status_code == 201


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
    assert "1条未读" in re.sub(r"<[^>]+>", "", badge.text)  # the count and its words in their own spans
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
