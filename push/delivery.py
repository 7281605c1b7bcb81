"""One send job: claim the notification, push it, and record what the push service answered.

  2xx            → delivered (latency from the event recorded)
  404, 410       → the browser dropped the subscription: permanent-failure, device removed
  429            → temporary-failure, retried after Retry-After
  5xx, no answer → temporary-failure, retried with backoff
  tries spent    → technical-failure (as is any other refusal, e.g. 400/403/413: retrying will not help)
  the job given up on (it kept raising something unexpected: db/jobs.py) → technical-failure, by `given_up`

Retries go back through pgqueuer (RetryRequested), so a retry survives the worker that scheduled it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import asyncpg
import msgspec
from pgqueuer.errors import RetryRequested

from db.jobs import GIVEN_UP
from push import arrival, metrics, store
from push.models import ClaimedNotification, Payload
from push.sender import PushSender, SendResult, Target

log = logging.getLogger("push.delivery")
PAYLOAD_MAX_BYTES = 3 * 1024


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Waits between tries. The default makes 5 tries within about 41 minutes."""

    delays: tuple[float, ...] = (30.0, 120.0, 480.0, 1800.0)
    # A push service asking for more than this gets it capped: the inbox has the message meanwhile.
    max_retry_after: float = 3600.0

    @property
    def max_tries(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, tries: int, retry_after: float | None) -> float:
        backoff = self.delays[min(tries, len(self.delays)) - 1]
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return backoff


def payload_of(row: ClaimedNotification) -> bytes:
    """The JSON the service worker reads; the body is shortened if it would pass 3 KB."""
    payload = Payload(
        title=row.title,
        body=row.body,
        url=row.url,
        case_no=row.case_no,
        event_id=row.event_id,
        notice_id=row.notice_id,
    )
    encoded = msgspec.json.encode(payload)
    while len(encoded) > PAYLOAD_MAX_BYTES and payload.body:
        payload = msgspec.structs.replace(payload, body=payload.body[: len(payload.body) // 2] + "…")
        encoded = msgspec.json.encode(payload)
    return encoded


def _describe(result: SendResult) -> str:
    return (result.error or f"HTTP {result.status}")[:300]


async def deliver(pool: asyncpg.Pool, sender: PushSender, policy: RetryPolicy, notification_id: int) -> str | None:
    """Send one notification; returns the status it reached (None if it had already ended).
    Raises RetryRequested when pgqueuer should run the job again later.

    Once it has ended, a notice that must arrive hears of it (push.arrival): it may fall back to a text. A job run
    again (its worker died after the send) tells it again: telling is idempotent, and may not have happened."""
    row = await store.claim(pool, notification_id)
    if row is None:
        # Delivered or failed for good already: a duplicate job, nothing to send.
        await arrival.after_push(pool, notification_id)
        return None
    status = await _send(pool, sender, policy, row)
    if row.followed:
        await arrival.after_push(pool, notification_id)
    return status


async def given_up(pool: asyncpg.Pool, notification_id: int) -> None:
    """The worker gave up on the notification's job: the push has ended in failure (if it had not ended), and a notice
    that must arrive hears of it, as after any failure: it goes on to its text, or to 未送达."""
    if await store.end_unsent(pool, notification_id, GIVEN_UP):
        metrics.failed("technical-failure")
        log.warning("notification %s given up on: its job kept failing", notification_id)
    await arrival.after_push(pool, notification_id)


async def _send(pool: asyncpg.Pool, sender: PushSender, policy: RetryPolicy, row: ClaimedNotification) -> str:
    """Push a claimed notification and record the answer; the status reached (RetryRequested for a retry)."""
    notification_id = row.id
    if row.endpoint is None or row.p256dh is None or row.auth is None:  # the device was removed (all or none)
        await store.mark_device_gone(pool, notification_id, None, "设备已移除")
        metrics.failed("permanent-failure")
        return "permanent-failure"
    target = Target(endpoint=row.endpoint, p256dh=row.p256dh, auth=row.auth)
    result = await sender.send(target, payload_of(row), urgency=row.urgency, topic=row.topic)
    if result.accepted:
        metrics.delivered(await store.mark_delivered(pool, notification_id))
        return "delivered"
    if result.status in (404, 410):
        await store.mark_device_gone(pool, notification_id, row.subscription_id, _describe(result))
        metrics.failed("permanent-failure")
        return "permanent-failure"
    retryable = not result.refused and (result.status is None or result.status == 429 or result.status >= 500)
    tries = row.attempts
    if not retryable or tries >= policy.max_tries:
        await store.mark_failed(pool, notification_id, "technical-failure", _describe(result))
        metrics.failed("technical-failure")
        log.warning("notification %s failed for good after %s tries: %s", notification_id, tries, _describe(result))
        return "technical-failure"
    await store.mark_failed(pool, notification_id, "temporary-failure", _describe(result))
    metrics.failed("temporary-failure")
    delay = policy.delay_after(tries, result.retry_after)
    raise RetryRequested(delay=timedelta(seconds=delay), reason=f"notification {notification_id}: {_describe(result)}")
