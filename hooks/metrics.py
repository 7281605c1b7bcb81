"""What the worker counts of webhooks, served with the push worker's own /metrics (same process, PUSH_METRICS_PORT):
deliveries by result."""

from __future__ import annotations

from prometheus_client import Counter

DELIVERIES = Counter(
    "ywtb_webhook_deliveries",
    "Webhook tries by result: delivered, retry (the receiver failed, tried again later), failed (for good)",
    ["result"],
)


def counted(result: str) -> None:
    DELIVERIES.labels(result).inc()
