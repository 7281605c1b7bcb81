"""The rules of 征求意见 (consultation between departments).

- Who asks: the approver of the task (their department, within their region: app.cases.workflow.in_scope), while
  the task is with the departments (受理 to 批准, or waiting for a 补正), of another department, with a question and a
  date in working days (1–20) counted on the Chinese calendar. The asked office's approvers are told (inbox, push).
- Who answers: an approver of the asked department who serves the consultation's competent region — one rule,
  `may_answer`, over one region, `competent_region` (the task's applicant's region today; re-point it there when tasks
  carry their office's region). Once: a second answer is a Conflict. The asker is told (inbox, push).
- Who reads: the asking task's staff (the window clerk, its department's approvers) and the asked department's who may
  answer. The asked department sees the question, the case number and the item — not the application: it is asked
  an opinion, not given the case (data minimisation; the asker writes what the question needs).
- Files: the question and the answer each carry up to ATTACHMENTS_MAX files, checked as a resident's uploads are
  (app.cases.service.checked_files: PDF, JPEG or PNG by their content, ≤ 10 MB each). Whoever may read the
  consultation may download them (audited, each time); nobody else, a resident least of all. They go with the case's
  other files when its retention has passed, and the question's and answer's words (`forget_of_cases`, from
  app/purge.py).
- The asking task's clock keeps running: a consultation is the government's time, not the resident's (its due date
  is untouched). Both steps are on the task's history for staff only (internal), and audited. Overdue ones (past
  their date, unanswered) show to supervisors of the asked department (app.supervision).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

import asyncpg

from app.accounts import service as accounts
from app.calendar.service import current_calendar, today_in_china
from app.calendar.workdays import HolidayCalendar
from app.cases import service as cases
from app.cases import workflow
from app.cases.models import CheckedFile, TaskRow
from app.cases.offices import answering_office
from app.catalogue import service as catalogue
from app.catalogue.translations import text as catalogue_text
from app.consultations import store
from app.consultations.models import (
    Attachment,
    AttachmentContent,
    AttachmentRow,
    Consultation,
    ConsultationAsked,
    ConsultationBody,
    ConsultationRow,
    Forgotten,
)
from app.errors import Conflict, FieldErrors, Forbidden, NotFound
from app.notifications import titles
from app.notifications.service import notify_account
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.scope import region_prefix, serves
from db.pool import DB, Tx
from i18n import N_, _, use_language

QUESTION_MAX = 1000
ANSWER_MAX = 2000
DUE_DAYS_MIN, DUE_DAYS_MAX = 1, 20
DUE_DAYS_DEFAULT = 5
# Files on a question, and on an answer: each as a resident's upload (PDF, JPEG, PNG; ≤ 10 MB).
ATTACHMENTS_MAX = 5
# A task may be consulted on while it is with the departments: accepted, in review, approved, or waiting for a 补正.
CONSULTABLE = frozenset({"accepted", "resubmitted", "in_review", "approved", "supplement_requested"})


class _OutOfScope(Exception):
    pass


# --- who ---------------------------------------------------------------------------------------------------


def competent_region(task: TaskRow) -> str:
    """The region whose office of the asked department answers a consultation on this task: the asking task's own
    office's (全城通办: a city-level task asks the city's office of the other department, a district task that
    district's; an untaken one its applicant's district — app.cases.offices.answering_office)."""
    return answering_office(task.office_region, task.applicant_region)


def may_ask(user: CurrentUser, task: TaskRow) -> bool:
    """The task's own approver: their department's task, routed to their office (app.cases.workflow.in_scope)."""
    return user.is_staff and "approver" in user.roles and workflow.in_scope(user, task)


def may_answer(user: CurrentUser, consultation: ConsultationRow) -> bool:
    """An approver of the asked department serving the consultation's competent region."""
    return (
        user.is_staff
        and "approver" in user.roles
        and user.department_code == consultation.department_code
        and serves(user.region_code, consultation.region_code)
    )


async def may_read(db: DB, user: CurrentUser, row: ConsultationRow) -> bool:
    """The asked department's staff who may answer it, or the asking task's staff (its window clerk, its department's
    approvers in its office): who may read a consultation, its files included."""
    if may_answer(user, row):
        return True
    task = await cases.task_by_id(db, row.task_id)
    return task is not None and user.is_staff and workflow.in_scope(user, task)


def _queue_prefix(user: CurrentUser) -> str:
    """The region prefix of the consultations `may_answer` lets this member of staff answer (no region: none)."""
    return region_prefix(user.region_code) if user.region_code else "-"


# --- asking ------------------------------------------------------------------------------------------------


