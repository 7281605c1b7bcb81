from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from app.cases.models import CorrectionView, QueueCaseFacts, StaffUpload
from app.consultations.models import Consultation
from app.notifications.models import StaffNotice
from app.organisations.models import OrganisationRegister


class ConsoleTask(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    case_no: str
    life_event_name: str
    item_code: str
    item_name: str
    department: str
    department_name: str
    status: str
    status_label: str
    due_on: date | None
    due_provisional: bool
    overdue: bool
    due_soon: bool
    submitted_at: datetime
    allowed_actions: list[str]
    item_kind: str = "承诺件"  # i18n: data (a code: 即办件 or 承诺件; the queue keeps them apart)
    office_name: str | None = None  # the office it is routed to (武进区); None: 全城通办, no office has taken it yet


class ByHandBody(msgspec.Struct, kw_only=True):
    """A clerk told the resident of a notice themselves: by phone, or with a paper notice (posted or handed over)."""

    channel: str  # phone | paper
    note: str | None = None  # whom they reached, how (≤ 200 characters)


class TransitionBody(msgspec.Struct, kw_only=True):
    action: str
    note: str | None = None
    # Only for `deliver`: window | post | electronic, and the post's tracking number.
    delivery_method: str | None = None
    delivery_ref: str | None = None
    # Only for `complete` on 出生户口登记: the newborn's new 公民身份号码 (entered into the population register).
    child_id_number: str | None = None
    # Only for `complete` on 企业设立登记: the new organisation's 统一社会信用代码 (into the legal-person register).
    credit_code: str | None = None


class NoteBody(msgspec.Struct, kw_only=True):
    """A staff note on a task: `resident` (the applicant reads it: case page, 补正告知书, inbox) or `internal` (only
    staff who may read the task)."""

    text: str
    visibility: str


class InPersonCheck(msgspec.Struct, kw_only=True):
    """A clerk has checked this ID card in person: to issue a code for a new phone, or to file at the window."""

    id_number: str
    name: str
    identity_checked: bool = False

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> InPersonCheck:
        """As posted by a page's form (the ticked box sends "true")."""
        return cls(
            id_number=str(data.get("id_number", "")),
            name=str(data.get("name", "")),
            identity_checked=data.get("identity_checked") == "true",
        )


class WindowOrganisationCheck(msgspec.Struct, kw_only=True):
    """The organisation the resident at the window came to file for (为企业办理): its 统一社会信用代码, and whether the
    clerk has checked its paper 授权委托书 (needed when the register shows them neither as its legal representative nor
    as a 经办人 in force)."""

    uscc: str
    paper_checked: bool = False

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> WindowOrganisationCheck:
        return cls(uscc=str(data.get("uscc", "")), paper_checked=data.get("paper_checked") == "true")


class WalkInOrganisation(msgspec.Struct, frozen=True, kw_only=True):
    uscc: str
    name: str
    role: str  # legal_rep | agent | paper
    role_label: str
    paper_checked: bool


class WalkInView(msgspec.Struct, frozen=True, kw_only=True):
    """The resident a clerk is receiving at the window (窗口收件), and the organisation they file for, if any."""

    visit: str
    name: str
    id_number_masked: str
    checked_at: datetime
    expires_at: datetime
    organisation: WalkInOrganisation | None = None


class WalkInCase(msgspec.Struct, frozen=True, kw_only=True):
    case_no: str
    life_event_name: str
    created_at: datetime


class EnrollmentIssued(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    expires_at: datetime
    name: str
    id_number_masked: str


class AnswerRow(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    value: str
    sensitive: bool  # an ID number: shown masked until the member of staff asks (and that is audited)


class AnswerSection(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    rows: list[AnswerRow]


class HistoryStep(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a task's (or the case's) history on the console case page, with its note and who took it."""

    at: datetime
    title: str
    note: str | None
    actor_name: str | None
    department_name: str | None
    internal: bool = False  # only staff read it (an internal note, a 征求意见); else the resident reads the note too


class DuplicateSide(msgspec.Struct, frozen=True, kw_only=True):
    """One case of a pair flagged as perhaps one matter (一事不二办), as the window clerk compares it with the other."""

    case_no: str
    submitted_at: datetime
    applicant_name: str
    applicant_id_masked: str
    received_how: str  # 网上申请 · 窗口收件 · 帮办代办
    status_label: str
    tasks: list[tuple[str, str]]  # (item, its status)
    compared: list[AnswerRow]  # the answers the rule compares (母亲公民身份号码 masked, 出生日期, 新生儿姓名)
    # Why this case cannot be the one withdrawn (a task already decided, an item the other lacks); None: it can be.
    withdraw_problem: str | None = None


class DuplicatePair(msgspec.Struct, frozen=True, kw_only=True):
    """A flag on the case page: this case and the other side by side, and what the clerk may decide."""

    id: int
    match: str  # exact | near
    match_label: str
    reason: str
    state: str  # open | merged | kept
    decided: str | None  # 已合并，保留 CZ…（王窗口，2026-11-29 10:31）
    this: DuplicateSide
    other_case_no: str
    other: DuplicateSide | None  # None: the other case is outside the caller's scope (they may not open it)
    can_decide: bool


class DuplicateDecision(msgspec.Struct, frozen=True, kw_only=True):
    """A flag after the clerk's decision (the API's answer)."""

    id: int
    state: str  # merged | kept
    case_no: str
    earlier_case_no: str
    kept_case_no: str | None


class MergeBody(msgspec.Struct, kw_only=True):
    keep: str  # the case number kept; the other one is withdrawn


class KeepBothBody(msgspec.Struct, kw_only=True):
    note: str | None = None


class StaffCase(msgspec.Struct, frozen=True, kw_only=True):
    """One case as a member of staff sees it: the window clerk the whole case; a department's approver every task
    (with actions on their own) but only the answers and materials their own department's items ask for."""

    case_no: str
    life_event_name: str
    submitted_at: datetime
    channel: str
    applicant_name: str
    applicant_id_masked: str
    tasks: list[ConsoleTask]
    # 法人办事: the organisation the case is for (name, 统一社会信用代码); the applicant is then its 经办人.
    subject_org_name: str | None = None
    subject_org_credit_code: str | None = None
    # ... and what the legal-person register holds of it now, with its history (登记信息, 变更记录).
    organisation_register: OrganisationRegister | None = None
    answers: list[AnswerSection]
    uploads: list[StaffUpload]
    # An approver's view: their department (whose part is shown), the other departments on the case whose
    # answers and materials are not shown to them, and how many files that leaves out. None / [] / 0 for a clerk.
    shown_department: str | None = None
    withheld_departments: list[str] = msgspec.field(default_factory=list[str])
    withheld_uploads: int = 0
    # Every step with its note: the case's own (收件) and each task's, by task id. An approver reads the notes of
    # their own department's tasks; other tasks' steps come without their notes.
    case_history: list[HistoryStep] = msgspec.field(default_factory=list[HistoryStep])
    task_history: dict[int, list[HistoryStep]] = msgspec.field(default_factory=dict[int, list[HistoryStep]])
    # When its answers, files and step notes were removed, its retention having passed: None while they are kept.
    purged_at: datetime | None = None
    # The case's notices that must arrive (补正告知, 不予受理 …): how each reached the resident, or why not yet.
    notices: list[StaffNotice] = msgspec.field(default_factory=list[StaffNotice])
    # The tasks the caller may write notes on (those they may act on), and ask another department's opinion on now
    # (an approver's own, while with the departments); the consultations of the tasks whose notes they read.
    note_tasks: list[int] = msgspec.field(default_factory=list[int])
    consult_tasks: list[int] = msgspec.field(default_factory=list[int])
    consultations: dict[int, list[Consultation]] = msgspec.field(default_factory=dict[int, list[Consultation]])
    # 更正: each correction task's request by task id, the certificate and the change side by side (an approver: their
    # own department's only).
    corrections: dict[int, CorrectionView] = msgspec.field(default_factory=dict[int, CorrectionView])
    # 一事不二办: the pairs this case is flagged in, for the window clerk (an approver gets none).
    duplicates: list[DuplicatePair] = msgspec.field(default_factory=list[DuplicatePair])


class QueueFilters(msgspec.Struct, frozen=True, kw_only=True):
    """What the queue is narrowed to ("" = everything): a task status, a department, overdue or due soon."""

    status: str = ""
    department: str = ""
    due: str = ""  # "" | overdue | soon
    kind: str = ""  # "" | 即办件 | 承诺件


class QueuePage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the caller's queue, soonest due first, and where the next page starts (None: this is the last)."""

    tasks: list[ConsoleTask]
    next_cursor: str | None
    # A page of whole cases (the console's): what the queue says of each of its cases, by number (else empty).
    case_facts: dict[str, QueueCaseFacts] = msgspec.field(default_factory=dict[str, QueueCaseFacts])


class QueueCase(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the queue: a case, with the tasks in it that wait for the caller (after the filters)."""

    case_no: str
    life_event_name: str
    applicant_name_masked: str
    subject_org_name: str | None = None  # 法人办事: the organisation the case is for
    received_where: str  # the hall of the clerk who received it, else the applicant's district
    received_how: str  # 窗口收件 · 网上申请 · 帮办代办
    submitted_at: datetime
    tasks: list[ConsoleTask]
    overdue: bool
    due_soon: bool
    duplicate: bool = False  # flagged as perhaps the same matter as another case, not yet decided (一事不二办)


class QueueOption(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    label: str


class ConsoleQueue(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the queue as the console shows it: its cases, each whole (every task of it in the queue, however far
    apart their deadlines: a case is on one page only), the figures of the page, and the links to the next and first
    page."""

    cases: list[QueueCase]
    task_count: int
    overdue_cases: int
    filters: QueueFilters
    statuses: list[QueueOption]
    departments: list[QueueOption]  # empty for an approver: their own department only
    next_query: str | None = None  # the query string of the next page (the filters and its cursor); None: the last
    first_query: str | None = None  # that of the first page, on a later page; None on the first
