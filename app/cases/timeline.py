"""Every timeline event of a case is written here, and only here, inside the caller's transaction —
so whatever must happen with an event (the notifications to the resident's devices) happens once,
atomically with it."""

from __future__ import annotations

import asyncpg

from app.cases import store, tracking
from app.notifications.service import notify_event


async def record_event(
    tx: asyncpg.Connection,
    *,
    case_id: int,
    status: str,
    title: str,
    task_id: int | None = None,
    department_code: str | None = None,
    actor_account_id: int | None = None,
    note: str | None = None,
) -> int:
    event_id = await store.append_event(
        tx,
        case_id=case_id,
        status=status,
        title=title,
        task_id=task_id,
        department_code=department_code,
        actor_account_id=actor_account_id,
        note=note,
    )
    # The public tracking snapshot now shows this step too.
    await tracking.refresh(tx, case_id)
    # The inbox entries and one push job per recipient device, committed (or not) with the event.
    await notify_event(tx, case_id=case_id, event_id=event_id, status=status, title=title)
    return event_id
