"""撤回申请: the applicant's side withdraws their own application — the whole case or chosen tasks — before the
departments have decided it.

**Who may.** The applicant, or the parent who filed it for a minor child (app.cases.workflow.resident_relation:
"own"). A case filed for an organisation is the organisation's: its legal representative or a 经办人 in scope and in
force now (app.organisations.service.acting_for) — not whoever once filed it, whose authority may have ended. The
village helper who filed the case, while the applicant's delegation to them is live, covers its life event and comes
from their village (app.delegations.service.require_delegation). A party linked to the case (一事不二办) reads it only:
refused, audited. Anyone else: no such case.

**What.** Each task not yet decided (app.cases.transitions.WITHDRAWABLE: 待授权 to 审核中) ends as 已撤回, with its step
申请人撤回申请 on the timeline (inbox, push, text, the department's task.updated: app.cases.workflow); a task decided
(批准, 不予受理, 不予批准), 办结, 出件 or withdrawn already stays as it is. Every department with a task withdrawn hears
case.withdrawn once, in the withdrawal's transaction, with the reason's code and never the applicant's own words. A
consent request nobody's task waits for any more ends (app.cases.consent_flow.release). Asking again for what is done
already answers as the first time did (a repeat is no error).
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from app.cases import consent_flow, store, workflow
from app.cases.models import CaseHead, TaskRow, WithdrawalRequest
from app.cases.states import TASK_STATUS_LABELS
from app.cases.transitions import APPLICANT, APPLICANT_WITHDRAW, transition
from app.catalogue.translations import text as catalogue_text
from app.delegations import service as delegations
from app.errors import Conflict, FieldErrors, Forbidden, NotFound
from app.organisations import service as organisations
from app.people import service as people
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from db.pool import Tx
from hooks import outbox as hooks
from hooks.models import Event
from i18n import N_, _

# Why the applicant withdraws, as they choose it: the code goes to the departments' systems, the words to the timeline.
REASONS = {
    "no_longer_needed": N_("不再需要办理"),
    "refile": N_("申请信息有误，准备重新申请"),
    "other_channel": N_("改为到窗口或通过其他方式办理"),
    "other": N_("其他原因"),
}
REASON_TEXT_MAX = 200
_NOT_FOUND = N_("没有找到该办件")
_CLIENT_PRESENT = N_("撤回须经办事人本人同意：请在本人在场并同意撤回时勾选“本人在场，同意撤回”")
_LINKED = N_("您是该办件的关联当事人，只能查看办理进度；撤回申请须由申请人本人办理")


def withdrawable(task_status: str) -> bool:
    """Whether a task in this state may still be withdrawn by its applicant (app.cases.transitions has the rule)."""
    return transition(task_status, APPLICANT_WITHDRAW, APPLICANT) is not None


def checked_reason(reason: str | None, text: str | None) -> tuple[str | None, str | None]:
    """(the reason's code, the note for the timeline: its words and the applicant's own), or one message per field."""
    words = (text or "").strip() or None
    errors: dict[str, str] = {}
    if reason and reason not in REASONS:
        errors["reason"] = N_("撤回原因请从以下选项中选择：") + "、".join(REASONS.values())
    if words is not None and len(words) > REASON_TEXT_MAX:
        errors["reason_text"] = _("补充说明请不要超过%(reason_text_max)s个字（现有%(len)s个字）") % {
            "reason_text_max": REASON_TEXT_MAX,
            "len": len(words),
        }
    if errors:
        raise FieldErrors(errors)
    code = reason or None
    parts = [REASONS[code]] if code else []
    return code, "。".join([*parts, *([words] if words else [])]) or None


def _checked_ids(task_ids: list[int] | None) -> list[int] | None:
    if task_ids is None:
        return None
    if not task_ids:
        raise FieldErrors({"task_ids": N_("请至少选择一个要撤回的事项")})
    return list(dict.fromkeys(task_ids))


# --- who withdraws ------------------------------------------------------------------------------------------------


async def may_withdraw(db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str) -> tuple[CaseHead, str]:
    """The case and how the caller acts on it (applicant, organisation, helper); else NotFound, or Forbidden (audited)
    for someone who may read the case but not withdraw it."""
    if user.kind == "resident" and user.person_id is not None:
        return await _as_resident(db, conn, user, case_no)
    if "helper" in user.roles:
        head = await store.case_filed_by_helper(db, case_no, user.account_id)
        if head is None:
            raise NotFound(_NOT_FOUND)
        client = await people.get_person(db, head.applicant_person_id)
        await delegations.require_delegation(
            db, conn, user, head.applicant_person_id, client.region_code if client else None, head.life_event_code
        )
        return head, "helper"
    raise NotFound(_NOT_FOUND)


async def _as_resident(db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str) -> tuple[CaseHead, str]:
    assert user.person_id is not None  # may_withdraw's condition
    head = await store.case_for_reader(db, case_no, user.person_id)
    relation = (
        workflow.resident_relation(
            user,
            applicant_person_id=head.applicant_person_id,
            parent_account_id=head.parent_account_id,
            linked_as=head.linked_as,
        )
        if head is not None
        else None
    )
    organisation = await store.organisation_of_case(db, case_no)
    if organisation is not None:
        credit_code, life_event = organisation
        try:
            await organisations.acting_for(db, conn, user, credit_code, life_event)  # audited when refused
        except Forbidden:
            if relation is None:  # no reader of the case: it looks like no case
                raise NotFound(_NOT_FOUND) from None
            raise
        found = await store.case_by_number(db, case_no)
        assert found is not None  # organisation_of_case found it
        return found, "organisation"
    if head is not None and relation == "own":
        return head, "applicant"
    if relation == "linked":
        await audit(db, conn, "case.withdraw", "forbidden", subject=f"case:{case_no}", reason="linked party")
        raise Forbidden(_LINKED)
    raise NotFound(_NOT_FOUND)


# --- withdrawing ----------------------------------------------------------------------------------------------------


def _decided(tasks: list[TaskRow]) -> str:
    """Each decided task and its status, in the reader's language: “出生户口登记”已办结."""
    return _("；").join(
        _("“%(item)s”%(status)s") % {"item": catalogue_text(t.item_name), "status": _(TASK_STATUS_LABELS[t.status])}
        for t in tasks
    )


