"""Rules of the merged form (一表申请): merging items' fields (cached per life event), prefilling, 免提交 materials,
validation.

The same `validate` serves the HTML form and the JSON API, so both give the same answer for the same input.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

import msgspec

from app.catalogue import service as catalogue
from app.catalogue.models import ServiceItem
from app.catalogue.translations import text as catalogue_text
from app.catalogue.translations import without_translations
from app.certificates.models import ECertificate
from app.errors import NotFound
from app.forms import store
from app.forms.models import (
    FieldCatalogue,
    FormField,
    FormPart,
    FormSection,
    MaterialNeed,
    MergedForm,
    Prefill,
)
from app.people.identity import (
    credit_code_problem,
    id_number_problem,
    mobile_problem,
    normalize_credit_code,
    normalize_id_number,
    normalize_mobile,
)
from app.web.cache import TtlCache
from db.pool import DB
from i18n import DEFAULT_LANGUAGE, N_, _, use_language


class FormConfigurationError(ValueError):
    """The catalogue and the service items disagree: a bug in configuration, not in what a resident typed."""


# --- merging ---------------------------------------------------------------------------------------------


PROFILE_ID_NUMBER = "profile.id_number"
_REGISTER, _PROFILE = N_("人口基础库"), N_("个人资料")
_PROFILE_SOURCES = {"profile.name": _REGISTER, PROFILE_ID_NUMBER: _REGISTER, "profile.phone": _PROFILE}
_CERTIFICATE_SOURCE = re.compile(r"certificate:([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)")


def merge_form(life_event_code: str, items: Sequence[ServiceItem], catalogue: FieldCatalogue) -> MergedForm:
    """One form for all the items of a life event: each canonical field asked once, required if any item needs it."""
    catalogue_fields = {field.key: field for field in catalogue.fields}
    section_keys = {section.key for section in catalogue.sections}
    required: dict[str, bool] = {}
    for item in items:
        for item_field in item.fields:
            field = catalogue_fields.get(item_field.key)
            if field is None:
                raise FormConfigurationError(
                    f"service item {item.code} asks for field {item_field.key!r}, which the form catalogue lacks"
                )
            if field.section not in section_keys:
                raise FormConfigurationError(f"field {field.key!r} belongs to unknown section {field.section!r}")
            if field.prefill_source is not None and not _is_known_prefill_source(field.prefill_source):
                raise FormConfigurationError(f"field {field.key!r} has unknown prefill source {field.prefill_source!r}")
            required[field.key] = required.get(field.key, False) or item_field.required

    sections: list[FormSection] = []
    for section in catalogue.sections:
        fields = [
            msgspec.structs.replace(field, required=required[field.key])
            for field in catalogue.fields
            if field.section == section.key and field.key in required
        ]
        if fields:
            sections.append(FormSection(key=section.key, title=section.title, fields=fields))

    materials = _merge_materials(items)
    return MergedForm(
        life_event=life_event_code,
        checksum=form_checksum(sections, materials),
        sections=sections,
        materials=materials,
    )


# The merged form is configuration: built once per life event and process, refreshed after FORM_TTL_SECONDS. It is
# built in Chinese whatever the reader's language (what a case records, checks and checksums: a draft saved in English
# opens in Chinese); app.forms.presenter draws it in the reader's (app/catalogue/translations.py).
FORM_TTL_SECONDS = 30.0
_forms: TtlCache[tuple[MergedForm, list[ServiceItem]] | None] = TtlCache(FORM_TTL_SECONDS)


async def merged_form_of(
    db: DB, life_event_code: str, chosen: Collection[str] | None = None
) -> tuple[MergedForm, list[ServiceItem]]:
    """The merged form of the life event's items, or of the `chosen` ones only (app.forms.choice: 按需组合); a
    single item's one-item bundle (its code is the item's) gives that item's own form."""
    wanted = None if chosen is None else frozenset(chosen)

    async def build() -> tuple[MergedForm, list[ServiceItem]] | None:
        with use_language(DEFAULT_LANGUAGE):
            items = await catalogue.items_of_life_event(db, life_event_code)
        if wanted is not None:
            items = [item for item in items if item.code in wanted]
        if not items:
            return None
        return merge_form(life_event_code, items, await store.load_catalogue(db)), items

    key = life_event_code if wanted is None else f"{life_event_code}|{','.join(sorted(wanted))}"
    found = await _forms.get(key, build)
    if found is None:
        raise NotFound(N_("没有找到这件事"))
    return found


