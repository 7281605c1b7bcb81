"""What the case API takes and answers, and the typed rows app/cases/store.py returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from app.catalogue.models import ResultCertificate, TimeLimit


class CaseSubmission(msgspec.Struct, kw_only=True):
    data: dict[str, Any]
    idempotency_key: str
    # A life event's code, or `item`: one service item offered 网上办理, applied for on its own.
    life_event: str | None = None
    item: str | None = None
    # The life event's items that apply (按需组合); None: the required ones and those the registers pre-tick.
    items: list[str] | None = None
    on_behalf_of: str | None = None
    on_behalf_of_org: str | None = (
        None  # 法人办事: the organisation's 统一社会信用代码 (or the X-On-Behalf-Of-Org header)
    )
    uploads: list[str] = msgspec.field(default_factory=list[str])  # tokens from POST /api/v1/uploads

    @property
    def code(self) -> str:
        """The bundle filed: the life event, or the item's one-item bundle (its code is the item's)."""
        return self.item or self.life_event or ""


class CaseCreated(msgspec.Struct, frozen=True, kw_only=True):
    case_no: str
    tracking_token: str
    tracking_url: str


class TaskView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    item_code: str
    item_name: str
    department: str
    department_name: str
    status: str
    status_label: str
    due_on: date | None
    due_provisional: bool


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    status: str
    title: str
    department_name: str | None
    task_id: int | None
    note: str | None = None


class CaseConsent(msgspec.Struct, frozen=True, kw_only=True):
    """One material of a case that is another person's: whose (母亲), and its state — held (已关联, from their library
    with their consent), awaiting_consent (待对方同意, until `deadline`) or upload (需上传)."""

    material_code: str
    name: str
    about: str
    about_label: str
    state: str
    state_label: str
    source: str | None = None
    deadline: datetime | None = None


class CaseView(msgspec.Struct, frozen=True, kw_only=True):
    case_no: str
    life_event: str
    life_event_name: str
    status: str
    status_label: str
    channel: str
    filed_as: str
    created_at: datetime
    tracking_url: str
    tasks: list[TaskView]
    timeline: list[TimelineEntry]
    # Whom a receipt printed by a helper or at a window is for (name, masked number): said in its body, since the
    # paper goes home with the resident. None on the resident's own pages.
    applicant_name: str | None = None
    applicant_id_masked: str | None = None
    # Materials that are another person's, used with their consent (or to be uploaded without it).
    consents: list[CaseConsent] = msgspec.field(default_factory=list[CaseConsent])


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    case_no: str
    life_event: str
    life_event_name: str
    status: str
    status_label: str
    created_at: datetime
    task_count: int


class TrackStep(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    title: str
    department_name: str | None


class TrackTask(msgspec.Struct, frozen=True, kw_only=True):
    item_name: str
    department_name: str
    status: str
    status_label: str
    due_on: date | None
    due_provisional: bool
    steps: list[TrackStep]


class TrackView(msgspec.Struct, frozen=True, kw_only=True):
    """Public progress: no names, no ID numbers, no addresses."""

    case_no: str
    life_event_name: str
    status: str
    status_label: str
    submitted_at: datetime
    tasks: list[TrackTask]
    steps: list[TrackStep]  # case-level steps (submitted …)


class DraftBody(msgspec.Struct, kw_only=True):
    data: dict[str, Any]
    # drafts.version is an integer (32-bit) column.
    version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
    form_checksum: str
    items: list[str] | None = None  # the items chosen (按需组合); None: not chosen yet


class DraftView(msgspec.Struct, frozen=True, kw_only=True):
    data: dict[str, Any]
    version: int
    form_checksum: str
    items: list[str] | None = None


class DraftSaved(msgspec.Struct, frozen=True, kw_only=True):
    version: int


class CheckedFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file whose type (by its content), size and name were checked, not yet stored."""

    filename: str
    content_type: str
    content: bytes


