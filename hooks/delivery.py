"""One delivery job: claim it, send it, record what the receiver said, and retry with backoff.

  2xx                       → delivered
  408, 429, 5xx, no answer  → tried again after the next delay (Retry-After when the receiver gives one, capped)
  anything else, or refused → failed (retrying will not help: a 4xx means the receiver will not take it)
  tries spent               → failed

Retries go back through pgqueuer (RetryRequested), so a retry survives the worker that scheduled it. A receiver may
see one event twice (a worker dying after the receiver answered): it drops a repeat by its webhook-id.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg
import msgspec
from pgqueuer.errors import RetryRequested

from hooks import metrics, store
from hooks.sender import SendResult, WebhookSender

log = logging.getLogger("hooks.delivery")


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Waits between tries: by default 7 tries within about 8.6 hours."""

    delays: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0, 7200.0, 21600.0)
    max_retry_after: float = 3600.0

    @property
    def max_tries(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, tries: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.delays[min(tries, len(self.delays)) - 1]


def _retryable(result: SendResult) -> bool:
    if result.refused:
        return False
    return result.status is None or result.status in (408, 429) or result.status >= 500


async def deliver(pool: asyncpg.Pool, sender: WebhookSender, policy: RetryPolicy, delivery_id: int) -> str | None:
    """Try one delivery; the status it reached (None: it had ended already). Raises RetryRequested for a retry."""
    row = await store.claim(pool, delivery_id)
    if row is None:
        return None
    if row.disabled:
        await store.mark(pool, delivery_id, "failed", None, "订阅已删除或客户端已停用，未发送")
        metrics.counted("failed")
        return "failed"
    body = msgspec.json.encode(row.payload).decode()
    result = await sender.send(row.url, row.message_id, body, row.secret)
    if result.accepted:
        await store.mark(pool, delivery_id, "delivered", result.status, None)
        metrics.counted("delivered")
        return "delivered"
    error = (result.error or f"HTTP {result.status}")[:300]
    if not _retryable(result) or row.attempts >= policy.max_tries:
        await store.mark(pool, delivery_id, "failed", result.status, error)
        log.warning("webhook delivery %s failed for good after %s tries: %s", delivery_id, row.attempts, error)
        metrics.counted("failed")
        return "failed"
    await store.mark(pool, delivery_id, "pending", result.status, error)
    metrics.counted("retry")
    delay = policy.delay_after(row.attempts, result.retry_after)
    raise RetryRequested(delay=timedelta(seconds=delay), reason=f"webhook delivery {delivery_id}: {error}")
