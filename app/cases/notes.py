"""Staff notes on a task: for the resident (办理说明), or internal (内部备注). One mechanism with the reasons a
step carries (补正告知, 不予受理, 不予批准): a note is the text of a timeline event, and the event's visibility says who
reads it (app/cases/states.py). A note for the resident reaches the case page, the 补正告知书, the inbox and push (the
step's title only) like any step; the tracking page says only that there is one. An internal note stays with the staff
who may read its task (app.console decides what each of them sees): no resident page, tracking snapshot, inbox, push,
text or webhook ever carries it (app.cases.timeline.record_event)."""

from __future__ import annotations

import asyncpg

from app.cases import store
from app.cases.models import TaskNote
from app.cases.states import INTERNAL, NOTE_STEP, RESIDENT, VISIBILITIES
from app.cases.timeline import record_event
from app.cases.workflow import in_scope
from app.errors import FieldErrors, Forbidden, NotFound
from app.notifications import titles
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from i18n import N_, _

NOTE_MAX = 1000
# The step's title is public (the tracking page lists it); the words are the note's.
TITLES = {RESIDENT: N_("办理说明"), INTERNAL: N_("内部备注")}


def _checked(text: str, visibility: str) -> str:
    errors: dict[str, str] = {}
    words = text.strip()
    if not words:
        errors["text"] = N_("请填写说明的内容")
    elif len(words) > NOTE_MAX:
        errors["text"] = _("说明不能超过%(note_max)s个字") % {"note_max": NOTE_MAX}
    if visibility not in VISIBILITIES:
        errors["visibility"] = N_("请选择说明给谁看：申请人可见（resident），或仅工作人员可见（internal）")
    if errors:
        raise FieldErrors(errors)
    return words


async def add_note(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, task_id: int, text: str, visibility: str
) -> TaskNote:
    """A note on a task by staff who may act on it (the window clerk of the region, the task's department's
    approver); anyone else is Forbidden, audited."""
    words = _checked(text, visibility)
    task = await store.get_task(db, task_id)
    if task is None:
        raise NotFound(N_("没有找到该事项"))
    if not (user.is_staff and in_scope(user, task)):
        await audit(db, conn, "task.note", "forbidden", subject=f"task:{task_id}", visibility=visibility)
        raise Forbidden(N_("该办件不在您的办理范围内"))
    async with db.acquire() as tx, tx.transaction():
        event_id = await record_event(
            tx,
            case_id=task.case_id,
            task_id=task.id,
            status=NOTE_STEP,
            title=titles.STEP % {"subject": task.item_name, "step": TITLES[visibility]},
            department_code=task.department_code,
            actor_account_id=user.account_id,
            note=words,
            visibility=visibility,
        )
    await audit(db, conn, "task.note", "ok", subject=f"task:{task_id}", case=task.case_no, visibility=visibility)
    return TaskNote(
        id=event_id,
        task_id=task.id,
        case_no=task.case_no,
        item_name=task.item_name,
        visibility=visibility,
        text=words,
    )
