"""GET /api/v1/family: whom the signed-in resident lives with, and whom they may file for. Numbers only masked."""

from __future__ import annotations

from datetime import date

import msgspec


class FamilyMember(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: int  # the person's id in the register: names a child in /family/{id} and ?for= (checked on every use)
    name: str
    id_number_masked: str
    birth_date: date
    relation: str  # 本人, 子女, 家庭成员 — as this resident sees them
    may_file_for: bool = False  # a minor child of this resident: they file for them without a delegation
    deceased: bool = False


class Family(msgspec.Struct, frozen=True, kw_only=True):
    household: list[FamilyMember]  # on the same 户口簿 (this resident included), oldest first
    children: list[FamilyMember]  # the minor children the register names this resident as parent of
