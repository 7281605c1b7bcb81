"""Registering the departments' and hospitals' systems from the command line: the secret shown once and kept only
as a hash, a rotation that overlaps, a revocation that ends the client's webhooks too."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.test_cli import run_cli

pytestmark = pytest.mark.anyio


def _printed(output: str, name: str) -> str:
    found = re.search(rf"^{name}=(\S+)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


async def test_a_client_is_added_listed_rotated_and_revoked(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    added = run_cli(
        database_url,
        tmp_path,
        "client-add",
        "--name",
        "公安人口系统",
        "--department",
        "police",
        "--region",
        "320402",
        "--scopes",
        "tasks:read,tasks:write",
    )
    assert added.returncode == 0, added.stderr
    client_id, secret = _printed(added.stdout, "client_id"), _printed(added.stdout, "client_secret")
    stored = await pool.fetch("SELECT secret_hash FROM api_client_secrets WHERE client_id = $1", client_id)
    assert len(stored) == 1 and secret.encode() not in stored[0]["secret_hash"]
    dump = await pool.fetchval("SELECT string_agg(t::text, ' ') FROM api_clients t")
    assert secret not in dump

    listed = run_cli(database_url, tmp_path, "client-list")
    assert client_id in listed.stdout and "department police" in listed.stdout and "1 live secret" in listed.stdout

    rotated = run_cli(database_url, tmp_path, "client-rotate", client_id, "--overlap-hours", "2")
    assert rotated.returncode == 0 and _printed(rotated.stdout, "client_secret") != secret
    assert "2 live secret" in run_cli(database_url, tmp_path, "client-list").stdout

    await pool.execute(
        "INSERT INTO webhook_subscriptions (client_id, department_code, region_prefix, url, events, secret) "
        "VALUES ($1, 'police', '320402', 'https://ga.czgov.example/hook', '{task.created}', 'whsec_x')",
        client_id,
    )
    revoked = run_cli(database_url, tmp_path, "client-revoke", client_id)
    assert revoked.returncode == 0 and "1 webhook(s) ended" in revoked.stdout
    assert await pool.fetchval("SELECT revoked_at IS NOT NULL FROM api_clients WHERE client_id = $1", client_id)
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM webhook_subscriptions WHERE client_id = $1 AND disabled_at IS NULL", client_id
        )
        == 0
    )
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'api_client.revoke' AND subject = $1", f"client:{client_id}"
        )
        == 1
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--department", "police", "--scopes", "records:write"], "不能授予：records:write"),
        (["--hospital", "常州市第一人民医院", "--scopes", "tasks:read"], "不能授予：tasks:read"),
        (["--department", "nowhere", "--scopes", "tasks:read"], "--department"),
        (["--department", "police", "--region", "999999", "--scopes", "tasks:read"], "--region"),
    ],
)
def test_a_client_that_cannot_be_is_refused_with_the_reason(
    database_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    refused = run_cli(database_url, tmp_path, "client-add", "--name", "系统", *args)
    assert refused.returncode == 2 and message in refused.stderr


async def test_purge_forgets_old_idempotency_answers_and_finished_deliveries(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    added = run_cli(
        database_url, tmp_path, "client-add", "--name", "卫健系统", "--department", "health", "--scopes", "tasks:write"
    )
    client_id = _printed(added.stdout, "client_id")
    for key, age in (("old-key-0001", timedelta(days=8)), ("new-key-0001", timedelta(days=1))):
        await pool.execute(
            "INSERT INTO exchange_writes (client_id, idempotency_key, request_hash, status_code, response, created_at) "
            "VALUES ($1, $2, '\\x00', 200, '{}', now() - $3::interval)",
            client_id,
            key,
            age,
        )
    subscription = await pool.fetchval(
        "INSERT INTO webhook_subscriptions (client_id, department_code, region_prefix, url, events, secret) "
        "VALUES ($1, 'health', '3204', 'https://wjw.czgov.example/hook', '{task.created}', 'whsec_x') RETURNING id",
        client_id,
    )
    for status, age in (
        ("delivered", timedelta(days=200)),
        ("pending", timedelta(days=200)),
        ("delivered", timedelta(1)),
    ):
        await pool.execute(
            "INSERT INTO webhook_deliveries (subscription_id, message_id, event_type, payload, status, created_at) "
            "VALUES ($1, 'msg_' || gen_random_uuid(), 'task.created', '{}', $2, now() - $3::interval)",
            subscription,
            status,
            age,
        )
    result = run_cli(database_url, tmp_path, "purge")
    assert result.returncode == 0, result.stderr
    assert [r["idempotency_key"] for r in await pool.fetch("SELECT idempotency_key FROM exchange_writes")] == [
        "new-key-0001"
    ]
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 2  # the pending one stays
