"""`python -m push.worker`: sends queued push notifications, webhooks and texts. Run as many as you like, on any
machines.

Webhooks to the departments' systems (hooks/) are jobs of the same pgqueuer queue under their own entrypoint: one
worker process serves both, so there is one LISTEN connection, one reconnect and one schema wait to operate, and
hooks/ stays free of app/ as push/ is (WEBHOOK_ALLOWED_HOSTS limits where they go). Texts to residents' phones (sms/:
SMS_BACKEND, SMS_DAILY_CAP_PER_NUMBER) are a third entrypoint of the same queue, for the same reasons; reminders due
at a set time (push.scheduled: an appointment's, the day before) a fourth, each a delayed job.

pgqueuer hands each job to one worker (FOR UPDATE SKIP LOCKED), so two workers never send the same
notification at once. A worker that dies mid-send stops its heartbeat; after `--heartbeat-seconds`
another worker picks the job up again, so nothing is lost (the device may then get the message twice,
and its service worker drops the repeated event id).

This module is the worker process's composition root, as app/main.py is the web's: it reads the
shared settings (config/settings.py: DATABASE_URL, DATABASE_DIRECT_URL and DATABASE_POOLING, DATA_DIR for the
VAPID key, VAPID_SUBJECT, PUSH_ALLOWED_HOSTS; SMS_BACKEND and its SMS_* settings, PUBLIC_URL; LOG_FORMAT;
PUSH_METRICS_PORT, HOST and METRICS_ALLOWED for its /metrics) and imports nothing of app/.

It does not migrate the database: some migrations have data steps that need the app's code and keys (sealing
e-certificate numbers), and one migrator is simpler than two. A worker that finds migrations its code expects
still pending waits, saying which ones in its log, until `python -m app migrate` (or `serve`) has applied them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from datetime import timedelta

import asyncpg
import msgspec
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager
from pgqueuer.types import QueueExecutionMode

from config.logging import configure_process
from config.settings import Settings, SettingsError, load_settings
from db.connect import open_pool, resolve_direct_database_url
from db.jobs import retrying
from db.migrate import pending_migrations
from db.pool import database_unavailable
from db.pool_usage import sample_forever
from hooks import worker as hooks_worker
from hooks.delivery import RetryPolicy as WebhookRetryPolicy
from hooks.sender import WebhookSender
from push import arrival, metrics, scheduled
from push.delivery import RetryPolicy, deliver, given_up
from push.keys import load_or_create
from push.sender import PushSender
from push.store import SCHEDULED_ENTRYPOINT, SEND_ENTRYPOINT
from sms import worker as sms_worker
from sms.backends import backend_for as sms_backend_for
from sms.delivery import Sending as SmsSending

log = logging.getLogger("push.worker")
# How long a worker that lost the database waits before connecting again.
RECONNECT_SECONDS = 2.0
# How often a worker waiting for migrations looks again.
SCHEMA_POLL_SECONDS = 2.0


class WorkerOptions(msgspec.Struct, frozen=True, kw_only=True):
    concurrency: int = 50  # notifications in flight at once in this process
    batch_size: int = 10  # jobs taken from the queue per round trip
    heartbeat_seconds: float = 30.0  # a job silent this long belongs to a dead worker and is taken again
    # Look at the queue this often while it is empty: how soon a job queued then is taken (queueing one sends no
    # NOTIFY, whose commit would lock the whole database: migration 0043), and a dead worker's job noticed. A busy
    # worker goes straight on to the next jobs.
    idle_poll_seconds: float = 0.25


class PushWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        queue_connection: asyncpg.Connection,
        sender: PushSender,
        policy: RetryPolicy | None = None,
        options: WorkerOptions | None = None,
        webhooks: WebhookSender | None = None,
        webhook_policy: WebhookRetryPolicy | None = None,
        sms: SmsSending | None = None,
    ) -> None:
        """`queue_connection` is pgqueuer's own (it LISTENs on it) and must be a plain asyncpg
        connection; `pool` is ours, with the app's codecs, for reading and updating notifications.
        `webhooks`: also deliver the departments' webhooks (hooks/) from the same queue; `sms`: also send texts."""
        self.options = options or WorkerOptions()
        policy = policy or RetryPolicy()
        self.sent = 0
        self._queue = QueueManager(Queries(AsyncpgDriver(queue_connection)))
        self.webhooks = (
            hooks_worker.register(self._queue, pool, webhooks, webhook_policy or WebhookRetryPolicy())
            if webhooks is not None
            else None
        )
        # A text that ends may settle a notice that must arrive (push.arrival), as a push that ends does.
        self.texts = sms_worker.register(self._queue, pool, sms, after=arrival.after_text) if sms is not None else None

        async def send_given_up(job: Job) -> None:
            assert job.payload is not None
            await given_up(pool, int(job.payload))

        # The push service's answers are handled in push.delivery; the unexpected is retried (db/jobs.py), and a job
        # given up on ends its push as failed, so a notice that must arrive does not wait for it.
        @self._queue.entrypoint(SEND_ENTRYPOINT, on_failure="hold", executor_factory=retrying(send_given_up))
        async def send(job: Job) -> None:
            assert job.payload is not None
            if await deliver(pool, sender, policy, int(job.payload)) == "delivered":
                self.sent += 1

        # A reminder (scheduled_notices) at its time: into the inbox, with a send job per device (above).
        @self._queue.entrypoint(SCHEDULED_ENTRYPOINT, on_failure="hold", executor_factory=retrying())
        async def release_scheduled(job: Job) -> None:  # pyright: ignore[reportUnusedFunction] -- registered by the decorator
            assert job.payload is not None
            await scheduled.release(pool, int(job.payload))

    async def run(self, *, drain: bool = False) -> None:
        """Send until stop(); with drain=True, return once the queue is empty (tests, the bench)."""
        options = self.options
        await self._queue.run(
            dequeue_timeout=timedelta(seconds=options.idle_poll_seconds),
            batch_size=options.batch_size,
            mode=QueueExecutionMode.drain if drain else QueueExecutionMode.continuous,
            max_concurrent_tasks=max(options.concurrency, 2 * options.batch_size),
            heartbeat_timeout=timedelta(seconds=options.heartbeat_seconds),
        )

    def stop(self) -> None:
        self._queue.shutdown.set()


