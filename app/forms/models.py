"""The merged form of a life event (一表申请): its fields, the materials it needs, and what we prefill."""

from __future__ import annotations

from datetime import date

import msgspec


class Option(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    value: str
    label: str
    # Choosing this option says the applicant is this party of the event (申请人是新生儿的：母亲 → "mother"): that
    # party's fields (`mother.name` …) are the applicant's own (`applicant.name` …), taken from them, not asked again.
    applicant_is: str | None = None


class FormField(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One canonical field (`child.name`, `mother.id_number` …), asked once however many items need it."""

    key: str
    label: str
    type: str
    section: str
    required: bool = False
    options: list[Option] | None = None
    prefill_source: str | None = None  # profile.name | profile.id_number | profile.phone | certificate:<kind>.<key>
    help: str | None = None
    max_length: int | None = None


class FormSection(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    title: str
    fields: list[FormField]


class CatalogueSection(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    title: str


class FieldCatalogue(msgspec.Struct, frozen=True, kw_only=True):
    """Every canonical field (none of them required by itself), in the order forms show them."""

    sections: list[CatalogueSection]
    fields: list[FormField]


class MaterialNeed(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    code: str  # item_code + ":" + the item's material code
    item_code: str
    item_name: str
    name: str
    required: bool
    certificate_kind: str | None = None
    note: str | None = None
    # Every item of the life event that asked for this material (it is listed once for all of them).
    item_codes: list[str] = msgspec.field(default_factory=list[str])
    # Another item of the same life event whose result is this certificate: it is issued along the way,
    # so nobody has to upload it (出生医学证明 for the 户口登记 of the same birth, for instance).
    issued_by_item: str | None = None
    # Whose document it is (app.catalogue.models.Material.about): only that person's library may stand for it.
    about: str


class MaterialToUpload(MaterialNeed, frozen=True, kw_only=True, omit_defaults=True):
    """A material the resident may have to upload, with what stands in the way of using a held one: `upload` (none
    held that may be used: say why) or `awaiting_consent` (the person it is about is asked when the case is filed)."""

    state: str
    why: str | None = None


class MergedForm(msgspec.Struct, frozen=True, kw_only=True):
    life_event: str
    checksum: str
    sections: list[FormSection]
    materials: list[MaterialNeed]

    def fields(self) -> list[FormField]:
        return [field for section in self.sections for field in section.fields]


class FormPart(msgspec.Struct, frozen=True, kw_only=True):
    """The fields and materials of a merged form that some of its items ask for (a department's part of a case)."""

    field_keys: frozenset[str]
    material_codes: frozenset[str]


class Prefill(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    source: str  # where the value came from, as the resident reads it: 人口基础库, 个人资料, 电子证照：居民户口簿
    about: str = "applicant"  # whose value it is: only the applicant's own data is ever prefilled


class HeldMaterial(msgspec.Struct, frozen=True, kw_only=True):
    """A material the library already holds: attached automatically, shown as 无需提交."""

    code: str
    name: str
    certificate_kind: str
    certificate_title: str
    number_masked: str  # empty unless the document is the applicant's own or its holder consented
    issued_by: str
    issued_on: date
    about: str = "applicant"
    state: str = "held"
    # Where it comes from, as the case records it (Chinese, app.forms.parties.OWN …; a page draws it translated).
    source: str = "本人电子证照"  # i18n: data


class ItemChoice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One item of a life event on the choosing page and in GET …/form: whether it is filed and why."""

    code: str
    name: str
    department_name: str
    required: bool
    chosen: bool
    applies_when: str | None = None
    pretick_reason: str | None = None  # why the registers say it applies (shown beside a pre-ticked box)
