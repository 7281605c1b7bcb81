"""撤回申请's rules without a database: which task states may be withdrawn, the reason as chosen and written, and what
the case then reads as."""

from __future__ import annotations

import pytest

from app.cases.states import derive_case_status
from app.cases.transitions import STATES
from app.cases.withdrawal import REASONS, checked_reason, withdrawable
from app.errors import FieldErrors


def test_only_tasks_no_department_has_decided_may_be_withdrawn() -> None:
    assert {s for s in STATES if withdrawable(s)} == {
        "awaiting_consent",  # 待授权: waiting for another person's consent
        "submitted",  # 申办
        "accepted",  # 受理
        "supplement_requested",  # 补正告知: the resident may rather withdraw than answer
        "resubmitted",  # 已补正
        "in_review",  # 审核中: before 批准 or 不予批准
    }
    for decided in ("approved", "rejected", "denied", "completed", "delivered", "withdrawn"):
        assert not withdrawable(decided), decided


def test_the_reason_is_a_chosen_one_and_the_applicants_own_words_at_most_200_characters() -> None:
    assert checked_reason(None, None) == (None, None)
    assert checked_reason("", "   ") == (None, None)
    assert checked_reason("no_longer_needed", None) == ("no_longer_needed", "不再需要办理")
    assert checked_reason("refile", " 出生日期填错了 ") == ("refile", "申请信息有误，准备重新申请。出生日期填错了")
    assert checked_reason(None, "家里人已经办了") == (None, "家里人已经办了")
    assert checked_reason("other", "字" * 200)[1] == "其他原因。" + "字" * 200
    with pytest.raises(FieldErrors) as refused:
        checked_reason("bored", "字" * 201)
    assert set(refused.value.errors) == {"reason", "reason_text"}
    assert all(words in refused.value.errors["reason"] for words in REASONS.values())


@pytest.mark.parametrize(
    ("tasks", "case"),
    [
        (["withdrawn", "withdrawn"], "withdrawn"),
        (["submitted", "withdrawn"], "submitted"),  # what is left has just been filed
        (["accepted", "withdrawn"], "in_progress"),
        (["supplement_requested", "withdrawn"], "supplement_requested"),
        (["completed", "withdrawn"], "completed"),
        (["delivered", "withdrawn"], "delivered"),
        (["rejected", "withdrawn"], "closed"),
    ],
)
def test_a_case_reads_as_its_tasks_not_withdrawn_do(tasks: list[str], case: str) -> None:
    assert derive_case_status(tasks) == case
