"""The task state machine: every allowed (state, action, role) in one table. Routes only call this.

待授权 awaiting_consent (another person is asked to let the case use their documents) → 申办 submitted, or →
补正告知 supplement_requested when they refuse or let the deadline pass (the resident uploads instead);
申办 submitted → 受理 accepted | 不予受理 rejected → 补正告知 supplement_requested ⇄ resubmitted →
承办/审核 in_review → 批准 approved | denied → 办结 completed → 出件 delivered; a 即办件 申办 submitted → 当场办结
completed at the window (马上办). A task not yet decided ends as 已撤回 withdrawn when its applicant withdraws it
(撤回申请: app.cases.withdrawal) or when the window clerk merges its case into another as a duplicate (一事不二办).
"""

from __future__ import annotations

import functools
from typing import Final, NamedTuple

from i18n import N_


class Transition(NamedTuple):
    to: str
    roles: frozenset[str]
    label: str  # the public step title, e.g. "已受理"


# A department's own system (an API client of the data-exchange platform, app/exchange) works its department's tasks
# end to end: 受理 in its own system, then 审核, 批准, 办结 and 出件, but never answers a 补正告知 for the resident.
DEPARTMENT_SYSTEM = "department_system"
_CLERK = frozenset({"clerk", DEPARTMENT_SYSTEM})
_APPROVER = frozenset({"approver", DEPARTMENT_SYSTEM})
_STAFF = frozenset({"clerk", "approver", DEPARTMENT_SYSTEM})
_SUPPLEMENT = frozenset({"resident", "clerk"})  # the resident uploads it, or the window records it
_WINDOW = frozenset({"clerk"})
# 马上办: a 即办件 受理 and 办结 in one action at the window, by a clerk holding its department's window authorisation
# (app.cases.workflow.may_complete_on_the_spot checks the item and the authorisation).
ON_THE_SPOT = "complete_on_the_spot"
# Moves nobody's session takes: the server makes them when a consent is asked for, decided or expires, and when the
# clerk merges a duplicate into another case (app.cases.duplicate_flow.merge withdraws its tasks).
SYSTEM = frozenset({"system"})
WITHDRAW = "withdraw"
# A task may be withdrawn until a department has decided it: 批准 issues a result that cannot be taken back this way,
# and 不予受理, 不予批准, 办结, 出件 have ended it already.
WITHDRAWABLE: Final = ("awaiting_consent", "submitted", "accepted", "supplement_requested", "resubmitted", "in_review")
# 撤回申请: the applicant's side withdraws their own application (app.cases.withdrawal decides who that is: the
# applicant, the parent who filed for a minor child, the helper under a live delegation, the organisation's 经办人).
APPLICANT_WITHDRAW = "withdraw_by_applicant"
APPLICANT = frozenset({"resident"})

# (state, action) → where it goes, who may do it.
TRANSITIONS: Final[dict[tuple[str, str], Transition]] = {
    ("submitted", "await_consent"): Transition("awaiting_consent", SYSTEM, N_("待授权")),
    ("awaiting_consent", "consent_granted"): Transition("submitted", SYSTEM, N_("已获授权使用证照")),
    ("awaiting_consent", "consent_refused"): Transition("supplement_requested", SYSTEM, N_("需补传材料")),
    ("submitted", "accept"): Transition("accepted", _CLERK, N_("已受理")),
    ("submitted", "reject"): Transition("rejected", _CLERK, N_("不予受理")),
    ("submitted", "request_supplement"): Transition("supplement_requested", _STAFF, N_("需补正材料")),
    ("accepted", "request_supplement"): Transition("supplement_requested", _STAFF, N_("需补正材料")),
    ("in_review", "request_supplement"): Transition("supplement_requested", _STAFF, N_("需补正材料")),
    ("supplement_requested", "resubmit"): Transition("resubmitted", _SUPPLEMENT, N_("已补正材料")),
    ("resubmitted", "accept"): Transition("accepted", _CLERK, N_("已受理")),
    ("resubmitted", "reject"): Transition("rejected", _CLERK, N_("不予受理")),
    ("resubmitted", "review"): Transition("in_review", _APPROVER, N_("审核中")),
    ("accepted", "review"): Transition("in_review", _APPROVER, N_("审核中")),
    ("in_review", "approve"): Transition("approved", _APPROVER, N_("已批准")),
    ("in_review", "deny"): Transition("denied", _APPROVER, N_("未予批准")),
    ("approved", "complete"): Transition("completed", _APPROVER, N_("已办结")),
    ("submitted", ON_THE_SPOT): Transition("completed", _WINDOW, N_("当场办结")),
    ("completed", "deliver"): Transition("delivered", _CLERK, N_("已出件")),
    **{(state, WITHDRAW): Transition("withdrawn", SYSTEM, N_("已撤回（重复申请）")) for state in WITHDRAWABLE},
    **{(state, APPLICANT_WITHDRAW): Transition("withdrawn", APPLICANT, N_("申请人撤回申请")) for state in WITHDRAWABLE},
}

ACTIONS: Final = frozenset(action for _, action in TRANSITIONS)
STATES: Final = frozenset([state for state, _ in TRANSITIONS] + [t.to for t in TRANSITIONS.values()])
# Actions whose note the resident must read (补正告知 lists what is missing; a refusal gives the reason).
NOTE_REQUIRED: Final = frozenset({"reject", "request_supplement", "deny"})


def allowed_actions(state: str, roles: frozenset[str]) -> list[str]:
    return list(_allowed_actions(state, roles))


@functools.cache
def _allowed_actions(state: str, roles: frozenset[str]) -> tuple[str, ...]:
    """Looked up once per process for each (state, roles): the queue API asks it for every task it lists (issue 20).
    The roles are a handful of sets (acting_roles), the states a few more."""
    return tuple(sorted(action for (s, action), t in TRANSITIONS.items() if s == state and t.roles & roles))


def transition(state: str, action: str, roles: frozenset[str]) -> Transition | None:
    """The transition if this role may take this action from this state, else None."""
    found = TRANSITIONS.get((state, action))
    return found if found is not None and found.roles & roles else None


def on_the_spot_title(item_name: str) -> str:
    """The timeline title of a 即办件 completed on the spot (workflow's `{item}：{label}`): receipts look for it."""
    return f"{item_name}：{TRANSITIONS[('submitted', ON_THE_SPOT)].label}"
