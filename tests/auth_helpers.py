"""Driving the passkey ceremonies over HTTP with the software authenticator."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.softauthn import SoftAuthenticator

ORIGIN = "http://localhost:8000"
ZHANG_WEI = {"name": "张伟", "id_number": "320402199403150119"}
LI_NA = {"name": "李娜", "id_number": "320402199506180126"}
REGISTER_START = "/api/v1/auth/register/options"
_SMS_CODE = re.compile(r"短信 → \d{3}\*{4}\d{4}: 【常州一网通办】验证码 (\d{6})，")


def texted_codes(log_text: str) -> list[str]:
    """The sign-up codes in lines the SMS `log` backend wrote (a server's log, or records caught in a test)."""
    return _SMS_CODE.findall(log_text)


class SmsOutbox(logging.Handler):
    """The text messages the `log` SMS backend writes while attached, as the server log shows them:
    `短信 → 138****0001: 【常州一网通办】验证码 123456，10分钟内有效`."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def to(self, masked_phone: str) -> list[str]:
        return [line for line in self.lines if line.startswith(f"短信 → {masked_phone}:")]

    def last_code(self) -> str | None:
        codes = texted_codes("\n".join(self.lines))
        return codes[-1] if codes else None


@contextmanager
def sms_outbox() -> Iterator[SmsOutbox]:
    """Read what the app texts (the SMS logger) while the block runs."""
    logger = logging.getLogger("sms")
    outbox = SmsOutbox()
    level = logger.level
    logger.addHandler(outbox)
    logger.setLevel(logging.INFO)
    try:
        yield outbox
    finally:
        logger.removeHandler(outbox)
        logger.setLevel(level)


def new_authenticator() -> SoftAuthenticator:
    return SoftAuthenticator("localhost", ORIGIN)


async def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    """The double-submit token: the cookie a safe request sets, echoed in the header."""
    if "csrftoken" not in client.cookies:
        await client.get("/")
    return {"X-CSRFToken": client.cookies["csrftoken"]}


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post(path, json=body or {}, headers=await csrf(client))


async def sms_code_for(client: httpx.AsyncClient, person: dict[str, str], **extra: str) -> str:
    """Step 1 of sign-up: ask for a code, and read it from the text sent to the register's phone."""
    with sms_outbox() as outbox:
        started = await post(client, REGISTER_START, {**person, **extra})
    assert started.status_code == 202, started.text
    code = outbox.last_code()
    assert code is not None, f"no code was texted for {person.get('name')}: {outbox.lines}"
    return code


async def creation_options(client: httpx.AsyncClient, person: dict[str, str], **extra: str) -> httpx.Response:
    """The passkey creation options as a resident gets them: after the code texted to the register's phone or,
    with an enrollment code (a second phone, a resident with no phone, staff), at once."""
    body = {**person, **extra}
    if "enrollment_code" not in extra:
        body["sms_code"] = await sms_code_for(client, person, **extra)
    return await post(client, REGISTER_START, body)


async def sign_up(
    client: httpx.AsyncClient, authenticator: SoftAuthenticator, person: dict[str, str], **extra: str
) -> httpx.Response:
    """Sign up as a resident does: the code texted to the register's phone, then the passkey."""
    options = await creation_options(client, person, **extra)
    assert options.status_code == 200, options.text
    return await post(client, "/api/v1/auth/register/verify", {"credential": authenticator.create(options.json())})


async def resident(make: Callable[[], httpx.AsyncClient], person: dict[str, str]) -> httpx.AsyncClient:
    """A new client (`make`: the `another_client` fixture), signed up as `person` with a passkey of its own."""
    client = make()
    assert (await sign_up(client, new_authenticator(), person)).status_code == 201
    return client


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
    window_for: list[str] | None = None,
) -> SoftAuthenticator:
    """Create a staff account as `staff-add` does and register its passkey over HTTP (with `authenticator`, for
    an app served elsewhere than ORIGIN); `window_for`: a clerk's window authorisations (马上办)."""
    from app.accounts import store as accounts_store
    from auth import enrollment
    from auth.passkeys import new_user_handle

    account_id = await accounts_store.create_staff_account(
        pool, name=name, role=role, department_code=department, region_code=region, user_handle=new_user_handle()
    )
    code, _ = await enrollment.issue(pool, secret_key, account_id=account_id, issued_by="test")
    if window_for:
        await accounts_store.authorise_window(pool, account_id, window_for)
    authenticator = authenticator or new_authenticator()
    response = await sign_up(client, authenticator, {"name": name}, enrollment_code=code)
    assert response.status_code == 201, response.text
    return authenticator


async def signed_in_staff(
    make: Callable[[], httpx.AsyncClient],
    pool: Any,
    settings: Any,
    *,
    name: str,
    role: str,
    region: str = "320402",
    department: str | None = None,
) -> httpx.AsyncClient:
    """A new client signed in as a new staff account (天宁区 unless `region` says otherwise)."""
    staff = make()
    await staff_client_sign_up(
        staff, pool, settings.secret_key, name=name, role=role, region=region, department=department
    )
    return staff
