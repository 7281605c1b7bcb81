import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.catalogue import store as catalogue_store
from app.catalogue.models import ItemField, Material, ServiceItem
from app.certificates import service as certificates_service
from app.certificates.models import ECertificate
from app.forms import store
from app.forms.models import (
    CatalogueSection,
    FieldCatalogue,
    FormField,
    FormSection,
    MergedForm,
    Option,
    Prefill,
)
from app.forms.parties import Party, held_material, sort_materials
from app.forms.service import (
    FormConfigurationError,
    drop_stale_fields,
    may_be_applicants_own,
    merge_form,
    prefill,
    same_as_applicant,
    validate,
)
from app.people import store as people_store
from app.people.identity import credit_code_check_char, credit_code_warning
from auth.pii import PiiCipher
from tests.database_fixtures import TEST_SECRET_KEY

SEED = Path(__file__).resolve().parent.parent / "db" / "seed"
ZHANG_WEI = "320402199403150119"  # demo resident; his wife 李娜 is 320402199506180126
LI_NA = "320402199506180126"
TODAY = date(2025, 6, 1)


def _seed(name: str) -> Any:
    return json.loads((SEED / name).read_text(encoding="utf-8"))


def _catalogue_from_seed() -> FieldCatalogue:
    form = _seed("form.json")
    return FieldCatalogue(
        sections=[
            CatalogueSection(key=s["key"], title=s["title"]) for s in sorted(form["sections"], key=lambda s: s["order"])
        ],
        fields=[
            FormField(
                key=f["key"],
                label=f["label"],
                type=f["type"],
                section=f["section"],
                options=msgspec.convert(f["options"], list[Option]) if "options" in f else None,
                prefill_source=f.get("prefill"),
                help=f.get("help"),
                max_length=f.get("max_length"),
            )
            for f in form["fields"]
        ],
    )


def _items_from_seed() -> list[ServiceItem]:
    departments = {d["code"]: d["name"] for d in _seed("departments.json")}
    guide_keys = ("conditions", "process", "channels", "fee", "location", "hours", "contact", "complaint")
    return [
        msgspec.convert(
            {
                **{k: raw[k] for k in ("code", "name", "item_type", "level", "subject", "kind", "visits")},
                **{k: raw[k] for k in ("legal_limit", "promised_limit", "fields", "materials")},
                "department_code": raw["department"],
                "department_name": departments[raw["department"]],
                "guide": {k: raw[k] for k in guide_keys},
                "result_certificate": raw.get("result_certificate"),
            },
            ServiceItem,
        )
        for raw in _seed("items.json")
    ]


def _certificates_from_seed(holder_id_number: str) -> list[ECertificate]:
    """As held_with_contents reads them back: the number masked, the contents decrypted."""
    return [
        ECertificate(
            id=position,
            kind=c["kind"],
            title=c["title"],
            number_masked=certificates_service.mask_certificate_number(c["kind"], c["number"]),
            issued_by=c["issued_by"],
            issued_on=date.fromisoformat(c["issued_on"]),
            data=c["data"],
        )
        for position, c in enumerate(_seed("certificates.json"))
        if c["holder_id_number"] == holder_id_number
    ]


CATALOGUE = _catalogue_from_seed()
ITEMS = _items_from_seed()
ITEMS_BY_CODE = {item.code: item for item in ITEMS}
LIFE_EVENTS = {event["code"]: event["items"] for event in _seed("life_events.json")}
CATALOGUE_ORDER = [field.key for field in CATALOGUE.fields]
CERTIFICATE_KINDS = sorted({m.certificate_kind for item in ITEMS for m in item.materials if m.certificate_kind})

item_combinations = st.lists(st.sampled_from(ITEMS), min_size=1, max_size=len(ITEMS), unique_by=lambda i: i.code)


def _seeded_form(life_event: str) -> MergedForm:
    return merge_form(life_event, [ITEMS_BY_CODE[code] for code in LIFE_EVENTS[life_event]], CATALOGUE)


def _keys(form: MergedForm) -> list[str]:
    return [field.key for field in form.fields()]


# --- merging ---------------------------------------------------------------------------------------------


