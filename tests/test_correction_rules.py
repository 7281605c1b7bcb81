"""更正's rules on their own: which field may be corrected, what a right value is (the merged form's own checks),
that it differs from what the certificate says, that a reason is given; the corrected certificate's number; what the
register keeps. No database: the correction items and fields come from the seed configuration."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.cases.corrections import Target, checked_change, shown
from app.cases.models import CorrectionRequest
from app.certificates.models import ECertificate, Holder
from app.certificates.service import corrected_number, mask_certificate_number
from app.errors import FieldErrors
from app.forms.service import merge_form
from app.registers.service import register_note
from tests.test_merged_form import _catalogue_from_seed, _items_from_seed, _seed

TODAY = date(2026, 11, 30)
NOW = {
    "child.name": "张小宝",
    "child.sex": "M",
    "child.birth_date": "2026-11-20",
    "child.birth_hospital": "常州市妇幼保健院",
}


def _target(code: str = "CZ-WJ-001-GZ", current: dict[str, Any] | None = None) -> Target:
    item = next(i for i in _items_from_seed() if i.code == code)
    return Target(
        holder=Holder(person_id=1, name="张伟", id_number_masked="320402********0119", own=True),
        certificate=ECertificate(
            id=7,
            kind="birth_medical",
            title="出生医学证明",
            number_masked="****0001",
            issued_by="卫健委",
            issued_on=TODAY,
        ),
        item=item,
        form=merge_form(item.code, [item], _catalogue_from_seed()),
        current=NOW if current is None else current,
        office_region="320400",
    )


def _asked(**change: str) -> CorrectionRequest:
    body = {"field": "child.name", "value": "张晓宝", "reason": "助产机构录入时写错"} | change
    return CorrectionRequest(certificate_id=7, **body)


def _errors(**change: str) -> dict[str, str]:
    with pytest.raises(FieldErrors) as refused:
        checked_change(_target(), _asked(**change), TODAY)
    return refused.value.errors


def test_every_correction_item_corrects_an_item_that_issues_that_certificate_and_asks_only_known_fields() -> None:
    raw = {i["code"]: i for i in _seed("items.json")}
    corrections = [i for i in raw.values() if i.get("corrects")]
    assert {i["code"] for i in corrections} >= {"CZ-WJ-001-GZ", "CZ-MZ-001-GZ", "CZ-RS-003-GZ"}
    known = {f["key"] for f in _seed("form.json")["fields"]}
    for item in corrections:
        corrected = raw[item["corrects"]]
        assert item["result_certificate"] == corrected["result_certificate"], item["code"]
        assert item["department"] == corrected["department"], item["code"]  # the issuing department decides
        assert {f["key"] for f in item["fields"]} <= known
        assert not any(f["key"].endswith("id_number") for f in item["fields"])  # no ID numbers in a correction
        assert item["promised_limit"]["unit"] == "工作日"


def test_a_right_value_is_taken_as_the_form_would_take_it() -> None:
    field, value, reason = checked_change(_target(), _asked(value=" 张晓宝 ", reason=" 录入错误\r\n "), TODAY)

    assert (field.key, value, reason) == ("child.name", "张晓宝", "录入错误")
    date_field, born, _ = checked_change(_target(), _asked(field="child.birth_date", value="２０２６-11-19"), TODAY)
    assert (date_field.label, born) == ("出生日期", "2026-11-19")


def test_an_unknown_field_is_refused_naming_what_may_be_corrected() -> None:
    assert "请选择" in _errors(field="")["field"]
    message = _errors(field="applicant.phone")["field"]
    assert "新生儿姓名" in message and "出生日期" in message


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"value": "张小宝"}, "相同"),
        ({"value": "  "}, "请填写更正后的新生儿姓名"),
        ({"field": "child.sex", "value": "M"}, "新生儿性别（男）相同"),
        ({"field": "child.sex", "value": "X"}, "选项无效"),
        ({"field": "child.birth_date", "value": "2026-02-30"}, "不是有效的日期"),
        ({"field": "child.birth_date", "value": "2027-01-01"}, "不能晚于今天"),
        ({"value": "张" * 21}, "最多20个字"),
    ],
    ids=["same-name", "blank", "same-option", "bad-option", "no-such-day", "future", "too-long"],
)
def test_a_value_the_form_would_refuse_or_the_same_as_now_is_refused_beside_it(
    change: dict[str, str], says: str
) -> None:
    assert says in _errors(**change)["value"]


def test_a_reason_is_required_and_short_and_every_problem_is_said_at_once() -> None:
    assert "请写明更正原因" in _errors(reason=" ")["reason"]
    assert "最多500个字" in _errors(reason="错" * 501)["reason"]
    assert set(_errors(field="nope", reason="")) == {"field", "reason"}
    assert set(_errors(value="张小宝", reason="")) == {"value", "reason"}


def test_a_field_the_certificate_never_had_a_value_for_may_be_filled_in() -> None:
    field, value, _ = checked_change(_target(current={}), _asked(field="child.birth_weight_g", value="3250"), TODAY)
    assert (field.label, value) == ("出生体重（克）", "3250")
    assert shown(field, None) == "（未填写）"


def test_the_corrected_number_keeps_the_first_one_and_counts_the_corrections() -> None:
    assert corrected_number("O320402600123", 1) == "O320402600123-GZ1"
    assert corrected_number("O320402600123-GZ1", 2) == "O320402600123-GZ2"
    assert corrected_number("CZ20261130000001-CZ-WJ-001", 1) == "CZ20261130000001-CZ-WJ-001-GZ1"
    # Masked, the versions stay apart: the last four of the first number and the -GZn.
    assert mask_certificate_number("birth_medical", "O320402600123-GZ2") == "*********0123-GZ2"
    assert mask_certificate_number("birth_medical", "O320402600123") == "*********0123"


def test_the_register_is_not_rewritten_by_a_correction_and_the_resident_is_told_so() -> None:
    for field in ("child.name", "child.birth_date", "deceased.name"):
        assert "派出所" in (register_note(field) or "")
    assert register_note("child.birth_hospital") is None
    assert register_note("retirement.employer") is None
