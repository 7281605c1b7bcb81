from __future__ import annotations

from datetime import date

import msgspec


class RegisterEntry(msgspec.Struct, frozen=True):
    """One person of the population register, as imported (the number still in clear)."""

    id_number: str
    name: str
    phone: str | None
    region_code: str | None
    household_no: str | None = None  # 户号 of the 户口簿 the person is on


class Person(msgspec.Struct, frozen=True):
    id: int
    name: str
    id_number_masked: str
    phone: str | None
    region_code: str | None
    birth_date: date
    sex: str
    household_no: str | None = None
    mother_id: int | None = None
    father_id: int | None = None
    status: str = "active"  # active | deceased (已注销)
    died_on: date | None = None

    @property
    def deceased(self) -> bool:
        return self.status == "deceased"


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """A person's name and full ID number, decrypted: for the server's own use (a case takes them from here, a
    helper's page holds the number after the server's check), never logged or shown unmasked."""

    name: str
    id_number: str


class EncryptedIdentity(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    id_number_enc: bytes


class ImportProblem(msgspec.Struct, frozen=True):
    line: int
    message: str


class ImportReport(msgspec.Struct, frozen=True):
    added: int
    updated: int
    problems: list[ImportProblem]
