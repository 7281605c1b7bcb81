"""What auth keeps about a caller and their passkeys."""

from __future__ import annotations

from datetime import datetime

import msgspec


class CurrentUser(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in account, put in scope["user"] by the session middleware."""

    account_id: int
    kind: str
    name: str
    roles: frozenset[str]
    person_id: int | None
    department_code: str | None
    region_code: str | None
    # 长辈版 as chosen on this account; None: never chosen here, so the device's choice applies.
    elder_mode: bool | None = None
    # The language chosen on this account (i18n.LANGUAGES); None: never chosen, the device's or browser's applies.
    language: str | None = None
    # A window clerk's authorisations: the departments whose 即办件 they may complete on the spot (马上办).
    window_departments: frozenset[str] = frozenset()

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


class SessionRead(msgspec.Struct, frozen=True, kw_only=True):
    """A live session's stored value and the account it names, read together (one round trip per request)."""

    value: bytes
    # None: no account in the session, or it is gone, closed or was signed out everywhere since the session signed in.
    user: CurrentUser | None


class StoredCredential(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    account_id: int
    credential_id: bytes
    public_key: bytes
    sign_count: int


class CredentialListing(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool


class EnrollmentGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A valid, unused enrollment code: for a resident's person or a staff account."""

    id: int
    person_id: int | None
    account_id: int | None


class ApiClient(msgspec.Struct, frozen=True, kw_only=True):
    """A department's or a hospital's system registered for the data-exchange API (auth.clients)."""

    client_id: str
    name: str
    department_code: str | None
    hospital: str | None
    region_code: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class CurrentClient(msgspec.Struct, frozen=True, kw_only=True):
    """The API client behind a request's bearer token, put in scope["ywtb.api_client"] (auth.clients): a caller of its
    own kind, never a signed-in account. `scopes`: what this token grants, within what the client still holds."""

    client_id: str
    name: str
    department_code: str | None
    hospital: str | None
    region_code: str
    scopes: frozenset[str]


class AuditRow(msgspec.Struct, frozen=True, kw_only=True):
    """One audit_log entry as the audit viewer reads it (the user agent left out)."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    outcome: str
    ip: str | None
    detail: dict[str, object]


class AuditSearch(msgspec.Struct, frozen=True, kw_only=True):
    """What to look for in the audit log; None: any. `subjects`: entries about any of these (case:…, task:…,
    person:…, a masked ID number), or naming `case_no` in their detail."""

    subjects: list[str] | None = None
    case_no: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
