"""Sending one webhook: the body signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature, by
the `standardwebhooks` package), POSTed only where WEBHOOK_ALLOWED_HOSTS allows (hooks.targets), no redirects."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import aiohttp
import msgspec
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from standardwebhooks.webhooks import Webhook

from hooks.targets import address_allowed, host_allowed

SEND_TIMEOUT_SECONDS = 10
USER_AGENT = "ywtb-webhooks/1 (+https://ywtb.changzhou.gov.cn.example/docs/exchange)"


# Beside their only user: hooks.targets, which web workers import to check a URL, stays free of aiohttp.
class RefusedAddress(OSError):
    """A name resolving only to addresses a webhook may not reach."""


class CheckedResolver(AbstractResolver):
    """The system's resolver, keeping only the addresses a webhook may reach (address_allowed)."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self._allowed = allowed
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept = [r for r in results if address_allowed(r["host"], self._allowed)]
        if not kept:
            raise RefusedAddress(f"{host} resolves only to addresses outside WEBHOOK_ALLOWED_HOSTS")
        return kept

    async def close(self) -> None:
        await self._inner.close()


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """status: the receiver's HTTP status, or None when no answer came (`refused`: we would not send there)."""

    status: int | None
    error: str | None = None
    refused: bool = False
    retry_after: float | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class RefusedHost(aiohttp.ClientError):
    """A request to a host outside WEBHOOK_ALLOWED_HOSTS."""


def signed_headers(secret: str, message_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    moment = now or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, body),
    }


class WebhookSender:
    """One per worker: a pooled HTTP session whose every request and connection is checked against the allow-list."""

    def __init__(self, allowed_hosts: tuple[str, ...], *, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self._allowed = allowed_hosts
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def _only_allowed_hosts(
        self, request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        # Again at send time: WEBHOOK_ALLOWED_HOSTS may have been narrowed since the client subscribed.
        if not host_allowed(request.url.host or "", self._allowed):
            raise RefusedHost(request.url.host)
        return await handler(request)

    async def __aenter__(self) -> WebhookSender:
        connector = aiohttp.TCPConnector(resolver=CheckedResolver(self._allowed))
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, connector=connector, middlewares=(self._only_allowed_hosts,)
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, url: str, message_id: str, body: str, secret: str) -> SendResult:
        assert self._session is not None, "use WebhookSender as an async context manager"
        headers = signed_headers(secret, message_id, body)
        try:
            async with self._session.post(url, data=body.encode(), headers=headers, allow_redirects=False) as answer:
                retry_after = answer.headers.get("Retry-After", "")
                return SendResult(
                    status=answer.status,
                    error=None if answer.status < 300 else f"HTTP {answer.status}",
                    retry_after=float(retry_after) if retry_after.isdigit() else None,
                )
        except (RefusedHost, RefusedAddress) as exc:
            return SendResult(status=None, error=f"回调地址不在允许范围内：{exc}", refused=True)
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                return SendResult(status=None, error=f"回调地址不在允许范围内：{exc.os_error}", refused=True)
            return SendResult(status=None, error=f"无法连接回调地址：{type(exc).__name__}")
        except TimeoutError:
            return SendResult(status=None, error="回调地址无应答（超时）")
        except aiohttp.ClientError as exc:
            return SendResult(status=None, error=f"回调失败：{type(exc).__name__}")
