"""The e-certificate library (电子证照): what a held document looks like to the rest of the app."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec


class ECertificate(msgspec.Struct, frozen=True, kw_only=True):
    """A document in a person's library. Its number is never here in full: only masked."""

    id: int
    kind: str
    title: str
    number_masked: str
    issued_by: str
    issued_on: date
    case_no: str | None = None  # the case whose 办结 issued it
    revision: int = 0  # how many corrections (更正) lie behind it: 0 as first issued
    # Void (已作废): since when and why, and the certificate that replaced it when a correction (更正) did; void too
    # without one when its organisation was 注销. A void certificate stays in the library so that its 亮证 code can
    # say why it no longer holds; no form uses it (免提交).
    voided_at: datetime | None = None
    void_reason: str | None = None
    superseded_by: int | None = None
    # The contents (names, addresses, a spouse's ID number …), decrypted: filled only by
    # service.held_with_contents, for the server to prefill a form with; empty everywhere else.
    data: dict[str, Any] = msgspec.field(default_factory=dict[str, Any])

    @property
    def void(self) -> bool:
        return self.voided_at is not None


class StoredCertificate(msgspec.Struct, frozen=True, kw_only=True):
    certificate: ECertificate
    data_enc: bytes


class LockedCertificate(msgspec.Struct, frozen=True, kw_only=True):
    """A person's certificate locked for a correction: its holder, and its number and contents still sealed."""

    person_id: int
    certificate: ECertificate
    number_enc: bytes
    data_enc: bytes
    case_id: int | None


class SealedCertificate(msgspec.Struct, frozen=True, kw_only=True):
    """What the table keeps of a number and contents: never the clear text."""

    number_hash: bytes
    number_enc: bytes
    number_masked: str
    data_enc: bytes


class ClearRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row written before 0012, still in clear, as the data step reads it to seal it."""

    id: int
    kind: str
    number: str
    data: dict[str, Any]


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    """Whose certificates a section of 我的证照 lists: the resident, or one of their minor children."""

    person_id: int
    name: str
    id_number_masked: str
    own: bool  # the resident's own (else a minor child's)


class Wallet(msgspec.Struct, frozen=True, kw_only=True):
    holder: Holder
    certificates: list[ECertificate]  # current ones
    voided: list[ECertificate] = msgspec.field(default_factory=list[ECertificate])  # void ones, kept for the record
