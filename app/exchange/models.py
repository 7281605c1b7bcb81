"""The data-exchange API's shapes (docs/exchange.md): what a department's or a hospital's system sends and gets."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

import msgspec

from i18n import N_

# Certificates a hospital files (POST /records): kind → title in the e-certificate library.
RECORD_KINDS: Final = {
    "delivery_record": N_("分娩记录"),
    "birth_medical": N_("出生医学证明"),
    "death_medical": N_("死亡医学证明（推断）书"),
}


class TaskField(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    value: Any


class MaterialFile(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str
    size: int
    url: str  # GET it with the same token (materials:read)


class HeldCertificate(msgspec.Struct, frozen=True, kw_only=True):
    """A material the applicant's e-certificate library holds (免提交): named, its number masked."""

    kind: str
    title: str
    number_masked: str
    issued_by: str
    issued_on: date


class TaskMaterial(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    required: bool
    # upload: a file the applicant sent; e_certificate: held in the library; issued_by_item: another item of the
    # same case issues it; supplement: files answering this task's 补正告知; evidence: files sent with a correction
    # (更正); missing: none of these.
    provided: str
    file: MaterialFile | None = None
    certificate: HeldCertificate | None = None


class TaskCorrection(msgspec.Struct, frozen=True, kw_only=True):
    """A correction task's request (更正): the certificate, the field (its form key and label), what the certificate
    says now, the value asked for and why. Its evidence files are the task's materials (provided: evidence)."""

    certificate_title: str
    certificate_number_masked: str
    field: str
    field_label: str
    current: str
    requested: str
    reason: str


class ExchangeTask(msgspec.Struct, frozen=True, kw_only=True):
    """A task as its department's system sees it: only the answers and materials of this task's own item."""

    id: int
    case_no: str
    life_event: str
    life_event_name: str
    item_code: str
    item_name: str
    status: str
    status_label: str
    allowed_actions: list[str]
    due_on: date | None
    due_provisional: bool
    submitted_at: datetime
    updated_at: datetime
    fields: list[TaskField]
    materials: list[TaskMaterial]
    # Set once the case is past its retention: its answers and files were removed then, so both lists are empty.
    purged_at: datetime | None = None
    correction: TaskCorrection | None = None  # set on a correction task (更正): what is asked


class TaskPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ExchangeTask]
    next_cursor: str | None  # pass as ?cursor= for the next page; None: this was the last


class TransitionRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    action: str
    note: str | None = None
    delivery_method: str | None = None
    delivery_ref: str | None = None


class CertificateRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """办结 with the result certificate as the department issued it."""

    number: str
    issued_on: date
    data: dict[str, Any] = msgspec.field(default_factory=dict[str, Any])
    note: str | None = None


class RecordRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A hospital's record for a person of the register: the mother (分娩记录, 出生医学证明) or the deceased."""

    kind: str
    id_number: str
    name: str
    number: str
    issued_on: date
    data: dict[str, Any] = msgspec.field(default_factory=dict[str, Any])


class RecordFiled(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    title: str
    number_masked: str
    holder_id_number_masked: str
    issued_by: str
    issued_on: date


class WebhookRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str
    events: list[str]


class WebhookView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreated(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    url: str
    events: list[str]
    created_at: datetime
    secret: str  # whsec_…: verify every delivery's signature with it; shown only in this answer


class WebhookList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[WebhookView]
    # Shaped as every list is; a client has at most hooks.subscriptions.MAX_PER_CLIENT, so there is one page.
    next_cursor: None = None


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    recovered_at: datetime | None
    payload: dict[str, Any]


class RecoverRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which failed deliveries to send again: those made at or after `since` (all the log still holds: omitted)."""

    since: datetime | None = None


class RecoverAnswer(msgspec.Struct, frozen=True, kw_only=True):
    queued: int  # failed deliveries sent again from their first try
    remaining: int  # failed ones since `since` not queued by this call (at most 1,000 a call): call again


class DeliveryPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[DeliveryView]
    next_cursor: str | None


class StoredWrite(msgspec.Struct, frozen=True, kw_only=True):
    """A write answered earlier under an idempotency key (exchange_writes)."""

    request_hash: bytes
    status_code: int
    response: dict[str, Any]