async def _checked_question(db: DB, task: TaskRow | None, body: ConsultationBody) -> str:
    errors: dict[str, str] = {}
    question = body.question.strip()
    if not question:
        errors["question"] = N_("请写明需要对方部门回答的问题")
    elif len(question) > QUESTION_MAX:
        errors["question"] = _("问题不能超过%(question_max)s个字") % {"question_max": QUESTION_MAX}
    if not body.department or not await catalogue.department_exists(db, body.department):
        errors["department"] = N_("请选择要征求意见的部门")
    elif task is not None and body.department == task.department_code:
        errors["department"] = N_("本部门的事项无需向本部门征求意见，请选择其他部门")
    if not DUE_DAYS_MIN <= body.due_in_days <= DUE_DAYS_MAX:
        errors["due_in_days"] = _("答复期限请填%(due_days_min)s到%(due_days_max)s个工作日") % {
            "due_days_min": DUE_DAYS_MIN,
            "due_days_max": DUE_DAYS_MAX,
        }
    if errors:
        raise FieldErrors(errors)
    return question


def _checked_files(files: Sequence[tuple[str, bytes]], problems: dict[str, str]) -> list[CheckedFile]:
    """The files checked as uploads are (app.cases.service.checked_files), or FieldErrors with their problem and the
    words' `problems` together: one answer names everything to fix."""
    try:
        checked = cases.checked_files(files, most=ATTACHMENTS_MAX)
    except FieldErrors as exc:
        raise FieldErrors({**problems, **exc.errors}) from None
    if problems:
        raise FieldErrors(problems)
    return checked


async def ask(
    db: asyncpg.Pool,
    conn: Connection,
    user: CurrentUser,
    task_id: int,
    body: ConsultationBody,
    files: Sequence[tuple[str, bytes]] = (),
) -> ConsultationAsked:
    """征求意见 on a task, with files (name, content): the consultation and its files, its internal step on the task's
    history and the asked office's approvers' notices in one transaction; audited. The question and the files are
    checked together, each problem under its field. Someone else's task: Forbidden (audited); a task not with the
    departments now: Conflict."""
    task = await cases.task_by_id(db, task_id)
    try:
        question, problems = await _checked_question(db, task, body), {}
    except FieldErrors as exc:
        question, problems = "", exc.errors
    attached = _checked_files(files, problems)
    if task is None:
        raise NotFound(N_("没有找到该事项"))
    if not may_ask(user, task):
        await audit(db, conn, "consultation.ask", "forbidden", subject=f"task:{task_id}", department=body.department)
        raise Forbidden(N_("只有办理该事项的部门审批人员可以征求其他部门意见"))
    if task.status not in CONSULTABLE:
        raise Conflict(N_("该事项当前不在部门办理中（未受理、待授权或已办结），不能征求意见"), status=task.status)
    due = (await current_calendar(db)).add_working_days(today_in_china(), body.due_in_days)
    region = competent_region(task)
    asked = await accounts.office_staff(db, department_code=body.department, person_region=region, roles=("approver",))
    async with db.acquire() as tx, tx.transaction():
        consultation_id = await store.insert(
            tx,
            case_id=task.case_id,
            task_id=task.id,
            department_code=body.department,
            region_code=region,
            question=question,
            asked_by_account_id=user.account_id,
            due_on=due.due_on,
            due_provisional=due.provisional,
        )
        await _attach(tx, consultation_id, "question", user, attached)
        row = await store.get(tx, consultation_id)
        assert row is not None  # inserted by this transaction
        await cases.record_internal_step(
            tx,
            case_id=task.case_id,
            task_id=task.id,
            status="consultation_asked",
            title=titles.CONSULTATION_ASKED
            % {
                "item_name": task.item_name,
                "department_name": row.department_name,
                "isoformat": due.due_on.isoformat(),
            },
            department_code=task.department_code,
            actor_account_id=user.account_id,
        )
        languages = await accounts.languages_of(tx, sorted(asked))
        for account_id in asked:
            with use_language(languages.get(account_id)):  # drawn in the language each approver reads
                title = _("征求意见：%(item_name)s") % {"item_name": catalogue_text(task.item_name)}
                said = _(
                    "%(department_name)s就办件 %(case_no)s 征求%(department_name2)s意见，请于%(isoformat)s前答复"
                ) % {
                    "department_name": catalogue_text(task.department_name),
                    "case_no": task.case_no,
                    "department_name2": catalogue_text(row.department_name),
                    "isoformat": due.due_on.isoformat(),
                }
            await notify_account(
                tx, account_id, title=title, body=said, url=f"/console/consultations/{consultation_id}"
            )
    await audit(
        db,
        conn,
        "consultation.ask",
        "ok",
        subject=f"task:{task_id}",
        case=task.case_no,
        consultation=consultation_id,
        department=body.department,
        notified=len(asked),
        files=len(attached),
    )
    return ConsultationAsked(
        id=consultation_id,
        task_id=task.id,
        case_no=task.case_no,
        item_name=task.item_name,
        department=body.department,
        due_on=due.due_on,
        due_provisional=due.provisional,
        attachments=_attachments(row),
    )


