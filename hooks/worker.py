"""The webhook deliveries' pgqueuer entrypoint, run by the one worker process (`python -m push.worker`, which wires it
in): one queue, one LISTEN connection, one reconnect and schema wait for both kinds of job, and nothing of app/."""

from __future__ import annotations

import asyncpg
from pgqueuer import Job, QueueManager

from db.jobs import retrying
from hooks.delivery import RetryPolicy, deliver
from hooks.sender import WebhookSender
from hooks.store import DELIVER_ENTRYPOINT


class DeliveryCount:
    delivered = 0


def register(queue: QueueManager, pool: asyncpg.Pool, sender: WebhookSender, policy: RetryPolicy) -> DeliveryCount:
    """Deliver webhooks from `queue`; the count of those delivered."""
    count = DeliveryCount()

    # A receiver's answers are handled in hooks.delivery; the unexpected is retried (db/jobs.py).
    @queue.entrypoint(DELIVER_ENTRYPOINT, on_failure="hold", executor_factory=retrying())
    async def deliver_webhook(job: Job) -> None:  # pyright: ignore[reportUnusedFunction] -- registered by the decorator
        assert job.payload is not None
        if await deliver(pool, sender, policy, int(job.payload)) == "delivered":
            count.delivered += 1

    return count
