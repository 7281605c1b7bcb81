"""The task workflow: the table in app.cases.transitions applied. A new case's tasks and their promised dates, who
may move which task (scope), each move with its deadline and its timeline event (inbox, push) in one transaction,
the files of a resident's answer to a 补正告知, and the result certificate at 办结. The console's pages and API and
the resident's case page move tasks only through here; the due date is computed only here.

It lives in app/cases because every move writes the case's own records (its tasks, its timeline, its tracking
snapshot) and the resident's case page calls it: a package of its own would import cases and be imported by it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from datetime import date

import asyncpg

from app.calendar.service import current_calendar, promised_date, today_in_china
from app.calendar.workdays import HolidayCalendar
from app.cases import corrections_store, counting, offices, store
from app.cases.models import CheckedFile, IssuedResult, TaskRow
from app.cases.states import TASK_STATUS_LABELS
from app.cases.timeline import record_event
from app.cases.transitions import (
    APPLICANT,
    APPLICANT_WITHDRAW,
    DEPARTMENT_SYSTEM,
    NOTE_REQUIRED,
    ON_THE_SPOT,
    SYSTEM,
    Transition,
    allowed_actions,
    transition,
)
from app.catalogue import service as catalogue
from app.catalogue.models import ResultCertificate, ServiceItem
from app.certificates import service as certificates
from app.errors import Conflict, FieldErrors, Forbidden, NotFound
from app.notifications import titles
from app.registers import service as registers
from app.registers.models import CompletedTask
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from auth.scope import serves
from db.pool import Tx
from i18n import N_, _

NOTE_MAX = 1000
DELIVERY_LABELS = {"window": N_("窗口领取"), "post": N_("邮寄"), "electronic": N_("电子证照")}
_SUPPLEMENT_PREFIX = "supplement:"


class _OutOfScope(Exception):
    pass


class _OnTheSpotRefused(Exception):
    def __init__(self, task: TaskRow) -> None:
        self.task = task


# --- scope ----------------------------------------------------------------------------------------


def acting_roles(user: CurrentUser) -> frozenset[str]:
    """The roles that take part in the task state machine (a resident only answers a supplement request)."""
    return user.roles & {"clerk", "approver", "resident"}


def resident_relation(
    user: CurrentUser, *, applicant_person_id: int, parent_account_id: int | None, linked_as: str | None = None
) -> str | None:
    """The one rule for a resident and a case: "own" — their own case, or one they filed as a parent for their minor
    child: they read it and act on it (answer a 补正, rate it); "linked" — a party of it linked to it when their own
    filing of the same matter was refused or merged (一事不二办: `linked_as` is their link's role): they read it only;
    None — they may not know of it. in_scope (acting), the case page and 我的办件 (reading) all ask here."""
    if user.person_id is not None and applicant_person_id == user.person_id:
        return "own"
    if parent_account_id is not None and parent_account_id == user.account_id:
        return "own"
    return "linked" if linked_as is not None and user.person_id is not None else None


def in_scope(user: CurrentUser, task: TaskRow) -> bool:
    """A resident acts on their own case only (or one they filed for their minor child; a party linked to it only
    reads it: resident_relation). Staff act on tasks routed
    to their office (全城通办: by competence, app.cases.offices), approvers only their own department's. A window
    clerk also acts on every task of a case their hall received, whichever office handles it (受理, 补正 and 出件 at
    their window): a case filed at a window was received by that hall, one filed online or by a helper by the hall
    of the applicant's district (its 综合窗口 受理s it)."""
    if user.kind == "resident":
        relation = resident_relation(
            user, applicant_person_id=task.applicant_person_id, parent_account_id=task.parent_account_id
        )
        return relation == "own"
    at_office = offices.works_at(user.region_code, task.office_region)
    if "approver" in user.roles and "clerk" not in user.roles:
        return at_office and task.department_code == user.department_code
    if "clerk" not in user.roles:
        return False
    if task.office_region is None:  # 全城通办, not taken yet: the windows of its department, not every hall's
        at_office = at_office and task.department_code in clerk_departments(user)
    return at_office or serves(user.region_code, receiving_hall(task))


def clerk_departments(user: CurrentUser) -> list[str]:
    """The departments a window clerk works for: their own and those of their window authorisations."""
    return sorted({*user.window_departments, *([user.department_code] if user.department_code else [])})


def receiving_hall(task: TaskRow) -> str:
    """The region of the hall a task's case came in at: the hall that received it at its window, else (online, by a
    helper) the applicant's registered region, whose district hall receives it."""
    return task.received_region or task.applicant_region


def may_complete_on_the_spot(user: CurrentUser, task: TaskRow) -> bool:
    """马上办: a 即办件 is 受理 and 办结 in one action, by a window clerk holding its department's window
    authorisation."""
    return task.item_kind == N_("即办件") and task.department_code in user.window_departments


def actions_for(user: CurrentUser, task: TaskRow) -> list[str]:
    """What the caller may do to the task now: the table's actions, 当场办结 only where may_complete_on_the_spot."""
    allowed = allowed_actions(task.status, acting_roles(user))
    if ON_THE_SPOT in allowed and not may_complete_on_the_spot(user, task):
        allowed.remove(ON_THE_SPOT)
    return allowed


# The roles a department's own system takes in the state machine (app/cases/transitions.py: DEPARTMENT_SYSTEM).
SYSTEM_ROLES = frozenset({DEPARTMENT_SYSTEM})


def reached_by_department_system(department_code: str | None, region_code: str, task: TaskRow) -> bool:
    """A department's system works its own department's tasks routed to an office within its region (全城通办: any
    office's until one takes it), as its approvers do (the default system is the city's, which reaches them all)."""
    return (
        department_code is not None
        and task.department_code == department_code
        and offices.works_at(region_code, task.office_region)
    )


def _not_now(task: TaskRow, roles: frozenset[str], allowed: list[str] | None = None) -> Conflict:
    return Conflict(
        _("当前状态“%(task_status_labels)s”下不能执行该操作")
        % {"task_status_labels": _(TASK_STATUS_LABELS[task.status])},
        allowed_actions=allowed_actions(task.status, roles) if allowed is None else allowed,
        status=task.status,
    )


# --- deadlines ------------------------------------------------------------------------------------


async def new_tasks(
    tx: Tx, items: list[ServiceItem], today: date, applicant_region: str | None = None
) -> list[store.NewTask]:
    """A new case's tasks, one per item (申办, submitted), each due its item's promised limit counted from the day of
    submission (受理 counts it again from that day: _deadline_after) and routed to the office competent for it (its
    level and the applicant's registered region; none yet for 全城通办: app.cases.offices): made with the case
    (store.insert_case), and counted received by the public statistics in its transaction (app.cases.counting)."""
    calendar = await current_calendar(tx)
    deadlines = [promised_date(calendar, item.promised_limit, today) for item in items]
    return [
        (
            item.code,
            item.department_code,
            position,
            d.due_on,
            d.provisional,
            offices.office_for(item.level, item.citywide, applicant_region),
        )
        for position, (item, d) in enumerate(zip(items, deadlines, strict=True))
    ]


async def open_correction_task(
    tx: Tx, *, case_id: int, item: ServiceItem, certificate_id: int, office_region: str | None, today: date
) -> int | None:
    """A correction task (更正) on the case that issued the certificate: 申办, due its correction item's own promised
    limit from today (受理 counts it again), routed to `office_region` (the office that issued the certificate). Its
    id; None while the certificate has an open correction already."""
    deadline = promised_date(await current_calendar(tx), item.promised_limit, today)
    return await store.insert_correction_task(
        tx,
        case_id=case_id,
        item_code=item.code,
        department_code=item.department_code,
        due_on=deadline.due_on,
        provisional=deadline.provisional,
        office_region=office_region,
        certificate_id=certificate_id,
    )


def _deadline_after(
    action: str, task: TaskRow, calendar: HolidayCalendar, today: date, paused_since: date | None
) -> tuple[date | None, bool]:
    """(due on, provisional) once the action is done. SLA: counted from acceptance; a supplement pauses it for the
    working days the resident took; any other action keeps the task's (which may have none)."""
    if action == "accept" and task.status == "submitted":
        promised = promised_date(calendar, task.promised_limit, today)
        return promised.due_on, promised.provisional
    if action == "resubmit" and paused_since is not None and task.due_on is not None:
        paused = calendar.working_days_between(paused_since, today)
        extended = calendar.add_working_days(task.due_on, paused)
        return extended.due_on, task.due_provisional or extended.provisional
    return task.due_on, task.due_provisional


# --- moving a task --------------------------------------------------------------------------------


def _delivery(action: str, method: str | None, ref: str | None) -> tuple[str, str | None] | None:
    if action != "deliver":
        return None
    if method not in DELIVERY_LABELS:
        raise FieldErrors({"delivery_method": N_("请选择出件方式：窗口领取、邮寄或电子证照")})
    ref = (ref or "").strip() or None
    if method == "post" and not (ref and len(ref) <= 40):
        raise FieldErrors({"delivery_ref": N_("邮寄出件请填写快递单号")})
    return method, ref


def _checked_note(action: str, note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise FieldErrors({"note": _("说明不能超过%(note_max)s个字") % {"note_max": NOTE_MAX}})
    if action in NOTE_REQUIRED and not note:
        raise FieldErrors({"note": N_("请写明原因或需要补正的全部材料（一次告知）")})
    return note


@asynccontextmanager
async def _task_to_move(
    db: asyncpg.Pool,
    conn: Connection,
    user: CurrentUser,
    task_id: int,
    action: str,
    case_no: str | None = None,
) -> AsyncGenerator[tuple[Tx, TaskRow, Transition], None]:
    """The task locked in a new transaction, once the caller may take `action` on it now (and it is a task of
    `case_no`, when given): else NotFound, Forbidden (audited) or Conflict naming the allowed actions. What the
    caller then writes commits with the move, or not at all."""
    try:
        async with db.acquire() as tx, tx.transaction():
            task = await store.lock_task(tx, task_id)
            if task is None:
                raise NotFound(N_("没有找到该事项"))
            if not in_scope(user, task):
                raise _OutOfScope
            if case_no is not None and task.case_no != case_no:
                raise NotFound(N_("该办件中没有这个事项"))
            roles = acting_roles(user)
            step = transition(task.status, action, roles)
            if step is None:
                raise _not_now(task, roles, actions_for(user, task))
            if action == ON_THE_SPOT and not may_complete_on_the_spot(user, task):
                raise _OnTheSpotRefused(task)
            yield tx, task, step
    except _OnTheSpotRefused as refused:
        if refused.task.item_kind != N_("即办件"):
            raise Conflict(
                N_("该事项是承诺件，不能当场办结，请先受理"),
                allowed_actions=actions_for(user, refused.task),
                status=refused.task.status,
            ) from None
        await audit(
            db, conn, "task.transition", "forbidden", subject=f"task:{task_id}", attempted=action, reason="no window"
        )
        raise Forbidden(
            _("您没有%(department_name)s的窗口授权，不能当场办结该事项")
            % {"department_name": refused.task.department_name}
        ) from None
    except _OutOfScope:
        # Audited outside the rolled-back transaction, so the record of the attempt survives.
        await audit(db, conn, "task.transition", "forbidden", subject=f"task:{task_id}", attempted=action)
        raise Forbidden(N_("该办件不在您的办理范围内")) from None


async def move_task(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    user: CurrentUser,
    task_id: int,
    action: str,
    note: str | None,
    delivery_method: str | None = None,
    delivery_ref: str | None = None,
    child_id_number: str | None = None,
    credit_code: str | None = None,
) -> TaskRow:
    """Take `action` on a task (staff); the task as it is now. `child_id_number`: the newborn's new number, which
    completing 出生户口登记 needs; `credit_code`: the new organisation's, which completing 企业设立登记 needs
    (app.registers)."""
    note = _checked_note(action, note)
    async with _task_to_move(db, conn, user, task_id, action) as (tx, task, step):
        delivery = _delivery(action, delivery_method, delivery_ref)
        return await _apply_move(
            tx,
            cipher,
            user.account_id,
            task,
            action,
            step,
            note,
            delivery,
            child_id_number=child_id_number,
            office_region=user.region_code,
            credit_code=credit_code,
        )


async def move_task_by_system(
    tx: Tx,
    cipher: PiiCipher,
    *,
    department_code: str | None,
    region_code: str,
    task_id: int,
    action: str,
    note: str | None,
    delivery_method: str | None = None,
    delivery_ref: str | None = None,
    result: IssuedResult | None = None,
) -> TaskRow:
    """A department's system takes `action` on one of its tasks, in the caller's transaction (which also keeps the
    answer under the call's idempotency key). A task it does not reach is NotFound (it cannot tell another
    department's task from none); a move not allowed now a Conflict naming the allowed actions. `result`: 办结 with
    the certificate the department issued (its number and contents) instead of one numbered after the case."""
    note = _checked_note(action, note)
    task = await store.lock_task(tx, task_id)
    if task is None or not reached_by_department_system(department_code, region_code, task):
        raise NotFound(N_("没有找到该事项，或它不属于本部门、本区域"))
    step = transition(task.status, action, SYSTEM_ROLES)
    if step is None:
        raise _not_now(task, SYSTEM_ROLES)
    if result is not None and task.result_certificate is None:
        raise Conflict(N_("该事项办结时不签发电子证照"), allowed_actions=allowed_actions(task.status, SYSTEM_ROLES))
    delivery = _delivery(action, delivery_method, delivery_ref)
    return await _apply_move(
        tx, cipher, None, task, action, step, note, delivery, result=result, office_region=region_code
    )


async def answer_supplement(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    user: CurrentUser,
    case_no: str,
    task_id: int,
    note: str | None,
    files: list[CheckedFile],
) -> TaskRow:
    """The resident answers a 补正告知: files (already checked) and a note, and the task goes back to the queue.
    Everything about the task comes first (the caller's own, on this case, waiting for a supplement); the files
    are stored in the transaction that moves it, so a refused answer stores nothing. An answer with neither a file
    nor a word is no answer: the office would read 已补正 with nothing to look at."""
    note = _checked_note("resubmit", note)
    if not files and not (note or "").strip():
        raise FieldErrors({"file": N_("请上传补正材料，或在说明中写明已如何补正（如“原件已交窗口”）")})
    async with _task_to_move(db, conn, user, task_id, "resubmit", case_no) as (tx, task, step):
        await store_case_files(
            tx,
            user,
            case_id=task.case_id,
            person_id=task.applicant_person_id,
            life_event_code=task.life_event_code,
            material_code=supplement_material(task_id),
            files=files,
        )
        return await _apply_move(tx, cipher, user.account_id, task, "resubmit", step, note, None)


async def _apply_move(
    tx: Tx,
    cipher: PiiCipher,
    actor_account_id: int | None,
    task: TaskRow,
    action: str,
    step: Transition,
    note: str | None,
    delivery: tuple[str, str | None] | None,
    child_id_number: str | None = None,
    result: IssuedResult | None = None,
    office_region: str | None = None,
    credit_code: str | None = None,
) -> TaskRow:
    """The task's new state, deadline and delivery, and its timeline event (inbox, push) in the caller's transaction;
    at 办结 what the item writes back to the registers (app.registers), or its result certificate; and what the public
    statistics count of the move (app.cases.counting). `office_region`: the acting office, which takes a 全城通办 task
    no office holds yet (the first to act on it holds it)."""
    task_id = task.id
    if task.office_region is None and office_region:
        await store.take_office(tx, task_id, office_region)
    calendar, today = await current_calendar(tx), today_in_china()
    paused_since = await store.last_event_day(tx, task_id, "supplement_requested") if action == "resubmit" else None
    due_on, provisional = _deadline_after(action, task, calendar, today, paused_since)
    await store.set_task_status(tx, task_id, step.to, due_on, provisional)
    title = titles.STEP % {"subject": task.item_name, "step": step.label}
    if delivery is not None:
        await store.record_delivery(tx, task_id, *delivery)
        label = DELIVERY_LABELS[delivery[0]]
        title = titles.STEP_WITH_DELIVERY % {"subject": task.item_name, "step": step.label, "delivery": label}
        if delivery[1]:
            note = (N_("快递单号 %(delivery)s") % {"delivery": delivery[1]}) + (f"；{note}" if note else "")
    await record_event(
        tx,
        case_id=task.case_id,
        task_id=task_id,
        status=step.to,
        title=title,
        department_code=task.department_code,
        actor_account_id=actor_account_id,
        note=note,
        result_to_collect=step.to == "completed" and await _result_waits_at_window(tx, cipher, task),
    )
    if task.corrects_certificate_id is not None:
        await audit(
            tx,
            None,
            "correction.step",
            "ok",
            subject=f"task:{task_id}",
            actor=f"account:{actor_account_id}" if actor_account_id else DEPARTMENT_SYSTEM,
            move=action,
            status=step.to,
            case=task.case_no,
            certificate=task.corrects_certificate_id,
        )
    waiting = registers.step_on_acceptance(task.item_code, today) if step.to == "accepted" else None
    if waiting is not None:  # 简易注销: the 公告 the case now waits for, as a step of its own
        await record_event(
            tx,
            case_id=task.case_id,
            task_id=task_id,
            status="notice_period",
            title=waiting[0],
            department_code=task.department_code,
            actor_account_id=actor_account_id,
            note=waiting[1],
        )
    if step.to == "completed":
        await _invite_rating(tx, task)
    if step.to == "completed" and task.corrects_certificate_id is not None:
        await _issue_correction(tx, cipher, actor_account_id, task, task.corrects_certificate_id, result)
    elif step.to == "completed" and registers.writes_back(task.item_code):
        await _write_back(tx, cipher, actor_account_id, task, child_id_number, credit_code)
    elif step.to == "completed" and task.result_certificate is not None:
        await _issue_result(tx, cipher, task, task.result_certificate, result)
    moved = await store.get_task(tx, task_id)
    assert moved is not None  # locked by this transaction
    await counting.count_move(tx, task, moved, today)
    return moved


# 领取方式 on the merged form (db/seed/form.json): an item that asks it hands its result over at 出件.
HANDOVER_FIELD = "delivery.method"


async def _result_waits_at_window(tx: Tx, cipher: PiiCipher, task: TaskRow) -> bool:
    """Whether 办结 leaves something for the resident to collect: the item hands a result over (its form asks 领取方式)
    and they chose 窗口领取 (the default when the answer is missing), not 邮寄 or 电子证照."""
    items = await catalogue.items_of_life_event(tx, task.life_event_code)
    item = next((i for i in items if i.code == task.item_code), None)
    if item is None or not any(f.key == HANDOVER_FIELD for f in item.fields):
        return False
    record = await store.staff_case_record(tx, task.case_no)
    if record is None or record.data_enc is None:  # its answers purged past retention: nothing left to hand over
        return False
    return cipher.decrypt_document(record.data_enc).get(HANDOVER_FIELD) in (None, "window")


# Tasks that are over, one way or another: once all of a case's are, the case as a whole may be rated too (a task its
# applicant withdrew is over, and never rated itself: app.reviews).
_FINISHED = frozenset({"completed", "delivered", "rejected", "denied", "withdrawn"})


async def _invite_rating(tx: Tx, task: TaskRow) -> None:
    """办结 asks the resident to rate the task (好差评, app/reviews), and the whole case once it was the last one:
    a step of its own on the timeline, so the inbox and the push carry the question to the case page."""
    others = [t for t in await store.tasks_of_case(tx, task.case_id) if t.id != task.id]
    whole = all(t.status in _FINISHED for t in others)
    title = titles.RATE_TASK_AND_CASE if whole else titles.RATE_TASK
    await record_event(
        tx,
        case_id=task.case_id,
        status="review_invited",
        title=title,
        title_params={"item_name": task.item_name},
        department_code=task.department_code,
    )


async def _write_back(
    tx: Tx,
    cipher: PiiCipher,
    actor_account_id: int | None,
    task: TaskRow,
    child_id_number: str | None,
    credit_code: str | None = None,
) -> None:
    """记录 → 基础库: the item's write-back and its own timeline step, in the completion's transaction."""
    record = await store.staff_case_record(tx, task.case_no)
    assert record is not None  # the task's own case, in this transaction
    completed = CompletedTask(
        case_id=task.case_id,
        case_no=task.case_no,
        item_code=task.item_code,
        applicant_person_id=task.applicant_person_id,
        department_full_name=task.department_full_name,
        actor_account_id=actor_account_id,
        sibling_statuses={
            t.item_code: t.status for t in await store.tasks_of_case(tx, task.case_id) if t.id != task.id
        },
        subject_org_credit_code=record.subject_org_credit_code,
        accepted_on=await store.last_event_day(tx, task.id, "accepted"),
    )
    if record.data_enc is None:  # purged past its retention: no task of such a case is still open to complete
        raise Conflict(N_("该办件的申请内容已按规定清除，不能再办结"))
    answers = cipher.decrypt_document(record.data_enc)
    wrote = await registers.on_completion(tx, cipher, completed, answers, child_id_number, credit_code)
    if wrote is not None and wrote.subject_org_credit_code is not None:
        # 企业开办: the company now exists; the case (and its remaining tasks) is the company's, its founder its 经办人.
        await store.set_subject_org(tx, task.case_id, wrote.subject_org_credit_code)
    if wrote is not None:
        await record_event(
            tx,
            case_id=task.case_id,
            task_id=task.id,
            status="completed",
            title=wrote.title,
            department_code=task.department_code,
            actor_account_id=actor_account_id,
            note=wrote.note,
        )


async def _issue_result(
    tx: Tx, cipher: PiiCipher, task: TaskRow, result: ResultCertificate, issued: IssuedResult | None
) -> None:
    """办结 puts the result into the e-certificate library, so no later form asks for it again: as the department
    issued it (its number and contents, from its own system), or else numbered after the case. A case filed for an
    organisation (法人办事: 清税证明) puts it into the organisation's library, not its 经办人's."""
    reference = {"case_no": task.case_no, "item_code": task.item_code}
    number = issued.number if issued else f"{task.case_no}-{task.item_code}"
    issued_on = issued.issued_on if issued else today_in_china()
    data = {**issued.data, **reference} if issued else reference
    record = await store.staff_case_record(tx, task.case_no)
    if record is not None and record.subject_org_credit_code is not None:
        await certificates.issue_to_organisation(
            tx,
            cipher,
            credit_code=record.subject_org_credit_code,
            kind=result.kind,
            title=result.title,
            number=number,
            issued_by=task.department_full_name,
            issued_on=issued_on,
            data=data,
            case_id=task.case_id,
        )
        return
    await certificates.issue_to_person(
        tx,
        cipher,
        person_id=task.applicant_person_id,
        kind=result.kind,
        title=result.title,
        number=number,
        issued_by=task.department_full_name,
        issued_on=issued_on,
        data=data,
        case_id=task.case_id,
    )


async def _issue_correction(
    tx: Tx,
    cipher: PiiCipher,
    actor_account_id: int | None,
    task: TaskRow,
    certificate_id: int,
    issued: IssuedResult | None,
) -> None:
    """更正's 办结: the corrected certificate replaces the old one (which is void from now: its 亮证 says 已作废 and no
    form uses it), with the certificate's correctable contents as they were asked about and the one field changed;
    numbered after the old one, or as the department's own system issued it. Its own timeline step and audit entry,
    in the completion's transaction. The registers are not written: see app.registers.service.register_note."""
    correction = await corrections_store.correction_of_task(tx, task.id)
    assert correction is not None  # a correction task is opened with its request (app.cases.corrections)
    asked = cipher.decrypt_document(correction.request_enc)
    changes = {**asked.get("before", {}), correction.field: asked.get("value")}
    old, new = await certificates.replace_with_corrected(
        tx,
        cipher,
        certificate_id=certificate_id,
        changes={**changes, **issued.data} if issued else changes,
        issued_by=task.department_full_name,
        issued_on=issued.issued_on if issued else today_in_china(),
        number=issued.number if issued else None,
    )
    await corrections_store.set_corrected(tx, task.id, new.id)
    note = N_(
        "更正后的%(title)s（编号 %(new_number)s）已放入电子证照库，办事时自动使用；"
        "原证照（编号 %(old_number)s）已作废，扫描其亮证码将显示“已作废”。"
    ) % {"title": new.title, "new_number": new.number_masked, "old_number": old.number_masked}
    if register_note := registers.register_note(correction.field):
        note += register_note
    await record_event(
        tx,
        case_id=task.case_id,
        task_id=task.id,
        status="completed",
        title=titles.CORRECTED % {"title": new.title},
        department_code=task.department_code,
        actor_account_id=actor_account_id,
        note=note,
    )
    await audit(
        tx,
        None,
        "certificate.correct",
        "ok",
        subject=f"certificate:{new.id}",
        actor=f"account:{actor_account_id}" if actor_account_id else DEPARTMENT_SYSTEM,
        replaces=old.id,
        case=task.case_no,
        task=task.id,
        field=correction.field,
    )


# --- 撤回申请 ---------------------------------------------------------------------------------------------------


async def withdraw_by_applicant(
    tx: Tx, cipher: PiiCipher, actor_account_id: int, task: TaskRow, note: str | None
) -> TaskRow | None:
    """One task withdrawn by the applicant's side (app.cases.withdrawal decides who that is and holds the task's row
    lock), with its step 申请人撤回申请 on the timeline (inbox, push, the department's task.updated) in the caller's
    transaction; None when the task is decided or withdrawn already (it stays as it is). Its promised date stays as the
    record of what was promised: no queue, supervision or overdue count reads a withdrawn task."""
    step = transition(task.status, APPLICANT_WITHDRAW, APPLICANT)
    if step is None:
        return None
    return await _apply_move(tx, cipher, actor_account_id, task, APPLICANT_WITHDRAW, step, note, None)


# --- moves the server makes (consent) ---------------------------------------------------------------


async def await_consent(tx: Tx, case_id: int, item_codes: set[str], title: str, note: str | None) -> None:
    """A new case's tasks that use another person's documents wait for that person (待授权): one timeline event for
    the case, however many tasks wait."""
    waiting = [t for t in await store.tasks_of_case(tx, case_id) if t.item_code in item_codes]
    for task in waiting:
        step = transition(task.status, "await_consent", SYSTEM)
        assert step is not None, task.status  # a new case's tasks are all 申办
        await store.set_task_status(tx, task.id, step.to, task.due_on, task.due_provisional)
    if waiting:
        await record_event(tx, case_id=case_id, status="awaiting_consent", title=title, note=note)


async def settle_consent(tx: Tx, task: TaskRow, action: str, note: str | None, actor_account_id: int | None) -> None:
    """A task waiting for consent moves on once every request it waits for is decided: `consent_granted` back to 申办
    (the departments' queue), `consent_refused` to a 补正告知 naming what to upload. Its promised date is kept."""
    step = transition(task.status, action, SYSTEM)
    if step is None:
        return  # moved meanwhile: nothing waits any more
    await store.set_task_status(tx, task.id, step.to, task.due_on, task.due_provisional)
    await record_event(
        tx,
        case_id=task.case_id,
        task_id=task.id,
        status=step.to,
        title=titles.STEP % {"subject": task.item_name, "step": step.label},
        department_code=task.department_code,
        actor_account_id=actor_account_id,
        note=note,
    )


# --- the files of a supplement (补正) ---------------------------------------------------------------


def supplement_material(task_id: int) -> str:
    """The material code of a file that answers a 补正告知 on one task."""
    return f"{_SUPPLEMENT_PREFIX}{task_id}"


def supplement_task(material_code: str) -> int | None:
    """The task a supplement file answers; None for a material the merged form asked for."""
    number = material_code.removeprefix(_SUPPLEMENT_PREFIX)
    return int(number) if number != material_code and number.isdigit() else None


# A file sent as evidence for a correction (更正): uploaded as this material (POST /api/v1/uploads), and attached to
# the case as correction:<task id> with the request.
CORRECTION_EVIDENCE = "correction"
_CORRECTION_PREFIX = "correction:"


def correction_material(task_id: int) -> str:
    """The material code of a file sent as evidence for one correction task."""
    return f"{_CORRECTION_PREFIX}{task_id}"


def task_of_material(material_code: str) -> int | None:
    """The one task a file belongs to — a 补正 answer or a correction's evidence — or None for a material the merged
    form asked for (it belongs to every item that asks for it)."""
    for prefix in (_SUPPLEMENT_PREFIX, _CORRECTION_PREFIX):
        number = material_code.removeprefix(prefix)
        if number != material_code and number.isdigit():
            return int(number)
    return None


async def store_case_files(
    tx: Tx,
    user: CurrentUser,
    *,
    case_id: int,
    person_id: int,
    life_event_code: str,
    material_code: str,
    files: Sequence[CheckedFile],
) -> None:
    """Files attached straight to a case as one material — answering a 补正告知 (supplement:<task id>), or evidence for
    a correction (correction:<task id>) — in the transaction that moves or opens their task: called only once every
    check has passed, and rolled back with a refused move."""
    for file in files:
        await store.insert_supplement(
            tx,
            token=secrets.token_urlsafe(18),
            account_id=user.account_id,
            person_id=person_id,
            case_id=case_id,
            life_event_code=life_event_code,
            material_code=material_code,
            filename=file.filename,
            content_type=file.content_type,
            content=file.content,
            sha256=hashlib.sha256(file.content).digest(),
        )
