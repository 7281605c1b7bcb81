"""Every (state, action, role) of the task state machine: the table is the rule."""

import itertools

import pytest

from app.cases.states import TASK_STATUS_LABELS
from app.cases.transitions import ACTIONS, STATES, TRANSITIONS, allowed_actions, transition

# system: the server's own moves (consent); department_system: a department's own system through the data-exchange
# API, which never answers a 补正告知.
ROLES = ["resident", "clerk", "approver", "helper", "admin", "system", "department_system"]
SYSTEM = "department_system"
EXPECTED = {
    ("submitted", "await_consent"): ("awaiting_consent", {"system"}),
    ("awaiting_consent", "consent_granted"): ("submitted", {"system"}),
    ("awaiting_consent", "consent_refused"): ("supplement_requested", {"system"}),
    ("submitted", "accept"): ("accepted", {"clerk", SYSTEM}),
    ("submitted", "reject"): ("rejected", {"clerk", SYSTEM}),
    ("submitted", "request_supplement"): ("supplement_requested", {"clerk", "approver", SYSTEM}),
    ("accepted", "request_supplement"): ("supplement_requested", {"clerk", "approver", SYSTEM}),
    ("in_review", "request_supplement"): ("supplement_requested", {"clerk", "approver", SYSTEM}),
    ("supplement_requested", "resubmit"): ("resubmitted", {"resident", "clerk"}),
    ("resubmitted", "accept"): ("accepted", {"clerk", SYSTEM}),
    ("resubmitted", "reject"): ("rejected", {"clerk", SYSTEM}),
    ("resubmitted", "review"): ("in_review", {"approver", SYSTEM}),
    ("accepted", "review"): ("in_review", {"approver", SYSTEM}),
    ("in_review", "approve"): ("approved", {"approver", SYSTEM}),
    ("in_review", "deny"): ("denied", {"approver", SYSTEM}),
    ("approved", "complete"): ("completed", {"approver", SYSTEM}),
    ("completed", "deliver"): ("delivered", {"clerk", SYSTEM}),
    # 马上办: a window clerk only (the workflow also checks the item is a 即办件 and the clerk's window authorisation).
    ("submitted", "complete_on_the_spot"): ("completed", {"clerk"}),
    # 一事不二办: a duplicate merged into another case is withdrawn by the server (the clerk's merge), until decided.
    **{
        (state, "withdraw"): ("withdrawn", {"system"})
        for state in ("awaiting_consent", "submitted", "accepted", "supplement_requested", "resubmitted", "in_review")
    },
    # 撤回申请: the applicant's side withdraws a task not yet decided (app.cases.withdrawal decides who acts for them).
    **{
        (state, "withdraw_by_applicant"): ("withdrawn", {"resident"})
        for state in ("awaiting_consent", "submitted", "accepted", "supplement_requested", "resubmitted", "in_review")
    },
}


def test_states_are_the_ones_the_database_and_labels_know() -> None:
    assert set(TASK_STATUS_LABELS) == STATES
    assert {
        "accept",
        "reject",
        "request_supplement",
        "resubmit",
        "review",
        "approve",
        "deny",
        "complete",
        "deliver",
        "complete_on_the_spot",
        "await_consent",
        "consent_granted",
        "consent_refused",
        "withdraw",
        "withdraw_by_applicant",
    } == ACTIONS


@pytest.mark.parametrize(("state", "action", "role"), list(itertools.product(sorted(STATES), sorted(ACTIONS), ROLES)))
def test_every_state_action_role(state: str, action: str, role: str) -> None:
    expected = EXPECTED.get((state, action))
    found = transition(state, action, frozenset({role}))
    if expected and role in expected[1]:
        assert found is not None and found.to == expected[0]
        assert action in allowed_actions(state, frozenset({role}))
    else:
        assert found is None
        assert action not in allowed_actions(state, frozenset({role}))


def test_the_table_has_nothing_beyond_the_expected() -> None:
    assert {k: (v.to, set(v.roles)) for k, v in TRANSITIONS.items()} == EXPECTED


def test_final_states_allow_nothing() -> None:
    for state in ("rejected", "denied", "delivered", "withdrawn"):
        assert allowed_actions(state, frozenset(ROLES)) == []


def test_an_applicant_may_withdraw_a_task_until_a_department_has_decided_it() -> None:
    """Before 批准 or a refusal: 待授权, 申办, 受理, 补正 (either way), 审核中. A decision (批准, 不予受理,
    不予批准), 办结, 出件 and a task already withdrawn stay as they are; no member of staff and no department's system
    takes this step."""
    applicant = frozenset({"resident"})
    may = {state for state in STATES if transition(state, "withdraw_by_applicant", applicant) is not None}
    assert may == {"awaiting_consent", "submitted", "accepted", "supplement_requested", "resubmitted", "in_review"}
    assert STATES - may == {"approved", "rejected", "denied", "completed", "delivered", "withdrawn"}
    staff = frozenset({"clerk", "approver", "department_system", "helper", "admin"})
    assert all(transition(state, "withdraw_by_applicant", staff) is None for state in STATES)
    step = transition("in_review", "withdraw_by_applicant", applicant)
    assert step is not None and step.label == "申请人撤回申请"
