"""`/metrics` in the Prometheus text format, for the addresses in METRICS_ALLOWED only (a 404 to anyone else).

Two kinds of series:

- Counted in the process: HTTP requests by route template (app/ops/requests.py), SMS sent and failed, audit
  outcomes and rate-limit refusals (auth/metrics.py), the connection pool (db/pool_usage.py). Under `python -m
  app serve` every granian worker writes them to files in one folder (prometheus_client's multiprocess mode,
  PROMETHEUS_MULTIPROC_DIR, set by `serve` before the workers start), and whichever worker answers a scrape adds
  up all of them: one scrape of a host counts every worker, dead ones' counters included.
- Read from the database on a scrape: readiness and push jobs by state at most every CACHE_SECONDS per worker
  (under a millisecond), open and overdue tasks by department office at most every TASKS_CACHE_SECONDS (they move
  in hours; the read is a pass over the open tasks: 70 ms for 27,000 open among 600,000, 270 ms for 500,000 open).
  The same on every host, so dashboards take max() across instances, not sum().
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
import shutil
import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.cases import service as cases
from app.cases.models import TaskCount
from app.ops import probes
from app.web.params import AppSettings, Db
from auth.access import public
from db.pool import DB, database_unavailable
from db.pool_usage import sample_forever
from push import outbox
from push.models import JobCount
from sms.backends import SmsBackend
from sms.models import Outgoing, SendResult

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The classic text format every Prometheus reads (Litestar adds the charset); our names need no newer escaping.
CONTENT_TYPE = "text/plain; version=0.0.4"
# A scrape every 15 s from two Prometheus servers still reads the database at most once per worker in this time.
CACHE_SECONDS = 10.0
TASKS_CACHE_SECONDS = 60.0
# From a 5 ms static file to a 10 s upload; the tracking page's p99 target (50 ms) falls on a bucket edge.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "ywtb_http_requests", "HTTP requests answered, by method, route template and status", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "ywtb_http_request_duration_seconds",
    "Time to answer, by method and route template",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
)
SMS_MESSAGES = Counter("ywtb_sms_messages", "Text messages handed to the SMS backend, by result", ["result"])


class CountedSms:
    """The SMS backend (SMS_BACKEND), counting what it sent and what failed."""

    def __init__(self, backend: SmsBackend) -> None:
        self.backend = backend

    async def send(self, message: Outgoing) -> SendResult:
        try:
            result = await self.backend.send(message)
        except Exception:
            SMS_MESSAGES.labels("failed").inc()
            raise
        SMS_MESSAGES.labels("sent" if result.outcome == "accepted" else "failed").inc()
        return result


# --- several worker processes -----------------------------------------------------------------------------------


def use_multiprocess_dir(data_dir: Path, port: int) -> Path:
    """Called by `serve` before granian starts its workers: a folder of this host's port, emptied (a previous run's
    files would be added to this one's), named in the environment the workers inherit."""
    directory = data_dir / "metrics" / f"web-{port}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes() -> None:
    """Gauges of workers that died without a word (granian starts a new one) would be added up for ever: drop
    them. Counters stay: what a dead worker counted still happened."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), directory)  # type: ignore[no-untyped-call]


@asynccontextmanager
async def process_metrics(app: Litestar) -> AsyncGenerator[None, None]:
    """Lifespan: sample the pool every few seconds while the worker lives; its gauges go with it."""
    forget_dead_processes()
    sampler = asyncio.create_task(sample_forever(app.state.pool))
    try:
        yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        if directory := os.environ.get(MULTIPROC_ENV):
            multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


def _process_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


# --- read from the database -------------------------------------------------------------------------------------


class Queue(msgspec.Struct, frozen=True):
    readiness: probes.Readiness
    jobs: list[JobCount]
    seconds: float  # what reading them took


class Tasks(msgspec.Struct, frozen=True):
    counts: list[TaskCount]
    seconds: float


class Snapshot(msgspec.Struct, frozen=True):
    queue: Queue
    tasks: Tasks


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        s = self.snapshot
        readiness = s.queue.readiness
        ready = _gauge("ywtb_ready", "1 when the check of /healthz/ready passes, else 0", ("check",))
        for check in ("database", "migrations", "push_key"):
            ready.add_metric([check], 1.0 if getattr(readiness, check) == "ok" else 0.0)
        yield ready
        open_tasks = _gauge(
            "ywtb_tasks_open", "Tasks not yet delivered or refused", ("department", "district", "status")
        )
        overdue = _gauge(
            "ywtb_tasks_overdue", "Tasks past their promised date and not yet completed", ("department", "district")
        )
        late: dict[tuple[str, str], int] = {}
        for t in s.tasks.counts:
            open_tasks.add_metric([t.department, t.district, t.status], t.open)
            late[(t.department, t.district)] = late.get((t.department, t.district), 0) + t.overdue
        for (department, district), count in sorted(late.items()):
            overdue.add_metric([department, district], count)
        yield open_tasks
        yield overdue
        jobs = _gauge("ywtb_push_jobs", "Push send jobs in the queue by state", ("state",))
        by_state = {"queued": 0, "delayed": 0, "sending": 0, "failed": 0} | {j.state: j.jobs for j in s.queue.jobs}
        for state, count in by_state.items():
            jobs.add_metric([state], count)
        yield jobs
        oldest = _gauge("ywtb_push_oldest_due_job_seconds", "How long the oldest push job due now has waited")
        oldest.add_metric([], max((j.oldest_due_seconds for j in s.queue.jobs), default=0.0))
        yield oldest
        cost = _gauge("ywtb_metrics_query_seconds", "Time the last read of the database gauges took", ("part",))
        cost.add_metric(["queue"], s.queue.seconds)
        cost.add_metric(["tasks"], s.tasks.seconds)
        yield cost


class DatabaseGauges:
    """The database's gauges of one worker, each part read again once older than its cache time; concurrent scrapes
    share one read."""

    def __init__(self, cache_seconds: float = CACHE_SECONDS, tasks_cache_seconds: float = TASKS_CACHE_SECONDS) -> None:
        self.cache_seconds = cache_seconds
        self.tasks_cache_seconds = tasks_cache_seconds
        self._queue: tuple[float, Queue] | None = None
        self._tasks: tuple[float, Tasks] | None = None
        self._lock = asyncio.Lock()

    async def snapshot(self, db: DB, data_dir: Path) -> Snapshot:
        async with self._lock:
            now = time.monotonic()
            if self._queue is None or now - self._queue[0] >= self.cache_seconds:
                self._queue = (now, await self._read_queue(db, data_dir))
            if self._queue[1].readiness.database == "ok" and (
                self._tasks is None or now - self._tasks[0] >= self.tasks_cache_seconds
            ):
                tasks = await self._read_tasks(db)
                if tasks is not None:  # else the last counts stand until the database is back
                    self._tasks = (now, tasks)
            return Snapshot(queue=self._queue[1], tasks=self._tasks[1] if self._tasks else Tasks([], 0.0))

    @staticmethod
    async def _read_queue(db: DB, data_dir: Path) -> Queue:
        started = time.perf_counter()
        readiness = await probes.readiness(db, data_dir)
        jobs: list[JobCount] = []
        if readiness.database == "ok":
            try:
                jobs = await outbox.queue_counts(db)
            except Exception as exc:  # gone since the readiness read: the next one says so
                if database_unavailable(exc) is None:
                    raise
        return Queue(readiness=readiness, jobs=jobs, seconds=time.perf_counter() - started)

    @staticmethod
    async def _read_tasks(db: DB) -> Tasks | None:
        started = time.perf_counter()
        try:
            counts = await cases.open_task_counts(db)
        except Exception as exc:
            if database_unavailable(exc) is None:
                raise
            return None
        return Tasks(counts=counts, seconds=time.perf_counter() - started)

    async def exposition(self, db: DB, data_dir: Path) -> bytes:
        registry = CollectorRegistry()
        registry.register(_SnapshotCollector(await self.snapshot(db, data_dir)))
        return generate_latest(registry)


# --- the endpoint -----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def metrics_allowed(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: the client's own address (after TRUSTED_PROXIES, app/web/proxies.py) must be in METRICS_ALLOWED.
    Anyone else is told there is nothing here, as for any unknown path."""
    # The address after TRUSTED_PROXIES; Litestar types the scope per kind of connection, read here the same way.
    client = cast("Mapping[str, Any]", connection.scope).get("client")
    try:
        address = ipaddress.ip_address(client[0]) if client else None
    except ValueError:
        address = None
    allowed = _networks(connection.app.state.settings.metrics_allowed)
    if address is None or not any(address in network for network in allowed):
        raise NotFoundException()


@get(
    "/metrics",
    opt=public(),
    guards=[metrics_allowed],
    include_in_schema=False,
    media_type=CONTENT_TYPE,
)
async def metrics(request: Request[Any, Any, Any], db: Db, settings: AppSettings) -> Response[bytes]:
    process = generate_latest(_process_registry())
    database = await request.app.state.database_gauges.exposition(db, settings.data_dir)
    return Response(process + database, media_type=CONTENT_TYPE)
