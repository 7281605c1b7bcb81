"""What the catalogue answers: life events, service items with their 办事指南, regions."""

from __future__ import annotations

import msgspec


class TimeLimit(msgspec.Struct, frozen=True):
    value: int
    unit: str  # 工作日 or 日历日

    @property
    def text(self) -> str:
        return f"{self.value}个{self.unit}"


class Fee(msgspec.Struct, frozen=True):
    charged: bool
    basis: str


class Material(msgspec.Struct, frozen=True, omit_defaults=True):
    code: str
    name: str
    required: bool = True
    certificate_kind: str | None = None
    note: str | None = None
    # Whose document it is (applicant, mother, father, deceased, child, spouse, company): the party of the event whose
    # `<party>.id_number` field names the person whose library may hold it (db/seed/items.json).
    about: str = "applicant"


class ItemField(msgspec.Struct, frozen=True):
    key: str
    required: bool


class ResultCertificate(msgspec.Struct, frozen=True):
    kind: str
    title: str


class Guide(msgspec.Struct, frozen=True):
    """The 办事指南 text fields kept together as one jsonb column."""

    conditions: str
    process: list[str]
    channels: list[str]
    fee: Fee
    location: str
    hours: str
    contact: str
    complaint: str


class ServiceItem(msgspec.Struct, frozen=True):
    code: str
    name: str
    item_type: str
    department_code: str
    department_name: str
    level: str
    subject: str
    legal_limit: TimeLimit
    promised_limit: TimeLimit
    kind: str
    visits: int
    guide: Guide
    fields: list[ItemField]
    materials: list[Material]
    result_certificate: ResultCertificate | None


class LifeEventItem(msgspec.Struct, frozen=True):
    code: str
    name: str
    department: str
    department_name: str
    promised_limit: TimeLimit


class LifeEvent(msgspec.Struct, frozen=True):
    code: str
    name: str
    summary: str
    promise: str
    icon: str
    items: list[LifeEventItem]

    @property
    def department_count(self) -> int:
        return len({item.department for item in self.items})


class Department(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str  # in full, as on a letter: 常州市民政局
    short_name: str  # 民政


class Region(msgspec.Struct, frozen=True):
    code: str
    name: str
    level: str


class ItemSearchHit(msgspec.Struct, frozen=True):
    code: str
    name: str
    department_name: str
