"""The rules behind 企业变更登记 and 企业注销 that need no database: what a change filing must say, the 简易注销 公告
step, which items write the register back, which life events are an organisation's, and whose number the
法定代表人 is."""

from __future__ import annotations

from datetime import date

import pytest

from app.catalogue.models import LifeEvent, LifeEventItem, TimeLimit
from app.forms import parties
from app.registers import service as registers

CHANGE_ITEMS = ["CZ-SJ-002", "CZ-SW-002", "CZ-RS-006", "CZ-GJJ-004"]


@pytest.mark.parametrize(
    ("answers", "problems"),
    [
        ({}, {"change.name": "请至少填写一项变更内容：变更后的名称、住所、法定代表人或经营范围"}),
        (
            {"change.name": "  ", "change.address": ""},
            {"change.name": "请至少填写一项变更内容：变更后的名称、住所、法定代表人或经营范围"},
        ),
        ({"change.address": "常州市天宁区青洋北路1号"}, {}),
        ({"change.business_scope": "软件开发"}, {}),
        ({"new_legal_rep.name": "张伟", "new_legal_rep.id_number": "320402199403150119"}, {}),
        (
            {"new_legal_rep.name": "张伟"},
            {"new_legal_rep.id_number": "请填写新任法定代表人的公民身份号码（与姓名一并填写）"},
        ),
        (
            {"new_legal_rep.id_number": "320402199403150119"},
            {"new_legal_rep.name": "请填写新任法定代表人的姓名（与公民身份号码一并填写）"},
        ),
    ],
)
def test_a_change_filing_changes_something_and_names_a_new_legal_rep_in_full(
    answers: dict[str, str], problems: dict[str, str]
) -> None:
    assert registers.filing_problems(CHANGE_ITEMS, answers) == problems


def test_filings_without_the_change_item_are_not_held_to_it() -> None:
    assert registers.filing_problems(["CZ-SW-003", "CZ-SJ-003"], {}) == {}
    assert registers.filing_problems(["CZ-SJ-001"], {}) == {}


def test_acceptance_of_a_simple_deregistration_starts_a_twenty_day_notice() -> None:
    step = registers.step_on_acceptance("CZ-SJ-003", date(2026, 12, 1))
    assert step is not None
    title, note = step
    assert title == "企业简易注销：公告期20日"
    assert "公告期至2026年12月21日" in note
    assert registers.step_on_acceptance("CZ-SJ-002", date(2026, 12, 1)) is None


def test_change_and_deregistration_write_the_register_back_but_their_siblings_do_not() -> None:
    assert registers.writes_back("CZ-SJ-002") and registers.writes_back("CZ-SJ-003")
    assert not any(registers.writes_back(code) for code in ("CZ-SW-002", "CZ-SW-003", "CZ-RS-007", "CZ-GA-005"))


def _event(*for_organisation: bool) -> LifeEvent:
    items = [
        LifeEventItem(
            code=f"CZ-X-{n}",
            name="事项",
            department="market",
            department_name="市场监管",
            promised_limit=TimeLimit(1, "工作日"),
            for_organisation=flag,
        )
        for n, flag in enumerate(for_organisation)
    ]
    return LifeEvent(code="x", name="x", summary="", promise="", icon="", items=items)


def test_a_life_event_is_an_organisations_when_any_of_its_items_acts_on_one() -> None:
    assert _event(False, True).for_organisation
    assert not _event(False, False).for_organisation


def test_the_legal_representatives_number_is_the_companys_field() -> None:
    assert parties.number_field("legal_rep") == "company.legal_rep_id_number"
    assert parties.number_field("mother") == "mother.id_number"
    assert parties.number_field("new_legal_rep") == "new_legal_rep.id_number"
