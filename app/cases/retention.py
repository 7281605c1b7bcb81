"""The cases' side of retention (app/retention/rules.py): which cases are past it, and removing what they hold of a
person — answers, files, step notes, waybill numbers — from the cases' own tables, keeping the skeleton (number, life
event, tasks and their outcome, dates, public step titles). Other units forget their own rows of the same cases, and
`python -m app purge` (app/purge.py) does it all in one transaction per batch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from app.calendar.service import CHINA
from app.cases import store
from app.cases.models import ForgottenForms, PurgedCase, RetentionFacts, RetentionPage
from app.cases.states import FINISHED_CASE_STATUSES, derive_case_status
from app.retention.rules import (
    UNSENT_FORM_DAYS,
    WITHOUT_RESULT_YEARS,
    TaskOutcome,
    kept_until,
    past_retention,
    years_later,
)
from db.pool import DB, Tx

# Cases examined per page, and files removed per statement (a file may be 10 MB).
CASES_PER_PAGE = 1000
FILES_PER_STATEMENT = 200
DRAFTS_PER_STATEMENT = 5000


def ended_on(facts: RetentionFacts) -> date | None:
    """The day (in China) a case ended: when its last task reached 出件 or was refused; None while it is open."""
    if facts.last_change is None or derive_case_status(facts.task_statuses) not in FINISHED_CASE_STATUSES:
        return None
    return facts.last_change.astimezone(CHINA).date()


def last_day_kept(facts: RetentionFacts, years_by_item: Mapping[str, int | None]) -> date | None:
    """The last day the case's data is kept; None while it is open or when an item it delivered declares no period."""
    ended = ended_on(facts)
    if ended is None:
        return None
    outcomes = [
        TaskOutcome(delivered=status == "delivered", item_years=years_by_item.get(code))
        for status, code in zip(facts.task_statuses, facts.item_codes, strict=True)
    ]
    return kept_until(ended, outcomes)


def _oldest_that_can_be_due(today: date, years_by_item: Mapping[str, int | None]) -> datetime:
    """Only a case filed before this can be past its retention: it ended on or after the day it was filed, and no
    period is shorter than the shortest declared (or WITHOUT_RESULT_YEARS). A day's margin; the rule decides."""
    shortest = min([WITHOUT_RESULT_YEARS, *(y for y in years_by_item.values() if y is not None)])
    return datetime.combine(years_later(today, -shortest) + timedelta(days=1), time.min, tzinfo=CHINA)


async def past_retention_page(
    db: DB,
    years_by_item: Mapping[str, int | None],
    today: date,
    *,
    after: tuple[datetime, int] | None,
    limit: int = CASES_PER_PAGE,
) -> RetentionPage:
    """One page of the cases not yet purged, oldest first: the ids of those past their retention today."""
    page = await store.retention_facts_page(
        db, created_before=_oldest_that_can_be_due(today, years_by_item), after=after, limit=limit
    )
    due = [f.id for f in page if past_retention(last_day_kept(f, years_by_item), today)]
    last = page[-1] if len(page) == limit else None
    return RetentionPage(due=due, examined=len(page), next_after=(last.created_at, last.id) if last else None)


async def forget_case_data(
    tx: Tx, case_ids: list[int], years_by_item: Mapping[str, int | None], today: date
) -> list[PurgedCase]:
    """In the caller's transaction: the answers, files, step notes, waybill numbers and kept tracking pages of those
    of the cases still past their retention once locked (a case reopened or purged meanwhile is left as it is)."""
    due: dict[int, tuple[RetentionFacts, date, date]] = {}
    for facts in await store.lock_for_purge(tx, case_ids):
        ended, until = ended_on(facts), last_day_kept(facts, years_by_item)
        if ended is not None and until is not None and past_retention(until, today):
            due[facts.id] = (facts, ended, until)
    forgotten = await store.forget_answers(tx, sorted(due))
    if not forgotten:
        return []
    files = await store.delete_uploads_of_cases(tx, forgotten)
    notes = await store.clear_notes_of_cases(tx, forgotten)
    await store.clear_delivery_refs(tx, forgotten)
    # The pages kept for anonymous visitors and for its residents go too (the case page shows the notes); a purged
    # case's pages are drawn on each view, never kept.
    await store.forget_tracking_pages(tx, forgotten)
    await store.forget_case_pages(tx, forgotten)
    return [
        PurgedCase(
            case_id=case_id,
            case_no=due[case_id][0].case_no,
            ended_on=due[case_id][1],
            kept_until=due[case_id][2],
            uploads=files.get(case_id, (0, 0))[0],
            upload_bytes=files.get(case_id, (0, 0))[1],
            notes=notes.get(case_id, 0),
        )
        for case_id in forgotten
    ]


async def forget_unsent_forms(db: DB, today: date) -> ForgottenForms:
    """Drafts nobody saved for UNSENT_FORM_DAYS, and files uploaded that long ago for a form never sent (unless its
    draft was saved since). Each statement commits on its own: a run cut short leaves less to do, never half a row."""
    before = datetime.combine(today - timedelta(days=UNSENT_FORM_DAYS), time.min, tzinfo=CHINA)
    drafts = files = size = 0
    while removed := await store.delete_drafts_saved_before(db, before, DRAFTS_PER_STATEMENT):
        drafts += removed
        if removed < DRAFTS_PER_STATEMENT:
            break
    while True:
        removed, removed_bytes = await store.delete_unattached_uploads_before(db, before, FILES_PER_STATEMENT)
        files, size = files + removed, size + removed_bytes
        if removed < FILES_PER_STATEMENT:
            break
    return ForgottenForms(drafts=drafts, uploads=files, upload_bytes=size)
