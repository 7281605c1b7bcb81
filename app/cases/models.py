"""What the case API takes and answers, and the typed rows app/cases/store.py returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from app.cases.states import RESIDENT_NOTE_KINDS
from app.catalogue.models import ResultCertificate, TimeLimit
from app.notifications.models import NoticeDelivery
from i18n import N_


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
    """A step of a case as the resident reads it (never an internal one), with its note."""

    at: datetime
    status: str
    title: str
    department_name: str | None
    task_id: int | None
    note: str | None = None

    @property
    def note_label(self) -> str:
        """What the note is: 补正告知, 不予受理理由 … or just 说明 (who filed it, a tracking number)."""
        return RESIDENT_NOTE_KINDS.get(self.status, N_("说明"))


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
    # When the case's answers, files and notes were removed, its retention having passed (app/retention/rules.py).
    purged_at: datetime | None = None
    # Its notices that must arrive (补正告知, 不予受理 …): when and how each reached the resident.
    notices: list[NoticeDelivery] = msgspec.field(default_factory=list[NoticeDelivery])
    # Read by a party it names, linked to it (一事不二办): how they are a party (父亲); None for the applicant's own.
    linked_as: str | None = None
    # Filed for an organisation (法人办事): its certificates are not corrected (更正) but changed by 变更登记.
    for_organisation: bool = False


class CaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    case_no: str
    life_event: str
    life_event_name: str
    status: str
    status_label: str
    created_at: datetime
    task_count: int
    linked_as: str | None = None  # a case the resident is linked to as a party (一事不二办), not their own


class TrackStep(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    title: str
    department_name: str | None
    # In short: that the step came with a note for the resident, and what kind (补正告知 …), never its words.
    note_kind: str | None = None


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
    corrects_certificate_id: int | None = None  # a correction task (更正): the certificate it corrects

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
    data_enc: bytes | None  # None once purged
    applicant_region: str
    applicant_name: str
    applicant_id_masked: str
    applicant_person_id: int
    purged_at: datetime | None  # when its answers, files and notes were removed past its retention
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
    purged_at: datetime | None
    # The reader's link to the case as a party (一事不二办: linked when their own filing was refused or merged as a
    # duplicate): how they are a party (父亲, 配偶). They read it; acting on it stays with the applicant.
    linked_as: str | None = None
    parent_account_id: int | None = None  # the parent who filed it for a minor child
    subject_org_credit_code: str | None = None  # 法人办事: the organisation the case is for


class CaseParties(msgspec.Struct, frozen=True, kw_only=True):
    """A case's number and life event, whose it is and who filed it: what deciding who hears of a step needs."""

    case_no: str
    life_event_name: str
    applicant_person_id: int
    filed_as: str  # self | clerk | helper
    filed_by_account_id: int
    tracking_token: str
    applicant_region: str  # '' for a person with no region on the register
    life_event_code: str = ""
    subject_org_credit_code: str | None = None  # 法人办事: the organisation the case is for
    received_region: str | None = None  # the hall that received it at a window; None: online or by a helper
    # The people linked to it as parties (一事不二办), in the order they were linked.
    linked_person_ids: list[int] = msgspec.field(default_factory=list[int])
    # The number its steps are texted at (app.sms), when the caller has just remembered it (a new case); None: read.
    phone: str | None = None


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


class CaseContents(msgspec.Struct, frozen=True, kw_only=True):
    """A case's tasks and the steps its resident reads, as its pages show them (read together: one round trip)."""

    tasks: list[TaskListing]
    timeline: list[TimelineEntry]


class CaseListed(msgspec.Struct, frozen=True, kw_only=True):
    """A case in a list with its tasks' states, in their order (the case's status is derived from them): an
    organisation's cases (法人办事) are listed as this, whoever of its people filed them."""

    case_no: str
    life_event_code: str
    life_event_name: str
    created_at: datetime
    task_statuses: list[str]


class CaseOfPerson(CaseListed, frozen=True, kw_only=True):
    """One of the cases a resident may read, with what app.cases.workflow.resident_relation needs to tell how: whose
    it is, the parent's account that filed it for a minor child, and the person's link to it as a party."""

    applicant_person_id: int
    parent_account_id: int | None
    linked_as: str | None


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
    status: str
    has_note: bool


