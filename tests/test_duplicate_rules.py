"""一事不二办: each rule of app/cases/duplicates.py — which cases are about one subject, and exact versus near."""

from __future__ import annotations

from typing import Any

import pytest

from app.cases.duplicates import (
    BIRTH_ITEMS,
    COMPANY_REGISTRATION,
    DEATH_ITEMS,
    RETIREMENT_ITEMS,
    Facts,
    Match,
    classify,
    normalised_text,
    rule_for,
    similar_names,
    subject_text,
)

MOTHER = "320402199506180126"
DECEASED = "320412194104121430"
BIRTH = rule_for(BIRTH_ITEMS)
DEATH = rule_for(DEATH_ITEMS)
RETIREMENT = rule_for(RETIREMENT_ITEMS)
COMPANY = rule_for(frozenset({"CZ-SJ-001", "CZ-GA-002"}))
assert BIRTH and DEATH and RETIREMENT and COMPANY


def birth(born: str = "2026-11-20", name: str = "张小宝", items: frozenset[str] = BIRTH_ITEMS, **more: Any) -> Facts:
    answers = {"mother.id_number": MOTHER, "child.birth_date": born, "child.name": name, **more}
    return Facts(answers=answers, items=items)


def test_each_life_event_has_its_rule_and_others_none() -> None:
    assert (BIRTH.kind, DEATH.kind, RETIREMENT.kind, COMPANY.kind) == ("birth", "death", "retirement", "company")
    assert rule_for(frozenset({"CZ-YB-002"})) is BIRTH  # 生育津贴 filed on its own is still about the birth
    assert rule_for(frozenset({"CZ-GA-003"})) is DEATH  # 户口注销 alone is about the death
    assert rule_for(frozenset({"CZ-GA-002", "CZ-SW-001"})) is None  # a seal for a company that exists: no rule
    assert rule_for(frozenset({"CZ-MZ-002"})) is None  # 尊老金
    assert COMPANY.items == COMPANY_REGISTRATION


# --- the subject key's material -----------------------------------------------------------------------------------


def test_a_birth_is_keyed_by_the_mother_whatever_the_case_of_her_check_character() -> None:
    lower = subject_text(BIRTH, {"mother.id_number": "32048119490821212x"}, None)
    upper = subject_text(BIRTH, {"mother.id_number": "32048119490821212X"}, None)
    assert lower == upper == "birth|32048119490821212X"


def test_no_key_without_a_well_formed_subject() -> None:
    assert subject_text(BIRTH, {}, None) is None
    assert subject_text(BIRTH, {"mother.id_number": "320402199506180127"}, None) is None  # bad check character
    assert subject_text(COMPANY, {"company.name": "常州磊达电子科技有限公司"}, None) is None  # no district


def test_a_company_is_keyed_by_its_name_as_written_any_width_or_spacing_and_its_district() -> None:
    a = subject_text(COMPANY, {"company.name": "常州 磊达电子（科技）有限公司"}, "320411")
    b = subject_text(COMPANY, {"company.name": "常州磊达电子(科技)有限公司"}, "320411")
    elsewhere = subject_text(COMPANY, {"company.name": "常州磊达电子(科技)有限公司"}, "320412")
    assert a == b and a != elsewhere


def test_death_and_retirement_are_keyed_by_their_person() -> None:
    assert subject_text(DEATH, {"deceased.id_number": DECEASED}, None) == f"death|{DECEASED}"
    assert subject_text(RETIREMENT, {"applicant.id_number": MOTHER}, "320402") == f"retirement|{MOTHER}"


# --- names -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("张小明", "张小明", True),
        ("张小明", " 张 小明 ", True),
        ("张小明", "张晓明", True),  # one character typed differently
        ("张小明", "张明", True),  # one left out
        ("阿依·努尔", "阿依努尔", True),  # the separating dot
        ("张小明", "李小红", False),
        ("张子涵", "王子萱", False),
        ("明", "亮", False),  # too short to call similar
    ],
)
def test_similar_names(a: str, b: str, similar: bool) -> None:
    assert similar_names(a, b) is similar


def test_names_fold_width_and_case() -> None:
    assert normalised_text("ＡＢＣ 公司") == normalised_text("abc公司")


# --- births ------------------------------------------------------------------------------------------------------


def test_the_same_birth_filed_again_is_exact() -> None:
    assert classify(BIRTH, birth(), birth()) == Match(exact=True, reason="出生日期相同；姓名相同")


def test_a_birth_date_a_day_or_two_off_is_near() -> None:
    for born, apart in (("2026-11-21", 1), ("2026-11-18", 2)):
        found = classify(BIRTH, birth(born), birth())
        assert found == Match(exact=False, reason=f"出生日期相差{apart}天；姓名相同")


def test_a_similar_name_on_the_same_day_is_near_and_a_different_one_may_be_twins() -> None:
    assert classify(BIRTH, birth(name="张晓宝"), birth()) == Match(exact=False, reason="出生日期相同；姓名相近")
    assert classify(BIRTH, birth(name="张二宝"), birth(name="张大宝")) == Match(
        exact=False, reason="出生日期相同；姓名相近"
    )
    twins = classify(BIRTH, birth(name="王思远"), birth(name="王若溪"))
    assert twins == Match(exact=False, reason="出生日期相同；姓名不同（是否为双胞胎？）")


def test_a_sibling_born_later_is_no_match() -> None:
    assert classify(BIRTH, birth("2026-11-23"), birth("2026-11-20")) is None
    assert classify(BIRTH, birth("2028-02-01"), birth("2026-11-20")) is None


def test_a_single_item_without_the_name_is_exact_on_the_date() -> None:
    allowance = Facts(
        answers={"mother.id_number": MOTHER, "child.birth_date": "2026-11-20"}, items=frozenset({"CZ-YB-002"})
    )
    assert classify(BIRTH, allowance, birth()) == Match(exact=True, reason="出生日期相同")


def test_an_item_the_earlier_case_does_not_have_alive_makes_it_near_and_none_in_common_no_match() -> None:
    without_allowance = BIRTH_ITEMS - {"CZ-YB-002"}
    # The earlier case never asked for 生育津贴, or had it refused: filing the whole event again is partly new.
    found = classify(BIRTH, birth(), birth(items=without_allowance))
    assert found is not None and not found.exact and "1个事项没有" in found.reason
    # 生育津贴 on its own after a case without it: nothing done twice.
    alone = Facts(answers=birth().answers, items=frozenset({"CZ-YB-002"}))
    assert classify(BIRTH, alone, birth(items=without_allowance)) is None


# --- deaths, retirements, companies ------------------------------------------------------------------------------


def test_a_death_of_the_same_person_is_exact_whatever_else_was_typed() -> None:
    first = Facts(answers={"deceased.id_number": DECEASED, "deceased.death_date": "2026-11-01"}, items=DEATH_ITEMS)
    again = Facts(answers={"deceased.id_number": DECEASED, "deceased.death_date": "2026-11-02"}, items=DEATH_ITEMS)
    assert classify(DEATH, again, first) == Match(exact=True, reason="同一对象的同一事项")


def test_deregistration_alone_after_the_whole_death_is_exact_and_the_whole_death_after_it_near() -> None:
    whole = Facts(answers={"deceased.id_number": DECEASED}, items=DEATH_ITEMS)
    deregistration = Facts(answers={"deceased.id_number": DECEASED}, items=frozenset({"CZ-GA-003"}))
    assert classify(DEATH, deregistration, whole) == Match(exact=True, reason="同一对象的同一事项")
    found = classify(DEATH, whole, deregistration)
    assert found is not None and not found.exact


def test_a_retirement_filed_again_is_exact() -> None:
    case = Facts(answers={"applicant.id_number": MOTHER}, items=RETIREMENT_ITEMS)
    assert classify(RETIREMENT, case, case) == Match(exact=True, reason="同一对象的同一事项")


def test_a_company_registration_with_the_name_already_filed_is_exact_and_told_to_anyone() -> None:
    case = Facts(answers={"company.name": "常州磊达电子科技有限公司"}, items=frozenset({"CZ-SJ-001", "CZ-GA-002"}))
    assert classify(COMPANY, case, case) == Match(exact=True, reason="同一对象的同一事项")
    assert COMPANY.taken_field == "company.name" and not (BIRTH.taken_field or DEATH.taken_field)
