"""Signing in moves the session to a new id (session fixation): the id a browser held before signing in,
however it came by it, is worth nothing afterwards, and its row is gone from the session table."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.accounts import store as accounts_store
from auth import enrollment
from auth.passkeys import new_user_handle
from auth.sessions import SESSION_COOKIE, SessionBackend
from config.settings import Settings
from tests.auth_helpers import (
    ORIGIN,
    ZHANG_WEI,
    creation_options,
    new_authenticator,
    post,
    sign_in,
    sign_out,
    sign_up,
)

Client = httpx.AsyncClient
pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _other_browser(app: Litestar) -> AsyncIterator[Client]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as browser:
        yield browser


def _session_id(client: Client) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    return value


async def _stored_ids(pool: asyncpg.Pool) -> set[str]:
    return {row["key"] for row in await pool.fetch("SELECT key FROM sessions")}


async def _who_is(app: Litestar, session_id: str) -> int:
    """The status of 'who am I' for a browser that presents only this session id."""
    async with _other_browser(app) as browser:
        response = await browser.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={session_id}"})
    return response.status_code


async def _assert_moved(app: Litestar, pool: asyncpg.Pool, before: str, after: str) -> None:
    assert after != before
    assert await _stored_ids(pool) == {after}
    assert await _who_is(app, before) == 401
    assert await _who_is(app, after) == 200


async def test_passkey_sign_in_moves_the_session_to_a_new_id(client: Client, pool: asyncpg.Pool, app: Litestar) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    options = await post(client, "/api/v1/auth/login/options")
    before = _session_id(client)
    assert await _stored_ids(pool) == {before}  # the ceremony's session, not yet signed in

    response = await post(client, "/api/v1/auth/login/verify", {"credential": authenticator.get(options.json())})

    assert response.status_code == 200, response.text
    await _assert_moved(app, pool, before, _session_id(client))
    assert (await client.get("/api/v1/me")).json()["name"] == "张伟"


async def test_signing_in_again_while_signed_in_moves_the_session_again(
    client: Client, pool: asyncpg.Pool, app: Litestar
) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    first = _session_id(client)
    assert (await sign_in(client, authenticator)).status_code == 200
    await _assert_moved(app, pool, first, _session_id(client))


async def test_resident_sign_up_moves_the_session_to_a_new_id(
    client: Client, pool: asyncpg.Pool, app: Litestar
) -> None:
    options = await creation_options(client, ZHANG_WEI)
    before = _session_id(client)

    response = await post(
        client, "/api/v1/auth/register/verify", {"credential": new_authenticator().create(options.json())}
    )

    assert response.status_code == 201, response.text
    await _assert_moved(app, pool, before, _session_id(client))


async def test_staff_sign_up_with_an_enrollment_code_moves_the_session_to_a_new_id(
    client: Client, pool: asyncpg.Pool, settings: Settings, app: Litestar
) -> None:
    account_id = await accounts_store.create_staff_account(
        pool, name="王窗口", role="clerk", department_code="police", region_code="320402", user_handle=new_user_handle()
    )
    code, _ = await enrollment.issue(pool, settings.secret_key, account_id=account_id, issued_by="test")
    options = await post(client, "/api/v1/auth/register/options", {"name": "王窗口", "enrollment_code": code})
    assert options.status_code == 200, options.text
    before = _session_id(client)

    response = await post(
        client, "/api/v1/auth/register/verify", {"credential": new_authenticator().create(options.json())}
    )

    assert response.status_code == 201, response.text
    await _assert_moved(app, pool, before, _session_id(client))


async def test_a_session_id_planted_before_sign_in_does_not_sign_the_planter_in(
    client: Client, pool: asyncpg.Pool, app: Litestar
) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    async with _other_browser(app) as attacker:
        # The attacker starts a ceremony to get a live session id and slips it into the resident's browser.
        assert (await post(attacker, "/api/v1/auth/login/options")).status_code == 200
        planted = next(c for c in attacker.cookies.jar if c.name == SESSION_COOKIE)
        client.cookies.jar.clear()
        client.cookies.jar.set_cookie(copy.copy(planted))

        assert (await sign_in(client, authenticator)).status_code == 200

        assert (await client.get("/api/v1/me")).status_code == 200
        assert _session_id(client) != planted.value
        assert (await attacker.get("/api/v1/me")).status_code == 401
        assert planted.value not in await _stored_ids(pool)


async def test_sign_out_ends_the_moved_session(client: Client, pool: asyncpg.Pool, app: Litestar) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    signed_in = _session_id(client)

    await sign_out(client)

    assert await _stored_ids(pool) == set()
    assert await _who_is(app, signed_in) == 401
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await sign_in(client, authenticator)).status_code == 200
    assert _session_id(client) != signed_in


async def test_an_id_is_made_only_for_a_session_that_is_stored(
    client: Client, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session id is 32 random bytes: made for a session about to be stored, never for a page view that keeps
    nothing (Litestar made one up for every request that came without one, and each new session took a second)."""
    made: list[str] = []
    generate = SessionBackend.generate_session_id

    def counted(backend: SessionBackend) -> str:
        made.append(generate(backend))
        return made[-1]

    monkeypatch.setattr(SessionBackend, "generate_session_id", counted)
    for page in ("/", "/scan", "/login"):
        assert (await client.get(page)).status_code == 200
    assert made == [] and SESSION_COOKIE not in client.cookies and await _stored_ids(pool) == set()

    await post(client, "/api/v1/auth/login/options")  # a sign-in ceremony keeps its challenge in a new session
    assert made == [_session_id(client)] and await _stored_ids(pool) == {made[0]}