class UploadView(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    material_code: str
    filename: str
    content_type: str
    size: int


class StaffUpload(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    material_code: str  # the merged form's material, or supplement:<task id> for a file answering a 补正告知
    filename: str
    content_type: str
    size: int


# --- rows of app/cases/store.py ------------------------------------------------------------------------------------


class IssuedResult(msgspec.Struct, frozen=True, kw_only=True):
    """A task's result certificate as its department issued it (through the data-exchange API), put into the
    applicant's library at 办结."""

    number: str
    issued_on: date
    data: dict[str, Any]


class TaskRow(msgspec.Struct, frozen=True, kw_only=True):
    """A task as the workflow and the back office read it: with its service item, department, case and applicant."""

    id: int
    case_id: int
    status: str
    due_on: date | None
    due_provisional: bool
    updated_at: datetime  # when its status last changed
    item_code: str
    item_name: str
    promised_limit_value: int
    promised_limit_unit: str
    result_certificate: ResultCertificate | None  # put into the applicant's library at 办结
    department_code: str
    department_name: str  # short: 公安
    department_full_name: str  # as on a certificate: 常州市公安局
    case_no: str
    submitted_at: datetime
    applicant_person_id: int
    life_event_code: str
    life_event_name: str
    applicant_region: str  # '' for a person with no region on the register
    parent_account_id: int | None = None  # the parent who filed it for a minor child (they answer a 补正 too)
    item_kind: str  # or 即办件: a clerk holding the department's window authorisation may 当场办结 it
    office_region: str | None  # the department office that handles it; None: 全城通办, not taken yet
    office_name: str | None  # its region's name: 武进区
    received_region: str | None  # the hall that received the case at a window; None: online or helper
    channel: str  # how the case was filed: online, window, helper
    delivery_method: str | None  # 出件: window, post, electronic; None until delivered

    @property
    def promised_limit(self) -> TimeLimit:
        return TimeLimit(self.promised_limit_value, self.promised_limit_unit)


class TaskHistoryRow(msgspec.Struct, frozen=True, kw_only=True):
    """A task as a recount of the statistics reads it: what it is, and when it was first completed and delivered."""

    id: int
    case_id: int
    department_code: str
    office_region: str | None
    applicant_region: str
    item_code: str
    item_kind: str
    channel: str
    submitted_at: datetime
    due_on: date | None
    delivery_method: str | None
    certificate_kind: str | None  # the kind of certificate its item puts into the library at 办结
    completed_at: datetime | None
    delivered_at: datetime | None


class StaffCaseRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A case as the back office opens it: its applicant, and its answers still sealed."""

    id: int
    case_no: str
    life_event_code: str
    life_event_name: str
    created_at: datetime
    channel: str
    filed_as: str
    data_enc: bytes
    applicant_region: str
    applicant_name: str
    applicant_id_masked: str
    applicant_person_id: int
    # 法人办事: the organisation the case is for (its name and code are public register data), the applicant its 经办人.
    subject_org_credit_code: str | None = None
    subject_org_name: str | None = None


class StoredUpload(msgspec.Struct, frozen=True, kw_only=True):
    """An uploaded file with its content, and the case it belongs to."""

    filename: str
    content_type: str
    content: bytes
    material_code: str
    case_no: str


class CaseHead(msgspec.Struct, frozen=True, kw_only=True):
    """A case as its resident's pages and the receipts open it (no answers, no applicant's details)."""

    id: int
    case_no: str
    tracking_token: str
    life_event_code: str
    life_event_name: str
    channel: str
    filed_as: str
    created_at: datetime
    applicant_person_id: int


class CaseParties(msgspec.Struct, frozen=True, kw_only=True):
    """A case's number and life event, whose it is and who filed it: what deciding who hears of a step needs."""

    case_no: str
    life_event_name: str
    applicant_person_id: int
    filed_as: str  # self | clerk | helper
    filed_by_account_id: int
    tracking_token: str
    life_event_code: str = ""
    subject_org_credit_code: str | None = None  # 法人办事: the organisation the case is for


class FiledCase(msgspec.Struct, frozen=True, kw_only=True):
    case_no: str
    life_event_name: str
    created_at: datetime


class HelperFiledCase(msgspec.Struct, frozen=True, kw_only=True):
    """A case a village helper filed for a client, with its tasks' states (whether it is still open is derived)."""

    case_no: str
    helper_account_id: int
    applicant_person_id: int
    life_event_code: str
    task_statuses: list[str]


class SubmittedCase(msgspec.Struct, frozen=True, kw_only=True):
    """A case already made from one submission (its idempotency key): what answering a retry needs."""

    case_no: str
    tracking_token: str


class TaskListing(msgspec.Struct, frozen=True, kw_only=True):
    """A task as its resident's case page lists it."""

    id: int
    item_code: str
    item_name: str
    department_code: str
    department_name: str
    status: str
    due_on: date | None
    due_provisional: bool


class CaseOfPerson(msgspec.Struct, frozen=True, kw_only=True):
    """One of a resident's cases with its tasks' states, in their order (the case's status is derived from them)."""

    case_no: str
    life_event_code: str
    life_event_name: str
    created_at: datetime
    task_statuses: list[str]


class TrackingTaskRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    item_name: str
    department_name: str
    status: str
    due_on: date | None
    due_provisional: bool


class TrackingEventRow(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    title: str
    task_id: int | None
    department_name: str | None


class TrackingSource(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the public tracking view shows, and nothing more: no names, no notes."""

    id: int
    case_no: str
    created_at: datetime
    life_event_name: str
    tasks: list[TrackingTaskRow]
    events: list[TrackingEventRow]


class TrackingSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    tracking_json: bytes | None  # None for a case made before snapshots existed, until its first scan


class StoredDraft(msgspec.Struct, frozen=True, kw_only=True):
    data_enc: bytes
    version: int
    form_checksum: str
    items: list[str] | None = None


class PendingUpload(msgspec.Struct, frozen=True, kw_only=True):
    """An upload not yet attached to a case."""

    token: str
    material_code: str


class UploadContent(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str
    content: bytes


class TaskCount(msgspec.Struct, frozen=True):
    department: str
    district: str  # the applicant's district (the office serving them), '' when the register has none
    status: str
    open: int
    # Past the promised date and not yet 办结 — the console's 已超期.
    overdue: int


class QueueCaseFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the back office's queue says of a case besides its tasks: who applied and where it was received."""

    case_no: str
    applicant_name: str
    channel: str  # online | window | helper
    filed_as: str  # self | helper | clerk
    applicant_district: str | None  # the district of the applicant's registered region
    receiving_region: str | None  # the hall that received it at a window (cases.received_region's name)
    receiving_region_code: str | None
    subject_org_name: str | None = None  # 法人办事: the organisation the case is for


class StaffTimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a case as the back office reads its history: with the note and who took the step."""

    at: datetime
    status: str
    title: str
    task_id: int | None
    note: str | None
    department_name: str | None
    actor_name: str | None


class SupplementNotice(msgspec.Struct, frozen=True, kw_only=True):
    """补正告知书: printed for the resident (an account or none) to take away: what is missing, by when, where to."""

    case_no: str
    life_event_name: str
    applicant_name_masked: str
    applicant_id_masked: str
    item_name: str
    department_name: str  # in full, as on a letter: 常州市卫生健康委员会
    requested_at: datetime
    note: str
    bring_by: date
    bring_by_provisional: bool
    bring_within_days: int
    where: str  # the item's own place (办事指南)
    hours: str
    contact: str
    received_at_hall: str | None  # the region of the window that received the case, when it was a window
    issued_by: str | None  # who sent the 补正告知 (经办人); None on the resident's own copy


class DeceasedApplicantCase(msgspec.Struct, frozen=True, kw_only=True):
    """A case whose applicant the register now holds as 已注销, with its tasks' states (open or not is derived)."""

    case_no: str
    life_event_name: str
    created_at: datetime
    applicant_name: str
    died_on: date
    task_statuses: list[str]
