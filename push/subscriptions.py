"""Which browser push subscriptions we accept: the endpoint must be a known push service, the keys real.

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

from push.models import ENDPOINT_MAX, SubscriptionKeys

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
        return "推送地址过长"
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        return "推送地址格式不正确"
    if parts.username or parts.password or not host:
        return "推送地址格式不正确"
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK):
        return "推送地址必须使用 https"
    if not host_allowed(host, allowed_hosts):
        return "不支持该推送服务，请使用常用浏览器开启提醒"
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
        problems["keys.p256dh"] = "设备公钥不正确"
    try:
        if len(_b64url_decode(keys.auth)) != 16:
            raise ValueError("auth secret is 16 bytes")
    except (ValueError, binascii.Error):
        problems["keys.auth"] = "设备认证密钥不正确"
    return problems


def same_auth_secret(stored: str, presented: str) -> bool:
    """Whether a presented auth secret is the stored one: compared in constant time, padding aside, since
    it is what a device proves itself with when its subscription is replaced."""
    return hmac.compare_digest(stored.rstrip("=").encode(), presented.rstrip("=").encode())
