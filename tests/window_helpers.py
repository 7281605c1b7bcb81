"""窗口收件 over HTTP, the quickest path to a valid submission: a window clerk signs in, checks a walk-in
resident's ID card and files for them without uploads (the paper originals are checked at the window)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from tests.auth_helpers import csrf, post, staff_client_sign_up
from tests.case_helpers import answers_for
from tests.database_fixtures import TEST_SECRET_KEY
from tests.softauthn import SoftAuthenticator

WANG = {"name": "王建国", "id_number": "320412196608080133"}  # lives in 武进区 (320412)
LIFE_EVENT = "retirement"


async def clerk_signs_in(
    client: httpx.AsyncClient, pool: asyncpg.Pool, public_url: str, name: str = "武进窗口"
) -> SoftAuthenticator:
    """A clerk of the 武进 hall signs up with an enrollment code on the app at `client`'s base URL."""
    return await staff_client_sign_up(
        client,
        pool,
        TEST_SECRET_KEY,
        name=name,
        role="clerk",
        region="320412",
        department="hrss",
        authenticator=SoftAuthenticator("localhost", public_url),
    )


async def receive_walk_in(client: httpx.AsyncClient, person: dict[str, str] = WANG) -> dict[str, Any]:
    """The clerk checks the person's ID card (王建国's unless told); returns the body of a filing of 退休 for them,
    without its idempotency key. One person's 退休 is one matter: filed again under another key, it is 一事不二办's
    duplicate (409) — a test that needs many cases from one walk-in files births (`receive_walk_in_births`)."""
    return (await _walk_in_filings(client, person, LIFE_EVENT))()


async def receive_walk_in_births(client: httpx.AsyncClient, person: dict[str, str] = WANG) -> Callable[[], dict]:
    """The clerk checks the person's ID card; each call of the answer is the body of a filing of 新生儿出生 for
    another child (born on another day), without its idempotency key — as many cases as a test needs."""
    return await _walk_in_filings(client, person, "birth")


async def _walk_in_filings(client: httpx.AsyncClient, person: dict[str, str], life_event: str) -> Callable[[], dict]:
    started = await post(client, "/api/v1/console/walk-ins", {**person, "identity_checked": True})
    assert started.status_code in (200, 201), started.text
    form = await client.get(f"/api/v1/life-events/{life_event}/form", params={"on_behalf_of": person["id_number"]})
    assert form.status_code == 200, form.text
    fields = form.json()
    return lambda: {"life_event": life_event, "data": answers_for(fields), "on_behalf_of": person["id_number"]}


async def file_walk_in(client: httpx.AsyncClient, body: dict[str, Any], key: str, *, at: str = "") -> httpx.Response:
    """POST /api/v1/cases with this key, to the client's own host or the one `at` names (its URL)."""
    return await client.post(f"{at}/api/v1/cases", json={**body, "idempotency_key": key}, headers=await csrf(client))