@given(item_combinations)
def test_merged_form_asks_every_field_of_every_item_exactly_once(items: list[ServiceItem]) -> None:
    form = merge_form("any", items, CATALOGUE)
    keys = _keys(form)
    assert len(keys) == len(set(keys))
    assert set(keys) == {f.key for item in items for f in item.fields}
    by_key = {field.key: field for field in form.fields()}
    for item in items:
        for item_field in item.fields:
            if item_field.required:
                assert by_key[item_field.key].required
    for key, field in by_key.items():
        assert field.required == any(f.required for item in items for f in item.fields if f.key == key)


@given(item_combinations)
def test_merged_form_follows_catalogue_order_of_sections_and_fields(items: list[ServiceItem]) -> None:
    form = merge_form("any", items, CATALOGUE)
    section_order = [s.key for s in CATALOGUE.sections]
    assert [s.key for s in form.sections] == sorted((s.key for s in form.sections), key=section_order.index)
    assert all(field.section == section.key for section in form.sections for field in section.fields)
    for section in form.sections:
        keys = [f.key for f in section.fields]
        assert keys == sorted(keys, key=CATALOGUE_ORDER.index)
        assert section.fields, "a section without fields is left out"


@given(item_combinations)
def test_merged_materials_cover_every_item_and_list_a_shared_certificate_once(items: list[ServiceItem]) -> None:
    form = merge_form("any", items, CATALOGUE)
    for item in items:
        for material in item.materials:
            needs = [n for n in form.materials if n.code.split(":")[1] == material.code and item.code in n.item_codes]
            assert len(needs) == 1, (item.code, material.code)
            assert needs[0].certificate_kind == material.certificate_kind
            if material.required:
                assert needs[0].required
    shared = [
        (n.certificate_kind, n.code.split(":")[1], n.issued_by_item) for n in form.materials if n.certificate_kind
    ]
    assert len(shared) == len(set(shared))
    assert len({n.code for n in form.materials}) == len(form.materials)


def test_birth_form_asks_the_childs_name_once_though_five_items_need_it() -> None:
    needing = [code for code in LIFE_EVENTS["birth"] if any(f.key == "child.name" for f in ITEMS_BY_CODE[code].fields)]
    assert len(needing) == 5
    form = _seeded_form("birth")
    assert _keys(form).count("child.name") == 1
    [child_name] = [f for f in form.fields() if f.key == "child.name"]
    assert child_name.required and child_name.label == "新生儿姓名" and child_name.section == "child"


def test_birth_form_lists_the_mothers_id_card_once_for_all_items_that_need_it() -> None:
    form = _seeded_form("birth")
    [mother_id] = [n for n in form.materials if n.code.endswith(":mother_id_card")]
    assert mother_id.code == "CZ-WJ-001:mother_id_card"
    assert mother_id.item_codes == ["CZ-WJ-001", "CZ-GA-001", "CZ-RS-001", "CZ-YB-002"]
    assert mother_id.certificate_kind == "id_card"


def test_a_certificate_issued_by_another_item_of_the_event_is_not_asked_for() -> None:
    form = _seeded_form("birth")
    [birth_certificate] = [n for n in form.materials if n.certificate_kind == "birth_medical"]
    assert birth_certificate.issued_by_item == "CZ-WJ-001"
    held, to_upload = sort_materials(form, {})
    assert birth_certificate.code not in [need.code for need in to_upload]
    assert birth_certificate.code not in [need.code for need, _, _ in held]


def test_the_parents_hukou_is_held_and_the_newborns_comes_from_the_household_registration() -> None:
    form = _seeded_form("birth")
    hukou_needs = {n.code: n for n in form.materials if n.certificate_kind == "hukou"}
    assert set(hukou_needs) == {"CZ-GA-001:hukou", "CZ-YB-001:hukou"}
    assert hukou_needs["CZ-GA-001:hukou"].issued_by_item is None
    assert hukou_needs["CZ-YB-001:hukou"].issued_by_item == "CZ-GA-001"
    assert hukou_needs["CZ-YB-001:hukou"].item_codes == ["CZ-YB-001", "CZ-RS-001"]
    held, _ = sort_materials(form, _holding(form, _certificates_from_seed(ZHANG_WEI)))
    assert [need.code for need, _, c in held if c.kind == "hukou"] == ["CZ-GA-001:hukou"]


def test_an_item_naming_a_field_the_catalogue_lacks_is_a_configuration_error() -> None:
    broken = msgspec.structs.replace(ITEMS[0], fields=[*ITEMS[0].fields, ItemField("child.nickname", True)])
    with pytest.raises(FormConfigurationError, match=r"CZ-WJ-001.*child\.nickname"):
        merge_form("birth", [broken], CATALOGUE)


