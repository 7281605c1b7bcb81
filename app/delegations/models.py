from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec


class Consent(msgspec.Struct, kw_only=True):
    method: str  # signature | passkey
    signature_png: str | None = None  # base64 (data URL allowed) of the signature drawn on the tablet
    credential: dict[str, Any] | None = None  # the elder's passkey assertion, for method "passkey"


class DelegationRequest(msgspec.Struct, kw_only=True):
    client_id_number: str
    client_name: str
    scope: str | list[str]  # "all" or life-event codes
    expires_on: date | None  # null when the form's date was left empty: refused with the other errors
    identity_check: str
    consent: Consent


class ConsentOptionsRequest(msgspec.Struct, kw_only=True):
    client_id_number: str
    client_name: str


class DelegationCreated(msgspec.Struct, frozen=True, kw_only=True):
    id: int


class DelegationRow(msgspec.Struct, frozen=True, kw_only=True):
    """A delegation as app/delegations/store.py reads it: with the client's name."""

    id: int
    scope: list[str] | None  # None: all life events
    expires_on: date
    identity_check: str
    consent_method: str
    created_at: datetime
    revoked_at: datetime | None
    helper_account_id: int
    client_person_id: int
    client_name: str
    client_id_number_masked: str
    region_code: str


class DelegationView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    helper_name: str
    client_name: str
    client_id_number_masked: str
    scope: list[str] | None  # None: all life events
    scope_label: str
    expires_on: date
    identity_check: str
    consent_method: str
    created_at: datetime
    status: str  # active | expired | revoked
    # The cases its helper filed for the client within its scope and still open (app.cases decides; only while the
    # delegation is active): the client's own filings and other helpers' are not this helper's business.
    open_cases: list[str] = msgspec.field(default_factory=list[str])