def _to_withdraw(tasks: list[TaskRow], chosen_ids: list[int] | None) -> list[TaskRow]:
    """The tasks to withdraw now, of those chosen (None: the whole case); Conflict when a chosen task is decided or
    the case has nothing left to withdraw. Empty: asked before and done (a repeat)."""
    by_id = {t.id: t for t in tasks}
    if chosen_ids is not None and any(i not in by_id for i in chosen_ids):
        raise NotFound(N_("该办件中没有这个事项"))
    chosen = tasks if chosen_ids is None else [by_id[i] for i in chosen_ids]
    now = [t for t in chosen if withdrawable(t.status)]
    decided = [t for t in chosen if not withdrawable(t.status) and t.status != "withdrawn"]
    if chosen_ids is not None and decided:
        raise Conflict(
            _("%(decided)s，已有办理结果的事项不能撤回。请只选择尚未办结的事项") % {"decided": _decided(decided)},
            not_withdrawable=[t.id for t in decided],
        )
    if not now and len(decided) == len(chosen):
        raise Conflict(
            _("该办件没有可以撤回的事项：%(decided)s。已有办理结果的事项不能撤回") % {"decided": _decided(decided)},
            not_withdrawable=[t.id for t in decided],
        )
    return now


async def withdraw(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    user: CurrentUser,
    case_no: str,
    body: WithdrawalRequest,
) -> list[int]:
    """撤回申请 (the module's rules): the ids of the tasks withdrawn now (none: asked before, and done)."""
    chosen_ids = _checked_ids(body.task_ids)
    reason, note = checked_reason(body.reason, body.reason_text)
    head, acting_as = await may_withdraw(db, conn, user, case_no)
    if acting_as == "helper" and not body.client_present:
        # A withdrawal ends the client's application: the helper acts for them, never instead of them.
        raise FieldErrors({"client_present": _CLIENT_PRESENT})
    async with db.acquire() as tx, tx.transaction():
        tasks = await store.lock_tasks_of_case(tx, head.id)
        withdrawn: list[TaskRow] = []
        for task in _to_withdraw(tasks, chosen_ids):
            moved = await workflow.withdraw_by_applicant(tx, cipher, user.account_id, task, note)
            assert moved is not None  # withdrawable, and locked by this transaction
            withdrawn.append(moved)
        if not withdrawn:
            return []
        await consent_flow.release(tx, head.id)
        await _tell_departments(tx, head.case_no, withdrawn, reason)
        await audit(
            tx,
            conn,
            "case.withdraw",
            "ok",
            subject=f"case:{head.case_no}",
            tasks=[t.id for t in withdrawn],
            reason=reason,
            acting_as=acting_as,
            client_present=body.client_present if acting_as == "helper" else None,
        )
    return [t.id for t in withdrawn]


async def _tell_departments(tx: Tx, case_no: str, withdrawn: list[TaskRow], reason: str | None) -> None:
    """case.withdrawn once to each department's systems for its tasks withdrawn (each office's: a department's tasks
    may be routed to two), in the withdrawal's transaction: which tasks and the reason's code — never the applicant's
    words, nor who they are (the system reads the tasks with its token)."""
    by_office: dict[tuple[str, str | None], list[TaskRow]] = defaultdict(list)
    for task in withdrawn:
        by_office[(task.department_code, task.office_region)].append(task)
    await hooks.emit(
        tx,
        [
            Event(
                type="case.withdrawn",
                department_code=department_code,
                office_region=office_region,
                data={
                    "case_no": case_no,
                    "tasks": [{"task_id": t.id, "item_code": t.item_code} for t in tasks],
                    "reason": reason,
                },
            )
            for (department_code, office_region), tasks in by_office.items()
        ],
    )