async def test_the_database_catalogue_and_items_merge_like_the_seed_files(pool: asyncpg.Pool) -> None:
    catalogue = await store.load_catalogue(pool)
    assert [s.key for s in catalogue.sections] == [s.key for s in CATALOGUE.sections]
    assert sorted(catalogue.fields, key=lambda f: f.key) == sorted(CATALOGUE.fields, key=lambda f: f.key)
    for life_event, codes in LIFE_EVENTS.items():
        items = await catalogue_store.items_of_life_event(pool, life_event)
        from_db = merge_form(life_event, items, catalogue)
        from_files = merge_form(life_event, [ITEMS_BY_CODE[code] for code in codes], CATALOGUE)
        assert sorted(_keys(from_db)) == sorted(_keys(from_files))
        assert from_db.materials == from_files.materials


# --- checksum ----------------------------------------------------------------------------------------------


def test_checksum_is_the_same_in_another_process() -> None:
    script = (
        "from tests.test_merged_form import _seeded_form; "
        "print(_seeded_form('birth').checksum, _seeded_form('death').checksum)"
    )
    root = Path(__file__).resolve().parent.parent
    output = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert output == [_seeded_form("birth").checksum, _seeded_form("death").checksum]
    assert len(output[0]) == 64


def _with_field(catalogue: FieldCatalogue, key: str, **changes: Any) -> FieldCatalogue:
    return msgspec.structs.replace(
        catalogue,
        fields=[msgspec.structs.replace(f, **changes) if f.key == key else f for f in catalogue.fields],
    )


def _with_item(code: str, **changes: Any) -> list[ServiceItem]:
    return [
        msgspec.structs.replace(ITEMS_BY_CODE[c], **changes) if c == code else ITEMS_BY_CODE[c]
        for c in LIFE_EVENTS["birth"]
    ]


BIRTH_ITEMS = [ITEMS_BY_CODE[code] for code in LIFE_EVENTS["birth"]]
SEX_OPTIONS = [Option(value="M", label="男"), Option(value="F", label="女"), Option(value="X", label="未说明")]
WEIGHT_REQUIRED = [ItemField(f.key, True) if f.key == "child.birth_weight_g" else f for f in ITEMS[0].fields]


@pytest.mark.parametrize(
    ("items", "catalogue"),
    [
        pytest.param(BIRTH_ITEMS, _with_field(CATALOGUE, "child.name", label="宝宝姓名"), id="label"),
        pytest.param(BIRTH_ITEMS, _with_field(CATALOGUE, "child.sex", options=SEX_OPTIONS), id="option"),
        pytest.param(BIRTH_ITEMS, _with_field(CATALOGUE, "child.name", max_length=30), id="max-length"),
        pytest.param(_with_item("CZ-WJ-001", fields=WEIGHT_REQUIRED), CATALOGUE, id="required-flag"),
        pytest.param(BIRTH_ITEMS[:-1], CATALOGUE, id="one-item-fewer"),
        pytest.param(
            _with_item("CZ-WJ-002", materials=[*ITEMS_BY_CODE["CZ-WJ-002"].materials, Material("photo", "照片")]),
            CATALOGUE,
            id="material",
        ),
    ],
)
def test_checksum_changes_when_the_form_changes(items: list[ServiceItem], catalogue: FieldCatalogue) -> None:
    original = _seeded_form("birth")
    assert merge_form("birth", BIRTH_ITEMS, CATALOGUE).checksum == original.checksum
    assert merge_form("birth", items, catalogue).checksum != original.checksum


# --- prefill and 免提交 ---------------------------------------------------------------------------------------


async def _person_id(pool: asyncpg.Pool, id_number: str) -> tuple[int, str, str | None]:
    person = await people_store.find_person_by_hash(pool, PiiCipher(TEST_SECRET_KEY).lookup_hash(id_number))
    assert person is not None
    return person.id, person.name, person.phone


def test_prefill_takes_the_household_from_the_hukou_and_the_applicant_from_the_register() -> None:
    form = _seeded_form("birth")
    values = prefill(form, "张伟", "13800000001", ZHANG_WEI, _certificates_from_seed(ZHANG_WEI))
    assert values == {
        "applicant.name": Prefill(value="张伟", source="人口基础库"),
        "applicant.id_number": Prefill(value=ZHANG_WEI, source="人口基础库"),
        "applicant.phone": Prefill(value="13800000001", source="个人资料"),
        "household.head_name": Prefill(value="张伟", source="电子证照：居民户口簿"),
        "household.address": Prefill(
            value="江苏省常州市天宁区雕庄街道丽华新村18幢2单元302室", source="电子证照：居民户口簿"
        ),
    }


def test_prefill_leaves_out_what_the_person_has_no_source_for() -> None:
    values = prefill(_seeded_form("birth"), "张伟", None, ZHANG_WEI, [])
    assert set(values) == {"applicant.name", "applicant.id_number"}


async def test_prefill_reads_the_certificate_library_in_the_database(pool: asyncpg.Pool) -> None:
    # Both spouses hold the household's 居民户口簿: one number, a row per holder.
    person_id, name, phone = await _person_id(pool, LI_NA)
    certificates = await certificates_service.held_with_contents(pool, PiiCipher(TEST_SECRET_KEY), person_id)
    values = prefill(_seeded_form("birth"), name, phone, LI_NA, certificates)
    assert values["household.head_name"] == Prefill(value="张伟", source="电子证照：居民户口簿")
    assert values["household.address"].value == "江苏省常州市天宁区雕庄街道丽华新村18幢2单元302室"
    assert values["applicant.name"] == Prefill(value="李娜", source="人口基础库")


async def test_prefill_for_zhang_wei_comes_from_his_seeded_hukou(pool: asyncpg.Pool) -> None:
    person_id, name, phone = await _person_id(pool, ZHANG_WEI)
    certificates = await certificates_service.held_with_contents(pool, PiiCipher(TEST_SECRET_KEY), person_id)
    values = prefill(_seeded_form("birth"), name, phone, ZHANG_WEI, certificates)
    assert values["household.head_name"] == Prefill(value="张伟", source="电子证照：居民户口簿")


async def test_a_spouse_id_number_is_prefilled_from_the_sealed_marriage_certificate(pool: asyncpg.Pool) -> None:
    # Stored sealed (tests/test_certificates_sealed.py); decrypted on the server for the holder's own form.
    spouse = FormField(
        key="spouse.id_number",
        label="配偶公民身份号码",
        type="id_number",
        section="spouse",
        prefill_source="certificate:marriage.spouse_id_number",
    )
    form = MergedForm(
        life_event="any",
        checksum="x",
        sections=[FormSection(key="spouse", title="配偶", fields=[spouse])],
        materials=[],
    )
    person_id, name, phone = await _person_id(pool, ZHANG_WEI)
    certificates = await certificates_service.held_with_contents(pool, PiiCipher(TEST_SECRET_KEY), person_id)
    assert prefill(form, name, phone, ZHANG_WEI, certificates) == {
        "spouse.id_number": Prefill(value=LI_NA, source="电子证照：结婚证")
    }
    # What is listed and attached carries no contents at all.
    assert all(c.data == {} for c in await certificates_service.held_by(pool, person_id))


async def test_the_applicants_own_card_never_stands_for_the_mothers(pool: asyncpg.Pool) -> None:
    person_id, _, _ = await _person_id(pool, ZHANG_WEI)
    certificates = await certificates_service.held_by(pool, person_id)
    assert {"id_card", "hukou"} <= {c.kind for c in certificates}
    form = _seeded_form("birth")
    # 张伟 holds a 居民身份证, but the mother's is hers: only her consent can attach it.
    own = Party(
        about="applicant",
        label="申请人",
        state="held",
        source="本人电子证照",
        show_number=True,
        certificates=certificates,
    )
    mother = Party(about="mother", label="母亲", state="awaiting_consent", why="提交后将请母亲本人同意")
    held, to_upload = sort_materials(form, {"applicant": own, "mother": mother})
    held_codes = {need.code for need, _, _ in held}
    assert "CZ-WJ-001:mother_id_card" not in held_codes
    [mother_card] = [need for need in to_upload if need.code == "CZ-WJ-001:mother_id_card"]
    assert (mother_card.about, mother_card.state) == ("mother", "awaiting_consent")
    [(need, party, certificate)] = [triple for triple in held if triple[0].code == "CZ-GA-001:hukou"]
    shown = held_material(need, party, certificate)
    assert (shown.certificate_title, shown.about, shown.state) == ("居民户口簿", "applicant", "held")
    assert ZHANG_WEI not in msgspec.json.encode(shown).decode()


