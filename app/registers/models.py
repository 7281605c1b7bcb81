"""What a write-back needs of the completed task, and what it tells the case's timeline."""

from __future__ import annotations

from datetime import date

import msgspec


class CompletedTask(msgspec.Struct, frozen=True, kw_only=True):
    """A task being completed (办结), in the transaction that completes it."""

    case_id: int
    case_no: str
    item_code: str
    applicant_person_id: int
    department_full_name: str  # as on a certificate: 常州市公安局
    actor_account_id: int | None  # None: a department's own system (the data-exchange API)
    # The case's other tasks by item code: their states now (an 出生医学证明 still being issued holds 户口登记 up).
    sibling_statuses: dict[str, str]
    # The organisation the case is for (企业变更登记, 企业注销 act on it), and the day its task was 受理 (the 简易注销
    # 公告 runs from then).
    subject_org_credit_code: str | None = None
    accepted_on: date | None = None


class WriteBack(msgspec.Struct, frozen=True, kw_only=True):
    """A timeline step saying what was written back (public title, no names), and a note the applicant sees."""

    title: str
    note: str | None = None
    # 企业设立登记: the organisation the case is now for (the rest of 企业开办's tasks attach to it).
    subject_org_credit_code: str | None = None
