"""The texts' pgqueuer entrypoint, run by the one worker process (`python -m push.worker`, which wires it in): one
queue, one LISTEN connection, one reconnect and schema wait for push, webhooks and texts, and nothing of app/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from pgqueuer import Job, QueueManager

from db.jobs import retrying
from sms.delivery import Sending, deliver, given_up
from sms.store import SEND_ENTRYPOINT


class SentCount:
    delivered = 0


# Told of a text whose sending has ended (or was found ended: a repeated job), by its id: push/arrival.py follows the
# notices that must arrive. Handed in by the worker's composition root, so that sms/ imports nothing above it.
AfterText = Callable[[asyncpg.Pool, int], Awaitable[None]]


def register(queue: QueueManager, pool: asyncpg.Pool, sending: Sending, after: AfterText | None = None) -> SentCount:
    """Send texts from `queue`; the count of those the gateway took."""
    count = SentCount()

    async def send_given_up(job: Job) -> None:
        assert job.payload is not None
        message_id = int(job.payload)
        await given_up(pool, message_id)
        if after is not None:
            await after(pool, message_id)

    # The gateway's answers are handled in sms.delivery; the unexpected is retried (db/jobs.py), and a job given up on
    # ends its text as failed, so a notice that must arrive goes on to 未送达 rather than wait for it.
    @queue.entrypoint(SEND_ENTRYPOINT, on_failure="hold", executor_factory=retrying(send_given_up))
    async def send_sms(job: Job) -> None:  # pyright: ignore[reportUnusedFunction] -- registered by the decorator
        assert job.payload is not None
        message_id = int(job.payload)
        # A retry raises RetryRequested here, before `after`: the text has not ended yet.
        status = await deliver(pool, sending, message_id)
        if status == "delivered":
            count.delivered += 1
        if after is not None:
            await after(pool, message_id)

    return count
