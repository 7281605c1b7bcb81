"""Texts as they travel between the outbox, the worker and a backend."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

# accepted: the gateway took it. retry: try again later (the gateway busy or unreachable, flow control). bad-number:
# this number cannot be texted (invalid, refused by the carrier). refused: retrying will not help (credentials, sign,
# template: the operator must act).
Outcome = Literal["accepted", "retry", "bad-number", "refused"]


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One text: the number, the kind (a template of sms.texts) and its parameters."""

    phone: str
    template: str
    params: dict[str, str]


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    error: str | None = None
    provider_id: str | None = None  # the gateway's id for the message (阿里云 BizId, 腾讯云 SerialNo)


class ClaimedSms(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    phone: str
    template: str
    params: dict[str, str]
    attempts: int


class CaseText(msgspec.Struct, frozen=True, kw_only=True):
    """A case step to text: queued by app.sms in the step's transaction."""

    phone: str
    case_id: int
    event_id: int
    case_no: str
    step: str  # in Chinese, always: the text of record, and what a gateway without the English template sends
    step_en: str | None = None  # the applicant's account reads English (i18n): texted in English
    tracking_path: str  # /t/{token}: the worker puts PUBLIC_URL in front
    # Texts with the same key in one transaction are one text (办结 and its write-back are one step to a resident).
    once_key: str


class TextState(msgspec.Struct, frozen=True, kw_only=True):
    """Where one queued text stands (a notice that must arrive asks: push/arrival.py)."""

    status: str  # created | sending | delivered | temporary-failure | permanent-failure | technical-failure
    sent_at: datetime | None
    last_error: str | None
