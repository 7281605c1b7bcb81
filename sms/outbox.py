"""Texts queued with the case step that causes them, in its transaction (app/sms decides who is texted): a rolled-back
step texts nobody, and a committed one is sent however the worker fares."""

from __future__ import annotations

import logging

from db.pool import DB, Tx
from sms import store, texts
from sms.backends import SmsBackend
from sms.models import CaseText, Outgoing, TextState

log = logging.getLogger("sms")


async def within_daily_cap(db: DB, phone: str, cap: int) -> bool:
    """Count a text about to be sent outside the queue (a sign-up code) against the number's daily cap; False, and
    nothing counted, when the cap is reached."""
    return await store.count_towards_cap(db, phone, cap)


async def send_now(backend: SmsBackend, message: Outgoing) -> None:
    """Send a text at once, outside the queue: a sign-up code (app.accounts, as a background task once the answer has
    gone, after within_daily_cap). Not queued, because a code is worth nothing ten minutes on and the resident can ask
    again. A failing gateway is logged, never raised: nobody is waiting for it, and its failure must not show on the
    page (the page says the same either way)."""
    masked = texts.mask_phone(message.phone)
    try:
        result = await backend.send(message)
    except Exception:
        log.exception("短信 → %s: not sent", masked)
        return
    if result.outcome != "accepted":
        log.warning("短信 → %s: not sent (%s)", masked, result.error or result.outcome)


async def enqueue(tx: Tx, text: CaseText, *, urgent: bool) -> int | None:
    """Queue one text for the worker; its id, or None when this transaction queued the same step already.
    `urgent` (补正告知) jumps the queue when a backlog builds up."""
    return await store.queue_case_text(tx, text, priority=1 if urgent else 0)


async def state_of(db: DB, message_id: int) -> TextState | None:
    """Where a queued text stands; None once it is gone (purged)."""
    return await store.text_state(db, message_id)