async def item_form(db: DB, item: ServiceItem) -> MergedForm:
    """One item's own fields as a form, outside any life event: a correction item's (更正) are the fields of the
    certificate that may be corrected, checked by `validate` as the merged form's are."""

    async def build() -> tuple[MergedForm, list[ServiceItem]] | None:
        with use_language(DEFAULT_LANGUAGE):  # the item as the catalogue keeps it, whatever language it came in
            chinese = await catalogue.service_item(db, item.code) or item
        return merge_form(item.code, [chinese], await store.load_catalogue(db)), [chinese]

    found = await _forms.get(f"item:{item.code}", build)
    assert found is not None  # built from the item itself
    return found[0]


async def option_label(db: DB, field_key: str, value: object) -> str | None:
    """The label the field catalogue (db/seed/form.json) gives one of a select field's values — `company.type`'s
    `llc` is 有限责任公司, as the legal-person register records it; None for a value that is not one of its options."""
    catalogue = await store.load_catalogue(db)
    field = next((f for f in catalogue.fields if f.key == field_key), None)
    return next((o.label for o in (field.options or []) if o.value == value), None) if field else None


async def save_field_catalogue(db: DB, form: Mapping[str, Any]) -> None:
    """Insert or update the canonical fields and their sections as configured (db/seed/form.json), in its order: the
    Chinese (the translations beside it are read from the configuration itself, app/catalogue/translations.py)."""
    form = without_translations(form)
    for section in form["sections"]:
        await store.upsert_form_section(db, section["key"], section["title"], section["order"])
    for position, field in enumerate(form["fields"]):
        await store.upsert_form_field(db, field, position)


def form_checksum(sections: Sequence[FormSection], materials: Sequence[MaterialNeed]) -> str:
    """Changes whenever a field, option, required flag or material changes; drafts remember it."""
    # msgspec encodes Struct fields in declaration order, so the bytes are the same in every process.
    return hashlib.sha256(msgspec.json.encode([list(sections), list(materials)])).hexdigest()


def _merge_materials(items: Sequence[ServiceItem]) -> list[MaterialNeed]:
    issuers: dict[str, list[str]] = {}
    for item in items:
        if item.result_certificate is not None:
            issuers.setdefault(item.result_certificate.kind, []).append(item.code)

    merged: dict[tuple[str, ...], MaterialNeed] = {}
    for item in items:
        for material in item.materials:
            kind = material.certificate_kind
            issued_by = next((code for code in issuers.get(kind or "", []) if code != item.code), None)
            # The same certificate for the same purpose is fetched once for all items that need it. The seed
            # reuses a material code for two documents of one kind (户口登记 wants the parents' 户口簿, 医保参保
            # the newborn's, which 户口登记 issues), so whether another item issues it is part of the purpose.
            # A document without a certificate kind is each item's own (an item-specific form or proof).
            identity = (
                ("certificate", kind, material.code, issued_by or "", material.about)
                if kind
                else (item.code, material.code)
            )
            earlier = merged.get(identity)
            if earlier is None:
                merged[identity] = MaterialNeed(
                    code=f"{item.code}:{material.code}",
                    item_code=item.code,
                    item_name=item.name,
                    name=material.name,
                    required=material.required,
                    certificate_kind=kind,
                    note=material.note,
                    item_codes=[item.code],
                    issued_by_item=issued_by,
                    about=material.about,
                )
            elif item.code not in earlier.item_codes:
                merged[identity] = msgspec.structs.replace(
                    earlier,
                    required=earlier.required or material.required,
                    note=earlier.note or material.note,
                    item_codes=[*earlier.item_codes, item.code],
                )
    return list(merged.values())


def part_for_items(form: MergedForm, items: Sequence[ServiceItem], item_codes: Collection[str]) -> FormPart:
    """What of a merged form the given items ask for. A field or material shared with other items (asked once on
    the form) is part of each item that asks for it."""
    wanted = set(item_codes)
    return FormPart(
        field_keys=frozenset(field.key for item in items if item.code in wanted for field in item.fields),
        material_codes=frozenset(need.code for need in form.materials if wanted.intersection(need.item_codes)),
    )


# --- prefill and 免提交 --------------------------------------------------------------------------------------


def _is_known_prefill_source(source: str) -> bool:
    return source in _PROFILE_SOURCES or _CERTIFICATE_SOURCE.fullmatch(source) is not None


