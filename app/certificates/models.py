"""The e-certificate library (电子证照): what a held document looks like to the rest of the app."""

from __future__ import annotations

from datetime import date
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
    # The contents (names, addresses, a spouse's ID number …), decrypted: filled only by
    # service.held_with_contents, for the server to prefill a form with; empty everywhere else.
    data: dict[str, Any] = msgspec.field(default_factory=dict[str, Any])


class StoredCertificate(msgspec.Struct, frozen=True, kw_only=True):
    certificate: ECertificate
    data_enc: bytes


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
    certificates: list[ECertificate]