async def _attach(tx: Tx, consultation_id: int, side: str, user: CurrentUser, files: list[CheckedFile]) -> None:
    for file in files:
        await store.insert_attachment(
            tx,
            consultation_id=consultation_id,
            side=side,
            account_id=user.account_id,
            filename=file.filename,
            content_type=file.content_type,
            content=file.content,
            sha256=hashlib.sha256(file.content).digest(),
        )


# --- answering ---------------------------------------------------------------------------------------------


def _answer_problems(words: str) -> dict[str, str]:
    if not words:
        return {"text": N_("请填写本部门的意见")}
    if len(words) > ANSWER_MAX:
        return {"text": _("意见不能超过%(answer_max)s个字") % {"answer_max": ANSWER_MAX}}
    return {}


async def answer(
    db: asyncpg.Pool,
    conn: Connection,
    user: CurrentUser,
    consultation_id: int,
    text: str,
    files: Sequence[tuple[str, bytes]] = (),
) -> Consultation:
    """The asked department's answer with files (name, content), once: the answer and its files, its internal step on
    the asking task's history and the asker's notice in one transaction; audited. Another department or region:
    Forbidden (audited); answered already: Conflict."""
    words = text.strip()
    attached = _checked_files(files, _answer_problems(words))
    try:
        async with db.acquire() as tx, tx.transaction():
            row = await store.lock(tx, consultation_id)
            if row is None:
                raise NotFound(N_("没有找到该征求意见"))
            if not may_answer(user, row):
                raise _OutOfScope
            if row.answered_at is not None:
                raise Conflict(N_("该征求意见已经答复，不能重复答复"))
            await store.set_answer(tx, consultation_id, words, user.account_id)
            await _attach(tx, consultation_id, "answer", user, attached)
            await cases.record_internal_step(
                tx,
                case_id=row.case_id,
                task_id=row.task_id,
                status="consultation_answered",
                title=titles.CONSULTATION_ANSWERED
                % {"item_name": row.item_name, "department_name": row.department_name},
                department_code=row.department_code,
                actor_account_id=user.account_id,
            )
            languages = await accounts.languages_of(tx, [row.asked_by_account_id])
            with use_language(languages.get(row.asked_by_account_id)):  # the asker's language, not the answerer's
                title = _("征求意见已答复：%(item_name)s") % {"item_name": catalogue_text(row.item_name)}
                said = _("%(department_name)s已答复办件 %(case_no)s 的征求意见") % {
                    "department_name": catalogue_text(row.department_name),
                    "case_no": row.case_no,
                }
            url = f"/console/cases/{row.case_no}#task-{row.task_id}"
            await notify_account(tx, row.asked_by_account_id, title=title, body=said, url=url)
            answered = await store.get(tx, consultation_id)
            assert answered is not None  # locked by this transaction
    except _OutOfScope:
        # Audited outside the rolled-back transaction, so the record of the attempt survives.
        await audit(db, conn, "consultation.answer", "forbidden", subject=f"consultation:{consultation_id}")
        raise Forbidden(N_("该征求意见不是向您所在部门（或您服务的区域）发出的")) from None
    await audit(
        db,
        conn,
        "consultation.answer",
        "ok",
        subject=f"consultation:{consultation_id}",
        case=answered.case_no,
        files=len(attached),
    )
    return _view(answered, user, await current_calendar(db), today_in_china())


# --- reading -----------------------------------------------------------------------------------------------


def _view(row: ConsultationRow, user: CurrentUser, calendar: HolidayCalendar, today: date) -> Consultation:
    overdue = row.answered_at is None and row.due_on < today
    return Consultation(
        id=row.id,
        case_no=row.case_no,
        task_id=row.task_id,
        life_event_name=row.life_event_name,
        item_name=row.item_name,
        asking_department=row.asking_department_code,
        asking_department_name=row.asking_department_name,
        department=row.department_code,
        department_name=row.department_name,
        question=row.question,
        asked_by_name=row.asked_by_name,
        asked_at=row.asked_at,
        due_on=row.due_on,
        due_provisional=row.due_provisional,
        overdue=overdue,
        overdue_working_days=calendar.working_days_between(row.due_on, today) if overdue else 0,
        answered=row.answered_at is not None,
        answer=row.answer,
        answered_by_name=row.answered_by_name,
        answered_at=row.answered_at,
        words_forgotten_on=row.words_forgotten_on,
        attachments=_attachments(row),
        can_answer=row.answered_at is None and may_answer(user, row),
    )


def _attachment(consultation_id: int, row: AttachmentRow) -> Attachment:
    return Attachment(
        id=row.id,
        side=row.side,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        url=f"/api/v1/console/consultations/{consultation_id}/attachments/{row.id}",
    )


def _attachments(row: ConsultationRow) -> list[Attachment]:
    return [_attachment(row.id, a) for a in row.attachments]


async def _views(db: DB, user: CurrentUser, rows: list[ConsultationRow]) -> list[Consultation]:
    if not rows:
        return []
    calendar, today = await current_calendar(db), today_in_china()
    return [_view(r, user, calendar, today) for r in rows]


async def to_answer(db: DB, user: CurrentUser) -> list[Consultation]:
    """The consultations waiting for this approver's department, in the regions they serve, soonest due first."""
    if not (user.is_staff and "approver" in user.roles and user.department_code):
        return []
    rows = await store.open_for(db, department_code=user.department_code, region_prefix=_queue_prefix(user))
    return await _views(db, user, [r for r in rows if may_answer(user, r)])


async def of_tasks(db: DB, user: CurrentUser, case_id: int, task_ids: frozenset[int]) -> dict[int, list[Consultation]]:
    """By task: the consultations on these tasks of a case (the ones the caller may read: app.console decides)."""
    rows = [r for r in await store.of_case(db, case_id) if r.task_id in task_ids]
    by_task: dict[int, list[Consultation]] = {}
    for view in await _views(db, user, rows):
        by_task.setdefault(view.task_id, []).append(view)
    return by_task


async def for_staff(db: asyncpg.Pool, conn: Connection, user: CurrentUser, consultation_id: int) -> Consultation:
    """One consultation, to those who `may_read` it; anyone else is Forbidden (audited)."""
    row = await store.get(db, consultation_id)
    if row is None:
        raise NotFound(N_("没有找到该征求意见"))
    if not await may_read(db, user, row):
        await audit(db, conn, "consultation.open", "forbidden", subject=f"consultation:{consultation_id}")
        raise Forbidden(N_("该征求意见不在您的办理范围内"))
    return (await _views(db, user, [row]))[0]


async def attachment_for_staff(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, consultation_id: int, attachment_id: int
) -> AttachmentContent:
    """A file of a consultation, to those who `may_read` it; each read is audited, as is each refusal. A file of
    another consultation, or one removed with its case's data (retention), is NotFound."""
    row = await store.get(db, consultation_id)
    if row is None:
        raise NotFound(N_("没有找到该征求意见"))
    subject = f"consultation:{consultation_id}"
    if not await may_read(db, user, row):
        await audit(db, conn, "consultation.attachment.read", "forbidden", subject=subject, attachment=attachment_id)
        raise Forbidden(N_("该征求意见的附件不在您的办理范围内"))
    found = await store.attachment(db, consultation_id, attachment_id)
    if found is None:
        raise NotFound(N_("没有找到该文件，可能已按保存期限删除"))
    await audit(
        db, conn, "consultation.attachment.read", "ok", subject=subject, case=row.case_no, attachment=attachment_id
    )
    return found


async def forget_of_cases(tx: Tx, case_ids: list[int], today: date) -> dict[int, Forgotten]:
    """The files and the words of every consultation on these cases, their retention having passed (app/purge.py, in
    its transaction); by case id, what was removed. The consultations stay, without their words."""
    files = await store.delete_attachments_of_cases(tx, case_ids)
    words = await store.forget_words_of_cases(tx, case_ids, today)
    forgotten: dict[int, Forgotten] = {}
    for case_id in files.keys() | words.keys():
        count, size = files.get(case_id, (0, 0))
        forgotten[case_id] = Forgotten(files=count, file_bytes=size, words=words.get(case_id, 0))
    return forgotten


async def overdue_for_supervisor(db: DB, user: CurrentUser) -> list[Consultation]:
    """Unanswered consultations past their date, asked of the offices this supervisor oversees (their department's,
    or every department's, in their region), most overdue first."""
    if "supervisor" not in user.roles or not user.region_code:
        return []
    rows = await store.overdue(
        db, department_code=user.department_code, region_prefix=region_prefix(user.region_code), today=today_in_china()
    )
    return await _views(db, user, [r for r in rows if serves(user.region_code, r.region_code)])
