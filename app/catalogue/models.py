"""What the catalogue answers: life events, service items with their 办事指南, regions."""

from __future__ import annotations

import msgspec

from i18n import N_, _

ONLINE = N_("网上办理")
BY_APPOINTMENT = N_("网上预约")
WORKING_DAYS = N_("工作日")
CALENDAR_DAYS = N_("日历日")
# The values of the catalogue's coded fields (db/seed/items.json: item_type, level, subject, kind, channels): the app
# decides by them in Chinese, so a page translates them where it shows them (`{{ _(item.level) }}`); marked here so
# `make messages` gives each its English.
VOCABULARY = (
    N_("01 行政许可"),
    N_("05 行政给付"),
    N_("07 行政确认"),
    N_("10 其他行政权力"),
    N_("20 公共服务"),
    N_("市级"),
    N_("区级"),
    N_("自然人"),
    N_("法人"),
    N_("即办件"),
    N_("承诺件"),
    N_("窗口办理"),
    N_("帮办代办"),
    ONLINE,
    BY_APPOINTMENT,
    WORKING_DAYS,
    CALENDAR_DAYS,
)


class TimeLimit(msgspec.Struct, frozen=True):
    value: int
    unit: str  # 工作日 or 日历日

    @property
    def text(self) -> str:
        """5个工作日, in the reader's language (5 working days; one day its own text, so English says "1 day")."""
        if self.unit == WORKING_DAYS:
            return _("1个工作日") if self.value == 1 else _("%(count)d个工作日") % {"count": self.value}
        if self.unit == CALENDAR_DAYS:
            return _("1个日历日") if self.value == 1 else _("%(count)d个日历日") % {"count": self.value}
        return _("%(count)d个%(unit)s") % {"count": self.value, "unit": _(self.unit)}


class Retention(msgspec.Struct, frozen=True):
    """How long a case's personal data is kept after the case ends (db/seed/items.json: `retention`), and the rule
    or policy choice that figure comes from, said as it is (app/retention/rules.py applies it)."""

    years: int
    source: str

    @property
    def text(self) -> str:
        return _("1年") if self.years == 1 else _("%(count)d年") % {"count": self.years}


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
    # None: the item declares no retention, and its cases are kept.
    retention: Retention | None = None
    # The windows (app/appointments' group, db/seed/halls.json) whose places a booked visit takes; None: not booked.
    appointment_group: str | None = None
    # 更正: the item whose result certificate this item corrects (its fields are the certificate's correctable ones);
    # asked for from the certificate (app.cases.corrections), never applied for on its own.
    corrects: str | None = None
    # Acts on an existing organisation (企业变更登记, 企业注销): filed only for one (企业办事), never by a person for
    # themself (app.filing).
    for_organisation: bool = False

    @property
    def online(self) -> bool:
        """Offered 网上办理: it may be applied for on its own (/items/{code}/apply)."""
        return ONLINE in self.guide.channels and self.corrects is None

    @property
    def bookable(self) -> bool:
        """A visit to a hall may be booked for it (/items/{code}/book): in person only (网上预约, its photo and
        fingerprints taken there), or as the resident's choice beside applying online."""
        return self.appointment_group is not None

    @property
    def needs_visit(self) -> bool:
        """Done at a hall, not online: booked rather than filled in (居民身份证换领)."""
        return not self.online and (self.visits > 0 or BY_APPOINTMENT in self.guide.channels)


class ServiceItemRow(msgspec.Struct, frozen=True, kw_only=True):
    """A service item as the catalogue's configuration (db/seed/items.json) writes it: one field per column of
    service_items, named and ordered alike (app/catalogue/store.py: upsert_service_item writes every field). A new key
    of items.json kept in a column of its own name is a field here (with its default when items may leave it out) and
    the column in a migration; nothing else."""

    code: str
    name: str
    item_type: str
    department_code: str
    level: str
    subject: str
    legal_limit_value: int
    legal_limit_unit: str
    promised_limit_value: int
    promised_limit_unit: str
    kind: str
    visits: int
    guide: Guide
    fields: list[ItemField]
    materials: list[Material]
    result_certificate: ResultCertificate | None = None
    applies_when: str | None = None
    pretick: Pretick | None = None
    citywide: bool = False
    retention_years: int | None = None
    retention_source: str | None = None
    appointment_group: str | None = None
    corrects: str | None = None
    for_organisation: bool = False


class LifeEventItem(msgspec.Struct, frozen=True):
    code: str
    name: str
    department: str
    department_name: str
    promised_limit: TimeLimit
    required: bool = True  # always filed; an optional one only when ticked (按需组合)
    applies_when: str | None = None
    for_organisation: bool = False  # as ServiceItem's


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
    def for_organisation(self) -> bool:
        """Filed only while acting for an organisation (企业办事), online or at a window: one of its items acts on an
        existing organisation."""
        return any(item.for_organisation for item in self.items)

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


class OnlineAvailability(msgspec.Struct, frozen=True):
    """How many of a department's items the catalogue offers 网上办理 (网上可办率)."""

    department_code: str
    items: int
    online_items: int
