"""Notices that must arrive (必达通知): followed from their timeline event until they are known to have reached the
resident, whatever becomes of the channels on the way.

  a push to a device of theirs, or the text, taken by its service   → delivered (推送 / 短信, with the time)
  every push ended in failure (or there was none), no text yet      → the text prepared with the step is queued now
  every push and the text ended in failure, or there was no number  → undelivered (未送达): a clerk phones or posts
  a clerk's phone call or paper notice, recorded                    → delivered (电话 / 纸质)

Which notices must arrive, and the text's number and words, are the app's (app.notifications.service.must_arrive,
app.sms.service); this module only follows them. It runs where the outcomes are known: the step's transaction
(`follow`) and the worker, once a push (push.delivery) or a text (sms.worker, handed `after_text` by push.worker) has
ended. Each of those locks the notice's row and decides again from what is stored — the notifications' and the text's
statuses — so two workers on two hosts, a job run twice or a worker killed half-way decide the same, and the text is
queued once: in the transaction that records it on the notice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg
import msgspec

from db.pool import DB, Tx
from i18n import DEFAULT_LANGUAGE, N_, _, current_language
from push import store
from push.models import Arrival, ArrivalToSettle, NoticeToFollow, PushOutcomes
from sms import outbox as sms_outbox
from sms.models import TextState

# How a channel of a notice stands: still trying, taken by its service, ended in failure, or never tried.
Channel = Literal["pending", "delivered", "failed", "none"]
# What follows from both channels: it has arrived, wait for a channel, queue the text now, or 未送达.
Next = Literal["delivered", "wait", "text", "undelivered"]

_TEXT_ENDED = frozenset({"permanent-failure", "technical-failure"})
UNDELIVERED_LIMIT = 50


def next_step(push: Channel, text: Channel, *, text_ready: bool) -> Next:
    """The rule of a notice that must arrive, from how its pushes and its text stand; `text_ready`: a text is
    prepared but not queued yet (it waits for the pushes)."""
    if "delivered" in (push, text):
        return "delivered"
    if "pending" in (push, text):
        return "wait"
    if text == "none" and text_ready:
        return "text"
    return "undelivered"


def push_channel(outcomes: PushOutcomes | None) -> Channel:
    if outcomes is None or outcomes.total == 0:
        return "none"
    if outcomes.delivered_at is not None:
        return "delivered"
    return "pending" if outcomes.pending else "failed"


def text_channel(sms_message_id: int | None, state: TextState | None) -> Channel:
    if sms_message_id is None:
        return "none"
    if state is None:  # purged: it ended long ago, and did not arrive (the notice would say so)
        return "failed"
    if state.status == "delivered":
        return "delivered"
    return "failed" if state.status in _TEXT_ENDED else "pending"


# Why a notice did not arrive, recorded in Chinese and drawn in the reader's language (failure_text).
_PUSH_FAILED = N_("推送未成功")
_NO_DEVICE = N_("没有可推送的设备")
_NO_ACCOUNT = N_("申请人没有账户，无法推送")
_TEXT_FAILED = N_("短信未成功")
_NO_PHONE = N_("没有可发短信的手机号码")
_SEPARATOR = "；"


def failure_of(
    *, in_inbox: bool, push: Channel, outcomes: PushOutcomes | None, text: Channel, state: TextState | None
) -> str:
    """Why a notice has not arrived, for the clerk who will phone: 「推送：HTTP 410；短信：该号码今日短信已达上限」."""
    if push == "failed":
        pushed = _PUSH_FAILED + (f"（{outcomes.last_error}）" if outcomes and outcomes.last_error else "")
    else:
        pushed = _NO_DEVICE if in_inbox else _NO_ACCOUNT
    if text == "failed":
        error = state.last_error if state and state.last_error else None
        texted = _TEXT_FAILED + (f"（{error}）" if error else "")
    else:
        texted = _NO_PHONE
    return f"{pushed}{_SEPARATOR}{texted}"


def failure_text(failure: str) -> str:
    """A recorded failure (failure_of: in Chinese, the record) in the reader's language: each of its two parts is one
    of the texts above, perhaps followed by the error the service answered (kept as it came)."""
    if current_language() == DEFAULT_LANGUAGE:
        return failure
    parts: list[str] = []
    for part in failure.split(_SEPARATOR):
        known, bracket, error = part.partition("（")
        parts.append(_(known) + (f" ({error.removesuffix('）')})" if bracket else ""))
    return "; ".join(parts)


async def follow(tx: Tx, notice: NoticeToFollow) -> int | None:
    """Start following a notice, in its timeline event's transaction (after its inbox entry, pushes and any text were
    queued); the row's id (None: this event is followed already). A resident no push can reach is texted at once;
    one no channel can reach is 未送达 at once."""
    entry = await store.inbox_entry_of(tx, notice.account_id, notice.event_id) if notice.account_id else None
    push: Channel = "pending" if entry and entry[1] else "none"
    text: Channel = "pending" if notice.text_id is not None else "none"
    step = next_step(push, text, text_ready=notice.fallback is not None)
    text_id, fallback = notice.text_id, notice.fallback
    if step == "text" and fallback is not None:
        text_id, fallback = await sms_outbox.enqueue(tx, fallback, urgent=True), None
    failure = None
    if step == "undelivered":
        failure = failure_of(in_inbox=entry is not None, push=push, outcomes=None, text=text, state=None)
    return await store.insert_arrival(
        tx,
        notice,
        inbox_entry_id=entry[0] if entry else None,
        sms_message_id=text_id,
        fallback_text=msgspec.to_builtins(fallback) if fallback is not None else None,
        state="undelivered" if step == "undelivered" else "sending",
        failure=failure,
    )


async def after_push(pool: asyncpg.Pool, notification_id: int) -> None:
    """A push has ended (or was found ended): the notice it belongs to, if any, takes it in."""
    async with pool.acquire() as tx, tx.transaction():
        arrival = await store.lock_arrival_of_notification(tx, notification_id)
        if arrival is not None:
            await _settle(tx, arrival)


async def after_text(pool: asyncpg.Pool, message_id: int) -> None:
    """A text has ended (or was found ended): the notice it belongs to, if any, takes it in."""
    async with pool.acquire() as tx, tx.transaction():
        arrival = await store.lock_arrival_of_text(tx, message_id)
        if arrival is not None:
            await _settle(tx, arrival)


async def _settle(tx: Tx, arrival: ArrivalToSettle) -> None:
    """Decide again, from the stored outcomes of both channels, with the notice's row locked."""
    outcomes = await store.push_outcomes(tx, arrival.inbox_entry_id) if arrival.inbox_entry_id is not None else None
    state = await sms_outbox.state_of(tx, arrival.sms_message_id) if arrival.sms_message_id is not None else None
    push, text = push_channel(outcomes), text_channel(arrival.sms_message_id, state)
    step = next_step(push, text, text_ready=arrival.fallback_text is not None)
    sms_message_id = arrival.sms_message_id
    if step == "text" and arrival.fallback_text is not None:
        sms_message_id = await sms_outbox.enqueue(tx, arrival.fallback_text, urgent=True)
    pushed_at: datetime | None = arrival.pushed_at or (outcomes.delivered_at if outcomes else None)
    texted_at = arrival.texted_at or (state.sent_at if state is not None and text == "delivered" else None)
    if arrival.by_hand or pushed_at or texted_at:
        settled = "delivered"
    else:
        settled = "undelivered" if step == "undelivered" else "sending"
    failure = None
    if settled == "undelivered" and arrival.undelivered_at is None:
        in_inbox = arrival.inbox_entry_id is not None
        failure = failure_of(in_inbox=in_inbox, push=push, outcomes=outcomes, text=text, state=state)
    await store.settle_arrival(
        tx,
        arrival.id,
        state=settled,
        pushed_at=pushed_at,
        texted_at=texted_at,
        sms_message_id=sms_message_id,
        # The prepared text (a phone number) is kept only while it may still be needed.
        keep_fallback=settled == "sending" and step != "text",
        failure=failure,
    )


# --- what the app reads and records -------------------------------------------------------------------------------


async def of_case(db: DB, case_id: int) -> list[Arrival]:
    """A case's notices that must arrive, in the order they went out."""
    return await store.arrivals_of_case(db, case_id)


async def undelivered(db: DB, region_prefix: str, limit: int = UNDELIVERED_LIMIT) -> list[Arrival]:
    """未送达 notices of residents in a region (the prefix of its code), the longest waiting first."""
    return await store.undelivered_arrivals(db, region_prefix, limit)


async def lock(tx: Tx, arrival_id: int) -> Arrival | None:
    return await store.lock_arrival(tx, arrival_id)


async def record_by_hand(tx: Tx, arrival_id: int, *, channel: str, account_id: int, note: str | None) -> Arrival | None:
    """A clerk phoned the resident or posted a paper notice (`channel`: phone | paper): the notice has arrived. None
    when a phone call or paper notice was recorded for it already."""
    return await store.record_by_hand(tx, arrival_id, channel=channel, account_id=account_id, note=note)
