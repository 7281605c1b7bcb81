"""The back office rules: who sees which task and which part of a case (the window clerk all of it, a
department's approver their own items' answers and materials), receiving a resident at the window (窗口收件) and
issuing enrollment codes. Tasks move through app.cases.workflow."""

from __future__ import annotations

import base64
import binascii
import functools
import secrets
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec

from app.accounts import service as accounts
from app.calendar.service import china_time, current_calendar, today_in_china
from app.calendar.workdays import HolidayCalendar
from app.cases import corrections, workflow
from app.cases import service as cases
from app.cases.models import (
    DeceasedApplicantCase,
    DuplicateFlag,
    StaffCaseRecord,
    StaffTimelineEntry,
    StoredUpload,
    TaskRow,
)
from app.cases.states import CASE_STATUS_LABELS, RESIDENT, TASK_STATUS_LABELS, derive_case_status
from app.catalogue.translations import optional as optional_text
from app.catalogue.translations import text as catalogue_text
from app.console.models import (
    AnswerRow,
    AnswerSection,
    ConsoleTask,
    DuplicateDecision,
    DuplicatePair,
    DuplicateSide,
    EnrollmentIssued,
    HistoryStep,
    InPersonCheck,
    QueueFilters,
    QueuePage,
    StaffCase,
    WalkInCase,
    WalkInOrganisation,
    WalkInView,
    WindowOrganisationCheck,
)
from app.consultations import service as consultations
from app.errors import FieldErrors, Forbidden, NotFound
from app.forms import service as forms
from app.forms.models import FormField, FormPart, MergedForm
from app.notifications import service as notifications
from app.organisations import service as organisations
from app.organisations.models import ROLE_LABELS, OrganisationRegister
from app.people import service as people
from app.people.identity import id_number_problem, mask_id_number, normalize_credit_code, normalize_id_number
from app.people.models import Person
from app.web.types import Connection
from auth import walk_in
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from auth.scope import region_prefix
from i18n import N_, gettext

DUE_SOON_WORKING_DAYS = 2
QUEUE_PAGE = 50  # tasks on a page of the queue API (its default `limit`)
# Cases, each whole, on a page of /console: the 20 soonest due (about five screens at a window's 1024 px, a case a
# sixth of a screen), from which a clerk picks the next one; 加载更多 appends the next 20. Fifty took about 8 ms of CPU
# a page to draw (issue 20).
QUEUE_PAGE_CASES = 20
QUEUE_PAGE_MAX = 200
BAD_QUEUE_CURSOR = N_("翻页位置无效：请回到待办列表的第一页重新翻页（接口调用请原样使用上一页返回的 next_cursor）")
ANSWERS_PURGED = N_("该办件已过保存期限，申请内容已按规定清除")
# What each role's queue shows: work waiting for them, then what they may still need to act on.
QUEUE_STATUSES = {
    "clerk": ["submitted", "resubmitted", "completed", "supplement_requested", "accepted", "awaiting_consent"],
    "approver": ["accepted", "resubmitted", "in_review", "approved"],
}


async def today_and_soon(db: asyncpg.Pool) -> tuple[date, date]:
    """Today in China, and the last day a task is due soon (DUE_SOON_WORKING_DAYS working days on): counted once per
    request, not once per task."""
    calendar, today = await current_calendar(db), today_in_china()
    return today, _soon_until(calendar, today)


@functools.lru_cache(maxsize=4)
def _soon_until(calendar: HolidayCalendar, today: date) -> date:
    """Counted once a day per calendar (every page of the queue asks; a new calendar, kept per process for a while by
    app.calendar.service, is a new key)."""
    return calendar.add_working_days(today, DUE_SOON_WORKING_DAYS).due_on


