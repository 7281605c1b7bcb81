"""A real PostgreSQL for the tests: TEST_DATABASE_URL if set, else the embedded server in a temp folder.

One template database is built per run from the migrations and the demo seed; every test gets its
own copy (CREATE DATABASE … TEMPLATE), so tests are isolated and nothing leaks between them.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from app.database import migrate_database
from app.main import COMPILED_TEMPLATES
from app.seed import seed_demo_data
from auth.pii import PiiCipher
from config.settings import Settings, load_settings
from db.embedded import start_embedded_server, with_database
from db.pool import create_pool, prepare_connection

# Fixed for the run: the template's encrypted ID numbers must be readable by every test's app.
T = TypeVar("T")
TEST_SECRET_KEY = "test-secret-key-" + "x" * 40


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even where a loop is already running
    (Playwright's sync API keeps one in the main thread)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


async def _admin(server_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def build_database(server_dsn: str, name: str) -> None:
    """Create `name` on the server, migrated and seeded with the demo data."""
    await _admin(server_dsn, f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(with_database(server_dsn, name))
    try:
        await migrate_database(conn, PiiCipher(TEST_SECRET_KEY))
        await prepare_connection(conn)
        await seed_demo_data(conn, PiiCipher(TEST_SECRET_KEY))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_server_dsn() -> str:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        return external
    dsn = start_embedded_server(throwaway_server_folder(), keep_running=False)
    run_sync(_without_flushes_to_disk(dsn))
    return dsn


def throwaway_server_folder() -> Path:
    """Its own folder, not pytest's tmp tree (which another pytest run may be rotating), removed when this process
    exits. The server stops and deletes its data (the folder's `pg`) at exit too, in an exit hook registered when it
    starts: registered before it, this one runs after it (exit hooks run last registered first), on a stopped server.
    Left alone, every run left an empty folder behind (hundreds in /tmp)."""
    folder = Path(tempfile.mkdtemp(prefix="ywtb-test-pg-", dir=_memory_folder()))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


# Free room a server in memory needs, per pytest process, with a wide margin (xdist runs one per worker).
_ROOM_IN_MEMORY = 1024**3


def _memory_folder() -> Path | None:
    """Where the run's server keeps its files: in memory (tmpfs) where the machine has it, else the temp folder.

    Every test's database is a copy of the template's ~1000 files, deleted when the test ends. On ext4 without a
    journal (this machine's disk), each new file skips every inode deleted in the last seconds, so each copy cost more
    the more copies had been dropped before it: CREATE DATABASE took 0.3-0.9 s of the server's CPU (perf: the kernel's
    recently_deleted()) and 1-3 s when loaded, against 0.06 s and 0.12-0.16 s in tmpfs. The server is thrown away
    with its folder, so nothing is lost by keeping it in memory (55 MB seen: the template, a test's copy or two, the
    WAL). Not where it is small (a container's 64 MB /dev/shm): the server would run out of room mid-run."""
    shared_memory = Path("/dev/shm")
    if not shared_memory.is_dir() or not os.access(shared_memory, os.W_OK):
        return None
    return shared_memory if shutil.disk_usage(shared_memory).free >= _ROOM_IN_MEMORY else None


async def _without_flushes_to_disk(server_dsn: str) -> None:
    """The run's own server is thrown away with its folder: nothing of it needs to survive the machine going down, so
    it never waits for the disk (fsync, full pages in the WAL). A crashed or killed server process loses nothing even
    so (what PostgreSQL wrote is in the operating system's cache); what changes is the time every test's database
    takes to be made and dropped (a DROP DATABASE waited ~0.4 s for its flushes) and every commit."""
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute("ALTER SYSTEM SET fsync = off")
        await conn.execute("ALTER SYSTEM SET full_page_writes = off")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(pg_server_dsn: str) -> Iterator[str]:
    name = f"ywtb_template_{secrets.token_hex(4)}"
    run_sync(build_database(pg_server_dsn, name))
    yield name
    run_sync(_admin(pg_server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_database(server_dsn: str, template: str) -> str:
    name = f"ywtb_test_{secrets.token_hex(6)}"
    run_sync(_admin(server_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return name


def drop_database(server_dsn: str, name: str) -> None:
    run_sync(_admin(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class DatabaseCopies:
    """This worker's copies of the template, one per test, made and dropped by a thread of their own: the next test's
    copy is made while the current test runs, and a test's copy is dropped after it, while the next one runs. Each
    test still gets a copy of its own, made from the template after every copy before it was handed out."""

    def __init__(self, server_dsn: str, template: str) -> None:
        self._server_dsn = server_dsn
        self._template = template
        # One thread: a copy is made or dropped at a time, in the order asked, as the tests asked for them before.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._next = self._thread.submit(make_database, server_dsn, template)

    def take(self) -> str:
        """A fresh copy's name, and the following test's copy started."""
        name = self._next.result()
        self._next = self._thread.submit(make_database, self._server_dsn, self._template)
        return name

    def give_back(self, name: str) -> None:
        self._thread.submit(drop_database, self._server_dsn, name)

    def close(self) -> None:
        """The copy made for a test that never came dropped, and every drop asked for done."""
        self.give_back(self._next.result())
        self._thread.shutdown(wait=True)


@pytest.fixture(scope="session")
def database_copies(pg_server_dsn: str, template_database: str) -> Iterator[DatabaseCopies]:
    copies = DatabaseCopies(pg_server_dsn, template_database)
    yield copies
    copies.close()


@pytest.fixture
def database_url(pg_server_dsn: str, database_copies: DatabaseCopies) -> Iterator[str]:
    """A fresh database for one test: migrated and seeded with the demo data."""
    name = database_copies.take()
    yield with_database(pg_server_dsn, name)
    database_copies.give_back(name)


def settings_for(database_url: str, data_dir: Path, **env: str) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": TEST_SECRET_KEY,
            "PUSH_ALLOWED_HOSTS": "127.0.0.1,fcm.googleapis.com",
            **env,
        }
    )


@pytest.fixture(scope="session")
def compiled_templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This worker's compiled templates, kept for every test's app as production keeps them for every worker of a
    release (app/main.py: COMPILED_TEMPLATES): what a template compiles to depends only on the release, which is the
    same for the whole run. A template compiled from source takes ~35 ms; read back, ~1 ms."""
    return tmp_path_factory.mktemp("compiled-templates")


@pytest.fixture
def settings(database_url: str, tmp_path: Path, compiled_templates: Path) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / COMPILED_TEMPLATES).symlink_to(compiled_templates, target_is_directory=True)
    return settings_for(database_url, data_dir)


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=10)
    yield pool
    await pool.close()
