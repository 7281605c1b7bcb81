"""The command line against a real database: import-population, enroll-code, staff-add."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_out, sign_up
from tests.database_fixtures import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.anyio


def run_cli(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY, "DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    env = {**os.environ, "PORT": "eighty", "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["configuration error: PORT: expected a whole number, got 'eighty'"]


async def test_import_population_reports_bad_rows_by_line_and_updates_on_reimport(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    before = await pool.fetchval("SELECT count(*) FROM people")
    csv = tmp_path / "people.csv"
    csv.write_text(
        "id_number,name,phone,region_code\n"
        "11010519491231002x,赵一,13900000009,320402001001\n"
        "11010519491231002Y,钱二,,320402001001\n"
        "440524188001010014,孙三,123,320402001001\n"
        "34052419800101001X,李四,,999999\n",
        encoding="utf-8",
    )
    result = run_cli(database_url, tmp_path, "import-population", str(csv))
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout
    assert [line.split(":")[0] for line in result.stderr.strip().splitlines()] == ["line 3", "line 4", "line 5"]
    assert "11010519491231002" not in result.stdout + result.stderr  # no clear ID number in output
    csv.write_text("id_number,name,phone,region_code\n11010519491231002X,赵一一,,320402001001\n", encoding="utf-8")
    again = run_cli(database_url, tmp_path, "import-population", str(csv))
    assert "0 added, 1 updated" in again.stdout
    assert await pool.fetchval("SELECT count(*) FROM people") == before + 1
    assert await pool.fetchval("SELECT count(*) FROM people WHERE name = '赵一一'") == 1


async def test_enroll_code_prints_a_code_that_adds_a_passkey(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await sign_out(client)
    result = run_cli(database_url, tmp_path, "enroll-code", "--id-number", ZHANG_WEI["id_number"])
    assert result.returncode == 0, result.stderr
    code = result.stdout.strip().splitlines()[-1]
    assert ZHANG_WEI["id_number"] not in result.stdout
    response = await sign_up(client, new_authenticator(), ZHANG_WEI, enrollment_code=code)
    assert response.status_code == 201, response.text


async def test_staff_add_prints_a_code_for_the_staff_passkey(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient
) -> None:
    result = run_cli(
        database_url,
        tmp_path,
        "staff-add",
        "--name",
        "王窗口",
        "--role",
        "clerk",
        "--department",
        "police",
        "--region",
        "320402",
    )
    assert result.returncode == 0, result.stderr
    code = result.stdout.strip().splitlines()[-1]
    wrong_name = await post(client, "/api/v1/auth/register/options", {"name": "李窗口", "enrollment_code": code})
    assert wrong_name.status_code == 400
    authenticator = new_authenticator()
    options = await post(client, "/api/v1/auth/register/options", {"name": "王窗口", "enrollment_code": code})
    assert options.status_code == 200, options.text
    done = await post(client, "/api/v1/auth/register/verify", {"credential": authenticator.create(options.json())})
    assert done.status_code == 201, done.text
    assert done.json()["roles"] == ["clerk"] and done.json()["id_number_masked"] is None


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--role", "helper", "--region", "320402"], "--region"),
        (["--role", "helper", "--region", "320402001001", "--department", "police"], "--department"),
        (["--role", "approver", "--region", "320402"], "--department"),
        (["--role", "approver", "--region", "320402", "--department", "nope"], "--department"),
        (["--role", "clerk", "--region", "999999", "--department", "police"], "--region"),
        (["--role", "supervisor", "--region", "320402001"], "--region"),
        (
            ["--role", "approver", "--region", "320402", "--department", "police", "--window-for", "police"],
            "--window-for",
        ),
        (
            ["--role", "clerk", "--region", "320402", "--department", "police", "--window-for", "police,nope"],
            "--window-for",
        ),
    ],
)
def test_staff_add_refuses_what_does_not_fit(
    database_url: str, tmp_path: Path, args: list[str], complaint: str
) -> None:
    result = run_cli(database_url, tmp_path, "staff-add", "--name", "某人", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(complaint)


async def test_window_authorisations_are_given_at_staff_add_and_changed_with_staff_authorise(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    added = run_cli(
        database_url,
        tmp_path,
        "staff-add",
        "--name",
        "马上办",
        "--role",
        "clerk",
        "--department",
        "hrss",
        "--region",
        "320402",
        "--window-for",
        "hrss, police",
    )
    assert added.returncode == 0, added.stderr
    account_id = await pool.fetchval("SELECT id FROM accounts WHERE name = '马上办'")

    async def held() -> list[str]:
        rows = await pool.fetch(
            "SELECT department_code FROM staff_window_authorisations WHERE account_id = $1 ORDER BY 1", account_id
        )
        return [r["department_code"] for r in rows]

    assert await held() == ["hrss", "police"]
    changed = run_cli(
        database_url, tmp_path, "staff-authorise", str(account_id), "--window-for", "health", "--revoke", "police"
    )
    assert changed.returncode == 0, changed.stderr
    assert await held() == ["health", "hrss"] and "health,hrss" in changed.stdout
    audited = await pool.fetch("SELECT outcome FROM audit_log WHERE action = 'staff.window' ORDER BY id")
    assert [r["outcome"] for r in audited] == ["granted", "granted", "revoked"]
    assert run_cli(database_url, tmp_path, "staff-authorise", "999999", "--window-for", "hrss").returncode == 2
    assert run_cli(database_url, tmp_path, "staff-authorise", str(account_id)).returncode == 2


async def test_purge_removes_only_audit_rows_past_retention(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    # Rows are written with an old timestamp directly: the trigger guards UPDATE, not INSERT.
    await pool.execute(
        "INSERT INTO audit_log (at, actor, action, outcome) VALUES (now() - interval '200 days', 't', 'old', 'ok')"
    )
    await pool.execute(
        "INSERT INTO audit_log (at, actor, action, outcome) VALUES (now() - interval '100 days', 't', 'recent', 'ok')"
    )
    result = run_cli(database_url, tmp_path, "purge")
    assert result.returncode == 0, result.stderr
    assert "1 audit rows" in result.stdout
    assert [r["action"] for r in await pool.fetch("SELECT action FROM audit_log ORDER BY at")] == ["recent"]