class TrackingSource(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the public tracking view shows, and nothing more: no names, no notes."""

    id: int
    case_no: str
    created_at: datetime
    life_event_name: str
    tasks: list[TrackingTaskRow]
    events: list[TrackingEventRow]


class KeptPage(msgspec.Struct, frozen=True, kw_only=True):
    """The tracking page as drawn for every anonymous visitor of one display (tracking_pages): the tag it was drawn
    under, its HTML with a slot where each visitor's CSRF token goes, and the same as deflate parts between the slots
    (app/web/shared_pages.py)."""

    etag: str
    body: bytes
    gzip: bytes


class KeptCasePage(msgspec.Struct, frozen=True, kw_only=True):
    """The case's own part of the resident's case page as drawn for every reader of one kind in one language
    (case_pages): the tag it was drawn under and what each of case.html's blocks drew, with a slot where each reader's
    CSRF token goes (app/web/shared_pages.py). The layout around it is drawn for each view."""

    etag: str
    blocks: dict[str, str]


class CaseOnPage(msgspec.Struct, frozen=True, kw_only=True):
    """A case as its resident's page is first read, in one statement: its head (as this reader reads it), the counts
    of changes to what the page shows beside the head (`page_version`: its tasks and steps, migration 0049;
    `notices_version`: its notices that must arrive, 0048) and the page kept for this reader's kind and language
    (None: none kept). The tasks and steps themselves (`contents`) are read only when no page was kept under these
    counts: the page is then drawn."""

    head: CaseHead
    page_version: int
    notices_version: int
    kept: KeptCasePage | None = None
    contents: CaseContents | None = None


class TrackedPage(msgspec.Struct, frozen=True, kw_only=True):
    """What the tracking page is drawn from, as read in one statement: the public snapshot, how many times the case's
    notices that must arrive changed how they reached the resident (`notices_version`, migration 0048: with the
    snapshot, what the page's tag covers of the case; the notices themselves are read only to draw it), and the page
    kept for the display asked for (None: none kept, or not asked)."""

    case_id: int
    snapshot: bytes
    notices_version: int
    kept: KeptPage | None = None


class TrackingSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    tracking_json: bytes | None  # None for a case made before snapshots existed, until its first scan
    notices_version: int = 0  # read with the page kept for a display (tracking_snapshot_with_page)
    page: KeptPage | None = None  # the page kept for the display asked for, if any (whatever its tag)


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
    duplicate: bool = False  # on a flag of 一事不二办 still open, either side: waits for the window clerk's check


class QueueRows(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a queue as read: its tasks in queue order and, for a page of whole cases (the console's), what the
    queue says of each of their cases, by case number (else empty)."""

    tasks: list[TaskRow]
    case_facts: dict[str, QueueCaseFacts]


class StaffTimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a case as the back office reads its history: with the note and who took the step."""

    at: datetime
    status: str
    title: str
    task_id: int | None
    note: str | None
    visibility: str  # resident | internal (app/cases/states.py)
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
    more_notes: list[str]  # notes for the resident written on the task since the request (办理说明)
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


class RetentionFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What deciding whether a case is past its retention needs: its tasks' states and items (in order), and when a
    task last changed state (a finished case's tasks change no more, so that is when it ended)."""

    id: int
    case_no: str
    created_at: datetime
    task_statuses: list[str]
    item_codes: list[str]
    last_change: datetime | None


class RetentionPage(msgspec.Struct, frozen=True, kw_only=True):
    """One batch of the cases the purge examines: those of them past their retention, and where the next batch
    starts (None: this was the last)."""

    due: list[int]
    examined: int
    next_after: tuple[datetime, int] | None


class PurgedCase(msgspec.Struct, frozen=True, kw_only=True):
    """A case whose answers, files and notes were just removed: what the audit row and the summary say (no personal
    data)."""

    case_id: int
    case_no: str
    ended_on: date
    kept_until: date
    uploads: int
    upload_bytes: int
    notes: int


class ForgottenForms(msgspec.Struct, frozen=True, kw_only=True):
    """Forms never sent, removed past their time: drafts, and files uploaded for them."""

    drafts: int
    uploads: int
    upload_bytes: int


class TaskNote(msgspec.Struct, frozen=True, kw_only=True):
    """A staff note on a task, as written (POST /api/v1/console/tasks/{id}/notes answers with it)."""

    id: int  # its timeline event's
    task_id: int
    case_no: str
    item_name: str
    visibility: str  # resident | internal
    text: str


# --- 更正: corrections of an issued certificate ----------------------------------------------------------------------


class CorrectionRequest(msgspec.Struct, kw_only=True):
    """POST /api/v1/cases/{case_no}/corrections: which certificate of the case, which field (its form key, e.g.
    `child.name`), the right value, why; `evidence`: tokens of files uploaded with POST /api/v1/uploads
    (material_code `correction`) for this case's life event."""

    certificate_id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    field: str
    value: str
    reason: str
    evidence: list[str] = msgspec.field(default_factory=list[str])


class WithdrawalRequest(msgspec.Struct, frozen=True, kw_only=True):
    """POST /api/v1/cases/{case_no}/withdraw (撤回申请): `task_ids` — the tasks to withdraw (omitted: every task of the
    case not yet decided); `reason` — one of app.cases.withdrawal.REASONS (optional); `reason_text` — the applicant's
    own words (optional, at most 200 characters: the case's offices read them, their systems never);
    `client_present` — a village helper's withdrawal only: the client is beside them and agreed (required then)."""

    task_ids: Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]], msgspec.Meta(max_length=100)] | None = (
        None
    )
    reason: str | None = None
    reason_text: str | None = None
    client_present: bool = False


class CorrectionCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The correction task opened: with the issuing department, its promised date (its own SLA)."""

    task_id: int
    case_no: str
    item_code: str
    item_name: str
    department: str
    status: str
    due_on: date | None


class CorrectionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A correction as app/cases/corrections_store.py keeps it: what was asked is sealed (request_enc)."""

    task_id: int
    certificate_id: int
    field: str
    request_enc: bytes
    filed_as: str  # self | parent | clerk
    requested_by_name: str | None
    corrected_certificate_id: int | None
    created_at: datetime


class CorrectableField(msgspec.Struct, frozen=True, kw_only=True):
    """One field of a certificate that may be corrected: its form key and label, and what the certificate says now
    (as a person reads it: an option's label, not its value)."""

    key: str
    label: str
    shown: str


class CorrectionView(msgspec.Struct, frozen=True, kw_only=True):
    """One correction side by side, for the approver (and the resident's own pages): the certificate as it is and the
    change asked for, why, by whom, and the evidence files."""

    task_id: int
    certificate_id: int
    certificate_title: str
    certificate_number_masked: str
    certificate_issued_by: str
    certificate_issued_on: date
    field: str
    field_label: str
    current: str
    requested: str
    reason: str
    filed_as: str
    filed_as_label: str
    requested_by_name: str | None
    requested_at: datetime
    rows: list[CorrectableField]  # the certificate's correctable fields as they are now
    evidence: list[StaffUpload]
    corrected_certificate_id: int | None = None


# --- 一事不二办 (app/cases/duplicate_flow.py) ------------------------------------------------------------------------


class SubjectCase(msgspec.Struct, frozen=True, kw_only=True):
    """An open or recent case about a subject (by its key): its answers still sealed, its tasks' items and states."""

    id: int
    case_no: str
    created_at: datetime
    applicant_person_id: int
    data_enc: bytes
    item_codes: list[str]
    task_statuses: list[str]


class CaseToKey(msgspec.Struct, frozen=True, kw_only=True):
    """A case made before subject keys, as migration 0032's data step reads it to key it."""

    id: int
    data_enc: bytes
    item_codes: list[str]
    applicant_region: str | None


class DuplicateFlag(msgspec.Struct, frozen=True, kw_only=True):
    """A pair of cases flagged to the window clerk as perhaps one matter (case_duplicates)."""

    id: int
    case_id: int
    case_no: str
    earlier_case_id: int
    earlier_case_no: str
    match: str  # exact (from somebody who is no party of the earlier case) | near
    reason: str
    state: str  # open | merged | kept
    kept_case_no: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime
