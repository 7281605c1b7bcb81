"""The public tracking view (跟踪办) as a ready-made JSON snapshot per case.

It is rebuilt inside the transaction of every timeline event (app.cases.timeline), so a receipt scan
reads one indexed row and sends the bytes as they are. A case without a snapshot yet (made before this
existed) gets one on its first scan."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from app.calendar.service import CHINA
from app.cases import store
from app.cases.models import (
    KeptPage,
    TaskRow,
    TrackedPage,
    TrackingEventRow,
    TrackingSource,
    TrackingTaskRow,
    TrackStep,
    TrackTask,
    TrackView,
)
from app.cases.states import CASE_STATUS_LABELS, RESIDENT_NOTE_KINDS, TASK_STATUS_LABELS, derive_case_status
from db.pool import DB

_encoder = msgspec.json.Encoder()


def _view(source: TrackingSource) -> TrackView:
    def steps(task_id: int | None) -> list[TrackStep]:
        # Only the public title and department, and whether a note for the resident came with it: notes may name
        # people, so their words never leave here.
        return [
            TrackStep(
                at=e.at,
                title=e.title,
                department_name=e.department_name,
                note_kind=RESIDENT_NOTE_KINDS.get(e.status) if e.has_note else None,
            )
            for e in source.events
            if e.task_id == task_id
        ]

    status = derive_case_status(t.status for t in source.tasks)
    return TrackView(
        case_no=source.case_no,
        life_event_name=source.life_event_name,
        status=status,
        status_label=CASE_STATUS_LABELS[status],
        submitted_at=source.created_at,
        tasks=[
            TrackTask(
                item_name=t.item_name,
                department_name=t.department_name,
                status=t.status,
                status_label=TASK_STATUS_LABELS[t.status],
                due_on=t.due_on,
                due_provisional=t.due_provisional,
                steps=steps(t.id),
            )
            for t in source.tasks
        ],
        steps=steps(None),
    )


def first_snapshot(case_id: int, tasks: Sequence[TaskRow], *, title: str, status: str, has_note: bool) -> bytes:
    """A new case's snapshot, drawn from its tasks as just made and its first step (a step of the case's own, at the
    moment it was made), without reading them back: the same bytes `refresh` would write then. The step's time is
    written in China time, as PostgreSQL's JSON gives it to `refresh` (the pool's time zone: db/pool.py)."""
    first = tasks[0]
    step = TrackingEventRow(
        at=first.submitted_at.astimezone(CHINA),
        title=title,
        task_id=None,
        department_name=None,
        status=status,
        has_note=has_note,
    )
    source = TrackingSource(
        id=case_id,
        case_no=first.case_no,
        created_at=first.submitted_at,
        life_event_name=first.life_event_name,
        tasks=[
            TrackingTaskRow(
                id=t.id,
                item_name=t.item_name,
                department_name=t.department_name,
                status=t.status,
                due_on=t.due_on,
                due_provisional=t.due_provisional,
            )
            for t in tasks
        ],
        events=[step],
    )
    return _encoder.encode(_view(source))


async def refresh(db: DB, case_id: int) -> bytes:
    """Rebuild and store the case's snapshot; returns its JSON."""
    snapshot = _encoder.encode(_view(await store.tracking_source(db, case_id)))
    await store.save_tracking_snapshot(db, case_id, snapshot)
    return snapshot


async def snapshot_for(db: DB, token: str) -> tuple[int, bytes] | None:
    """(case id, the tracking JSON) for a token, or None for an unknown token."""
    if not 16 <= len(token) <= 64:
        return None
    row = await store.tracking_snapshot(db, token)
    if row is None:
        return None
    return row.id, row.tracking_json or await refresh(db, row.id)


async def snapshot_and_page_for(db: DB, token: str, variant: str | None) -> TrackedPage | None:
    """The tracking page's source for a token (the tracking JSON, the count of its notices' changes) with the page kept
    for the display `variant` (None: none asked for), or None for an unknown token: one read."""
    if not 16 <= len(token) <= 64:
        return None
    row = await store.tracking_snapshot_with_page(db, token, variant)
    if row is None:
        return None
    if row.tracking_json is None:
        snapshot = await refresh(db, row.id)
        return TrackedPage(case_id=row.id, snapshot=snapshot, notices_version=row.notices_version)
    return TrackedPage(case_id=row.id, snapshot=row.tracking_json, notices_version=row.notices_version, kept=row.page)


async def keep_page(db: DB, tracked: TrackedPage, variant: str, page: KeptPage) -> bool:
    """Keep the page drawn from `tracked` for one display, while its snapshot and notices are still the case's."""
    return await store.keep_tracking_page(db, tracked.case_id, variant, tracked.snapshot, tracked.notices_version, page)


def decode(snapshot: bytes) -> TrackView:
    return msgspec.json.decode(snapshot, type=TrackView)
