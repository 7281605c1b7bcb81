"""Task states as a resident reads them, and the case status derived from its tasks.

The labels are marked (N_) and stay Chinese here: a page translates each where it draws it ({{ _(label) }}), so a
snapshot kept for the tracking page serves every language."""

from __future__ import annotations

from collections.abc import Iterable

from i18n import N_

TASK_STATUS_LABELS = {
    "awaiting_consent": N_("待授权"),
    "submitted": N_("已申办"),
    "accepted": N_("已受理"),
    "rejected": N_("不予受理"),
    "supplement_requested": N_("待补正"),
    "resubmitted": N_("已补正"),
    "in_review": N_("审核中"),
    "approved": N_("已批准"),
    "denied": N_("未予批准"),
    "completed": N_("已办结"),
    "delivered": N_("已出件"),
    "withdrawn": N_("已撤回"),
}

CASE_STATUS_LABELS = {
    "awaiting_consent": N_("待授权"),
    "submitted": N_("已提交"),
    "in_progress": N_("办理中"),
    "supplement_requested": N_("待补正"),
    "completed": N_("已办结"),
    "delivered": N_("已出件"),
    "closed": N_("已结束"),
    "withdrawn": N_("已撤回"),
}

# Tasks still with a department or the resident: everything before 出件 and not refused.
OPEN_TASK_STATUSES = frozenset(
    {
        "awaiting_consent",
        "submitted",
        "accepted",
        "supplement_requested",
        "resubmitted",
        "in_review",
        "approved",
        "completed",
    }
)

# Tasks a department worked to an end, whatever the answer: what a resident may rate (好差评, app/reviews).
FINISHED_TASK_STATUSES = frozenset({"completed", "delivered", "rejected", "denied"})

# Who reads a timeline event and its note (timeline_events.visibility): the resident (every step a resident is told of,
# with the reasons they must read), or only staff who may read its task (an internal note, a 征求意见).
RESIDENT = "resident"
INTERNAL = "internal"
VISIBILITIES = frozenset({RESIDENT, INTERNAL})

# What a staff note the resident reads is, by the step it came with: the 补正告知 lists what is missing, a refusal
# gives its reason; a note on its own (a staff note for the resident) is a 办理说明. The case page names each note so;
# the public tracking page only says that there is one (its words may name people).
NOTE_STEP = "note"
RESIDENT_NOTE_KINDS = {
    "supplement_requested": N_("补正告知"),
    "rejected": N_("不予受理理由"),
    "denied": N_("不予批准理由"),
    "withdrawn": N_("撤回说明"),
    NOTE_STEP: N_("办理说明"),
}

_ENDED = {"rejected", "denied", "withdrawn"}
# Case statuses after which nothing more happens to a case: every task delivered (出件), refused or withdrawn.
FINISHED_CASE_STATUSES = frozenset({"delivered", "closed", "withdrawn"})


def derive_case_status(task_statuses: Iterable[str]) -> str:
    """One status for the case: what the resident most needs to know about all its tasks."""
    statuses = list(task_statuses)
    if not statuses:
        return "submitted"
    if all(s == "withdrawn" for s in statuses):
        return "withdrawn"  # by its applicant (撤回申请), or merged into another case as its duplicate (一事不二办)
    # A withdrawn task no longer counts towards the case's state: the case is where its other tasks are.
    statuses = [s for s in statuses if s != "withdrawn"]
    if "supplement_requested" in statuses:
        return "supplement_requested"  # the resident has something to do: say that first
    if "awaiting_consent" in statuses:
        return "awaiting_consent"  # someone else has: the case waits for them before any department starts
    if all(s == "submitted" for s in statuses):
        return "submitted"
    if all(s == "delivered" or s in _ENDED for s in statuses):
        return "closed" if all(s in _ENDED for s in statuses) else "delivered"
    if all(s in ("completed", "delivered") or s in _ENDED for s in statuses):
        return "completed"
    return "in_progress"