def _holding(form: MergedForm, certificates: list[ECertificate]) -> dict[str, Party]:
    """Every party of the form's materials holding these certificates (as if all were the applicant's own)."""
    return {
        need.about: Party(about=need.about, label=need.about, state="held", certificates=certificates)
        for need in form.materials
    }


@given(item_combinations, st.sets(st.sampled_from(CERTIFICATE_KINDS)))
def test_every_material_is_held_or_uploaded_or_issued_along_the_way(items: list[ServiceItem], kinds: set[str]) -> None:
    certificates = [
        ECertificate(id=i, kind=kind, title=kind, number_masked="****", issued_by="常州", issued_on=TODAY)
        for i, kind in enumerate(kinds)
    ]
    form = merge_form("any", items, CATALOGUE)
    held, to_upload = sort_materials(form, _holding(form, certificates))
    held_needs = [need for need, _, _ in held]
    assert not set(n.code for n in held_needs) & set(n.code for n in to_upload)
    issued = [n for n in form.materials if n.issued_by_item]
    assert sorted(n.code for n in [*held_needs, *to_upload, *issued]) == sorted(n.code for n in form.materials)
    assert all(n.certificate_kind not in kinds for n in to_upload)


# --- validation -------------------------------------------------------------------------------------------------


def _form(*fields: FormField) -> MergedForm:
    return MergedForm(
        life_event="test",
        checksum="",
        sections=[FormSection(key="s", title="测试", fields=list(fields))],
        materials=[],
    )


def _field(key: str, type_: str, label: str, required: bool = False, **more: Any) -> FormField:
    return FormField(key=key, label=label, type=type_, section="s", required=required, **more)


def _check(field: FormField, value: Any) -> tuple[dict[str, Any], dict[str, str]]:
    return validate(_form(field), {field.key: value}, TODAY)


NAME = _field("child.name", "text", "新生儿姓名", required=True, max_length=20)
SEX = _field("child.sex", "select", "新生儿性别", required=True, options=[Option(value="M", label="男")])
CONSENT = _field("consent", "checkbox", "同意授权", required=True)


def test_a_required_field_left_empty_says_what_to_fill_in() -> None:
    assert _check(NAME, "   ")[1] == {"child.name": "请填写新生儿姓名"}
    assert _check(SEX, None)[1] == {"child.sex": "请选择新生儿性别"}
    assert _check(CONSENT, None)[1] == {"consent": "请勾选同意授权"}
    assert validate(_form(_field("note", "text", "备注")), {}, TODAY) == ({}, {})


def test_id_number_is_checked_against_gb11643_and_stored_upper_case() -> None:
    field = _field("mother.id_number", "id_number", "母亲公民身份号码")
    assert _check(field, "11010519491231002x") == ({"mother.id_number": "11010519491231002X"}, {})
    assert _check(field, "110105194912310021")[1] == {
        "mother.id_number": "身份证号码校验位不正确，请核对号码，可能有一位输错或两位顺序颠倒"
    }
    assert _check(field, "1101051949")[1]["mother.id_number"] == "身份证号码应为18位，您输入了10位，请核对后重新输入"


def test_mobile_number_must_be_a_mainland_number() -> None:
    field = _field("mother.phone", "mobile", "母亲手机号码")
    assert _check(field, "138 0000 0001") == ({"mother.phone": "13800000001"}, {})
    assert _check(field, "1380000000")[1] == {"mother.phone": "手机号码应为11位，您输入了10位，请核对"}


def test_date_must_be_year_month_day() -> None:
    field = _field("retirement.date", "date", "退休日期")
    assert _check(field, "2030-01-31") == ({"retirement.date": "2030-01-31"}, {})
    assert _check(field, "2030/1/31")[1] == {"retirement.date": "退休日期请按“年-月-日”格式填写，例如 2024-03-15"}
    assert _check(field, "2030-02-30")[1] == {"retirement.date": "退休日期不是有效的日期，请核对月份和日期"}


def test_past_date_cannot_be_in_the_future() -> None:
    field = _field("child.birth_date", "past_date", "出生日期")
    assert _check(field, TODAY.isoformat()) == ({"child.birth_date": "2025-06-01"}, {})
    assert _check(field, "2025-06-02")[1] == {"child.birth_date": "出生日期不能晚于今天，请核对"}