class Reconnecting:
    """A PushWorker per connection to the database: when the database goes away (a restart, a fail-over) it is
    waited for and connected to again. Jobs cut off meanwhile come back after `--heartbeat-seconds`, as after
    a crash."""

    def __init__(
        self,
        database_url: str,
        pool: asyncpg.Pool,
        sender: PushSender,
        public_key: str,
        options: WorkerOptions,
        webhooks: WebhookSender | None = None,
        sms: SmsSending | None = None,
    ) -> None:
        self.database_url = database_url
        self.sms = sms
        self.pool = pool
        self.sender = sender
        self.webhooks = webhooks
        self.public_key = public_key
        self.options = options
        self.workers: list[PushWorker] = []  # the live one last
        self.stopping = asyncio.Event()

    @property
    def sent(self) -> int:
        return sum(w.sent for w in self.workers)

    def stop(self) -> None:
        self.stopping.set()
        for worker in self.workers:
            worker.stop()

    async def run(self, *, drain: bool) -> None:
        while not self.stopping.is_set():
            try:
                await self._run_connected(drain=drain)
                return
            except Exception as exc:
                cause = database_unavailable(exc)
                if cause is None:
                    raise
                log.warning(
                    "database unavailable (%s: %s); connecting again in %.0f s",
                    type(cause).__name__,
                    cause,
                    RECONNECT_SECONDS,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), RECONNECT_SECONDS)

    async def _wait_for_schema(self, connection: asyncpg.Connection) -> None:
        """Until the database has every migration this code expects (or the worker is stopped)."""
        said: list[str] = []
        while (pending := await pending_migrations(connection)) and not self.stopping.is_set():
            if pending != said:
                log.warning(
                    "push worker waiting for the database schema: %s not applied yet; "
                    "`python -m app migrate` (or `serve`) applies them",
                    ", ".join(pending),
                )
                said = pending
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), SCHEMA_POLL_SECONDS)

    async def _run_connected(self, *, drain: bool) -> None:
        """Until stopped or drained; raises when the connection is lost. pgqueuer LISTENs on its own connection."""
        connection = await asyncpg.connect(self.database_url, server_settings={"application_name": "ywtb-push"})
        try:
            if not self.workers:
                await self._wait_for_schema(connection)
            worker = PushWorker(
                self.pool, connection, self.sender, RetryPolicy(), self.options, webhooks=self.webhooks, sms=self.sms
            )
            self.workers.append(worker)
            if self.stopping.is_set():  # asked to stop while connecting
                return
            log.info(
                "push worker %s (public key %s…), %s at once",
                "started" if len(self.workers) == 1 else "connected to the database again",
                self.public_key[:12],
                self.options.concurrency,
            )
            await worker.run(drain=drain)
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)


