"""The app through Debian's PgBouncer in transaction mode, as at city scale.

PgBouncer hands a server connection to a client for one transaction only, so anything that lives
in a session breaks through it: asyncpg's cached prepared statements (made on one server connection,
used later on another), a session advisory lock (taken on one, released on another), LISTEN. The app
is configured for it with DATABASE_POOLING=transaction (no statement cache) and
DATABASE_DIRECT_URL (migrations and the push worker's LISTEN go straight to PostgreSQL).

PgBouncer here lends its server connections round-robin and keeps fewer of them than the app's pool
has clients: every transaction may land on another server connection, as it does when many web
workers share one PgBouncer.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.main import create_app
from config.settings import Settings
from tests.auth_helpers import (
    ZHANG_WEI,
    csrf,
    new_authenticator,
    post,
    sign_in,
    sign_out,
    sign_up,
    staff_client_sign_up,
)
from tests.case_helpers import submission_for
from tests.database_fixtures import settings_for
from tests.push_helpers import WorkerProcess, file_case, local_push_service, resident_with_device, worker_env

ROOT = Path(__file__).resolve().parent.parent
PGBOUNCER = shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if Path(p).exists()), None)
# Fewer server connections than the web pool's ten clients, as in production.
SERVER_CONNECTIONS = 3

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        PGBOUNCER is None, reason="PgBouncer is not installed: `make pgbouncer` (or apt-get install pgbouncer)"
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    """Debian's pgbouncer on a free loopback port in front of the test server, trusting loopback clients."""

    def __init__(self, server_dsn: str) -> None:
        parts = urlsplit(server_dsn)
        socket_dir = parse_qs(parts.query).get("host", [None])[0]
        self.server_host = socket_dir or parts.hostname or "localhost"
        self.server_port = parts.port or 5432
        self.user = parts.username or "postgres"
        self.password = parts.password or ""
        self.port = _free_port()
        # Its own folder, readable by the user PgBouncer runs as (it refuses to run as root).
        self.folder = Path(tempfile.mkdtemp(prefix="ywtb-pgbouncer-"))
        self.folder.chmod(0o755)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.folder / "pgbouncer.log"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        # Root: run as whoever owns the server's socket folder (the embedded server's own user), else nobody.
        owner = Path(self.server_host).stat().st_uid if self.server_host.startswith("/") else 0
        return ["-u", pwd.getpwuid(owner).pw_name if owner else "nobody"]

    def start(self) -> None:
        password = f" password={self.password}" if self.password else ""
        (self.folder / "userlist.txt").write_text(f'"{self.user}" ""\n')
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={self.server_host} port={self.server_port} user={self.user}{password}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.folder / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {SERVER_CONNECTIONS}\n"
            "max_client_conn = 500\n"
            "server_round_robin = 1\n"
        )
        for path in self.folder.iterdir():
            path.chmod(0o644)
        assert PGBOUNCER is not None
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [PGBOUNCER, *self._run_as(), str(ini)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not listen within 15 s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def pgbouncer(pg_server_dsn: str) -> Iterator[PgBouncer]:
    bouncer = PgBouncer(pg_server_dsn)
    bouncer.start()
    yield bouncer
    bouncer.stop()


def _through_pgbouncer(database_url: str, pgbouncer: PgBouncer) -> dict[str, str]:
    """The settings of a web host at city scale: the pool through PgBouncer, sessions direct."""
    database = urlsplit(database_url).path.lstrip("/")
    return {
        "DATABASE_URL": pgbouncer.url(database),
        "DATABASE_DIRECT_URL": database_url,
        "DATABASE_POOLING": "transaction",
    }


@pytest.fixture
def settings(database_url: str, pgbouncer: PgBouncer, tmp_path: Path) -> Settings:
    env = _through_pgbouncer(database_url, pgbouncer)
    return settings_for(env.pop("DATABASE_URL"), tmp_path / "data", **env)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app making its own pool from the settings, exactly as `python -m app serve` does."""
    app = create_app(settings)
    async with app.lifespan():
        yield app


@pytest.fixture
def pool(app: Litestar) -> asyncpg.Pool:
    return app.state.pool


async def test_a_resident_files_and_the_back_office_works_through_pgbouncer(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    assert await pool.fetchval("SHOW timezone") == "Asia/Shanghai"  # a startup setting PgBouncer passes on
    resident = new_authenticator()
    signed_up = await sign_up(client, resident, ZHANG_WEI)
    assert signed_up.status_code == 201, signed_up.text
    await sign_out(client)
    assert (await sign_in(client, resident)).status_code == 200

    form_page = await client.get("/life-events/birth/apply")
    assert form_page.status_code == 200 and "新生儿出生" in form_page.text
    body = await submission_for(client, "birth", "pgbouncer-key-1")
    headers = await csrf(client)
    # A resident's double tap on a busy server: five posts at once, one case.
    submitted = await asyncio.gather(*(client.post("/api/v1/cases", json=body, headers=headers) for _ in range(5)))
    assert {r.status_code for r in submitted} == {201}, [r.text for r in submitted]
    assert len({r.json()["case_no"] for r in submitted}) == 1
    created = submitted[0].json()
    case = (await client.get(f"/api/v1/cases/{created['case_no']}")).json()

    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    queue = (await clerk.get("/api/v1/console/tasks")).json()
    assert {t["case_no"] for t in queue} == {case["case_no"]}
    accepted = await post(clerk, f"/api/v1/console/tasks/{case['tasks'][0]['id']}/transition", {"action": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert (await clerk.get(f"/console/cases/{case['case_no']}")).status_code == 200

    # The receipt's QR scanned by many at once: every answer shows the clerk's step.
    scans = await asyncio.gather(
        *(another_client().get(f"/api/v1/track/{created['tracking_token']}") for _ in range(20))
    )
    assert {r.status_code for r in scans} == {200}, [r.text for r in scans if r.status_code != 200]
    assert all(r.json()["case_no"] == case["case_no"] for r in scans)
    assert all("accepted" in str(r.json()) for r in scans)
    assert (await client.get(f"/t/{created['tracking_token']}")).status_code == 200
    timeline = (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["timeline"]
    assert [e["status"] for e in timeline] == ["submitted", "accepted"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


async def test_migrate_takes_its_lock_on_the_direct_connection_and_leaves_none_behind(
    database_url: str, pgbouncer: PgBouncer, tmp_path: Path
) -> None:
    env = {**worker_env(database_url, tmp_path), **_through_pgbouncer(database_url, pgbouncer)}
    for _ in range(2):
        result = _cli(env, "migrate")
        assert result.returncode == 0, result.stderr
        assert "already up to date" in result.stdout
    conn = await asyncpg.connect(database_url)
    try:
        # Through PgBouncer the unlock would land on another server connection than the lock, which would
        # then be held for ever and make the next start wait.
        assert await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    finally:
        await conn.close()


async def test_the_push_worker_hears_new_jobs_on_its_direct_connection(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, database_url: str, pgbouncer: PgBouncer
) -> None:
    async with local_push_service(client) as service:
        phone = await resident_with_device(client, service)
        env = {**worker_env(database_url, settings.data_dir), **_through_pgbouncer(database_url, pgbouncer)}
        # The queue is looked at unasked only every two minutes: once the worker has sent the first case's
        # push (and waits again), a prompt push for the second means its LISTEN heard the wake-up. Queueing a job
        # sends none (migration 0043): the workers' own updates do, as here.
        first = await file_case(client, "pgbouncer-push-1")  # queued before the worker starts: its first look
        worker = await WorkerProcess.start(env, "--idle-poll-seconds", "120")
        try:
            await service.wait_for(1, within=20)
            await asyncio.sleep(0.5)  # the worker waits again
            second = await file_case(client, "pgbouncer-push-2")
            await pool.execute(
                "SELECT pg_notify('ch_pgqueuer', json_build_object('channel', 'ch_pgqueuer', 'operation', 'update', "
                "'sent_at', now(), 'table', 'pgqueuer', 'type', 'table_changed_event')::text)"
            )
            await service.wait_for(2, within=20)
        finally:
            assert await worker.stop() == 0
        bodies = [p.payload["body"] for p in service.pushes_to(phone)]
        assert first["case_no"] in bodies[0] and second["case_no"] in bodies[1]
        assert await pool.fetchval("SELECT count(*) FROM notifications WHERE status = 'delivered'") == 2
