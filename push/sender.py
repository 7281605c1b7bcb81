"""Sending one Web Push message with pywebpush: VAPID-signed, aes128gcm-encrypted, with TTL, Urgency
and Topic. Answers what the push service said; the caller decides what that means for the notification."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp
import msgspec
from pywebpush import WebPushException, webpush_async

from push.keys import VapidKeys
from push.subscriptions import host_allowed

# How long a push service keeps a message for a device that is offline: a day.
TTL_SECONDS = 24 * 3600
# RFC 8292 allows at most 24 hours; well inside it, so clock skew never makes a token look too long-lived.
VAPID_EXPIRY_SECONDS = 12 * 3600
SEND_TIMEOUT_SECONDS = 10


class Target(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: str
    p256dh: str
    auth: str


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """status is the push service's HTTP status, or None when no answer came (time-out, no connection,
    or `refused`: we would not send to that host at all)."""

    status: int | None
    retry_after: float | None = None
    error: str | None = None
    refused: bool = False

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def audience(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (now if now is not None else time.time()))


class RefusedHost(aiohttp.ClientError):
    """A request (or a redirect) to a host outside PUSH_ALLOWED_HOSTS."""


class PushSender:
    """One per worker: a pooled HTTP session and the VAPID key."""

    def __init__(
        self,
        keys: VapidKeys,
        subject: str,
        allowed_hosts: tuple[str, ...],
        *,
        timeout: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        self._keys = keys
        self._subject = subject
        self._allowed_hosts = allowed_hosts
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def _only_push_services(
        self, request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        # Checked on every request the session makes, redirects included, and again at send time in
        # case PUSH_ALLOWED_HOSTS was narrowed after the device subscribed.
        if not host_allowed(request.url.host or "", self._allowed_hosts):
            raise RefusedHost(request.url.host)
        return await handler(request)

    async def __aenter__(self) -> PushSender:
        self._session = aiohttp.ClientSession(timeout=self._timeout, middlewares=(self._only_push_services,))
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, target: Target, payload: bytes, *, urgency: str, topic: str) -> SendResult:
        assert self._session is not None, "use PushSender as an async context manager"
        # A fresh claims dict on every send: pywebpush writes into the one it is given.
        claims: dict[str, str | int] = {
            "sub": self._subject,
            "aud": audience(target.endpoint),
            "exp": int(time.time()) + VAPID_EXPIRY_SECONDS,
        }
        try:
            response = await webpush_async(
                subscription_info={"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}},
                data=payload.decode(),
                vapid_private_key=self._keys.signer,
                vapid_claims=claims,
                content_encoding="aes128gcm",
                ttl=TTL_SECONDS,
                headers={"Urgency": urgency, "Topic": topic},
                timeout=self._timeout,  # handed to aiohttp, which takes a ClientTimeout
                aiohttp_session=self._session,
            )
        except WebPushException as exc:
            response = exc.response
            if response is None:
                return SendResult(status=None, error=str(exc)[:200])
            return SendResult(
                status=response.status,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                error=f"{response.status} {response.reason or ''}".strip(),
            )
        except RefusedHost as exc:
            return SendResult(status=None, error=f"不允许的推送服务：{exc}", refused=True)
        except TimeoutError:
            return SendResult(status=None, error="推送服务无应答（超时）")
        except aiohttp.ClientError as exc:
            return SendResult(status=None, error=f"连接推送服务失败：{type(exc).__name__}")
        assert not isinstance(response, str)
        return SendResult(status=response.status)
