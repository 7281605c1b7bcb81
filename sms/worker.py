"""The texts' pgqueuer entrypoint, run by the one worker process (`python -m push.worker`, which wires it in): one
queue, one LISTEN connection, one reconnect and schema wait for push, webhooks and texts, and nothing of app/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from pgqueuer import DatabaseRetryEntrypointExecutor, Job, QueueManager
from pgqueuer.executors import EntrypointExecutorParameters

from sms.delivery import Sending, deliver
from sms.store import SEND_ENTRYPOINT


def _executor(parameters: EntrypointExecutorParameters) -> DatabaseRetryEntrypointExecutor:
    """For the unexpected only (the database gone for a moment); the gateway's answers are handled in sms.delivery."""
    return DatabaseRetryEntrypointExecutor(
        parameters=parameters, max_attempts=10, initial_delay=timedelta(seconds=2), max_delay=timedelta(minutes=5)
    )


class SentCount:
    delivered = 0


# Told of a text whose sending has ended (or was found ended: a repeated job), by its id: push/arrival.py follows the
# notices that must arrive. Handed in by the worker's composition root, so that sms/ imports nothing above it.
AfterText = Callable[[asyncpg.Pool, int], Awaitable[None]]


def register(queue: QueueManager, pool: asyncpg.Pool, sending: Sending, after: AfterText | None = None) -> SentCount:
    """Send texts from `queue`; the count of those the gateway took."""
    count = SentCount()

    @queue.entrypoint(SEND_ENTRYPOINT, on_failure="hold", executor_factory=_executor)
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
