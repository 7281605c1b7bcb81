"""How busy a process's connection pool is, for /metrics: connections in use, requests waiting for one, the
pool's ceiling. Each process samples its own pool every few seconds; with several worker processes the gauges
are summed over the live ones (prometheus_client's multiprocess mode, `livesum`)."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from prometheus_client import Gauge

SAMPLE_SECONDS = 5.0

IN_USE = Gauge("ywtb_db_pool_in_use", "Pool connections running a query or transaction", multiprocess_mode="livesum")
WAITING = Gauge(
    "ywtb_db_pool_waiting", "Callers waiting for a free pool connection (pool exhausted)", multiprocess_mode="livesum"
)
MAX_SIZE = Gauge("ywtb_db_pool_max", "The pools' ceilings, summed over the processes", multiprocess_mode="livesum")


def waiting(pool: asyncpg.Pool) -> int:
    """asyncpg keeps free connections in an asyncio queue and has no public count of who waits on it: read the
    queue's waiters (tests/test_ops_metrics.py fails if an asyncpg upgrade moves them)."""
    queue = getattr(pool, "_queue", None)
    getters = getattr(queue, "_getters", None) or ()
    return sum(1 for getter in getters if not getter.done())


def sample(pool: asyncpg.Pool) -> None:
    IN_USE.set(pool.get_size() - pool.get_idle_size())
    WAITING.set(waiting(pool))
    MAX_SIZE.set(pool.get_max_size())


async def sample_forever(pool: asyncpg.Pool, every: float = SAMPLE_SECONDS) -> None:
    """Until cancelled (at shutdown)."""
    while True:
        with contextlib.suppress(Exception):  # a closing pool: the next sample is fine again, or we are stopping
            sample(pool)
        await asyncio.sleep(every)
