from __future__ import annotations

from datetime import date

import msgspec


class RegisterEntry(msgspec.Struct, frozen=True):
    """One person of the population register, as imported (the number still in clear)."""

    id_number: str
    name: str
    phone: str | None
    region_code: str | None


class Person(msgspec.Struct, frozen=True):
    id: int
    name: str
    id_number_masked: str
    phone: str | None
    region_code: str | None
    birth_date: date
    sex: str


class ImportProblem(msgspec.Struct, frozen=True):
    line: int
    message: str


class ImportReport(msgspec.Struct, frozen=True):
    added: int
    updated: int
    problems: list[ImportProblem]
