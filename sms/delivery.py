"""One send job: claim the text, count it against the number's daily cap, hand it to the gateway, record the answer.

  accepted          → delivered (the gateway took it; the carrier's receipt is the gateway's)
  bad number, cap   → permanent-failure (this number cannot be texted, or not again today)
  busy, no answer   → temporary-failure, retried with backoff
  refused           → technical-failure (credentials, sign, template: retrying will not help), as are spent tries
  job given up on   → technical-failure, by `given_up` (it kept raising something unexpected: db/jobs.py)

Retries go back through pgqueuer (RetryRequested), so a retry survives the worker that scheduled it. A try counts
against the cap only the first time: a retry is the same text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
import msgspec
from pgqueuer.errors import RetryRequested

from db.jobs import GIVEN_UP
from sms import store, texts
from sms.backends import SmsBackend
from sms.models import Outgoing

log = logging.getLogger("sms.delivery")
CAPPED = "该号码今日短信已达上限（SMS_DAILY_CAP_PER_NUMBER），未发送"


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Waits between tries: by default 5 tries within about 41 minutes (as push)."""

    delays: tuple[float, ...] = (30.0, 120.0, 480.0, 1800.0)

    @property
    def max_tries(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, tries: int) -> float:
        return self.delays[min(tries, len(self.delays)) - 1]


@dataclass(frozen=True, kw_only=True)
class Sending:
    """What the worker sends with: the gateway, the cap, and PUBLIC_URL for the tracking links."""

    backend: SmsBackend
    public_url: str
    daily_cap: int
    policy: RetryPolicy = field(default_factory=RetryPolicy)


def outgoing(row_phone: str, template: str, params: dict[str, str], public_url: str) -> Outgoing:
    """A queued case text carries the tracking link's path; the link the phone gets is absolute."""
    if "path" in params:
        params = {k: v for k, v in params.items() if k != "path"} | {"link": public_url + params["path"]}
    return Outgoing(phone=row_phone, template=template, params=params)


async def deliver(pool: asyncpg.Pool, sending: Sending, message_id: int) -> str | None:
    """Send one text; the status it reached (None: it had ended already). Raises RetryRequested for a retry."""
    row = await store.claim(pool, message_id)
    if row is None:
        return None
    if row.attempts == 1 and not await store.count_towards_cap(pool, row.phone, sending.daily_cap):
        await store.mark(pool, message_id, "permanent-failure", CAPPED)
        log.warning("短信 %s → %s: daily cap reached, not sent", message_id, texts.mask_phone(row.phone))
        return "permanent-failure"
    result = await sending.backend.send(outgoing(row.phone, row.template, row.params, sending.public_url))
    if result.outcome == "accepted":
        await store.mark(pool, message_id, "delivered", None, result.provider_id)
        return "delivered"
    error = (result.error or result.outcome)[:300]
    if result.outcome == "bad-number":
        await store.mark(pool, message_id, "permanent-failure", error)
        return "permanent-failure"
    if result.outcome == "refused" or row.attempts >= sending.policy.max_tries:
        await store.mark(pool, message_id, "technical-failure", error)
        log.warning("短信 %s failed for good after %s tries: %s", message_id, row.attempts, error)
        return "technical-failure"
    await store.mark(pool, message_id, "temporary-failure", error)
    delay = sending.policy.delay_after(row.attempts)
    raise RetryRequested(delay=timedelta(seconds=delay), reason=f"短信 {message_id}: {error}")


async def given_up(pool: asyncpg.Pool, message_id: int) -> bool:
    """The worker gave up on the text's job: it has ended in failure, if it had not ended; whether it had not."""
    ended = await store.end_unsent(pool, message_id, GIVEN_UP)
    if ended:
        log.warning("短信 %s given up on: its job kept failing", message_id)
    return ended
