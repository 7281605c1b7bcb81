"""补正告知书: the notice of a supplement request, printed at the window so a resident without an account leaves
with everything that is missing, by when and where to bring it."""

from __future__ import annotations

import asyncpg

from app.calendar.service import CHINA, current_calendar
from app.cases import service as cases
from app.catalogue import service as catalogue
from app.console.models import SupplementNotice
from app.console.queue import mask_name
from app.console.service import task_for_staff
from app.errors import NotFound
from app.web.types import Connection
from auth.models import CurrentUser

# Working days the resident has to bring what is missing, counted from the day of the request. A policy value of the
# halls (the promised time limit is paused meanwhile and resumes on the day the materials arrive).
SUPPLEMENT_WITHIN_WORKING_DAYS = 10


async def supplement_notice(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str, task_id: int
) -> SupplementNotice:
    """The notice of the task's open 补正告知 (NotFound when the task is not waiting for a supplement)."""
    head, task = await task_for_staff(db, conn, user, case_no, task_id)
    if task.status != "supplement_requested":
        raise NotFound("该事项当前没有待补正的材料，无需打印补正告知书")
    steps = [s for s in await cases.staff_timeline_of(db, head.id) if s.task_id == task.id]
    request = next((s for s in reversed(steps) if s.status == "supplement_requested"), None)
    if request is None or not request.note:
        raise NotFound("没有找到该事项的补正告知内容")
    items = await catalogue.items_of_life_event(db, head.life_event_code)
    item = next((i for i in items if i.code == task.item_code), None)
    if item is None:
        raise NotFound("没有找到该事项的办事指南")
    calendar = await current_calendar(db)
    bring_by = calendar.add_working_days(request.at.astimezone(CHINA).date(), SUPPLEMENT_WITHIN_WORKING_DAYS)
    facts = (await cases.queue_case_facts(db, [head.case_no])).get(head.case_no)
    hall = facts.receiving_region if facts and facts.filed_as == "clerk" else None
    return SupplementNotice(
        case_no=head.case_no,
        life_event_name=head.life_event_name,
        applicant_name_masked=mask_name(head.applicant_name),
        applicant_id_masked=head.applicant_id_masked,
        item_name=task.item_name,
        department_name=task.department_full_name,
        requested_at=request.at,
        note=request.note,
        bring_by=bring_by.due_on,
        bring_by_provisional=bring_by.provisional,
        bring_within_days=SUPPLEMENT_WITHIN_WORKING_DAYS,
        where=item.guide.location,
        hours=item.guide.hours,
        contact=item.guide.contact,
        received_at_hall=f"{hall}政务服务中心综合窗口" if hall else None,
        issued_by=request.actor_name,
    )
