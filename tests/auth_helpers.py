"""Driving the passkey ceremonies over HTTP with the software authenticator."""

from __future__ import annotations

from typing import Any

import httpx

from tests.softauthn import SoftAuthenticator

ORIGIN = "http://localhost:8000"
ZHANG_WEI = {"name": "张伟", "id_number": "320402199403150119"}
LI_NA = {"name": "李娜", "id_number": "320402199506180126"}


def new_authenticator() -> SoftAuthenticator:
    return SoftAuthenticator("localhost", ORIGIN)


async def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    """The double-submit token: the cookie a safe request sets, echoed in the header."""
    if "csrftoken" not in client.cookies:
        await client.get("/")
    return {"X-CSRFToken": client.cookies["csrftoken"]}


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post(path, json=body or {}, headers=await csrf(client))


async def sign_up(
    client: httpx.AsyncClient, authenticator: SoftAuthenticator, person: dict[str, str], **extra: str
) -> httpx.Response:
    options = await post(client, "/api/v1/auth/register/options", {**person, **extra})
    assert options.status_code == 200, options.text
    return await post(client, "/api/v1/auth/register/verify", {"credential": authenticator.create(options.json())})


async def sign_in(client: httpx.AsyncClient, authenticator: SoftAuthenticator, **tamper: Any) -> httpx.Response:
    options = await post(client, "/api/v1/auth/login/options")
    assert options.status_code == 200, options.text
    return await post(client, "/api/v1/auth/login/verify", {"credential": authenticator.get(options.json(), **tamper)})


async def sign_out(client: httpx.AsyncClient) -> None:
    response = await post(client, "/api/v1/auth/logout")
    assert response.status_code == 204


async def staff_client_sign_up(
    client: httpx.AsyncClient,
    pool: Any,
    secret_key: str,
    *,
    name: str,
    role: str,
    region: str,
    department: str | None = None,
    authenticator: SoftAuthenticator | None = None,
) -> SoftAuthenticator:
    """Create a staff account as `staff-add` does and register its passkey over HTTP (with `authenticator`, for
    an app served elsewhere than ORIGIN)."""
    from app.accounts import store as accounts_store
    from auth import enrollment
    from auth.passkeys import new_user_handle

    account_id = await accounts_store.create_staff_account(
        pool, name=name, role=role, department_code=department, region_code=region, user_handle=new_user_handle()
    )
    code, _ = await enrollment.issue(pool, secret_key, account_id=account_id, issued_by="test")
    authenticator = authenticator or new_authenticator()
    response = await sign_up(client, authenticator, {"name": name}, enrollment_code=code)
    assert response.status_code == 201, response.text
    return authenticator
