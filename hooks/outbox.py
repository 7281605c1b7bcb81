"""Webhook deliveries queued with the event that causes them, in its transaction (app/cases/timeline.py calls this):
a rolled-back step is sent to nobody, and a committed one reaches every subscriber, however the worker fares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from db.pool import Tx
from hooks import store
from hooks.models import Event


async def emit(tx: Tx, events: Sequence[Event]) -> list[int]:
    """Queue each event for each live subscription of its department that serves the applicant's region, all in one
    statement however many events (a new case's task.created for each of its tasks); the ids of the deliveries
    queued. The body follows Standard Webhooks: {type, timestamp, data}."""
    if not events:
        return []
    timestamp = datetime.now(UTC).isoformat()
    delivery_ids = await store.queue_for_subscribers(
        tx,
        [
            (e.type, e.department_code, e.office_region, {"type": e.type, "timestamp": timestamp, "data": e.data})
            for e in events
        ],
    )
    await store.enqueue_deliveries(tx, delivery_ids)
    return delivery_ids
