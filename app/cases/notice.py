"""补正告知书: the notice of a supplement request, printed at the window so a resident without an account leaves with
everything that is missing, by when and where to bring it (app.console), or by the resident from their own case page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from app.calendar.service import CHINA, current_calendar
from app.cases.models import SupplementNotice
from app.cases.states import NOTE_STEP
from app.catalogue import service as catalogue
from app.catalogue.translations import text
from app.errors import NotFound
from app.people.identity import mask_name
from db.pool import DB
from i18n import N_, _

# Working days the resident has to bring what is missing, counted from the day of the request. A policy value of the
# halls (the promised time limit is paused meanwhile and resumes on the day the materials arrive).
SUPPLEMENT_WITHIN_WORKING_DAYS = 10


class Step(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def task_id(self) -> int | None: ...
    @property
    def note(self) -> str | None: ...


S = TypeVar("S", bound=Step)


def open_request(steps: Sequence[S], task_id: int) -> tuple[S, list[str]] | None:
    """The task's last 补正告知 with its note, and the notes for the resident written on the task since (办理说明:
    "另请携带户口簿原件"), from steps the resident may read — the caller passes only those. None without a note."""
    own = [s for s in steps if s.task_id == task_id]
    at = next((i for i in range(len(own) - 1, -1, -1) if own[i].status == "supplement_requested"), None)
    if at is None or not own[at].note:
        return None
    later = [s.note for s in own[at + 1 :] if s.status == NOTE_STEP and s.note]
    return own[at], later


async def supplement_notice(
    db: DB,
    *,
    case_no: str,
    life_event_code: str,
    life_event_name: str,
    applicant_name: str,
    applicant_id_masked: str,
    item_code: str,
    item_name: str,
    requested_at: datetime,
    note: str,
    more_notes: list[str],
    issued_by: str | None,
    received_at_hall: str | None,
) -> SupplementNotice:
    """The notice of one 补正告知: the item's own place, hours and phone from its 办事指南, the date to bring the
    materials by in working days."""
    items = await catalogue.items_of_life_event(db, life_event_code)
    item = next((i for i in items if i.code == item_code), None)
    if item is None:
        raise NotFound(N_("没有找到该事项的办事指南"))
    calendar = await current_calendar(db)
    bring_by = calendar.add_working_days(requested_at.astimezone(CHINA).date(), SUPPLEMENT_WITHIN_WORKING_DAYS)
    return SupplementNotice(
        case_no=case_no,
        life_event_name=life_event_name,
        applicant_name_masked=mask_name(applicant_name),
        applicant_id_masked=applicant_id_masked,
        item_name=item_name,
        department_name=item.department_name,
        requested_at=requested_at,
        note=note,
        more_notes=more_notes,
        bring_by=bring_by.due_on,
        bring_by_provisional=bring_by.provisional,
        bring_within_days=SUPPLEMENT_WITHIN_WORKING_DAYS,
        where=item.guide.location,
        hours=item.guide.hours,
        contact=item.guide.contact,
        received_at_hall=_("%(region)s政务服务中心综合窗口") % {"region": text(received_at_hall)}
        if received_at_hall
        else None,
        issued_by=issued_by,
    )