def latest_by_kind(certificates: Sequence[ECertificate]) -> dict[str, ECertificate]:
    latest: dict[str, ECertificate] = {}
    for certificate in certificates:
        held = latest.get(certificate.kind)
        if held is None or certificate.issued_on > held.issued_on:
            latest[certificate.kind] = certificate
    return latest


def prefill(
    form: MergedForm,
    person_name: str,
    person_phone: str | None,
    id_number: str,
    certificates: Sequence[ECertificate],
) -> dict[str, Prefill]:
    """Values we already know for the signed-in person, each with where it came from."""
    profile = {"profile.name": person_name, "profile.id_number": id_number, "profile.phone": person_phone}
    latest = latest_by_kind(certificates)
    values: dict[str, Prefill] = {}
    for field in form.fields():
        source = field.prefill_source
        if source is None:
            continue
        if source in _PROFILE_SOURCES:
            value = profile[source]
            if value:
                values[field.key] = Prefill(value=value, source=_(_PROFILE_SOURCES[source]))
            continue
        match = _CERTIFICATE_SOURCE.fullmatch(source)
        certificate = latest.get(match.group(1)) if match else None
        if match and certificate is not None:
            value = certificate.data.get(match.group(2))
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                where = _("电子证照：%(title)s") % {"title": catalogue_text(certificate.title)}
                values[field.key] = Prefill(value=str(value).strip(), source=where)
    return values


# --- validation ----------------------------------------------------------------------------------------------

TEXT_MAX_LENGTH = 200
TEXTAREA_MAX_LENGTH = 2000
_NUMBER_MAX_LENGTH = 30
_BANK_ACCOUNT_LENGTH = range(12, 31)
_TRUE_VALUES = frozenset({"true", "on", "1"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DECIMAL = re.compile(r"([0-9]+)(\.[0-9]+)?")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．－", "0123456789.-")
# Nested lists never come from a browser or our JS; a few levels are plenty and keep a hostile value cheap.
_MAX_LIST_DEPTH = 8


APPLICANT = "applicant"


def same_as_applicant(form: MergedForm, data: Mapping[str, Any]) -> dict[str, str]:
    """The fields that are the applicant's own, by what the applicant said they are in the event (an option with
    `applicant_is`, configured in the form catalogue): {`mother.name`: `applicant.name`, …}; empty when no such
    option is chosen."""
    if not isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance] -- any JSON may arrive
        return {}
    chosen = {
        option.applicant_is
        for field in form.fields()
        for option in field.options or []
        if option.applicant_is and option.value == (_scalar_text(data.get(field.key)) or "").strip()
    }
    return _applicant_fields_of(form, chosen)


def may_be_applicants_own(form: MergedForm) -> dict[str, str]:
    """Every field that is the applicant's own when some option says so → the applicant field it takes."""
    parties = {option.applicant_is for field in form.fields() for option in field.options or [] if option.applicant_is}
    return _applicant_fields_of(form, parties)


def _applicant_fields_of(form: MergedForm, parties: Collection[str]) -> dict[str, str]:
    """Pairs each party's field with the applicant's by the part after the dot (`mother.phone` ← `applicant.phone`),
    so any party and any applicant field work alike, with no code per life event."""
    keys = {field.key for field in form.fields()}
    pairs: dict[str, str] = {}
    for party in sorted(parties):
        for key in sorted(keys):
            head, _, attribute = key.partition(".")
            if head == APPLICANT and f"{party}.{attribute}" in keys:
                pairs[f"{party}.{attribute}"] = key
    return pairs


def validate(form: MergedForm, data: Mapping[str, Any], today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """(clean values, errors by field key): never raises, whatever arrives. Keys the form lacks are dropped.

    A field that is the applicant's own (same_as_applicant: 申请人是新生儿的母亲) takes the applicant's value, whatever
    was sent for it; while the applicant's value is not there (a step checked before submission, where the page
    does not send what it takes from the account) it is left for the submission to check."""
    if not isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance] -- kept: "never raises"
        data = {}
    same = same_as_applicant(form, data)
    if same:
        data = {**data, **{target: data.get(source) for target, source in same.items()}}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in form.fields():
        if field.key in same and data.get(field.key) is None:
            continue
        raw = data.get(field.key)
        if field.type == "checkbox":
            checked = (_scalar_text(raw) or "").strip().lower() in _TRUE_VALUES
            if field.required and not checked:
                errors[field.key] = _("请勾选%(label)s") % {"label": catalogue_text(field.label)}
            else:
                clean[field.key] = checked
            continue
        text = _scalar_text(raw)
        text = text.strip() if text is not None else ""
        if not text:
            if field.required:
                asked = _("请选择%(label)s") if field.type == "select" else _("请填写%(label)s")
                errors[field.key] = asked % {"label": catalogue_text(field.label)}
            continue
        value, problem = _check(field, text, today)
        if problem is not None:
            errors[field.key] = problem
        else:
            clean[field.key] = value
    for target, source in same.items():
        if source in errors:  # said once, where it can be fixed: the applicant's own field
            errors.pop(target, None)
    return clean, errors


def drop_stale_fields(form: MergedForm, data: Mapping[str, Any]) -> dict[str, Any]:
    """A draft saved against an older form keeps only the answers the current form still asks."""
    if not isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance] -- kept, as in validate
        return {}
    keys = {field.key for field in form.fields()}
    return {key: value for key, value in data.items() if key in keys}


