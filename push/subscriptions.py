"""Which browser push subscriptions we accept (the endpoint must be a known push service, the keys real), and
keeping them: app/ turns devices on, moves and removes them through here.

An endpoint is a URL we will POST to from the server, so it is checked against PUSH_ALLOWED_HOSTS
(the browser vendors' push services) — anything else would let a caller make us send requests to
hosts of their choosing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from db.pool import DB
from i18n import N_
from push import store
from push.models import ENDPOINT_MAX, Device, HeldSubscription, SubscriptionKeys

# Hosts where plain http is tolerated: a push service on this machine (tests, the bench).
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def host_allowed(host: str, allowed_hosts: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed_hosts:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def endpoint_problem(endpoint: str, allowed_hosts: tuple[str, ...]) -> str | None:
    """Why this endpoint is refused, in Chinese; None when it is acceptable."""
    if len(endpoint) > ENDPOINT_MAX:
        return N_("推送地址过长")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        return N_("推送地址格式不正确")
    if parts.username or parts.password or not host:
        return N_("推送地址格式不正确")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK):
        return N_("推送地址必须使用 https")
    if not host_allowed(host, allowed_hosts):
        return N_("不支持该推送服务，请使用常用浏览器开启提醒")
    return None


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def keys_problem(keys: SubscriptionKeys) -> dict[str, str]:
    problems: dict[str, str] = {}
    try:
        point = _b64url_decode(keys.p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("not an uncompressed point")
    except (ValueError, binascii.Error):
        problems["keys.p256dh"] = N_("设备公钥不正确")
    try:
        if len(_b64url_decode(keys.auth)) != 16:
            raise ValueError("auth secret is 16 bytes")
    except (ValueError, binascii.Error):
        problems["keys.auth"] = N_("设备认证密钥不正确")
    return problems


def same_auth_secret(stored: str, presented: str) -> bool:
    """Whether a presented auth secret is the stored one: compared in constant time, padding aside, since
    it is what a device proves itself with when its subscription is replaced."""
    return hmac.compare_digest(stored.rstrip("=").encode(), presented.rstrip("=").encode())


# --- keeping them: what app/ calls (push/store.py is this package's own) ---------------------------------------------


async def held_at(tx: DB, endpoint: str) -> HeldSubscription | None:
    """The device at this endpoint (id, owner, auth secret), locked until the transaction ends; None if there is
    none."""
    return await store.subscription_at(tx, endpoint)


async def save(
    db: DB,
    *,
    account_id: int,
    endpoint: str,
    push_service: str,
    p256dh: str,
    auth: str,
    user_agent: str,
    take_over: bool = False,
) -> int | None:
    """Store a device (the same endpoint again updates its keys); another account's changes owner only with
    `take_over` (its auth secret proven): otherwise None and nothing changes."""
    return await store.save_subscription(
        db,
        account_id=account_id,
        endpoint=endpoint,
        push_service=push_service,
        p256dh=p256dh,
        auth=auth,
        user_agent=user_agent,
        take_over=take_over,
    )


async def move(tx: DB, subscription_id: int, *, endpoint: str, push_service: str, p256dh: str, auth: str) -> None:
    """Point a device at the subscription its browser replaced the old one with (owner and pending notifications
    stay)."""
    await store.move_subscription(
        tx, subscription_id, endpoint=endpoint, push_service=push_service, p256dh=p256dh, auth=auth
    )


async def forget(tx: DB, subscription_id: int) -> None:
    await store.delete_subscription_by_id(tx, subscription_id)


async def forget_endpoint(db: DB, account_id: int, endpoint: str) -> bool:
    """The account's device at this endpoint removed; False if it had none there."""
    return await store.delete_subscription_by_endpoint(db, account_id, endpoint)


async def forget_device(db: DB, account_id: int, subscription_id: int) -> bool:
    """One of the account's devices removed; False if it is not theirs."""
    return await store.delete_subscription(db, account_id, subscription_id)


async def forget_all_devices(db: DB, account_id: int) -> int:
    """Every device of the account removed (a closed account is pushed to no more); notifications already queued
    for them end as 设备已移除. How many there were."""
    return await store.delete_subscriptions_of(db, account_id)


async def devices_of(db: DB, account_id: int) -> list[Device]:
    return await store.devices_of(db, account_id)


async def has_device(db: DB, account_id: int) -> bool:
    """Whether a device of the account receives push: subscribed, and its last pushes did not all fail."""
    return await store.has_live_device(db, account_id)
