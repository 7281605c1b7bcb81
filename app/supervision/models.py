"""Supervision at the boundaries: the overdue and due-soon tasks by office, an urge, an audit search."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from app.reviews.models import OpenFollowUp

URGE_NOTE_MAX = 500


class SupervisedTask(msgspec.Struct, frozen=True, kw_only=True):
    """A task as a supervisor sees it: its office, its due date, how late it is (working days) and how old (days
    since the case was filed). No resident's name or number: the case number is enough to urge."""

    id: int
    case_no: str
    item_name: str
    status: str
    status_label: str
    due_on: date
    overdue: bool
    overdue_working_days: int
    age_days: int


class Office(msgspec.Struct, frozen=True, kw_only=True):
    """A department's office serving one district: the unit a supervisor urges."""

    department_code: str
    department_name: str
    region_code: str
    region_name: str
    overdue: int
    due_soon: int
    tasks: list[SupervisedTask]


class LateConsultation(msgspec.Struct, frozen=True, kw_only=True):
    """A 征求意见 the asked office has not answered by its date. Not the question: the supervisor chases the office,
    the case number and the departments are enough for that."""

    id: int
    case_no: str
    item_name: str
    asking_department_name: str
    department: str
    department_name: str  # the office asked, which is late
    asked_at: datetime
    due_on: date
    overdue_working_days: int


class SupervisionView(msgspec.Struct, frozen=True, kw_only=True):
    today: date
    due_soon_until: date
    offices: list[Office]
    follow_ups: list[OpenFollowUp]
    consultations: list[LateConsultation] = msgspec.field(default_factory=list[LateConsultation])


class UrgeBody(msgspec.Struct, frozen=True, kw_only=True):
    note: str


class Urged(msgspec.Struct, frozen=True, kw_only=True):
    task_id: int
    case_no: str
    notified: int  # staff accounts told


class FollowUpAnswer(msgspec.Struct, frozen=True, kw_only=True):
    text: str


class AuditQuery(msgspec.Struct, frozen=True, kw_only=True):
    """What the audit viewer searches by; every field optional. `person`: an ID number (matched by its masked form
    and the person's id, never stored in clear) or a masked number as the log holds it."""

    case_no: str | None = None
    person: str | None = None
    actor: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None


class AuditEntryView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    outcome: str
    ip: str | None
    detail: dict[str, object]
    pii_read: bool


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    entries: list[AuditEntryView]
    next_cursor: str | None