def _scalar_text(raw: Any) -> str | None:
    """The one value a field holds: HTML forms may repeat a name (a hidden default before a checkbox)."""
    for _depth in range(_MAX_LIST_DEPTH):
        if not isinstance(raw, list | tuple):
            break
        values = cast("list[object] | tuple[object, ...]", raw)
        if not values:
            return None
        raw = values[-1]
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        try:
            return str(raw)
        except ValueError:  # an int too long to print (sys.set_int_max_str_digits)
            return None
    if isinstance(raw, str):
        return raw.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    return None


def _check(field: FormField, text: str, today: date) -> tuple[Any, str | None]:
    label = catalogue_text(field.label)
    match field.type:
        case "id_number":
            return normalize_id_number(text), id_number_problem(text, today)
        case "mobile":
            return normalize_mobile(text), mobile_problem(text)
        case "credit_code":
            # credit_code_warning never blocks: the page may show it, validation does not.
            return normalize_credit_code(text), credit_code_problem(text)
        case "date" | "past_date":
            return _check_date(label, field.type, text, today)
        case "select":
            if field.options is None or text not in {option.value for option in field.options}:
                return None, _("%(label)s的选项无效，请从列表中重新选择") % {"label": label}
            return text, None
        case "number":
            return _check_number(label, text)
        case "bank_account":
            digits = "".join(text.split()).translate(_FULL_WIDTH)
            if not digits.isascii() or not digits.isdigit():
                return None, _("%(label)s只能包含数字，请对照银行卡或存折核对") % {"label": label}
            if len(digits) not in _BANK_ACCOUNT_LENGTH:
                problem = _("%(label)s应为12至30位数字，您输入了%(count)d位，请对照银行卡或存折核对")
                return None, problem % {"label": label, "count": len(digits)}
            return digits, None
        case _:  # text, textarea
            if field.type == "textarea":
                text = text.replace("\r\n", "\n")
                limit = field.max_length or TEXTAREA_MAX_LENGTH
            else:
                limit = field.max_length or TEXT_MAX_LENGTH
            if len(text) > limit:
                problem = _("%(label)s最多%(limit)d个字，您输入了%(count)d个字，请精简后再提交")
                return None, problem % {"label": label, "limit": limit, "count": len(text)}
            return text, None


def _check_date(label: str, kind: str, text: str, today: date) -> tuple[str | None, str | None]:
    text = text.translate(_FULL_WIDTH)
    if not _ISO_DATE.fullmatch(text):
        return None, _("%(label)s请按“年-月-日”格式填写，例如 2024-03-15") % {"label": label}
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None, _("%(label)s不是有效的日期，请核对月份和日期") % {"label": label}
    if kind == "past_date" and value > today:
        return None, _("%(label)s不能晚于今天，请核对") % {"label": label}
    return value.isoformat(), None


def _check_number(label: str, text: str) -> tuple[str | None, str | None]:
    number = "".join(text.split()).translate(_FULL_WIDTH)
    match = _DECIMAL.fullmatch(number.removeprefix("-"))
    if match is None:
        return None, _("%(label)s只能填写数字（可带小数点），例如 3250") % {"label": label}
    if number.startswith("-") and Decimal(match.group(0)) != 0:
        return None, _("%(label)s不能为负数，请核对") % {"label": label}
    if len(number) > _NUMBER_MAX_LENGTH:
        return None, _("%(label)s数值过大，请核对") % {"label": label}
    whole, fraction = match.group(1).lstrip("0") or "0", match.group(2) or ""
    # Kept as text: exact for money (万元), JSON-safe, and the same after validating again.
    return whole + fraction, None
