from __future__ import annotations

from datetime import date, datetime

import msgspec


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


class TransitionBody(msgspec.Struct, kw_only=True):
    action: str
    note: str | None = None