def _view(task: TaskRow, user: CurrentUser, today: date, soon_until: date, *, acts: bool = True) -> ConsoleTask:
    """A task as staff see it; `acts`: whether the caller may act on it (else it lists no actions)."""
    due = task.due_on
    return ConsoleTask(
        id=task.id,
        case_no=task.case_no,
        life_event_name=catalogue_text(task.life_event_name),
        item_code=task.item_code,
        item_name=catalogue_text(task.item_name),
        department=task.department_code,
        department_name=catalogue_text(task.department_name),
        status=task.status,
        status_label=TASK_STATUS_LABELS[task.status],
        due_on=due,
        due_provisional=task.due_provisional,
        overdue=due is not None and due < today and task.status not in ("completed", "delivered"),
        due_soon=due is not None and today <= due <= soon_until,
        submitted_at=task.submitted_at,
        allowed_actions=workflow.actions_for(user, task) if acts else [],
        item_kind=task.item_kind,
        office_name=optional_text(task.office_name),
    )


async def task_queue(
    db: asyncpg.Pool,
    user: CurrentUser,
    filters: QueueFilters | None = None,
    cursor: str | None = None,
    limit: int = QUEUE_PAGE,
    *,
    whole_cases: bool = False,
) -> QueuePage:
    """A page of the caller's work (app.cases.workflow.in_scope, as one query), soonest due first, from `cursor` (the
    next_cursor of the page before): an approver's department's tasks routed to an office within their region; a
    clerk's, any department's, and every task of a case their hall received; both with the 全城通办 tasks no office
    has taken yet (a clerk's: of their department or window authorisations). Narrowed by the queue's filters.
    `whole_cases` (the console's page): `limit` cases, each with every task of it in the queue, in the order of their
    soonest task; a case is on one page only (the cursor names the soonest task of the last case). The caller has
    swept the consents past their deadline first (consent_flow.sweep, in app.console.queue before it reads the count of
    changes), so that their tasks are read in 补正."""
    after = _queue_after(cursor) if cursor else None
    if not 1 <= limit <= QUEUE_PAGE_MAX:
        raise FieldErrors(
            {"limit": gettext("limit 应在 1 到 %(queue_page_max)s 之间") % {"queue_page_max": QUEUE_PAGE_MAX}}
        )
    role = "clerk" if "clerk" in user.roles else "approver"
    filters = filters or QueueFilters()
    statuses = [s for s in QUEUE_STATUSES[role] if s == filters.status or not filters.status]
    department = user.department_code if role == "approver" else None
    if filters.department:
        if department is not None and department != filters.department:
            statuses = []  # an approver's queue holds their own department's tasks only
        department = filters.department
    today, soon_until = await today_and_soon(db)
    due_before = due_from = due_until = None
    if filters.due == "overdue":  # as _view's `overdue`: a task 办结 or 出件 is no longer late
        due_before, statuses = today, [s for s in statuses if s not in ("completed", "delivered")]
    elif filters.due == "soon":
        due_from, due_until = today, soon_until
    if not user.region_code or not statuses:
        return QueuePage(tasks=[], next_cursor=None)
    read = await cases.tasks_in_queue(
        db,
        statuses=statuses,
        region_prefix=region_prefix(user.region_code),
        department=department,
        received_too=role == "clerk",
        untaken_departments=workflow.clerk_departments(user) if role == "clerk" else None,
        kind=filters.kind or None,
        due_before=due_before,
        due_from=due_from,
        due_until=due_until,
        after=after,
        limit=limit + 1,
        whole_cases=whole_cases,
        plan_once=True,
    )
    rows = read.tasks
    if not whole_cases:
        page = [_view(r, user, today, soon_until) for r in rows[:limit]]
        return QueuePage(tasks=page, next_cursor=_queue_cursor(page[-1]) if len(rows) > limit else None)
    # The rows come case by case, each case's soonest task first: the page is the first `limit` cases.
    firsts = [n for n, r in enumerate(rows) if n == 0 or r.case_id != rows[n - 1].case_id]
    more = len(firsts) > limit
    # The page lists no actions (they are on the case page): a task's actions are not worked out for it.
    page = [_view(r, user, today, soon_until, acts=False) for r in (rows[: firsts[limit]] if more else rows)]
    cursor = _queue_cursor(page[firsts[limit - 1]]) if more else None
    return QueuePage(tasks=page, next_cursor=cursor, case_facts=read.case_facts)


def _queue_cursor(task: ConsoleTask) -> str:
    """Where the page after this task starts: its deadline (none: empty) and id, as opaque URL-safe text."""
    due = task.due_on.isoformat() if task.due_on else ""
    return base64.urlsafe_b64encode(f"{due}|{task.id}".encode()).decode().rstrip("=")


def _queue_after(cursor: str) -> tuple[date | None, int]:
    """The (deadline, id) a cursor names; anything else, however it was made, is a 400 that says what to do."""
    try:
        if len(cursor) > 40:
            raise ValueError(cursor)
        due, bar, task_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        if not bar or not task_id.isdigit() or not 0 < int(task_id) < 2**63:
            raise ValueError(cursor)
        return (date.fromisoformat(due) if due else None), int(task_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise FieldErrors({"cursor": BAD_QUEUE_CURSOR}, BAD_QUEUE_CURSOR) from None


async def open_cases_of_deceased(db: asyncpg.Pool, user: CurrentUser) -> list[DeceasedApplicantCase]:
    """已注销人员的在办件 in the caller's region (an approver's: with a task of their department)."""
    return await cases.open_cases_of_deceased(
        db,
        region_prefix=region_prefix(user.region_code) if user.region_code else "-",
        department=None if "clerk" in user.roles else user.department_code,
    )


async def task_view(db: asyncpg.Pool, user: CurrentUser, task: TaskRow) -> ConsoleTask:
    """One task as the caller sees it now: after a move (app.cases.workflow.move_task), the API answers with it."""
    return _view(task, user, *await today_and_soon(db))


def _case_in_scope(user: CurrentUser, tasks: list[TaskRow]) -> bool:
    """Staff open a case with a task they act on (workflow.in_scope): a window clerk every case their hall received
    and those with a task routed to their office; an approver those with a task of their department's office."""
    return any(workflow.in_scope(user, t) for t in tasks)


async def _case_for_staff(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str
) -> tuple[StaffCaseRecord, list[TaskRow]]:
    head = await cases.staff_case_record(db, case_no.strip().upper())
    if head is None:
        raise NotFound(N_("没有找到该办件，请核对办件编号"))
    tasks = await cases.tasks_of_case(db, head.id)
    if not _case_in_scope(user, tasks):
        await audit(db, conn, "case.open", "forbidden", subject=f"case:{head.case_no}")
        raise Forbidden(N_("该办件不在您的办理范围内"))
    return head, tasks


class _Share(msgspec.Struct, frozen=True, kw_only=True):
    """What of one case a member of staff may see. The window clerk (一窗受理) receives the whole case; a
    department's approver works on their own items only, so sees the answers and materials those items ask for
    (a field shared with another department's item too) and the files answering their own tasks' 补正告知."""

    whole: bool
    own_tasks: frozenset[int]
    part: FormPart

    def shows_field(self, key: str) -> bool:
        return self.whole or key in self.part.field_keys

    def shows_upload(self, material_code: str) -> bool:
        if self.whole:
            return True
        task_id = workflow.task_of_material(material_code)
        return task_id in self.own_tasks if task_id is not None else material_code in self.part.material_codes


class _OpenCase(msgspec.Struct, frozen=True, kw_only=True):
    head: StaffCaseRecord
    tasks: list[TaskRow]
    form: MergedForm
    share: _Share


async def _open_case(db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str) -> _OpenCase:
    """A case within the caller's region and department (else NotFound / Forbidden, audited), with what they may see
    of it."""
    head, tasks = await _case_for_staff(db, conn, user, case_no)
    form, items = await forms.merged_form_of(db, head.life_event_code)
    own = [t for t in tasks if workflow.in_scope(user, t)]
    share = _Share(
        whole="clerk" in user.roles,
        own_tasks=frozenset(t.id for t in own),
        part=forms.part_for_items(form, items, {t.item_code for t in own}),
    )
    return _OpenCase(head=head, tasks=tasks, form=form, share=share)


async def task_for_staff(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str, task_id: int
) -> tuple[StaffCaseRecord, TaskRow]:
    """One task of a case, to a member of staff who may act on it: the window clerk any task of a case they may open,
    an approver their own department's office's (another's is Forbidden, audited)."""
    case = await _open_case(db, conn, user, case_no)
    task = next((t for t in case.tasks if t.id == task_id), None)
    if task is None:
        raise NotFound(N_("该办件中没有这个事项"))
    if not case.share.whole and task.id not in case.share.own_tasks:
        await audit(db, conn, "task.open", "forbidden", subject=f"task:{task_id}")
        raise Forbidden(N_("该事项由其他部门办理，请由该部门处理"))
    return case.head, task


async def case_for_staff(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, case_no: str
) -> StaffCase:
    case = await _open_case(db, conn, user, case_no)
    head, share = case.head, case.share
    # Past its retention the answers and files are gone (app/retention/rules.py): the page says so in their place.
    data = cipher.decrypt_document(head.data_enc) if head.data_enc is not None else {}
    today, soon_until = await today_and_soon(db)
    uploads = await cases.uploads_of_case(db, head.id)
    case_history, task_history = _history(await cases.staff_timeline_of(db, head.id), share)
    shown_uploads = [u for u in uploads if share.shows_upload(u.material_code)]
    others = [t for t in case.tasks if t.id not in share.own_tasks]
    readable = frozenset(t.id for t in case.tasks) if share.whole else share.own_tasks
    return StaffCase(
        case_no=head.case_no,
        life_event_name=head.life_event_name,
        submitted_at=head.created_at,
        channel=head.channel,
        applicant_name=head.applicant_name,
        applicant_id_masked=head.applicant_id_masked,
        subject_org_name=head.subject_org_name,
        subject_org_credit_code=head.subject_org_credit_code,
        organisation_register=await _register_of(db, head.subject_org_credit_code),
        # Every task with its progress; actions only on the caller's own.
        tasks=[_view(t, user, today, soon_until, acts=t.id in share.own_tasks) for t in case.tasks],
        answers=[
            AnswerSection(
                title=catalogue_text(section.title),
                rows=[
                    _answer_row(field, data[field.key])
                    for field in section.fields
                    if field.key in data and share.shows_field(field.key)
                ],
            )
            for section in case.form.sections
        ],
        uploads=shown_uploads,
        shown_department=None if share.whole else _department_name(case.tasks, user),
        withheld_departments=[] if share.whole else list(dict.fromkeys(t.department_name for t in others)),
        withheld_uploads=len(uploads) - len(shown_uploads),
        case_history=case_history,
        task_history=task_history,
        purged_at=head.purged_at,
        notices=await notifications.staff_notices_of_case(db, head.id),
        note_tasks=sorted(share.own_tasks),
        consult_tasks=[
            t.id for t in case.tasks if consultations.may_ask(user, t) and t.status in consultations.CONSULTABLE
        ],
        consultations=await consultations.of_tasks(db, user, head.id, readable),
        corrections=await corrections.views_of_case(
            db, cipher, head.id, None if share.whole else share.own_tasks, shown_uploads
        ),
        duplicates=await _duplicate_pairs(db, cipher, user, case, data) if share.whole else [],
    )


async def _register_of(db: asyncpg.Pool, credit_code: str | None) -> OrganisationRegister | None:
    """The register's entry and history of the organisation a case is for: the staff handling it compare the form
    with it (a 变更登记's 变更前, what an earlier case changed)."""
    organisation = await organisations.by_credit_code(db, credit_code) if credit_code else None
    return await organisations.register_of(db, organisation, cases.case_numbers) if organisation else None


# --- 一事不二办: pairs flagged as perhaps one matter, side by side for the window clerk ----------------------------

MATCH_LABELS = {"exact": N_("信息完全一致"), "near": N_("信息相近")}
RECEIVED_HOW = {"window": N_("窗口收件"), "online": N_("网上申请"), "helper": N_("帮办代办")}


def _side(
    record: StaffCaseRecord, tasks: list[TaskRow], form: MergedForm, data: dict[str, Any], problem: str | None
) -> DuplicateSide:
    fields = {f.key: f for f in form.fields()}
    keys = cases.compared_fields([t.item_code for t in tasks])
    status = derive_case_status(t.status for t in tasks)
    return DuplicateSide(
        case_no=record.case_no,
        submitted_at=record.created_at,
        applicant_name=record.applicant_name,
        applicant_id_masked=record.applicant_id_masked,
        received_how=gettext(RECEIVED_HOW.get(record.channel, record.channel)),
        status_label=gettext(CASE_STATUS_LABELS[status]),
        tasks=[(catalogue_text(t.item_name), gettext(TASK_STATUS_LABELS[t.status])) for t in tasks],
        compared=[_answer_row(fields[k], data[k]) for k in keys if k in fields and k in data],
        withdraw_problem=problem,
    )


def _decided(flag: DuplicateFlag) -> str | None:
    if flag.decided_at is None:
        return None
    what = (
        gettext("已合并，保留 %(kept_case_no)s") % {"kept_case_no": flag.kept_case_no}
        if flag.state == "merged"
        else N_("经核查不是同一事项，保留两件")
    )
    by = f"（{flag.decided_by_name}，{china_time(flag.decided_at)}）" if flag.decided_by_name else ""
    return what + by + (f"：{flag.note}" if flag.note else "")


async def _duplicate_pairs(
    db: asyncpg.Pool, cipher: PiiCipher, user: CurrentUser, case: _OpenCase, data: dict[str, Any]
) -> list[DuplicatePair]:
    """The pairs the case is flagged in, each with the other case beside it when the clerk may open that one too (a
    case outside their scope is named by its number only, and they cannot decide on the pair)."""
    pairs: list[DuplicatePair] = []
    for flag in await cases.duplicate_flags_of(db, case.head.id):
        other_no = flag.earlier_case_no if flag.case_no == case.head.case_no else flag.case_no
        record = await cases.staff_case_record(db, other_no)
        other_tasks = await cases.tasks_of_case(db, record.id) if record else []
        reachable = record is not None and _case_in_scope(user, other_tasks)
        other: DuplicateSide | None = None
        if record is not None and reachable:
            other_form, _ = await forms.merged_form_of(db, record.life_event_code)
            other = _side(
                record,
                other_tasks,
                other_form,
                cipher.decrypt_document(record.data_enc) if record.data_enc is not None else {},
                cases.withdraw_problem(other_tasks, case.tasks),
            )
        pairs.append(
            DuplicatePair(
                id=flag.id,
                match=flag.match,
                match_label=gettext(MATCH_LABELS.get(flag.match, flag.match)),
                reason=flag.reason,
                state=flag.state,
                decided=_decided(flag),
                this=_side(case.head, case.tasks, case.form, data, cases.withdraw_problem(case.tasks, other_tasks)),
                other_case_no=other_no,
                other=other,
                can_decide=flag.state == "open" and other is not None,
            )
        )
    return pairs


def decision_view(flag: DuplicateFlag) -> DuplicateDecision:
    return DuplicateDecision(
        id=flag.id,
        state=flag.state,
        case_no=flag.case_no,
        earlier_case_no=flag.earlier_case_no,
        kept_case_no=flag.kept_case_no,
    )


def _history(steps: list[StaffTimelineEntry], share: _Share) -> tuple[list[HistoryStep], dict[int, list[HistoryStep]]]:
    """The case's own steps, and each task's, oldest first; notes only where the caller may read that task, and an
    internal step (a note, a 征求意见) not at all elsewhere."""
    case_steps: list[HistoryStep] = []
    by_task: dict[int, list[HistoryStep]] = {}
    for step in steps:
        readable = share.whole or step.task_id is None or step.task_id in share.own_tasks
        internal = step.visibility != RESIDENT
        if internal and not readable:
            continue
        shown = HistoryStep(
            at=step.at,
            title=step.title,
            note=step.note if readable else None,
            actor_name=step.actor_name,
            department_name=step.department_name,
            internal=internal,
        )
        if step.task_id is None:
            case_steps.append(shown)
        else:
            by_task.setdefault(step.task_id, []).append(shown)
    return case_steps, by_task


def _department_name(tasks: list[TaskRow], user: CurrentUser) -> str | None:
    return next((t.department_name for t in tasks if t.department_code == user.department_code), None)


def _answer_row(field: FormField, value: Any) -> AnswerRow:
    """One answer as the clerk reads it, in their language: the field's label and a choice's (the answer as typed)."""
    label = catalogue_text(field.label)
    if field.type == "id_number" and isinstance(value, str):
        return AnswerRow(key=field.key, label=label, value=mask_id_number(value), sensitive=True)
    if field.type == "checkbox":
        shown = gettext(N_("是") if value is True else N_("否"))
    elif field.options:
        shown = next((catalogue_text(o.label) for o in field.options if o.value == value), str(value))
    else:
        shown = str(value)
    return AnswerRow(key=field.key, label=label, value=shown, sensitive=False)


async def reveal_id_number(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    user: CurrentUser,
    case_no: str,
    key: str,
) -> str:
    """The full ID number of one answer, for a member of staff who pressed "show": always audited, and refused
    (audited too) for an answer only another department's items ask for."""
    case = await _open_case(db, conn, user, case_no)
    subject = f"case:{case.head.case_no}"
    field = next((f for f in case.form.fields() if f.key == key), None)
    if field is None or field.type != "id_number":
        raise NotFound(N_("没有该项内容"))
    if not case.share.shows_field(key):
        await audit(db, conn, "pii.read", "forbidden", subject=subject, field=key)
        raise Forbidden(N_("这一项属于其他部门办理的事项，不向您显示"))
    if case.head.data_enc is None:
        raise NotFound(ANSWERS_PURGED)
    value = cipher.decrypt_document(case.head.data_enc).get(key)
    if not isinstance(value, str):
        raise NotFound(N_("没有该项内容"))
    await audit(db, conn, "pii.read", "ok", subject=subject, field=key)
    return value


async def upload_for_staff(db: asyncpg.Pool, conn: Connection, user: CurrentUser, token: str) -> StoredUpload:
    """An uploaded file of a case, to staff who may see it: an approver only their own department's materials."""
    row = await cases.upload_of_case(db, token)
    if row is None:
        raise NotFound(N_("没有找到该文件"))
    case = await _open_case(db, conn, user, row.case_no)
    if not case.share.shows_upload(row.material_code):
        await audit(db, conn, "upload.read", "forbidden", subject=f"case:{row.case_no}", material=row.material_code)
        raise Forbidden(N_("该材料属于其他部门办理的事项，不向您显示"))
    # A resident's material (an ID card's scan, a certificate) read by staff: in the access trail, as a full ID number
    # revealed or a consultation's attachment read is.
    await audit(db, conn, "upload.read", "ok", subject=f"case:{row.case_no}", material=row.material_code)
    return row


async def check_in_person(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    action: str,
    check: InPersonCheck,
) -> Person:
    """The person whose ID card the clerk has just checked at the window: the number's checksum, the name as
    registered, and the clerk's confirmation, each refused with its own message. A mismatch is audited."""
    errors: dict[str, str] = {}
    if problem := id_number_problem(check.id_number):
        errors["id_number"] = problem
    if not check.name.strip():
        errors["name"] = N_("请填写姓名")
    if not check.identity_checked:
        errors["identity_checked"] = N_("请先当面核验居民身份证，再勾选确认")
    if errors:
        raise FieldErrors(errors)
    person = await people.registered_person(db, cipher, check.id_number, check.name)
    if person is None:
        await audit(db, conn, action, "refused", subject=mask_id_number(normalize_id_number(check.id_number)))
        raise FieldErrors({"id_number": N_("姓名与公民身份号码不匹配，或未在人口库中登记")})
    return person


async def issue_enrollment_code(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    secret_key: str,
    conn: Connection,
    user: CurrentUser,
    check: InPersonCheck,
) -> EnrollmentIssued:
    """A resident lost their phone (or has none on the register): after checking the ID card in person, the clerk
    issues a one-time code — for a resident of the hall's region, as for a walk-in."""
    person = await check_in_person(db, cipher, conn, "enrollment_code.issue", check)
    if not walk_in.in_region(user, person.region_code):
        await audit(
            db,
            conn,
            "enrollment_code.issue",
            "forbidden",
            subject=f"person:{person.id}",
            reason="outside Changzhou",
            hall=user.region_code,
        )
        raise FieldErrors({"id_number": N_("该居民的户籍不在常州市，请引导其到户籍所在地的政务服务窗口领取开户码")})
    issuer = await accounts.clerk_issuer(db, user)
    async with db.acquire() as tx, tx.transaction():
        code, expires_at = await accounts.issue_enrollment_code(tx, secret_key, conn, person.id, issuer)
    return EnrollmentIssued(
        code=code, expires_at=expires_at, name=person.name, id_number_masked=person.id_number_masked
    )


async def start_walk_in(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    user: CurrentUser,
    check: InPersonCheck,
) -> walk_in.WalkIn:
    """窗口收件: the clerk has checked this resident's ID card in person and files for them from now on (replacing
    whoever was at the window before), for walk_in.WALK_IN_MINUTES. The check is audited."""
    person = await check_in_person(db, cipher, conn, "walk_in.start", check)
    return await _receive(db, conn, user, person)


async def receive_booked(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, person_id: int, code: str
) -> walk_in.WalkIn:
    """窗口收件 of a resident who booked the visit (app.appointments' 签到): the booking names them, and the clerk has
    checked their ID card in person against it (the check-in refuses without that). Audited as any walk-in, with the
    booking's code."""
    person = await people.get_person(db, person_id)
    if person is None or person.deceased:
        raise NotFound(N_("人口库中没有该居民"))
    return await _receive(db, conn, user, person, appointment=code)


async def _receive(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, person: Person, appointment: str | None = None
) -> walk_in.WalkIn:
    """Receive a person whose ID card the clerk checked: any resident of Changzhou, at any hall (全城通办)."""
    if not walk_in.in_region(user, person.region_code):
        await audit(
            db,
            conn,
            "walk_in.start",
            "forbidden",
            subject=f"person:{person.id}",
            reason="outside Changzhou",
            hall=user.region_code,
        )
        raise FieldErrors({"id_number": N_("该居民的户籍不在常州市，请引导其到户籍所在地的政务服务窗口办理")})
    await end_walk_in(db, conn, user, next_person_id=person.id)  # whoever was at the window before
    started = walk_in.WalkIn(
        visit=secrets.token_urlsafe(9),
        person_id=person.id,
        name=person.name,
        id_number_masked=person.id_number_masked,
        checked_at=walk_in.now(),
    )
    walk_in.remember(conn, started)
    await audit(
        db,
        conn,
        "walk_in.start",
        "ok",
        subject=f"person:{person.id}",
        identity_checked=True,
        hall=user.region_code,
        home_district=(person.region_code or "")[:6] or None,
        **({"appointment": appointment} if appointment else {}),
    )
    return started


async def end_walk_in(
    db: asyncpg.Pool,
    conn: Connection,
    user: CurrentUser,
    next_person_id: int | None = None,
) -> None:
    """结束接待 (or the next person is received): the resident leaves the window. Forms the clerk started for them
    and did not send are not kept on the server under the clerk's account either (the window's browser drops
    its copy, helper.js). Checking the same person's card again keeps them."""
    ending = walk_in.peek(conn)
    walk_in.forget(conn)
    if ending is not None and ending.person_id != next_person_id:
        await cases.forget_drafts_for(db, user.account_id, ending.person_id)


def walk_in_view(started: walk_in.WalkIn) -> WalkInView:
    chosen = started.organisation
    return WalkInView(
        visit=started.visit,
        name=started.name,
        id_number_masked=started.id_number_masked,
        checked_at=datetime.fromtimestamp(started.checked_at, UTC),
        expires_at=datetime.fromtimestamp(started.expires_at, UTC),
        organisation=WalkInOrganisation(
            uscc=chosen.credit_code,
            name=chosen.name,
            role=chosen.role,
            role_label=ROLE_LABELS[chosen.role],
            paper_checked=chosen.paper,
        )
        if chosen
        else None,
    )


async def file_for_organisation(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, check: WindowOrganisationCheck
) -> walk_in.WalkIn:
    """为企业办理 at the window: the resident whose ID card the clerk checked files for an organisation from now on
    (this visit only) — as its legal representative or a 经办人 in force by the register, or on a paper 授权委托书 the
    clerk has checked (audited as such). Refused beside the field to fix: no live visit, a code the register lacks, an
    organisation 注销 or 吊销, no authority and no paper checked."""
    started = walk_in.peek(conn)
    if started is None:
        raise FieldErrors({"uscc": N_("请先当面核验来办人的居民身份证（开始接待），再为企业办理")})
    code = normalize_credit_code(check.uscc)
    organisation = await organisations.by_credit_code(db, code) if code else None
    if organisation is None:
        raise FieldErrors({"uscc": N_("法人库中没有这个统一社会信用代码，请对照营业执照核对（18位）")})
    if organisation.status != "active":
        raise FieldErrors(
            {
                "uscc": gettext("该企业已%(status_label)s，不能再以企业名义办理")
                % {"status_label": organisation.status_label}
            }
        )
    try:
        acting = await organisations.acting_at_window(
            db, conn, user, started.person_id, code, None, check.paper_checked
        )
    except Forbidden:
        raise FieldErrors(
            {
                "paper_checked": (
                    gettext(
                        "%(name)s不是该企业的法定代表人，也没有在有效期内的经办人授权：请查验企业出具的纸质授权委托书（加盖企业公章）后勾选"
                    )
                    % {"name": started.name}
                )
            }
        ) from None
    chosen = walk_in.WindowOrganisation(
        credit_code=organisation.credit_code, name=organisation.name, role=acting.role, paper=check.paper_checked
    )
    updated = msgspec.structs.replace(started, organisation=chosen)
    walk_in.remember(conn, updated)
    await audit(
        db,
        conn,
        "walk_in.organisation",
        "ok",
        subject=f"org:{organisation.credit_code}",
        person=started.person_id,
        role=acting.role,
        paper_authorisation_checked=check.paper_checked,
        hall=user.region_code,
    )
    return updated


def stop_filing_for_organisation(conn: Connection) -> walk_in.WalkIn | None:
    """改为个人办理: the visit goes on for the resident themself."""
    started = walk_in.peek(conn)
    if started is not None and started.organisation is not None:
        started = msgspec.structs.replace(started, organisation=None)
        walk_in.remember(conn, started)
    return started


async def walk_in_cases(db: asyncpg.Pool, user: CurrentUser, started: walk_in.WalkIn) -> list[WalkInCase]:
    """What this clerk has filed for the person at the window since checking their ID card: receipts to print."""
    filed = await cases.filed_at_window(
        db, user.account_id, started.person_id, datetime.fromtimestamp(started.checked_at, UTC)
    )
    return [WalkInCase(case_no=c.case_no, life_event_name=c.life_event_name, created_at=c.created_at) for c in filed]
