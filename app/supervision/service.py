"""The rules of 督办 and of the audit viewer.

A supervisor's region is a district (or the city, 320400); with a department they supervise that department's offices
there, without one every department's. An office is a department serving one district: the tasks of residents of
that district. Overdue and due-soon (within two working days) are read from the tasks' own due dates, by office; a
督办 is a notice to the office's clerks and approvers (inbox, push) and a step on the case's timeline, in one
transaction. 征求意见 asked of those offices and not answered by their date are listed too (app.consultations). The
audit viewer (supervisors and admin) searches audit_log and audits each search."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import asyncpg

from app.accounts import service as accounts
from app.calendar.service import CHINA, current_calendar, today_in_china
from app.cases import service as cases
from app.cases.models import TaskRow
from app.cases.offices import answering_office
from app.cases.states import TASK_STATUS_LABELS
from app.catalogue import service as catalogue
from app.catalogue.translations import text as catalogue_text
from app.consultations import service as consultations
from app.errors import Conflict, FieldErrors, NotFound
from app.notifications.service import notify_account
from app.people import service as people
from app.people.identity import is_valid_id_number, mask_id_number, normalize_id_number
from app.reviews import service as reviews
from app.supervision.models import (
    URGE_NOTE_MAX,
    AuditEntryView,
    AuditPage,
    AuditQuery,
    LateConsultation,
    Office,
    SupervisedTask,
    SupervisionView,
    Urged,
)
from app.web.types import Connection
from auth import audit as audit_log
from auth.audit import audit
from auth.models import AuditRow, AuditSearch, CurrentUser
from auth.pii import PiiCipher
from auth.scope import region_prefix, serves
from db.pool import DB
from i18n import N_, _, use_language

# Work on the clock: a task waiting for the resident (补正, 待授权) or already 办结 is not the office's delay.
RUNNING = ["submitted", "accepted", "resubmitted", "in_review", "approved"]
DUE_SOON_WORKING_DAYS = 2
AUDIT_PAGE = 50
SUPERVISED_MAX = 500  # overdue and due-soon tasks on one page, the most urgent first
AUDIT_CSV_MAX = 5000


def _office(task: TaskRow) -> str:
    return answering_office(task.office_region, task.applicant_region)


def _supervises(user: CurrentUser, task: TaskRow) -> bool:
    own_department = user.department_code is None or user.department_code == task.department_code
    return "supervisor" in user.roles and serves(user.region_code, _office(task)) and own_department


async def supervision(db: DB, user: CurrentUser) -> SupervisionView:
    """Overdue and due-soon tasks of the offices in the supervisor's region, by office (most overdue first), and
    the open 整改 items they answer for."""
    calendar, today = await current_calendar(db), today_in_china()
    until = calendar.add_working_days(today, DUE_SOON_WORKING_DAYS).due_on
    tasks = await cases.tasks_in_queue(
        db,
        statuses=RUNNING,
        region_prefix=region_prefix(user.region_code or "-"),
        department=user.department_code,
        due_until=until,
        limit=SUPERVISED_MAX,
    )
    tasks = [task for task in tasks.tasks if _supervises(user, task)]
    by_office: dict[tuple[str, str], list[SupervisedTask]] = {}
    names: dict[tuple[str, str], str] = {}
    for task in tasks:
        if task.due_on is None or task.due_on > until:
            continue
        office = (task.department_code, _office(task))
        names[office] = task.department_name
        late = calendar.working_days_between(task.due_on, today) if task.due_on < today else 0
        by_office.setdefault(office, []).append(
            SupervisedTask(
                id=task.id,
                case_no=task.case_no,
                item_name=task.item_name,
                status=task.status,
                status_label=TASK_STATUS_LABELS[task.status],
                due_on=task.due_on,
                overdue=task.due_on < today,
                overdue_working_days=late,
                age_days=(today - task.submitted_at.astimezone(CHINA).date()).days,
            )
        )
    offices = [
        Office(
            department_code=department,
            department_name=names[(department, region)],
            region_code=region,
            region_name=await catalogue.region_name(db, region) or region,
            overdue=sum(t.overdue for t in listed),
            due_soon=sum(not t.overdue for t in listed),
            tasks=listed,
        )
        for (department, region), listed in by_office.items()
    ]
    offices.sort(key=lambda o: (-o.overdue, -o.due_soon, o.department_code, o.region_code))
    late = [
        LateConsultation(
            id=c.id,
            case_no=c.case_no,
            item_name=c.item_name,
            asking_department_name=c.asking_department_name,
            department=c.department,
            department_name=c.department_name,
            asked_at=c.asked_at,
            due_on=c.due_on,
            overdue_working_days=c.overdue_working_days,
        )
        for c in await consultations.overdue_for_supervisor(db, user)
    ]
    return SupervisionView(
        today=today,
        due_soon_until=until,
        offices=offices,
        follow_ups=await reviews.open_follow_ups(db, user, today),
        consultations=late,
    )


async def urge(db: asyncpg.Pool, conn: Connection, user: CurrentUser, task_id: int, note: str) -> Urged:
    """督办 one task: the office's clerks and approvers hear of it (inbox, push on their devices) and the case's
    timeline records it, in one transaction. Someone else's region's task: no such task."""
    words = note.strip()
    if not words:
        raise FieldErrors({"note": N_("请写明督办要求，例如“请于今日内办结并答复”")})
    if len(words) > URGE_NOTE_MAX:
        raise FieldErrors({"note": _("督办要求请不要超过%(urge_note_max)s个字") % {"urge_note_max": URGE_NOTE_MAX}})
    task = await cases.task_by_id(db, task_id)
    if task is None or not _supervises(user, task):
        await audit(db, conn, "task.urge", "forbidden", subject=f"task:{task_id}")
        raise NotFound(N_("没有找到该事项，或它不在您督办的范围内"))
    if task.status not in RUNNING:
        raise Conflict(N_("该事项不在办理中（已办结、待补正或待授权），无需督办"))
    staff = await accounts.office_staff(db, department_code=task.department_code, person_region=_office(task))
    async with db.acquire() as tx, tx.transaction():
        await cases.record_urge(tx, task, actor_account_id=user.account_id, note=words)
        languages = await accounts.languages_of(tx, sorted(staff))
        for account_id in staff:
            with use_language(languages.get(account_id)):  # drawn in the language each of them reads
                title = _("督办：%(item_name)s") % {"item_name": catalogue_text(task.item_name)}
                body = _("办件 %(case_no)s（%(department_name)s）被督办：%(words)s") % {
                    "case_no": task.case_no,
                    "department_name": catalogue_text(task.department_name),
                    "words": words,  # the supervisor's own words, as written
                }
            await notify_account(tx, account_id, title=title, body=body, url=f"/console/cases/{task.case_no}")
    await audit(db, conn, "task.urge", "ok", subject=f"task:{task_id}", case=task.case_no, notified=len(staff))
    return Urged(task_id=task_id, case_no=task.case_no, notified=len(staff))


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula (an actor or a reason may be anyone's text)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- the audit viewer --------------------------------------------------------------------------------


async def _person_subjects(db: DB, cipher: PiiCipher, person: str) -> list[str]:
    """How the log names a person: a masked number as typed, or for a full ID number its masked form, the person's
    id and their account's."""
    raw = person.strip().upper()
    if "*" in raw:
        return [raw]
    number = normalize_id_number(raw)
    if not is_valid_id_number(number):
        raise FieldErrors({"person": N_("请输入18位公民身份号码，或日志中显示的脱敏号码（如 320402********0119）")})
    subjects = [mask_id_number(number)]
    found = await people.person_by_number(db, cipher, number)
    if found is not None:
        subjects.append(f"person:{found.id}")
        account = await accounts.resident_account_of(db, found.id)
        if account is not None:
            subjects.append(f"account:{account.id}")
    return subjects


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA)


