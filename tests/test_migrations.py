import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from app.database import migrate_database
from auth.pii import PiiCipher
from db.embedded import with_database
from db.migrate import MissingDataStep, apply_migrations, discover, pending_migrations
from tests.database_fixtures import TEST_SECRET_KEY, drop_database, run_sync
from tests.push_helpers import WorkerProcess, worker_env

CIPHER = PiiCipher(TEST_SECRET_KEY)


@pytest.fixture
def empty_database(pg_server_dsn: str) -> Iterator[str]:
    name = f"ywtb_empty_{secrets.token_hex(4)}"

    async def create() -> None:
        conn = await asyncpg.connect(pg_server_dsn)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    run_sync(create())
    yield with_database(pg_server_dsn, name)
    drop_database(pg_server_dsn, name)


def test_migration_files_are_numbered_in_order() -> None:
    migrations = discover()
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert migrations[0].version == 1


async def test_running_twice_is_a_no_op(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        first = await migrate_database(conn, CIPHER)
        second = await migrate_database(conn, CIPHER)
        assert first == [m.name for m in discover()]
        assert second == []
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(first)
    finally:
        await conn.close()


async def test_two_processes_at_once_apply_each_migration_once(empty_database: str) -> None:
    conns = [await asyncpg.connect(empty_database) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate_database(c, CIPHER) for c in conns))
        applied = [name for result in results for name in result]
        assert sorted(applied) == sorted(m.name for m in discover())
        assert await conns[0].fetchval("SELECT count(*) FROM schema_migrations") == len(applied)
    finally:
        for conn in conns:
            await conn.close()


async def test_an_edited_applied_migration_is_refused(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE t1 (id int);")
    conn = await asyncpg.connect(empty_database)
    try:
        assert await apply_migrations(conn, tmp_path) == ["0001_first"]
        (tmp_path / "0001_first.sql").write_text("CREATE TABLE t1 (id bigint);")
        with pytest.raises(RuntimeError, match="changed after it was applied"):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_no_trace(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await apply_migrations(conn, tmp_path)
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 1
    finally:
        await conn.close()


# A data step: Python work between one file and the next (0002 drops the column the step reads).
STEP_FIRST = "-- data step: fill_upper\nCREATE TABLE t (name text, upper_name text); INSERT INTO t VALUES ('a', NULL);"
STEP_NEXT = "ALTER TABLE t DROP COLUMN name;"


def _files_with_a_data_step(directory: Path) -> None:
    (directory / "0001_with_step.sql").write_text(STEP_FIRST)
    (directory / "0002_after_step.sql").write_text(STEP_NEXT)


async def test_a_data_step_runs_once_between_its_migration_and_the_next(empty_database: str, tmp_path: Path) -> None:
    _files_with_a_data_step(tmp_path)
    calls: list[str] = []

    async def fill_upper(conn: asyncpg.Connection) -> None:
        calls.append("fill_upper")
        await conn.execute("UPDATE t SET upper_name = upper(name)")

    conn = await asyncpg.connect(empty_database)
    try:
        steps = {"fill_upper": fill_upper}
        assert await apply_migrations(conn, tmp_path, data_steps=steps) == ["0001_with_step", "0002_after_step"]
        assert await apply_migrations(conn, tmp_path, data_steps=steps) == []
        assert calls == ["fill_upper"]
        assert await conn.fetchval("SELECT upper_name FROM t") == "A"
        assert await conn.fetchval("SELECT name FROM schema_data_steps WHERE version = 1") == "fill_upper"
    finally:
        await conn.close()


async def test_without_its_data_step_the_runner_stops_before_the_next_file(empty_database: str, tmp_path: Path) -> None:
    _files_with_a_data_step(tmp_path)
    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(MissingDataStep, match=r"0001_with_step.*fill_upper.*python -m app migrate"):
            await apply_migrations(conn, tmp_path)
        assert await conn.fetchval("SELECT array_agg(version) FROM schema_migrations") == [1]
        assert await conn.fetchval("SELECT count(*) FROM schema_data_steps") == 0
    finally:
        await conn.close()


async def test_a_data_step_that_failed_runs_again_next_time(empty_database: str, tmp_path: Path) -> None:
    _files_with_a_data_step(tmp_path)

    async def crashes(conn: asyncpg.Connection) -> None:
        raise ConnectionResetError("the process died")

    async def fill_upper(conn: asyncpg.Connection) -> None:
        await conn.execute("UPDATE t SET upper_name = upper(name)")

    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(ConnectionResetError):
            await apply_migrations(conn, tmp_path, data_steps={"fill_upper": crashes})
        assert await conn.fetchval("SELECT to_regclass('t') IS NOT NULL AND count(*) = 0 FROM schema_data_steps")
        assert await apply_migrations(conn, tmp_path, data_steps={"fill_upper": fill_upper}) == ["0002_after_step"]
        assert await conn.fetchval("SELECT upper_name FROM t") == "A"
    finally:
        await conn.close()


async def test_pending_migrations_name_the_files_and_data_steps_the_database_lacks(empty_database: str) -> None:
    names = [m.name for m in discover()]
    with_step = next(m.name for m in discover() if m.data_step is not None)
    conn = await asyncpg.connect(empty_database)
    try:
        assert await pending_migrations(conn) == names
        with pytest.raises(MissingDataStep):
            await apply_migrations(conn)  # a runner without the data step stops at its file
        assert await pending_migrations(conn) == names[names.index(with_step) :]
        await migrate_database(conn, CIPHER)
        assert await pending_migrations(conn) == []
    finally:
        await conn.close()


async def test_the_push_worker_waits_for_the_migrations_and_starts_once_they_are_applied(
    empty_database: str, tmp_path: Path
) -> None:
    """The worker never migrates (a data step needs the app): it says what it waits for, and starts afterwards."""
    env = worker_env(empty_database, tmp_path / "data")
    worker = await WorkerProcess.start(env, ready="waiting for the database schema")
    try:
        assert "0001_catalogue" in worker.lines[-1] and "python -m app migrate" in worker.lines[-1]
        conn = await asyncpg.connect(empty_database)
        try:
            assert await conn.fetchval("SELECT to_regclass('public.schema_migrations')") is None
            await migrate_database(conn, CIPHER)
        finally:
            await conn.close()
        await worker.wait_for("push worker started")
    finally:
        assert await worker.stop() == 0