async def serve(settings: Settings, options: WorkerOptions, *, drain: bool = False) -> None:
    # pgqueuer LISTENs on its connection, a session that PgBouncer's transaction pooling cannot keep:
    # it is the direct one. Reading and updating notifications goes through the pool like the web's.
    database_url = await resolve_direct_database_url(settings)
    pool = await open_pool(settings, min_size=1, max_size=min(10, max(2, options.concurrency // 5)))
    sampler = asyncio.create_task(sample_forever(pool))
    exporter = None
    if settings.push_metrics_port:
        exporter = await metrics.serve_metrics(settings.host, settings.push_metrics_port, settings.metrics_allowed)
    try:
        keys = load_or_create(settings.data_dir)
        async with (
            PushSender(keys, settings.vapid_subject, settings.push_allowed_hosts) as sender,
            WebhookSender(settings.webhook_allowed_hosts) as webhooks,
        ):
            sms = SmsSending(
                backend=sms_backend_for(settings),
                public_url=settings.public_url,
                daily_cap=settings.sms_daily_cap_per_number,
            )
            worker = Reconnecting(database_url, pool, sender, keys.public_key, options, webhooks, sms)
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, worker.stop)
            try:
                await worker.run(drain=drain)
            finally:
                log.info("push worker stopped after delivering %s notifications", worker.sent)
    finally:
        sampler.cancel()
        if exporter is not None:
            await exporter.cleanup()
        await pool.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m push.worker", description="send queued push notifications")
    defaults = WorkerOptions()
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="sends in flight at once")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="jobs taken per round trip")
    parser.add_argument(
        "--heartbeat-seconds",
        type=float,
        default=defaults.heartbeat_seconds,
        help="after this long without a heartbeat, a job is taken from its (dead) worker",
    )
    parser.add_argument(
        "--idle-poll-seconds",
        type=float,
        default=defaults.idle_poll_seconds,
        help="look at the queue this often when no new job is announced",
    )
    parser.add_argument("--drain", action="store_true", help="exit once the queue is empty")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_process(settings.log_format, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    if min(args.concurrency, args.batch_size, args.heartbeat_seconds, args.idle_poll_seconds) <= 0:
        print("--concurrency, --batch-size and the --…-seconds options must be positive", file=sys.stderr)
        return 2
    options = WorkerOptions(
        concurrency=args.concurrency,
        batch_size=args.batch_size,
        heartbeat_seconds=args.heartbeat_seconds,
        idle_poll_seconds=args.idle_poll_seconds,
    )
    asyncio.run(serve(settings, options, drain=args.drain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
