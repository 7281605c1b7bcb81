"""What the catalogue answers: life events, service items with their 办事指南, regions."""

from __future__ import annotations

import msgspec

ONLINE = "网上办理"


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


class Pretick(msgspec.Struct, frozen=True):
    """A fact of the registers that says an optional item applies: a document of kind `holds` in the library of the
    party `about` (mother, applicant …); `reason` is shown beside the pre-ticked box. `applicant_sex` (M or F, as
    the population register has it): before any answer says who that party is, an applicant of that sex who may be
    that party (申请人是新生儿的：母亲) is taken to be them."""

    about: str
    holds: str
    reason: str
    applicant_sex: str | None = None


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
    # 全城通办: any office of the department may take it (the first to accept it holds it), not only the office its
    # level and the applicant's district decide (app.cases.offices).
    citywide: bool = False
    applies_when: str | None = None  # when the item applies, in one line (一件事: the resident ticks the ones that do)
    pretick: Pretick | None = None

    @property
    def online(self) -> bool:
        """Offered 网上办理: it may be applied for on its own (/items/{code}/apply)."""
        return ONLINE in self.guide.channels


class LifeEventItem(msgspec.Struct, frozen=True):
    code: str
    name: str
    department: str
    department_name: str
    promised_limit: TimeLimit
    required: bool = True  # always filed; an optional one only when ticked (按需组合)
    applies_when: str | None = None


class LifeEvent(msgspec.Struct, frozen=True):
    code: str
    name: str
    summary: str
    promise: str
    icon: str
    items: list[LifeEventItem]
    # Set on a one-item bundle (an item applied for on its own): that item's code, which is also the bundle's.
    single_item: str | None = None

    @property
    def department_count(self) -> int:
        return len({item.department for item in self.items})


class Region(msgspec.Struct, frozen=True):
    code: str
    name: str
    level: str


class ItemSearchHit(msgspec.Struct, frozen=True):
    code: str
    name: str
    department_name: str


class Department(msgspec.Struct, frozen=True):
    code: str
    name: str  # 常州市公安局
    short_name: str  # 公安


class OnlineAvailability(msgspec.Struct, frozen=True):
    """How many of a department's items the catalogue offers 网上办理 (网上可办率)."""

    department_code: str
    items: int
    online_items: int
