"""Webhook deliveries queued with the event that causes them, in its transaction (app/cases/timeline.py calls this):
a rolled-back step is sent to nobody, and a committed one reaches every subscriber, however the worker fares."""

from __future__ import annotations

from datetime import UTC, datetime

from db.pool import Tx
from hooks import store
from hooks.models import Event


async def emit(tx: Tx, event: Event) -> list[int]:
    """Queue the event for each live subscription of its department that serves the applicant's region; the ids of
    the deliveries queued. The body follows Standard Webhooks: {type, timestamp, data}."""
    payload = {"type": event.type, "timestamp": datetime.now(UTC).isoformat(), "data": event.data}
    delivery_ids = await store.queue_for_subscribers(
        tx, event.type, event.department_code, event.office_region, payload
    )
    await store.enqueue_deliveries(tx, delivery_ids)
    return delivery_ids