def test_select_accepts_only_its_options() -> None:
    assert _check(SEX, "M") == ({"child.sex": "M"}, {})
    assert _check(SEX, "男")[1] == {"child.sex": "新生儿性别的选项无效，请从列表中重新选择"}


def test_number_is_a_non_negative_integer_or_decimal() -> None:
    field = _field("company.registered_capital", "number", "注册资本（万元）")
    assert _check(field, "0050") == ({"company.registered_capital": "50"}, {})
    assert _check(field, "12.50") == ({"company.registered_capital": "12.50"}, {})
    assert _check(field, 3250) == ({"company.registered_capital": "3250"}, {})
    assert _check(field, "-5")[1] == {"company.registered_capital": "注册资本（万元）不能为负数，请核对"}
    assert _check(field, "三千")[1] == {
        "company.registered_capital": "注册资本（万元）只能填写数字（可带小数点），例如 3250"
    }


def test_bank_account_is_12_to_30_digits_with_spaces_removed() -> None:
    field = _field("bank.account", "bank_account", "银行账号")
    assert _check(field, "6222 0210 0101 2345 678") == ({"bank.account": "6222021001012345678"}, {})
    assert _check(field, "62220210")[1] == {
        "bank.account": "银行账号应为12至30位数字，您输入了8位，请对照银行卡或存折核对"
    }
    assert _check(field, "6222-0210-0101")[1] == {"bank.account": "银行账号只能包含数字，请对照银行卡或存折核对"}


def test_credit_code_problems_block_but_warnings_do_not() -> None:
    field = _field("retirement.employer_credit_code", "credit_code", "参保单位统一社会信用代码")
    assert _check(field, "91350100m000100y43") == ({"retirement.employer_credit_code": "91350100M000100Y43"}, {})
    assert _check(field, "91350100M000100Y44")[1] == {
        "retirement.employer_credit_code": "统一社会信用代码校验位不正确，请对照营业执照核对，可能有一位输错"
    }
    # An early code whose embedded 组织机构代码 fails its own check (12345678-0; its check character is 8).
    first17 = "91320400" + "123456780"
    warned = first17 + credit_code_check_char(first17)
    assert credit_code_warning(warned) is not None
    assert _check(field, warned) == ({"retirement.employer_credit_code": warned}, {})


@pytest.mark.parametrize(
    ("value", "checked"),
    [
        (True, True),
        ("true", True),
        ("on", True),
        ("1", True),
        (["false", "on"], True),
        (None, False),
        ("false", False),
        ("", False),
        ("yes please", False),
    ],
)
def test_checkbox_is_true_only_for_the_values_browsers_send(value: Any, checked: bool) -> None:
    field = _field("agree", "checkbox", "同意")
    assert validate(_form(field), {} if value is None else {"agree": value}, TODAY) == ({"agree": checked}, {})


def test_text_is_stripped_and_limited_to_its_length() -> None:
    assert _check(NAME, "  张小宝  ") == ({"child.name": "张小宝"}, {})
    assert _check(NAME, "张" * 21)[1] == {"child.name": "新生儿姓名最多20个字，您输入了21个字，请精简后再提交"}
    plain = _field("bank.name", "text", "开户银行")
    assert _check(plain, "行" * 200)[1] == {}
    assert _check(plain, "行" * 201)[1] == {"bank.name": "开户银行最多200个字，您输入了201个字，请精简后再提交"}
    area = _field("company.business_scope", "textarea", "经营范围")
    assert _check(area, "软件开发\r\n技术服务") == ({"company.business_scope": "软件开发\n技术服务"}, {})
    assert _check(area, "范" * 2001)[1] == {
        "company.business_scope": "经营范围最多2000个字，您输入了2001个字，请精简后再提交"
    }


def test_unknown_keys_are_dropped_and_repeated_values_take_the_last() -> None:
    clean, errors = validate(_form(NAME), {"child.name": ["张一", "张二"], "is_admin": "1", "": None}, TODAY)
    assert (clean, errors) == ({"child.name": "张二"}, {})


def test_a_stale_draft_keeps_only_the_fields_the_form_still_asks() -> None:
    form = _seeded_form("birth")
    assert drop_stale_fields(form, {"child.name": "张小宝", "child.blood_type": "A"}) == {"child.name": "张小宝"}


