"""What a push worker counts, served on its own port (PUSH_METRICS_PORT; off when 0) at /metrics to the addresses
in METRICS_ALLOWED, as the web's: deliveries by result, the time from the event to the device, and the worker's
connection pool (db/pool_usage.py). The queue itself (jobs queued, sending, failed) is read from the database by
the web's /metrics. Each worker is one process and one scrape target; Prometheus adds the workers up.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

log = logging.getLogger("push.metrics")

DELIVERIES = Counter(
    "ywtb_push_deliveries",
    "Push sends by result: delivered, temporary-failure (retried), permanent-failure (device gone), "
    "technical-failure (retries spent or refused)",
    ["result"],
)
# From the timeline event to the push service accepting it: queueing, retries and the send itself.
DELIVERY_LATENCY = Histogram(
    "ywtb_push_delivery_latency_seconds",
    "Time from the event to the push service accepting its notification",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0),
)


def delivered(latency_ms: int | None) -> None:
    DELIVERIES.labels("delivered").inc()
    if latency_ms is not None:
        DELIVERY_LATENCY.observe(latency_ms / 1000)


def failed(result: str) -> None:
    DELIVERIES.labels(result).inc()


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def metrics_app(allowed: Iterable[str]) -> web.Application:
    networks = tuple(ipaddress.ip_network(cidr) for cidr in allowed)

    async def scrape(request: web.Request) -> web.Response:
        try:
            address = ipaddress.ip_address(request.remote or "")
        except ValueError:
            address = None
        if address is None or not any(address in network for network in networks):
            raise web.HTTPNotFound()
        return web.Response(body=generate_latest(_registry()), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app


async def serve_metrics(host: str, port: int, allowed: Iterable[str]) -> web.AppRunner:
    """Listening until the runner is cleaned up (`await runner.cleanup()`)."""
    runner = web.AppRunner(metrics_app(allowed), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("push worker metrics on http://%s:%s/metrics", host, port)
    return runner
