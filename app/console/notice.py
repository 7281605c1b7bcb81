"""补正告知书 at the window: for staff who may act on the task (app.cases.notice builds it)."""

from __future__ import annotations

import asyncpg

from app.cases import notice as notices
from app.cases import service as cases
from app.cases.models import SupplementNotice
from app.cases.states import RESIDENT
from app.console.service import task_for_staff
from app.errors import NotFound
from app.web.types import Connection
from auth.models import CurrentUser
from i18n import N_


async def supplement_notice(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str, task_id: int
) -> SupplementNotice:
    """The notice of the task's open 补正告知 (NotFound when the task is not waiting for a supplement)."""
    head, task = await task_for_staff(db, conn, user, case_no, task_id)
    if task.status != "supplement_requested":
        raise NotFound(N_("该事项当前没有待补正的材料，无需打印补正告知书"))
    # The notice goes home with the resident: only the steps the resident reads, never an internal note.
    readable = [s for s in await cases.staff_timeline_of(db, head.id) if s.visibility == RESIDENT]
    found = notices.open_request(readable, task.id)
    if found is None:
        raise NotFound(N_("没有找到该事项的补正告知内容"))
    request, more_notes = found
    facts = (await cases.queue_case_facts(db, [head.case_no])).get(head.case_no)
    return await notices.supplement_notice(
        db,
        case_no=head.case_no,
        life_event_code=head.life_event_code,
        life_event_name=head.life_event_name,
        applicant_name=head.applicant_name,
        applicant_id_masked=head.applicant_id_masked,
        item_code=task.item_code,
        item_name=task.item_name,
        requested_at=request.at,
        note=request.note or "",
        more_notes=more_notes,
        issued_by=request.actor_name,
        received_at_hall=facts.receiving_region if facts and facts.filed_as == "clerk" else None,
    )
