"""Shared steps for the push tests: a local push service that trusts the app's VAPID key, a resident with
a subscribed device, and running a worker in-process until the queue is empty (with texts too, for the SMS tests)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

from config.settings import Settings
from push.delivery import RetryPolicy
from push.keys import load_or_create
from push.sender import PushSender
from push.worker import PushWorker, WorkerOptions
from sms.backends import LogBackend, SmsBackend
from sms.delivery import RetryPolicy as TextRetryPolicy
from sms.delivery import Sending
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up
from tests.case_helpers import submission_for
from tests.database_fixtures import TEST_SECRET_KEY
from tests.push_service import FakeDevice, LocalPushService

ROOT = Path(__file__).resolve().parent.parent

# Retries a test can wait for: five tries, a fifth of a second apart.
QUICK_RETRIES = RetryPolicy(delays=(0.2, 0.2, 0.2, 0.2))
QUICK_TEXT_RETRIES = TextRetryPolicy(delays=(0.2, 0.2, 0.2, 0.2))
QUICK_OPTIONS = WorkerOptions(heartbeat_seconds=5, idle_poll_seconds=0.5)


@asynccontextmanager
async def local_push_service(client: httpx.AsyncClient) -> AsyncIterator[LocalPushService]:
    """A push service that checks tokens against the key the app hands browsers."""
    key = (await client.get("/api/v1/push/key")).json()["public_key"]
    async with LocalPushService(key) as service:
        yield service


async def subscribe(client: httpx.AsyncClient, device: FakeDevice) -> httpx.Response:
    return await post(client, "/api/v1/push/subscriptions", device.subscription())


async def resident_with_device(client: httpx.AsyncClient, service: LocalPushService) -> FakeDevice:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    device = service.device("phone")
    response = await subscribe(client, device)
    assert response.status_code == 201, response.text
    return device


async def file_case(client: httpx.AsyncClient, key: str = "push-case-1") -> dict:
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", key))
    assert created.status_code == 201, created.text
    return (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()


async def run_worker(
    pool: asyncpg.Pool,
    database_url: str,
    settings: Settings,
    *,
    policy: RetryPolicy = QUICK_RETRIES,
    options: WorkerOptions = QUICK_OPTIONS,
    within: float = 60,
) -> int:
    """Run one worker here until the queue is empty; returns how many it delivered."""
    return (await _drained(pool, database_url, settings, policy, options, within)).sent


async def run_worker_with_texts(
    pool: asyncpg.Pool,
    database_url: str,
    settings: Settings,
    backend: SmsBackend | None = None,
    *,
    cap: int = 20,
    sender: type[PushSender] = PushSender,
) -> int:
    """Run one worker here — pushes and texts, through `backend` (the `log` one unless said) with a daily cap of
    `cap` a number — until the queue is empty; returns how many texts it handed to the gateway."""
    texts = Sending(
        backend=backend or LogBackend(), public_url=settings.public_url, daily_cap=cap, policy=QUICK_TEXT_RETRIES
    )
    worker = await _drained(pool, database_url, settings, QUICK_RETRIES, QUICK_OPTIONS, 60, sms=texts, sender=sender)
    assert worker.texts is not None
    return worker.texts.delivered


async def _drained(
    pool: asyncpg.Pool,
    database_url: str,
    settings: Settings,
    policy: RetryPolicy,
    options: WorkerOptions,
    within: float,
    *,
    sms: Sending | None = None,
    sender: type[PushSender] = PushSender,
) -> PushWorker:
    """One worker, run here until its queue is empty."""
    queue_connection = await asyncpg.connect(database_url)
    try:
        keys = load_or_create(settings.data_dir)
        async with sender(keys, settings.vapid_subject, settings.push_allowed_hosts) as pushing:
            worker = PushWorker(pool, queue_connection, pushing, policy, options, sms=sms)
            await asyncio.wait_for(worker.run(drain=True), within)
            return worker
    finally:
        await queue_connection.close()


def worker_env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": TEST_SECRET_KEY,
        "PUSH_ALLOWED_HOSTS": "127.0.0.1",
    }


class WorkerProcess:
    """`python -m push.worker` in its own process, its log lines collected."""

    def __init__(self, process: asyncio.subprocess.Process, ready: str) -> None:
        self.process = process
        self.lines: list[str] = []
        self._ready = ready
        self._started = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, env: dict[str, str], *args: str, within: float = 30, ready: str = "push worker started"
    ) -> WorkerProcess:
        """Once the worker has logged `ready` (by default: it started sending)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "push.worker",
            *args,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        worker = cls(process, ready)
        try:
            await asyncio.wait_for(worker._started.wait(), within)
        except TimeoutError:
            worker.process.kill()
            raise RuntimeError("the worker did not start:\n" + "\n".join(worker.lines)) from None
        return worker

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if self._ready in line:
                self._started.set()

    async def wait_for(self, text: str, within: float = 30) -> None:
        """Until a line of the log says `text`."""
        deadline = asyncio.get_running_loop().time() + within
        while not any(text in line for line in self.lines):
            if asyncio.get_running_loop().time() > deadline or self.process.returncode is not None:
                raise AssertionError(f"the worker never said {text!r}:\n" + "\n".join(self.lines[-20:]))
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words, like a machine losing power."""
        self.process.kill()

    async def stop(self, within: float = 30) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), within)
        await self._reader
        return code

    @property
    def delivered(self) -> int:
        for line in reversed(self.lines):
            if match := re.search(r"after delivering (\d+) notifications", line):
                return int(match.group(1))
        raise AssertionError("the worker did not report:\n" + "\n".join(self.lines[-20:]))


async def wait_until(pool: asyncpg.Pool, sql: str, expected: object, within: float = 60) -> None:
    """Poll until a query answers `expected`."""
    deadline = asyncio.get_running_loop().time() + within
    value = None
    while asyncio.get_running_loop().time() < deadline:
        value = await pool.fetchval(sql)
        if value == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{sql} answered {value!r}, expected {expected!r}")
