from __future__ import annotations

from typing import Any

import msgspec


class RegisterStart(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """Residents: name + ID number (+ phone), first without a code (a code is texted to the register's
    phone), then again with `sms_code`; or with an enrollment code from the window instead (a second phone,
    no phone on the register). Staff: name + the enrollment code printed by `staff-add`."""

    name: str = ""
    id_number: str | None = None
    phone: str | None = None
    enrollment_code: str | None = None
    sms_code: str | None = None


class VerificationSent(msgspec.Struct, frozen=True, kw_only=True):
    """202 to every well-formed sign-up start: a code went to the register's phone if the name and number
    belong together, there is a phone and no account yet; the answer never says which."""

    verification: str = "sms"


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """An account as sign-up and the profile read it, with its region's and department's names."""

    id: int
    kind: str  # resident | staff
    name: str
    roles: list[str]
    person_id: int | None
    department_code: str | None
    region_code: str | None
    user_handle: bytes  # WebAuthn's: random, never the ID number
    region_name: str | None
    department_name: str | None
    id_number_masked: str | None  # a resident's, from the register


class ResidentAccount(msgspec.Struct, frozen=True, kw_only=True):
    """The account of a person of the register, if they have signed up (one per ID number)."""

    id: int
    name: str
    user_handle: bytes
    language: str | None = None  # chosen on the account (i18n); None: never chosen, its notices are in Chinese
    sms_preference: str = "fallback"  # 短信提醒 as chosen on 我的 (app.sms decides what it means)


class NoticeChoices(msgspec.Struct, frozen=True, kw_only=True):
    """What an account chose about its notices: their language (None: never chosen, Chinese) and 短信提醒."""

    language: str | None
    sms_preference: str


class SignupCode(msgspec.Struct, frozen=True, kw_only=True):
    """The newest code asked for a (number, name); person_id only where one was texted."""

    id: int
    person_id: int | None
    code_hash: bytes
    live: bool


class CredentialBody(msgspec.Struct, kw_only=True):
    credential: dict[str, Any]


class RegionRef(msgspec.Struct, frozen=True):
    code: str
    name: str


class Me(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    id_number_masked: str | None
    roles: list[str]
    region: RegionRef | None
    department: str | None = None


class MeOnDevice(Me, frozen=True, kw_only=True):
    """GET /api/v1/me: also the name of this account's data on a device (offline drafts, queued submissions),
    so that the service worker sends a queued submission only for the account signed in now."""

    local_key: str


class RenameBody(msgspec.Struct, kw_only=True):
    name: str


class PendingRegistration(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Kept with the challenge between options and verify; nothing in it comes back from the browser."""

    kind: str  # 'resident' (new or existing account), 'staff', or 'add' (signed-in user adds a passkey)
    name: str
    user_handle: str  # hex
    person_id: int | None = None
    account_id: int | None = None
    phone: str | None = None
    region_code: str | None = None
    enrollment_code_id: int | None = None
    signup_code_id: int | None = None
