"""Behind a TLS proxy: limits and the audit log see each resident's own address, never the proxy's,
and X-Forwarded-For is believed only from TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.main import create_app
from app.web.proxies import forwarded_client
from auth import ratelimit
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_in, sign_out, sign_up
from tests.database_fixtures import settings_for

PROXY = "10.0.0.7"  # the TLS proxy every request arrives from
NETWORKS = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("10.0.0.7", ["203.0.113.5"], "203.0.113.5"),
        # The proxy appends what it saw; what the client wrote before it is believed no further.
        ("10.0.0.7", ["198.51.100.1, 203.0.113.5"], "203.0.113.5"),
        # Two trusted hops (load balancer → TLS proxy): the first untrusted address from the right.
        ("10.0.0.7", ["203.0.113.5, 10.0.0.9"], "203.0.113.5"),
        ("10.0.0.7", ["203.0.113.5", "10.0.0.9"], "203.0.113.5"),
        # Nobody but a trusted proxy may say who the client is.
        ("198.51.100.1", ["203.0.113.5"], "198.51.100.1"),
        # A malformed hop ends the walk at the last address a trusted proxy vouched for.
        ("10.0.0.7", ["203.0.113.5, not-an-address"], "10.0.0.7"),
        ("10.0.0.7", ["[2001:db8::5]:443"], "2001:db8::5"),
        ("10.0.0.7", ["203.0.113.5:51234"], "203.0.113.5"),
        ("10.0.0.7", ["10.0.0.8, 10.0.0.9"], "10.0.0.8"),
    ],
)
def test_the_client_address_comes_through_trusted_proxies_only(
    peer: str, forwarded_for: list[str], expected: str
) -> None:
    assert forwarded_client(peer, forwarded_for, NETWORKS) == expected


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert forwarded_client("10.0.0.7", ["203.0.113.5"], ()) == "10.0.0.7"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path / "data", TRUSTED_PROXIES="10.0.0.0/8")


@pytest.fixture
def app(settings: Settings, pool: asyncpg.Pool) -> Litestar:
    return create_app(settings, pool=pool)


@pytest.fixture
async def via_proxy(app: Litestar) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """A browser at `address` whose requests reach the app through the TLS proxy."""
    clients: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(PROXY, 40000 + len(clients)))
        made = httpx.AsyncClient(
            transport=transport, base_url="http://localhost:8000", headers={"X-Forwarded-For": address}
        )
        clients.append(made)
        return made

    yield make
    for made in clients:
        await made.aclose()


async def _junk_sign_ins(client: httpx.AsyncClient, times: int) -> list[int]:
    statuses = []
    for _ in range(times):
        response = await post(client, "/api/v1/auth/login/verify", {"credential": {"id": "junk", "response": {}}})
        statuses.append(response.status_code)
    return statuses


async def test_junk_from_one_resident_behind_the_proxy_does_not_lock_out_the_others(via_proxy) -> None:  # type: ignore[no-untyped-def]
    resident = via_proxy("203.0.113.20")
    authenticator = new_authenticator()
    assert (await sign_up(resident, authenticator, ZHANG_WEI)).status_code == 201
    await sign_out(resident)

    attacker = via_proxy("198.51.100.66")
    statuses = await _junk_sign_ins(attacker, ratelimit.LIMITS["ip"] + 1)
    assert statuses[-1] == 429

    assert (await sign_in(resident, authenticator)).status_code == 200


async def test_a_forged_header_from_an_untrusted_peer_does_not_escape_the_limit(app: Litestar) -> None:
    statuses = []
    for n in range(ratelimit.LIMITS["ip"] + 1):
        transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:8000", headers={"X-Forwarded-For": f"203.0.113.{n}"}
        ) as client:
            statuses.extend(await _junk_sign_ins(client, 1))
    assert statuses[-1] == 429


async def test_the_audit_log_names_the_residents_address_not_the_proxys(via_proxy, pool: asyncpg.Pool) -> None:  # type: ignore[no-untyped-def]
    resident = via_proxy("203.0.113.21")
    assert (await sign_up(resident, new_authenticator(), ZHANG_WEI)).status_code == 201
    ips = {str(r["ip"]) for r in await pool.fetch("SELECT ip FROM audit_log WHERE action = 'signup'")}
    assert ips == {"203.0.113.21"}


async def test_tracking_scans_are_limited_per_resident_behind_the_proxy(via_proxy, app: Litestar) -> None:  # type: ignore[no-untyped-def]
    app.state.scan_limiter.per_minute = 2
    scraper, resident = via_proxy("198.51.100.70"), via_proxy("203.0.113.22")
    statuses = [(await scraper.get("/t/" + "x" * 32)).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    assert (await resident.get("/t/" + "x" * 32)).status_code == 404


async def test_someone_elses_guesses_at_a_passkey_do_not_lock_its_owner_out(
    client: httpx.AsyncClient, via_proxy
) -> None:  # type: ignore[no-untyped-def]
    owner = new_authenticator()
    assert (await sign_up(client, owner, ZHANG_WEI)).status_code == 201
    await sign_out(client)

    # The attacker knows the credential id (it is no secret) and sends assertions naming it: junk with a
    # made-up challenge, then fresh challenges with forged signatures, until they are refused.
    attacker = via_proxy("198.51.100.80")
    for _ in range(ratelimit.LIMITS["credential"] + 2):
        options = (await post(attacker, "/api/v1/auth/login/options")).json()
        junk = owner.get({**options, "challenge": "bm90LWEtY2hhbGxlbmdlLWF0LWFsbA"})
        await post(attacker, "/api/v1/auth/login/verify", {"credential": junk})
    statuses = []
    for _ in range(ratelimit.LIMITS["credential"] + 1):
        options = (await post(attacker, "/api/v1/auth/login/options")).json()
        forged = owner.forge_signature(owner.get(options))
        statuses.append((await post(attacker, "/api/v1/auth/login/verify", {"credential": forged})).status_code)
    assert statuses[-1] == 429

    assert (await sign_in(client, owner)).status_code == 200
