"""A request that read the session before another one changed it must not put the old session back when it
finishes: ending a walk-in, switching client or signing out stays done (auth.sessions.SessionBackend)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from app.cases import service as cases
from auth.sessions import _merge
from config.settings import Settings
from tests.auth_helpers import csrf, post, staff_client_sign_up

pytestmark = pytest.mark.anyio

WANG = {"name": "王建国", "id_number": "320412196608080133"}


class HeldDraftRead:
    """Makes GET /api/v1/drafts/… wait, after its checks, until released: a slow request in flight."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        original = cases.get_draft

        async def held(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            await self.release.wait()
            return await original(*args, **kwargs)

        monkeypatch.setattr(cases, "get_draft", held)

    async def around(self, client: httpx.AsyncClient, meanwhile: Callable[[], Any]) -> httpx.Response:
        slow = asyncio.create_task(client.get("/api/v1/drafts/retirement", params={"on_behalf_of": WANG["id_number"]}))
        await asyncio.wait_for(self.entered.wait(), 10)
        await meanwhile()
        self.release.set()
        return await asyncio.wait_for(slow, 10)


@pytest.fixture
async def clerk(client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings) -> httpx.AsyncClient:
    await staff_client_sign_up(
        client, pool, settings.secret_key, name="武进窗口", role="clerk", region="320412", department="hrss"
    )
    started = await post(client, "/api/v1/console/walk-ins", {**WANG, "identity_checked": True})
    assert started.status_code == 201, started.text
    return client


async def test_a_walk_in_ended_during_a_slow_request_stays_ended(
    clerk: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldDraftRead(monkeypatch)

    async def end() -> None:
        ended = await clerk.delete("/api/v1/console/walk-ins/current", headers=await csrf(clerk))
        assert ended.status_code == 204

    slow = await held.around(clerk, end)
    assert slow.status_code == 200
    assert (await clerk.get("/api/v1/console/walk-ins/current")).status_code == 404


async def test_signing_out_during_a_slow_request_stays_signed_out(
    clerk: httpx.AsyncClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldDraftRead(monkeypatch)
    cookie = clerk.cookies["ywtb_session"]

    async def sign_out() -> None:
        assert (await post(clerk, "/api/v1/auth/logout")).status_code == 204

    await held.around(clerk, sign_out)
    assert await pool.fetchval("SELECT count(*) FROM sessions") == 0
    clerk.cookies.set("ywtb_session", cookie)  # even a browser that kept the old cookie
    assert (await clerk.get("/api/v1/me")).status_code == 401


async def test_a_change_made_during_a_slow_request_is_kept_with_the_slow_requests_own(
    clerk: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldDraftRead(monkeypatch)

    async def next_person() -> None:
        started = await post(
            clerk,
            "/api/v1/console/walk-ins",
            {"name": "刘桂芳", "id_number": "320412196802141227", "identity_checked": True},
        )
        assert started.status_code == 201

    await held.around(clerk, next_person)
    assert (await clerk.get("/api/v1/console/walk-ins/current")).json()["name"] == "刘桂芳"


def test_a_request_writes_only_the_keys_it_changed_onto_the_session_as_it_is_now() -> None:
    before = {"account_id": 1, "seen_at": 100, "walk_in": {"person_id": 7}}
    # A slow request touched seen_at; meanwhile another ended the walk-in.
    mine = {"account_id": 1, "seen_at": 200, "walk_in": {"person_id": 7}}
    current = {"account_id": 1, "seen_at": 100}
    assert _merge(before, mine, current) == {"account_id": 1, "seen_at": 200}
    # The request that ended the walk-in, merged onto a session whose seen_at was touched meanwhile.
    assert _merge(before, {"account_id": 1, "seen_at": 100}, {**before, "seen_at": 200}) == {
        "account_id": 1,
        "seen_at": 200,
    }
    # A key the request added is kept; keys it did not touch come from the current row.
    assert _merge({}, {"owner": "x"}, {"account_id": 2}) == {"account_id": 2, "owner": "x"}


def test_a_key_removed_by_a_slow_request_stays_when_another_set_it_anew() -> None:
    # A slow request saw the walk-in expire; meanwhile the clerk started the next one: that one stays.
    assert _merge({"walk_in": 1}, {}, {"walk_in": 2}) == {"walk_in": 2}


async def test_a_session_id_the_browser_offers_is_never_used_for_a_new_session(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    client.cookies.set("ywtb_session", "attacker-chosen", domain="localhost")
    response = await post(client, "/api/v1/auth/login/options", {})
    assert response.status_code == 200
    keys = [r["key"] for r in await pool.fetch("SELECT key FROM sessions")]
    assert len(keys) == 1 and keys[0] != "attacker-chosen"
    assert f"ywtb_session={keys[0]}" in response.headers["set-cookie"]


async def test_a_slow_request_that_changed_nothing_sends_no_cookie(
    clerk: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So a slow answer arriving after a sign-in cannot set the browser back to the id it came with."""
    held = HeldDraftRead(monkeypatch)

    async def meanwhile() -> None:
        assert (await clerk.get("/api/v1/me")).status_code == 200

    slow = await held.around(clerk, meanwhile)
    assert slow.status_code == 200 and "ywtb_session" not in slow.headers.get("set-cookie", "")
