"""What the 征求意见 API takes and answers, and the typed rows app/consultations/store.py returns."""

from __future__ import annotations

from datetime import date, datetime

import msgspec


class ConsultationBody(msgspec.Struct, kw_only=True):
    """征求意见: which department is asked (its code: civil_affairs …), the question, and how many working days it
    has to answer."""

    department: str
    question: str
    due_in_days: int


class AnswerBody(msgspec.Struct, kw_only=True):
    text: str


class AttachmentRow(msgspec.Struct, frozen=True, kw_only=True):
    """A file of a consultation (not its content): on the question (the asker's) or the answer (the asked's)."""

    id: int
    side: str  # question | answer
    filename: str
    content_type: str
    size: int


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    """A file of a consultation as staff read it, with where to download it (to those who may read the consultation)."""

    id: int
    side: str  # question | answer
    filename: str
    content_type: str
    size: int
    url: str


class AttachmentContent(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str
    content: bytes


class ConsultationAsked(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    task_id: int
    case_no: str
    item_name: str
    department: str
    due_on: date
    due_provisional: bool  # counted past the holidays the State Council has published: may move
    attachments: list[Attachment] = msgspec.field(default_factory=list[Attachment])


class ConsultationRow(msgspec.Struct, frozen=True, kw_only=True):
    """One 征求意见 with the task and case it is about, the asking and asked departments, and who asked and answered."""

    id: int
    case_id: int
    task_id: int
    case_no: str
    life_event_name: str
    item_name: str
    asking_department_code: str
    asking_department_name: str
    department_code: str  # the department asked
    department_name: str
    region_code: str  # the competent region: who of the asked department may answer
    question: str | None  # None once purged (words_forgotten_on)
    asked_by_account_id: int
    asked_by_name: str
    asked_at: datetime
    due_on: date
    due_provisional: bool
    answer: str | None  # None until answered, and once purged
    answered_by_name: str | None
    answered_at: datetime | None  # whether it was answered: the answer's words may be purged
    words_forgotten_on: date | None  # the day `purge` forgot the question's and answer's words (past retention)
    attachments: list[AttachmentRow]  # the question's and the answer's, in the order they were attached


class Consultation(msgspec.Struct, frozen=True, kw_only=True):
    """A 征求意见 as staff read it: the asking task's staff and the asked department's (never a resident)."""

    id: int
    case_no: str
    task_id: int
    life_event_name: str
    item_name: str
    asking_department: str
    asking_department_name: str
    department: str
    department_name: str
    question: str | None  # None once its case's retention has passed (words_forgotten_on)
    asked_by_name: str
    asked_at: datetime
    due_on: date
    due_provisional: bool
    overdue: bool  # unanswered past its date
    overdue_working_days: int
    answered: bool
    answer: str | None  # None until answered, and once purged
    answered_by_name: str | None
    answered_at: datetime | None
    words_forgotten_on: date | None  # the words of the question and the answer are gone (past retention)
    # The question's files and the answer's (`side`), each with its download address.
    attachments: list[Attachment] = msgspec.field(default_factory=list[Attachment])
    can_answer: bool = False  # unanswered, and the caller is of the asked department and serves its region


class Forgotten(msgspec.Struct, frozen=True, kw_only=True):
    """What `purge` removed of one case's consultations: their files (and bytes), and how many lost their words."""

    files: int = 0
    file_bytes: int = 0
    words: int = 0