async def _search(db: DB, cipher: PiiCipher, query: AuditQuery) -> AuditSearch:
    subjects: list[str] | None = None
    case_no = (query.case_no or "").strip().upper() or None
    if case_no:
        record = await cases.staff_case_record(db, case_no)
        task_ids = [t.id for t in await cases.tasks_of_case(db, record.id)] if record else []
        subjects = [f"case:{case_no}", *(f"task:{i}" for i in task_ids)]
    if query.person and query.person.strip():
        named = await _person_subjects(db, cipher, query.person)
        subjects = named if subjects is None else [s for s in subjects if s in named] or ["-"]
    if query.since and query.until and query.until < query.since:
        raise FieldErrors({"until": N_("结束日期不能早于开始日期")})
    return AuditSearch(
        subjects=subjects,
        case_no=case_no,
        actor=(query.actor or "").strip() or None,
        action=(query.action or "").strip() or None,
        since=_day_start(query.since) if query.since else None,
        until=_day_start(query.until + timedelta(days=1)) if query.until else None,
    )


def _entry(row: AuditRow) -> AuditEntryView:
    return AuditEntryView(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        outcome=row.outcome,
        ip=row.ip,
        detail=row.detail,
        pii_read=row.action == "pii.read",
    )


def _filters(query: AuditQuery) -> dict[str, str]:
    """The search as it is audited: a person only masked."""
    person = (query.person or "").strip().upper()
    if person and "*" not in person:
        person = mask_id_number(normalize_id_number(person)) if len(person) == 18 else "(invalid)"
    fields = {
        "case_no": query.case_no or "",
        "person": person,
        "actor": query.actor or "",
        "action": query.action or "",
        "since": query.since.isoformat() if query.since else "",
        "until": query.until.isoformat() if query.until else "",
    }
    return {k: v for k, v in fields.items() if v}


async def search_audit(db: DB, cipher: PiiCipher, conn: Connection, query: AuditQuery, cursor: str | None) -> AuditPage:
    """A page of matching entries, newest first; `cursor`: the next_cursor of the page before. The search itself is
    audited (with the person masked)."""
    before = int(cursor) if cursor and cursor.isdigit() else None
    search = await _search(db, cipher, query)
    rows = await audit_log.search(db, search, before_id=before, limit=AUDIT_PAGE + 1)
    await audit(db, conn, "audit.search", "ok", query=_filters(query), page=cursor or "first")
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    return AuditPage(entries=[_entry(r) for r in rows], next_cursor=str(rows[-1].id) if more and rows else None)


async def audit_csv(db: DB, cipher: PiiCipher, conn: Connection, query: AuditQuery) -> str:
    """The matching entries (at most AUDIT_CSV_MAX, newest first) as CSV, for a spreadsheet; audited too."""
    rows = await audit_log.search(db, await _search(db, cipher, query), before_id=None, limit=AUDIT_CSV_MAX)
    await audit(db, conn, "audit.export", "ok", query=_filters(query), rows=len(rows))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _cell(v)
            for v in [
                "id",
                N_("时间（北京时间）"),
                N_("操作者"),
                N_("操作"),
                N_("对象"),
                N_("结果"),
                "IP",
                N_("详情"),
                N_("查看身份证号"),
            ]
        ]
    )
    for row in rows:
        writer.writerow(
            _cell(v)
            for v in [
                row.id,
                row.at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                row.actor,
                row.action,
                row.subject or "",
                row.outcome,
                row.ip or "",
                ";".join(f"{k}={v}" for k, v in sorted(row.detail.items())),
                N_("是") if row.action == "pii.read" else "",
            ]
        )
    return out.getvalue()
