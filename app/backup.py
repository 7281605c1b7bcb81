"""`python -m app backup FILE` and `restore FILE`: the whole database in one file, and back.

FILE is a tar (`tar tf FILE` lists it) of two members:
- `manifest.json`: when and from which server it was taken, the schema version, every table's row
  count in the dump's snapshot (a restore is checked against them), and what tells whether the restoring
  host has the right keys: one encrypted ID number and the VAPID public key.
- `database.dump`: pg_dump's custom-format archive, taken in the same snapshot. Uploads, signatures and
  every other file live in the database, so this is all of the data.

The keys are not in it, on purpose: a stolen backup without SECRET_KEY does not give up ID numbers. Keep
SECRET_KEY (or DATA_DIR/secret_key) and DATA_DIR/vapid_private_key.pem safe, apart from the backups.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import asyncpg
import msgspec
from cryptography.exceptions import InvalidTag

from app.calendar.service import china_time
from app.people import service as people
from auth.pii import PiiCipher
from config.settings import Settings
from db import dump
from db.connect import resolve_direct_database_url
from db.dump import PgTool
from db.migrate import discover
from db.pool import Tx
from push.keys import KEY_FILE as VAPID_KEY_FILE
from push.keys import load as load_vapid_keys

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "database.dump"
_BLOCK = 512
# The tables whose counts a person checks first, in the line printed after backup and restore.
_HEADLINE = (("public.cases", "cases"), ("public.uploads", "uploads"), ("public.accounts", "accounts"))

Say = Callable[[str], None]


class BackupError(Exception):
    """A refusal or failure, one line saying what to do."""


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format: int
    created_at: str
    server_version: str
    server_major: int
    pg_dump_version: str
    pg_dump_major: int
    schema_version: int | None
    row_counts: dict[str, int]
    # One ciphertext from the population register (hex), None when it was empty: a restoring host whose
    # SECRET_KEY cannot decrypt it would serve nothing but errors.
    id_number_sample: str | None
    vapid_public_key: str | None


class _Progress:
    """A line every few seconds for long work; nothing for a quick one."""

    def __init__(self, say: Say, what: str, total: int | None = None, every: float = 5.0) -> None:
        self.say, self.what, self.total, self.every = say, what, total, every
        self.next_at = time.monotonic() + every

    def __call__(self, done: int) -> None:
        if time.monotonic() < self.next_at:
            return
        self.next_at = time.monotonic() + self.every
        share = f" ({done * 100 // self.total}%)" if self.total else ""
        self.say(f"  {self.what} {_megabytes(done)}{share} …")


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _headline(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[table]} {label}" for table, label in _HEADLINE if table in counts)


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    # The GNU format keeps a header one block long for any size (sizes past 8 GiB in base-256).
    header = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
    assert len(header) == _BLOCK
    return header


def _pad(out: IO[bytes], size: int) -> None:
    out.write(b"\0" * (-size % _BLOCK))


def _schema_version() -> int | None:
    return max((m.version for m in discover()), default=None)


async def _schema_version_of(conn: Tx) -> int | None:
    if await conn.fetchval("SELECT to_regclass('public.schema_migrations')") is None:
        return None
    return await conn.fetchval("SELECT max(version) FROM schema_migrations")


async def backup(settings: Settings, path: Path, say: Say = print) -> None:
    """Write FILE atomically (FILE.partial, then renamed): a failed backup never leaves a file that looks whole."""
    tool = dump.find_tool("pg_dump", embedded=settings.database_url is None)
    dsn = await resolve_direct_database_url(settings)
    conn = await asyncpg.connect(dsn)
    partial = path.with_name(path.name + ".partial")
    try:
        server = await dump.server_version(conn)
        dump.require_client_for(tool, server)
        say(f"backing up PostgreSQL {server.version} with {tool}")
        # One snapshot for the counts, the key sample and pg_dump: they describe the very same data.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            counts = await dump.table_row_counts(conn)
            sample = await people.ciphertext_sample(conn)
            vapid = load_vapid_keys(settings.data_dir)
            manifest = Manifest(
                format=FORMAT,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                server_version=server.version,
                server_major=server.major,
                pg_dump_version=tool.version,
                pg_dump_major=tool.major,
                schema_version=await _schema_version_of(conn),
                row_counts=counts,
                id_number_sample=sample.hex() if sample else None,
                vapid_public_key=vapid.public_key if vapid else None,
            )
            size = await _write(partial, manifest, tool, dsn, snapshot, say)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        await conn.close()
    say(f"backup written: {path} ({_megabytes(size)}): {_headline(counts)}, {len(counts)} tables")
    say(
        "keep SECRET_KEY (or DATA_DIR/secret_key) and DATA_DIR/vapid_private_key.pem safe, apart from it: "
        "the backup does not contain them"
    )
    if vapid is None:
        say(f"note: no {settings.data_dir / VAPID_KEY_FILE} here, so a restore cannot check the push key")


async def _write(partial: Path, manifest: Manifest, tool: PgTool, dsn: str, snapshot: str, say: Say) -> int:
    described = msgspec.json.format(msgspec.json.encode(manifest), indent=2)
    # The backup holds uploads and personal data in clear: readable by its owner only.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(_tar_header(MANIFEST, len(described)))
        out.write(described)
        _pad(out, len(described))
        # The archive's size is known only at the end: its header is written then, in this place.
        header_at = out.tell()
        out.write(b"\0" * _BLOCK)
        size = await dump.dump_into(tool, dsn, snapshot, out, _Progress(say, "written"))
        _pad(out, size)
        out.write(b"\0" * (2 * _BLOCK))  # the end of the archive
        out.seek(header_at)
        out.write(_tar_header(DATABASE, size))
        out.flush()
        os.fsync(out.fileno())
    return size


def read_manifest(archive: tarfile.TarFile, path: Path) -> Manifest:
    try:
        raw = archive.extractfile(MANIFEST)
        archive.getmember(DATABASE)
    except KeyError:
        raise BackupError(
            f"{path}: not a backup made by `python -m app backup` (no {MANIFEST} and {DATABASE})"
        ) from None
    assert raw is not None
    try:
        manifest = msgspec.json.decode(raw.read(), type=Manifest)
    except msgspec.ValidationError as exc:
        raise BackupError(f"{path}: its {MANIFEST} is not one this version reads ({exc})") from None
    if manifest.format != FORMAT:
        raise BackupError(f"{path}: backup format {manifest.format}, this version reads format {FORMAT}")
    return manifest


def _check_keys(settings: Settings, manifest: Manifest, *, new_vapid_key: bool, say: Say) -> None:
    """Before touching the database: the data is useless to a host without its keys."""
    if manifest.id_number_sample is not None:
        try:
            PiiCipher(settings.secret_key).decrypt(bytes.fromhex(manifest.id_number_sample))
        except InvalidTag:
            raise BackupError(
                "SECRET_KEY: the ID numbers in this backup were encrypted with another key: set SECRET_KEY, or put "
                f"the old DATA_DIR/secret_key at {settings.data_dir / 'secret_key'}, then restore again"
            ) from None
    if manifest.vapid_public_key is None:
        return
    here = load_vapid_keys(settings.data_dir)
    if here is not None and here.public_key == manifest.vapid_public_key:
        return
    if not new_vapid_key:
        problem = "holds another key than the backup's" if here else "is missing"
        raise BackupError(
            f"DATA_DIR: {settings.data_dir / VAPID_KEY_FILE} {problem}: copy the old one there (without it every "
            "device's push subscription is orphaned), or restore with --new-vapid-key"
        )
    say("--new-vapid-key: every resident must turn 办理进度提醒 on again on each device")


async def _chunks(stream: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := stream.read(dump.CHUNK):
        yield chunk


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:")
    except tarfile.ReadError:
        raise BackupError(f"{path}: not a backup made by `python -m app backup` (not a tar file)") from None


async def restore(settings: Settings, path: Path, *, force: bool, new_vapid_key: bool, say: Say = print) -> None:
    with _open(path) as archive:
        manifest = read_manifest(archive, path)
        known = _schema_version()
        if manifest.schema_version and known and manifest.schema_version > known:
            raise BackupError(
                f"{path}: made by a newer version of the app (schema {manifest.schema_version:04d}, this one knows "
                f"up to {known:04d}): restore it with that version"
            )
        _check_keys(settings, manifest, new_vapid_key=new_vapid_key, say=say)
        tool = dump.find_tool("pg_restore", embedded=settings.database_url is None)
        if tool.major < manifest.pg_dump_major:
            raise BackupError(
                f"{tool} cannot read an archive of pg_dump {manifest.pg_dump_version}: install PostgreSQL "
                f"{manifest.pg_dump_major}'s client programs or newer"
            )
        dsn = await resolve_direct_database_url(settings)
        await _prepare_target(dsn, tool, manifest, force=force, say=say)
        member = archive.getmember(DATABASE)
        stream = archive.extractfile(member)
        assert stream is not None
        taken = china_time(datetime.fromisoformat(manifest.created_at))
        say(f"restoring the backup of {taken} (北京时间): {_headline(manifest.row_counts)}, with {tool}")
        await dump.restore_from(tool, dsn, _chunks(stream), _Progress(say, "restored", member.size))
    conn = await asyncpg.connect(dsn)
    try:
        counts = await dump.table_row_counts(conn)
    finally:
        await conn.close()
    differing = sorted(t for t in manifest.row_counts if counts.get(t) != manifest.row_counts[t])
    if differing:
        raise BackupError(f"restored, but row counts differ from the backup's in: {', '.join(differing)}")
    say(f"restored {path}: {_headline(counts)}; all {len(counts)} tables have the backup's row counts")
    say("start the web hosts and push workers again (`serve` applies this version's newer migrations, if any)")


async def _prepare_target(dsn: str, tool: PgTool, manifest: Manifest, *, force: bool, say: Say) -> None:
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError as exc:
        raise BackupError(f"DATABASE_URL: {exc}: create it empty first (createdb), then restore") from None
    try:
        server = await dump.server_version(conn)
        dump.require_client_for(tool, server)
        if server.major < manifest.server_major:
            raise BackupError(
                f"the server is PostgreSQL {server.version}, older than the backup's {manifest.server_version}: "
                "PostgreSQL does not move data to an older major version"
            )
        empty = await dump.is_empty(conn)
        database = await conn.fetchval("SELECT current_database()")
    finally:
        with contextlib.suppress(asyncpg.PostgresError, OSError):
            await conn.close()
    if empty:
        return
    if not force:
        raise BackupError(
            f"database {database} is not empty: restore into a new, empty database, or pass --force to drop it "
            "and everything in it first"
        )
    say(f"--force: dropping and re-creating database {database}")
    await dump.recreate_database(dsn)
