"""SQL for ratings (reviews), their follow-ups (review_followups) and the window tablet's links
(review_kiosk_links): the only store of these tables."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from asyncpg import Record

from app.reviews.models import FollowUpRecord, FollowUpRow, KioskLink, RatingRecord, ReviewRow
from db.pool import DB

_REVIEW = (
    "SELECT id, case_id, task_id, department_code, region_code, level, tags, text, channel, client_present, "
    "created_at, updated_at, editable_until FROM reviews"
)
_FOLLOW_UP = (
    "SELECT f.id, f.review_id, f.case_id, f.department_code, f.region_code, f.opened_at, f.contact_due_on, "
    "f.result_due_on, f.contacted_at, f.contact_note, f.resolved_at, f.result_text FROM review_followups f"
)


def _review(row: Record) -> ReviewRow:
    return msgspec.convert(dict(row), ReviewRow)


def _follow_up(row: Record) -> FollowUpRow:
    return msgspec.convert(dict(row), FollowUpRow)


async def reviews_of_case(db: DB, case_id: int) -> list[ReviewRow]:
    rows = await db.fetch(_REVIEW + " WHERE case_id = $1 ORDER BY task_id NULLS LAST, id", case_id)
    return [_review(r) for r in rows]


async def follow_ups_of_case(db: DB, case_id: int) -> list[FollowUpRow]:
    rows = await db.fetch(_FOLLOW_UP + " WHERE f.case_id = $1 ORDER BY f.id", case_id)
    return [_follow_up(r) for r in rows]


async def lock_review(db: DB, case_id: int, task_id: int | None) -> ReviewRow | None:
    row = await db.fetchrow(
        _REVIEW + " WHERE case_id = $1 AND task_id IS NOT DISTINCT FROM $2 FOR UPDATE", case_id, task_id
    )
    return _review(row) if row else None


async def insert_review(
    db: DB,
    *,
    case_id: int,
    task_id: int | None,
    department_code: str | None,
    region_code: str,
    level: int,
    tags: list[str],
    text: str | None,
    channel: str,
    rated_by_account_id: int | None,
    client_present: bool,
    now: datetime,
    editable_until: datetime,
) -> ReviewRow | None:
    """The new rating, or None when one for this task (or the case) was written meanwhile."""
    row = await db.fetchrow(
        "INSERT INTO reviews (case_id, task_id, department_code, region_code, level, tags, text, channel, "
        "rated_by_account_id, client_present, created_at, updated_at, editable_until) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) ON CONFLICT DO NOTHING "
        "RETURNING id, case_id, task_id, department_code, region_code, level, tags, text, channel, client_present, "
        "created_at, updated_at, editable_until",
        case_id,
        task_id,
        department_code,
        region_code,
        level,
        tags,
        text,
        channel,
        rated_by_account_id,
        client_present,
        now,
        editable_until,
    )
    return _review(row) if row else None


async def update_review(
    db: DB,
    review_id: int,
    *,
    level: int,
    tags: list[str],
    text: str | None,
    channel: str,
    rated_by_account_id: int | None,
    client_present: bool,
    now: datetime,
) -> ReviewRow:
    row = await db.fetchrow(
        "UPDATE reviews SET level = $2, tags = $3, text = $4, channel = $5, rated_by_account_id = $6, "
        "client_present = $7, updated_at = $8 WHERE id = $1 "
        "RETURNING id, case_id, task_id, department_code, region_code, level, tags, text, channel, client_present, "
        "created_at, updated_at, editable_until",
        review_id,
        level,
        tags,
        text,
        channel,
        rated_by_account_id,
        client_present,
        now,
    )
    assert row is not None  # locked by the caller's transaction
    return _review(row)


async def extend_editing(db: DB, review_id: int, until: datetime) -> None:
    await db.execute("UPDATE reviews SET editable_until = greatest(editable_until, $2) WHERE id = $1", review_id, until)


async def lock_follow_up_of_review(db: DB, review_id: int) -> FollowUpRow | None:
    row = await db.fetchrow(_FOLLOW_UP + " WHERE f.review_id = $1 FOR UPDATE", review_id)
    return _follow_up(row) if row else None


async def open_follow_up(
    db: DB,
    *,
    review: ReviewRow,
    opened_at: datetime,
    contact_due_on: date,
    result_due_on: date,
) -> None:
    """One follow-up per rating: a second bad rating of the same task while one is open changes nothing here."""
    await db.execute(
        "INSERT INTO review_followups (review_id, case_id, department_code, region_code, opened_at, contact_due_on, "
        "result_due_on) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (review_id) DO UPDATE "
        "SET opened_at = EXCLUDED.opened_at, contact_due_on = EXCLUDED.contact_due_on, "
        "result_due_on = EXCLUDED.result_due_on, contacted_at = NULL, contact_note = NULL, resolved_at = NULL, "
        "result_text = NULL, handled_by_account_id = NULL WHERE review_followups.resolved_at IS NOT NULL",
        review.id,
        review.case_id,
        review.department_code,
        review.region_code,
        opened_at,
        contact_due_on,
        result_due_on,
    )


_OPEN = (
    "SELECT f.id, f.review_id, f.case_id, f.department_code, f.region_code, f.opened_at, f.contact_due_on, "
    "f.result_due_on, f.contacted_at, f.contact_note, f.resolved_at, f.result_text, "
    "c.case_no, d.short_name AS department_name, r.level, r.tags, r.text "
    "FROM review_followups f JOIN reviews r ON r.id = f.review_id JOIN cases c ON c.id = f.case_id "
    "LEFT JOIN departments d ON d.code = f.department_code"
)


def _record(row: Record) -> FollowUpRecord:
    data = dict(row)
    return FollowUpRecord(
        follow_up=msgspec.convert({k: data[k] for k in FollowUpRow.__struct_fields__}, FollowUpRow),
        case_no=data["case_no"],
        department_name=data["department_name"],
        level=data["level"],
        tags=list(data["tags"]),
        text=data["text"],
    )


async def open_follow_ups(db: DB, *, region_prefix: str, department: str | None, limit: int) -> list[FollowUpRecord]:
    """Unresolved follow-ups of offices within a region (and of a department, when given), soonest due first."""
    rows = await db.fetch(
        _OPEN + " WHERE f.resolved_at IS NULL AND f.region_code LIKE $1 || '%' "
        "AND ($2::text IS NULL OR f.department_code = $2) ORDER BY f.result_due_on, f.id LIMIT $3",
        region_prefix,
        department,
        limit,
    )
    return [_record(r) for r in rows]


async def open_follow_ups_overdue(db: DB, *, today: date, limit: int) -> list[FollowUpRecord]:
    """Unresolved follow-ups anywhere past a deadline (回访 not made in time, or no result in time)."""
    rows = await db.fetch(
        _OPEN + " WHERE f.resolved_at IS NULL AND (f.result_due_on < $1 OR (f.contacted_at IS NULL "
        "AND f.contact_due_on < $1)) ORDER BY f.result_due_on, f.id LIMIT $2",
        today,
        limit,
    )
    return [_record(r) for r in rows]


async def lock_follow_up(db: DB, follow_up_id: int) -> FollowUpRow | None:
    row = await db.fetchrow(_FOLLOW_UP + " WHERE f.id = $1 FOR UPDATE", follow_up_id)
    return _follow_up(row) if row else None


async def record_contact(db: DB, follow_up_id: int, *, note: str, at: datetime, account_id: int) -> None:
    await db.execute(
        "UPDATE review_followups SET contacted_at = $2, contact_note = $3, handled_by_account_id = $4 WHERE id = $1",
        follow_up_id,
        at,
        note,
        account_id,
    )


async def record_result(db: DB, follow_up_id: int, *, text: str, at: datetime, account_id: int) -> None:
    await db.execute(
        "UPDATE review_followups SET resolved_at = $2, result_text = $3, handled_by_account_id = $4, "
        "contacted_at = coalesce(contacted_at, $2) WHERE id = $1",
        follow_up_id,
        at,
        text,
        account_id,
    )


async def insert_kiosk_link(
    db: DB, *, token_hash: bytes, case_id: int, task_id: int | None, account_id: int, expires_at: datetime
) -> None:
    await db.execute(
        "INSERT INTO review_kiosk_links (token_hash, case_id, task_id, opened_by_account_id, expires_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        case_id,
        task_id,
        account_id,
        expires_at,
    )


async def kiosk_link(db: DB, token_hash: bytes, *, lock: bool = False) -> KioskLink | None:
    row = await db.fetchrow(
        "SELECT case_id, task_id, expires_at, used_at FROM review_kiosk_links WHERE token_hash = $1"
        + (" FOR UPDATE" if lock else ""),
        token_hash,
    )
    return msgspec.convert(dict(row), KioskLink) if row else None


async def spend_kiosk_link(db: DB, token_hash: bytes, at: datetime) -> None:
    await db.execute("UPDATE review_kiosk_links SET used_at = $2 WHERE token_hash = $1", token_hash, at)


async def clear_texts_of_cases(db: DB, case_ids: list[int]) -> dict[int, int]:
    """The words of the cases' ratings and of their settled follow-ups; level, tags and dates stay for the statistics.
    By case id: how many texts were cleared."""
    rows = await db.fetch(
        "WITH rated AS (UPDATE reviews SET text = NULL WHERE case_id = ANY($1::bigint[]) AND text IS NOT NULL "
        "RETURNING case_id), "
        "followed AS (UPDATE review_followups SET contact_note = NULL, result_text = NULL "
        "WHERE case_id = ANY($1::bigint[]) AND resolved_at IS NOT NULL "
        "AND (contact_note IS NOT NULL OR result_text IS NOT NULL) RETURNING case_id) "
        "SELECT case_id, count(*) AS texts FROM (SELECT case_id FROM rated UNION ALL SELECT case_id FROM followed) t "
        "GROUP BY case_id",
        case_ids,
    )
    return {r["case_id"]: r["texts"] for r in rows}


# --- what the statistics recount --------------------------------------------------------------------------------------


async def rating_records(db: DB, after_id: int, limit: int) -> list[RatingRecord]:
    """Ratings by id after `after_id`, with the item rated ('' for the case as a whole) and the case's channel."""
    rows = await db.fetch(
        "SELECT r.id, r.department_code, r.region_code, coalesce(t.item_code, '') AS item_code, c.channel, "
        "r.created_at, r.level FROM reviews r JOIN cases c ON c.id = r.case_id LEFT JOIN tasks t ON t.id = r.task_id "
        "WHERE r.id > $1 ORDER BY r.id LIMIT $2",
        after_id,
        limit,
    )
    return [msgspec.convert(dict(r), RatingRecord) for r in rows]


async def follow_up_records(db: DB, after_id: int, limit: int) -> list[FollowUpRow]:
    rows = await db.fetch(_FOLLOW_UP + " WHERE f.id > $1 ORDER BY f.id LIMIT $2", after_id, limit)
    return [_follow_up(r) for r in rows]
