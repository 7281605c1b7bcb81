"""Text messages to residents' phones (短信): what they say, and the backend that sends them.

The backend is chosen by the SMS_BACKEND setting. Only `log` exists until the carriers' gateways arrive with
the data-exchange issue: it writes each message as one line of the server log, as a console e-mail backend
does, so that a developer (or the demo) reads the code in the `make run` output:

    短信 → 138****0011: 【常州一网通办】验证码 123456，10分钟内有效

The phone is masked there; the code is in clear, which is the point of that backend. A gateway backend is
another class with the same `send`.
"""

from __future__ import annotations

import logging
from typing import Protocol

from app.people.identity import mask_mobile

log = logging.getLogger("app.sms")
SIGNATURE = "【常州一网通办】"
CODE_MINUTES = 10


class SmsBackend(Protocol):
    async def send(self, phone: str, text: str) -> None:
        """Send `text` to the mainland mobile number `phone`; raises if the gateway refuses it."""
        ...


class LogBackend:
    """Development and demo: each message is one line of the server log (INFO, logger `app.sms`)."""

    async def send(self, phone: str, text: str) -> None:
        log.info("短信 → %s: %s", mask_mobile(phone), text)


_BACKENDS: dict[str, type[SmsBackend]] = {"log": LogBackend}


def backend_named(name: str) -> SmsBackend:
    """The backend for SMS_BACKEND (config.settings checks the name at start-up)."""
    return _BACKENDS[name]()


def verification_code_text(code: str) -> str:
    return f"{SIGNATURE}验证码 {code}，{CODE_MINUTES}分钟内有效"


def account_exists_text() -> str:
    """Sent instead of a code to someone who already has an account: the page must not say so, the phone may."""
    return (
        f"{SIGNATURE}您已开通账户，请直接登录。如需在新手机上使用，请在已登录的设备上添加通行密钥，"
        "或凭身份证到政务服务窗口领取开户码。如非本人操作，请忽略本短信"
    )


async def send_quietly(backend: SmsBackend, phone: str, text: str) -> None:
    """Send after the answer has gone (a background task): a failing gateway is logged, never raised, because
    nobody is waiting for it and its failure must not show on the page (the page says the same either way)."""
    try:
        await backend.send(phone, text)
    except Exception:
        log.exception("短信 → %s: not sent", mask_mobile(phone))