SEEDED_FORM_FIELDS = [f for event in LIFE_EVENTS for f in _seeded_form(event).fields()]
EVERY_TYPE_FORM = _form(
    *{f.key: f for f in SEEDED_FORM_FIELDS}.values(),
    CONSENT,
    _field("notes", "textarea", "备注"),
)
scalars = st.one_of(
    st.text(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from(["", " ", "2024-02-29", "11010519491231002X", "13800000001", "M", "-0", "１２３"]),
)
form_values = st.one_of(scalars, st.lists(scalars, max_size=3), st.lists(st.lists(scalars, max_size=2), max_size=2))
form_keys = st.one_of(st.sampled_from([f.key for f in EVERY_TYPE_FORM.fields()]), st.text(max_size=10))


@settings(max_examples=300)
@given(st.dictionaries(form_keys, form_values), st.dates())
def test_validation_never_raises_and_keeps_only_known_fields(data: dict[str, Any], today: date) -> None:
    clean, errors = validate(EVERY_TYPE_FORM, data, today)
    known = {f.key for f in EVERY_TYPE_FORM.fields()}
    assert set(clean) <= known and set(errors) <= known
    assert not set(clean) & set(errors)
    assert all(isinstance(message, str) and message for message in errors.values())
    # What validation returns passes validation again unchanged: drafts and cases can be re-checked safely.
    again, again_errors = validate(EVERY_TYPE_FORM, clean, today)
    assert again == clean
    assert set(again_errors) <= set(errors)


# --- who the applicant is in the event (configuration: an option's applicant_is) ------------------------------


def test_the_birth_and_death_forms_first_ask_who_the_applicant_is() -> None:
    birth = _seeded_form("birth")
    [first, *_] = birth.sections[0].fields
    assert (birth.sections[0].key, first.key, first.required) == ("applicant", "child.relationship", True)
    assert [(o.label, o.applicant_is) for o in first.options or []] == [
        ("母亲", "mother"),
        ("父亲", "father"),
        ("其他监护人", None),
    ]
    death = _seeded_form("death")
    assert death.sections[0].fields[0].key == "deceased.relationship"
    assert all(o.applicant_is is None for o in death.sections[0].fields[0].options or [])  # nobody is the deceased


def test_the_chosen_party_takes_the_applicants_own_answers_whatever_was_sent() -> None:
    form = _seeded_form("birth")
    applicant = {"applicant.name": "李娜", "applicant.id_number": LI_NA, "applicant.phone": "13800000002"}
    sent = {**applicant, "child.relationship": "mother", "mother.name": "别人", "mother.id_number": "1"}
    assert same_as_applicant(form, sent) == {
        "mother.id_number": "applicant.id_number",
        "mother.name": "applicant.name",
        "mother.phone": "applicant.phone",
    }
    clean, errors = validate(form, sent, TODAY)
    assert (clean["mother.name"], clean["mother.id_number"], clean["mother.phone"]) == ("李娜", LI_NA, "13800000002")
    assert not {"mother.name", "mother.id_number", "mother.phone"} & set(errors)
    assert {"father.name", "father.id_number"} <= set(errors)  # the other parent is still asked


def test_without_the_applicants_answers_a_party_of_theirs_is_left_for_the_submission() -> None:
    form = _seeded_form("birth")
    # A step checked before submission: the page does not send what it takes from the account.
    _clean, errors = validate(form, {"child.relationship": "father"}, TODAY)
    assert not {"father.name", "father.id_number", "father.phone"} & set(errors)
    _clean, guardian = validate(form, {"child.relationship": "guardian"}, TODAY)
    assert {"father.name", "father.id_number", "mother.name"} <= set(guardian)


def test_a_problem_with_the_applicants_answer_is_reported_once_on_the_applicants_field() -> None:
    form = _seeded_form("birth")
    sent = {"child.relationship": "mother", "applicant.name": "李娜", "applicant.id_number": LI_NA}
    sent["applicant.phone"] = "1380000"
    _clean, errors = validate(form, sent, TODAY)
    assert errors["applicant.phone"] == "手机号码应为11位，您输入了7位，请核对"
    assert "mother.phone" not in errors


@given(item_combinations)
def test_every_party_field_pairs_with_an_applicant_field_of_the_same_name(items: list[ServiceItem]) -> None:
    form = merge_form("any", items, CATALOGUE)
    keys = set(_keys(form))
    for target, source in may_be_applicants_own(form).items():
        assert target in keys and source in keys
        assert source == "applicant." + target.split(".", 1)[1]
