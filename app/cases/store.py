"""SQL for cases, tasks (the queues and moving them), the timeline, drafts and uploads, and the cases as the back
office opens them."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import msgspec
from asyncpg import Record

from app.cases.duplicates_store import OPEN_FLAG_OF_CASE
from app.cases.models import (
    CaseContents,
    CaseHead,
    CaseListed,
    CaseOfPerson,
    CaseOnPage,
    CaseParties,
    CaseToKey,
    DeceasedApplicantCase,
    FiledCase,
    HelperFiledCase,
    KeptCasePage,
    KeptPage,
    PendingUpload,
    QueueCaseFacts,
    QueueRows,
    RetentionFacts,
    StaffCaseRecord,
    StaffTimelineEntry,
    StaffUpload,
    StoredDraft,
    StoredUpload,
    SubjectCase,
    SubmittedCase,
    TaskCount,
    TaskHistoryRow,
    TaskRow,
    TrackingSnapshot,
    TrackingSource,
    UploadContent,
)
from app.cases.states import OPEN_TASK_STATUSES
from db.pool import DB

_LOCK_KEY = "pg_advisory_xact_lock(hashtextextended($1, 0))"
_LOCK_SUBJECT = "pg_advisory_xact_lock(hashtextextended('subject:' || encode($2, 'hex'), 0))"


async def lock_submission(db: DB, account_id: int, idempotency_key: str, subject_key: bytes | None) -> None:
    """Serialise submissions that share an idempotency key, then (when it has one) those about the same subject
    (一事不二办: two parents pressing 提交 at once make one case and one refusal, never two cases): one statement,
    the key's lock always first (the subquery's row comes before the outer one), both held until the transaction
    ends."""
    key = f"case:{account_id}:{idempotency_key}"
    if subject_key is None:
        await db.execute(f"SELECT {_LOCK_KEY}", key)
        return
    await db.execute(f"SELECT {_LOCK_SUBJECT} FROM (SELECT {_LOCK_KEY}) AS key_first", key, subject_key)


async def case_by_idempotency_key(db: DB, account_id: int, idempotency_key: str) -> SubmittedCase | None:
    row = await db.fetchrow(
        "SELECT case_no, tracking_token FROM cases WHERE filed_by_account_id = $1 AND idempotency_key = $2",
        account_id,
        idempotency_key,
    )
    return SubmittedCase(case_no=row["case_no"], tracking_token=row["tracking_token"]) if row else None


async def next_case_sequence(db: DB, day: date) -> int:
    """The day's next case number: the sequence's next value less the day's base. nextval holds no lock and writes
    nothing to commit, so submissions never wait for each other for their numbers (they did on the day's counter
    row). The first submission of a day sets its base (once, whichever process is first)."""
    number: int | None = await db.fetchval(_NEXT_CASE_NUMBER, day)
    if number is None:
        await db.execute(_OPEN_CASE_NUMBER_DAY, day)
        number = await db.fetchval(_NEXT_CASE_NUMBER, day)
    assert number is not None  # the day's base is set above
    return number


# nextval is evaluated only for the day's row with its base: no number is taken for a day before its base is set.
_NEXT_CASE_NUMBER = "SELECT nextval('case_numbers') - base FROM case_number_days WHERE day = $1 AND base IS NOT NULL"
# The base is the last value handed out when the day opens, so every number of the day is at least 1. A day numbered
# by the counter before (0043): above the numbers it handed out. A process that lost the race finds the base set.
_OPEN_CASE_NUMBER_DAY = """
    INSERT INTO case_number_days (day, last_seq, base) VALUES ($1, 0, (SELECT last_value FROM case_numbers))
    ON CONFLICT (day) DO UPDATE SET base = (SELECT last_value FROM case_numbers) - case_number_days.last_seq
    WHERE case_number_days.base IS NULL"""


# A new case's task before it is made: (item code, department, position, due on, provisional, office).
NewTask = tuple[str, str, int, date, bool, str | None]


async def insert_case(
    db: DB,
    *,
    case_no: str,
    tracking_token: str,
    life_event_code: str,
    applicant_person_id: int,
    filed_by_account_id: int,
    filed_as: str,
    channel: str,
    data_enc: bytes,
    form_checksum: str,
    idempotency_key: str,
    tasks: list[NewTask],
    received_region: str | None = None,
    subject_org_credit_code: str | None = None,
    subject_key: bytes | None = None,
) -> tuple[int, list[TaskRow]]:
    """The case with its tasks (at least one), and the filer's draft of it gone (the draft of this bundle they kept
    for this person or organisation), in one statement; the case's id and its tasks as made, in their order. Each
    task keeps the region of the hall the case came in at (0042): the hall that received it at its window, else the
    applicant's registered region."""
    assert tasks, "a case is made with its tasks"
    rows = await db.fetch(
        """WITH filed_draft AS (
               DELETE FROM drafts WHERE account_id = $5 AND life_event_code = $3 AND subject_person_id = $4
                                    AND subject_org_credit_code IS NOT DISTINCT FROM $12),
           new_case AS (
               INSERT INTO cases (case_no, tracking_token, life_event_code, applicant_person_id, filed_by_account_id,
                                  filed_as, channel, data_enc, form_checksum, idempotency_key, received_region,
                                  subject_org_credit_code, subject_key)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *),
           new AS (
               INSERT INTO tasks (case_id, item_code, department_code, position, due_on, due_provisional,
                                  office_region, receiving_region)
               SELECT c.id, n.*, coalesce(c.received_region, p.region_code)
               FROM new_case c JOIN people p ON p.id = c.applicant_person_id,
                    unnest($14::text[], $15::text[], $16::int[], $17::date[], $18::bool[], $19::text[]) AS n
               RETURNING *) """
        + _TASK_OF_T.format(tasks="new", cases="new_case")
        + " ORDER BY t.position",
        case_no,
        tracking_token,
        life_event_code,
        applicant_person_id,
        filed_by_account_id,
        filed_as,
        channel,
        data_enc,
        form_checksum,
        idempotency_key,
        received_region,
        subject_org_credit_code,
        subject_key,
        [t[0] for t in tasks],
        [t[1] for t in tasks],
        [t[2] for t in tasks],
        [t[3] for t in tasks],
        [t[4] for t in tasks],
        [t[5] for t in tasks],
    )
    made = [_task(r) for r in rows]
    return made[0].case_id, made


async def set_subject_org(db: DB, case_id: int, credit_code: str) -> None:
    await db.execute("UPDATE cases SET subject_org_credit_code = $2 WHERE id = $1", case_id, credit_code)


# The region of the hall case $1 came in at (app.cases.workflow.receiving_hall), as each of its tasks keeps it (0042):
# the hall that received it at its window, else the applicant's registered region.
_RECEIVING_HALL_OF_CASE = (
    "(SELECT coalesce(c.received_region, p.region_code) FROM cases c "
    "JOIN people p ON p.id = c.applicant_person_id WHERE c.id = $1)"
)


async def insert_correction_task(
    db: DB,
    *,
    case_id: int,
    item_code: str,
    department_code: str,
    due_on: date,
    provisional: bool,
    office_region: str | None,
    certificate_id: int,
) -> int | None:
    """A correction task (更正) after the case's other tasks; its id, or None while the certificate has an open one
    already (tasks_one_open_correction)."""
    return await db.fetchval(
        "INSERT INTO tasks (case_id, item_code, department_code, position, due_on, due_provisional, office_region, "
        "corrects_certificate_id, receiving_region) "
        f"SELECT $1, $2, $3, coalesce(max(position), -1) + 1, $4, $5, $6, $7, {_RECEIVING_HALL_OF_CASE} "
        "FROM tasks WHERE case_id = $1 "
        "ON CONFLICT DO NOTHING RETURNING id",
        case_id,
        item_code,
        department_code,
        due_on,
        provisional,
        office_region,
        certificate_id,
    )


async def follow_register_moves(db: DB) -> int:
    """The open tasks of every case filed online or by a helper whose applicant the register has since moved: their
    receiving hall is the applicant's region now (workflow.receiving_hall reads it live); how many were moved. (An
    ended task is in no queue and never opens again: 0042 keeps the region for open ones.)"""
    status = await db.execute(
        "UPDATE tasks t SET receiving_region = p.region_code "
        "FROM cases c JOIN people p ON p.id = c.applicant_person_id "
        f"WHERE c.id = t.case_id AND {_open_states(sorted(OPEN_TASK_STATUSES))} AND c.received_region IS NULL "
        "AND t.receiving_region IS DISTINCT FROM p.region_code"
    )
    return int(status.split()[-1])


async def take_office(db: DB, task_id: int, office_region: str) -> None:
    """A 全城通办 task taken by the office that first acts on it (the caller holds the task's row lock)."""
    await db.execute(
        "UPDATE tasks SET office_region = $2 WHERE id = $1 AND office_region IS NULL", task_id, office_region
    )


async def append_event(
    db: DB,
    *,
    case_id: int,
    status: str,
    title: str,
    task_id: int | None = None,
    department_code: str | None = None,
    actor_account_id: int | None = None,
    note: str | None = None,
    visibility: str = "resident",
) -> int:
    return await db.fetchval(
        "INSERT INTO timeline_events "
        "(case_id, task_id, status, title, department_code, actor_account_id, note, visibility) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        case_id,
        task_id,
        status,
        title,
        department_code,
        actor_account_id,
        note,
        visibility,
    )


async def append_first_event(
    db: DB,
    *,
    case_id: int,
    status: str,
    title: str,
    actor_account_id: int | None,
    note: str | None,
    at: datetime,
    tracking_json: bytes,
) -> int:
    """A new case's first step (a step of the resident's, of no task or department), at the moment the case was made,
    and the case's first tracking snapshot (app.cases.tracking.first_snapshot), in one statement."""
    return await db.fetchval(
        "WITH snapshot AS (UPDATE cases SET tracking_json = $7 WHERE id = $1) "
        "INSERT INTO timeline_events (case_id, status, title, actor_account_id, note, at) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        case_id,
        status,
        title,
        actor_account_id,
        note,
        at,
        tracking_json,
    )


async def case_parties(db: DB, case_id: int) -> CaseParties:
    """The parties of a case that exists (its id comes from the caller's own transaction)."""
    row = await db.fetchrow(
        "SELECT c.case_no, c.life_event_code, e.name AS life_event_name, c.applicant_person_id, c.filed_as, "
        "c.filed_by_account_id, c.tracking_token, c.subject_org_credit_code, c.received_region, "
        "coalesce(p.region_code, '') AS applicant_region, "
        "ARRAY(SELECT l.person_id FROM case_links l WHERE l.case_id = c.id ORDER BY l.linked_at, l.person_id) "
        "AS linked_person_ids "
        "FROM cases c JOIN life_events e ON e.code = c.life_event_code JOIN people p ON p.id = c.applicant_person_id "
        "WHERE c.id = $1",
        case_id,
    )
    assert row is not None
    return CaseParties(**dict(row))


_CASE_HEAD = """
    SELECT c.id, c.case_no, c.tracking_token, c.life_event_code, e.name AS life_event_name, c.channel, c.filed_as,
           c.created_at, c.applicant_person_id, c.purged_at, c.subject_org_credit_code
    FROM cases c JOIN life_events e ON e.code = c.life_event_code
"""


_CASE_HEAD_LINKED_COLUMNS = """
    c.id, c.case_no, c.tracking_token, c.life_event_code, e.name AS life_event_name, c.channel, c.filed_as,
    c.created_at, c.applicant_person_id, c.purged_at, c.subject_org_credit_code, l.role AS linked_as,
    CASE WHEN c.filed_as = 'parent' THEN c.filed_by_account_id END AS parent_account_id
"""
_CASE_HEAD_LINKED = (
    "SELECT " + _CASE_HEAD_LINKED_COLUMNS + " FROM cases c JOIN life_events e ON e.code = c.life_event_code"
)


def _head(row: Record | None) -> CaseHead | None:
    return CaseHead(**dict(row)) if row else None


async def case_for_reader(db: DB, case_no: str, person_id: int) -> CaseHead | None:
    """A case by its number with what deciding whether a resident may read it needs (app.cases.workflow.
    resident_relation): its applicant, the parent who filed it for a minor child, and this person's link to it as a
    party (一事不二办), if any."""
    return _head(
        await db.fetchrow(
            _CASE_HEAD_LINKED + " LEFT JOIN case_links l ON l.case_id = c.id AND l.person_id = $2 WHERE c.case_no = $1",
            case_no,
            person_id,
        )
    )


async def case_for_reader_with_contents(db: DB, case_no: str, person_id: int) -> tuple[CaseHead, CaseContents] | None:
    """case_for_reader with the case's tasks and steps (case_contents) in the same round trip: what the resident's
    case page shows, read before deciding whether they may (a refused reader is shown none of it)."""
    row = await db.fetchrow(
        "SELECT " + _CASE_HEAD_LINKED_COLUMNS + ", " + _CONTENTS + " FROM cases c "
        "JOIN life_events e ON e.code = c.life_event_code "
        "LEFT JOIN case_links l ON l.case_id = c.id AND l.person_id = $2 WHERE c.case_no = $1",
        case_no,
        person_id,
    )
    if row is None:
        return None
    head = dict(row)
    contents = _contents({"tasks": head.pop("tasks"), "timeline": head.pop("timeline")})
    return CaseHead(**head), contents


async def case_on_page_for_reader(db: DB, case_no: str, person_id: int, variant_prefix: str) -> CaseOnPage | None:
    """case_for_reader with the counts of changes the resident's case page depends on and the page kept for this
    reader's kind (`variant_prefix`, the language, followed by their role if they are a linked party: case_pages'
    variant), in one indexed read (the case's number, the link's and the kept page's primary keys)."""
    row = await db.fetchrow(
        "SELECT " + _CASE_HEAD_LINKED_COLUMNS + ", c.page_version, c.notices_version, p.etag, p.blocks, "
        f"CASE WHEN {_NOT_KEPT} THEN {_TASKS} END AS tasks, CASE WHEN {_NOT_KEPT} THEN {_TIMELINE} END AS timeline "
        "FROM cases c JOIN life_events e ON e.code = c.life_event_code "
        "LEFT JOIN case_links l ON l.case_id = c.id AND l.person_id = $2 "
        "LEFT JOIN case_pages p ON p.case_id = c.id AND p.variant = $3 || coalesce(l.role, '') WHERE c.case_no = $1",
        case_no,
        person_id,
        variant_prefix,
    )
    if row is None:
        return None
    head = dict(row)
    page_version, notices_version = head.pop("page_version"), head.pop("notices_version")
    etag, blocks = head.pop("etag"), head.pop("blocks")
    tasks, timeline = head.pop("tasks"), head.pop("timeline")
    return CaseOnPage(
        head=CaseHead(**head),
        page_version=page_version,
        notices_version=notices_version,
        kept=KeptCasePage(etag=etag, blocks=_KEPT_BLOCKS.decode(blocks)) if etag is not None else None,
        contents=_contents({"tasks": tasks, "timeline": timeline}) if tasks is not None else None,
    )


# No page kept for the reader drawn under the case's counts as they are: the page will be drawn, so the read brings
# what it is drawn from (a subquery in a CASE is run only when its branch is taken).
_NOT_KEPT = "(p.page_version IS DISTINCT FROM c.page_version OR p.notices_version IS DISTINCT FROM c.notices_version)"


# A kept case page's blocks (name → what it drew), as stored in case_pages.blocks.
_KEPT_BLOCKS = msgspec.msgpack.Decoder(dict[str, str])


async def keep_case_page(
    db: DB, case_id: int, variant: str, page_version: int, notices_version: int, page: KeptCasePage
) -> bool:
    """Keep (or overwrite) the case's page for one kind of reader and language, unless what it was drawn from has
    moved on meanwhile or the case was purged: an older drawing never replaces a newer one. Whether it was kept."""
    status = await db.execute(
        "INSERT INTO case_pages (case_id, variant, etag, blocks, page_version, notices_version) "
        "SELECT c.id, $2, $3, $4, $5, $6 FROM cases c "
        "WHERE c.id = $1 AND c.page_version = $5 AND c.notices_version = $6 AND c.purged_at IS NULL "
        "ON CONFLICT (case_id, variant) DO UPDATE SET etag = EXCLUDED.etag, blocks = EXCLUDED.blocks, "
        "page_version = EXCLUDED.page_version, notices_version = EXCLUDED.notices_version "
        "WHERE case_pages.etag <> EXCLUDED.etag",
        case_id,
        variant,
        page.etag,
        msgspec.msgpack.encode(page.blocks),
        page_version,
        notices_version,
    )
    return status != "INSERT 0 0"


async def forget_case_pages(tx: DB, case_ids: list[int]) -> int:
    """The kept case pages of the cases (purge); how many."""
    status = await tx.execute("DELETE FROM case_pages WHERE case_id = ANY($1::bigint[])", case_ids)
    return int(status.split()[-1])


async def case_filed_by_helper(db: DB, case_no: str, helper_account_id: int) -> CaseHead | None:
    """A case the helper filed as a helper (whether its applicant had authorised them: app.delegations)."""
    return _head(
        await db.fetchrow(
            _CASE_HEAD + " WHERE c.case_no = $1 AND c.filed_by_account_id = $2 AND c.filed_as = 'helper'",
            case_no,
            helper_account_id,
        )
    )


async def case_filed_at_window(db: DB, case_no: str, clerk_account_id: int) -> CaseHead | None:
    """A case this clerk filed at the window for a walk-in resident."""
    return _head(
        await db.fetchrow(
            _CASE_HEAD + " WHERE c.case_no = $1 AND c.filed_by_account_id = $2 AND c.filed_as = 'clerk'",
            case_no,
            clerk_account_id,
        )
    )


_TRACKING = """
        SELECT c.id, c.case_no, c.created_at, e.name AS life_event_name,
               (SELECT coalesce(json_agg(json_build_object(
                           'id', t.id, 'item_name', i.name, 'department_name', d.short_name, 'status', t.status,
                           'due_on', t.due_on, 'due_provisional', t.due_provisional) ORDER BY t.position), '[]')
                  FROM tasks t JOIN service_items i ON i.code = t.item_code
                  JOIN departments d ON d.code = t.department_code WHERE t.case_id = c.id) AS tasks,
               (SELECT coalesce(json_agg(json_build_object(
                           'at', ev.at, 'title', ev.title, 'task_id', ev.task_id, 'department_name', d.short_name,
                           'status', ev.status, 'has_note', ev.note IS NOT NULL)
                           ORDER BY ev.at, ev.id), '[]')
                  FROM timeline_events ev LEFT JOIN departments d ON d.code = ev.department_code
                  WHERE ev.case_id = c.id AND ev.visibility = 'resident') AS events
        FROM cases c JOIN life_events e ON e.code = c.life_event_code
"""


async def tracking_source(db: DB, case_id: int) -> TrackingSource:
    """Everything the public tracking view shows, in one round trip. Only public columns of the steps the resident
    reads: no names, no notes (whether a step has one, only), no internal step."""
    row = await db.fetchrow(_TRACKING + " WHERE c.id = $1", case_id)
    assert row is not None  # the case of the caller's own transaction
    # JSON from PostgreSQL carries dates and times as ISO strings: strict=False parses them into the rows' types.
    return msgspec.convert(dict(row), TrackingSource, strict=False)


async def tracking_snapshot(db: DB, token: str) -> TrackingSnapshot | None:
    row = await db.fetchrow("SELECT id, tracking_json FROM cases WHERE tracking_token = $1", token)
    return TrackingSnapshot(id=row["id"], tracking_json=row["tracking_json"]) if row else None


async def tracking_snapshot_with_page(db: DB, token: str, variant: str | None) -> TrackingSnapshot | None:
    """The snapshot, the count of its notices' changes and the page kept for one display of it (None: no page), in
    one indexed read (both primary keys)."""
    row = await db.fetchrow(
        "SELECT c.id, c.tracking_json, c.notices_version, p.etag, p.body, p.gzip FROM cases c "
        "LEFT JOIN tracking_pages p ON p.case_id = c.id AND p.variant = $2 WHERE c.tracking_token = $1",
        token,
        variant,
    )
    if row is None:
        return None
    page = KeptPage(etag=row["etag"], body=row["body"], gzip=row["gzip"]) if row["etag"] is not None else None
    return TrackingSnapshot(
        id=row["id"], tracking_json=row["tracking_json"], notices_version=row["notices_version"], page=page
    )


async def keep_tracking_page(
    db: DB, case_id: int, variant: str, snapshot: bytes, notices_version: int, page: KeptPage
) -> bool:
    """Keep (or overwrite) the case's page for one display, unless the snapshot or the notices it was drawn from have
    moved on meanwhile or the case was purged: an older drawing never replaces a newer one. Whether it was kept."""
    status = await db.execute(
        "INSERT INTO tracking_pages (case_id, variant, etag, body, gzip) "
        "SELECT c.id, $2, $3, $4, $6 FROM cases c WHERE c.id = $1 AND c.tracking_json = $5 AND c.notices_version = $7 "
        "AND c.purged_at IS NULL "
        "ON CONFLICT (case_id, variant) DO UPDATE SET etag = EXCLUDED.etag, body = EXCLUDED.body, gzip = EXCLUDED.gzip "
        "WHERE tracking_pages.etag <> EXCLUDED.etag",
        case_id,
        variant,
        page.etag,
        page.body,
        snapshot,
        page.gzip,
        notices_version,
    )
    return status != "INSERT 0 0"


async def forget_tracking_pages(tx: DB, case_ids: list[int]) -> int:
    """The kept tracking pages of the cases (purge); how many."""
    status = await tx.execute("DELETE FROM tracking_pages WHERE case_id = ANY($1::bigint[])", case_ids)
    return int(status.split()[-1])


async def save_tracking_snapshot(db: DB, case_id: int, snapshot: bytes) -> None:
    await db.execute("UPDATE cases SET tracking_json = $2 WHERE id = $1", case_id, snapshot)


async def add_scans(db: DB, counts: list[tuple[int, int]]) -> None:
    await db.execute(
        "UPDATE cases SET scan_count = scan_count + s.n FROM unnest($1::bigint[], $2::int[]) AS s(id, n) "
        "WHERE cases.id = s.id",
        [case_id for case_id, _ in counts],
        [n for _, n in counts],
    )


# A case's tasks in their order and its steps as the resident reads them, with their notes (never an internal step):
# two columns of JSON over the case `c` of the query they stand in.
_TASKS = """
    (SELECT coalesce(json_agg(json_build_object(
                'id', t.id, 'item_code', t.item_code, 'item_name', i.name, 'department_code', t.department_code,
                'department_name', d.short_name, 'status', t.status, 'due_on', t.due_on,
                'due_provisional', t.due_provisional) ORDER BY t.position), '[]')
     FROM tasks t JOIN service_items i ON i.code = t.item_code JOIN departments d ON d.code = t.department_code
     WHERE t.case_id = c.id)"""
_TIMELINE = """
    (SELECT coalesce(json_agg(json_build_object(
                'at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'status', ev.status,
                'title', ev.title, 'task_id', ev.task_id, 'note', ev.note, 'department_name', d.short_name)
                ORDER BY ev.at, ev.id), '[]')
     FROM timeline_events ev LEFT JOIN departments d ON d.code = ev.department_code
     WHERE ev.case_id = c.id AND ev.visibility = 'resident')"""
_CONTENTS = _TASKS + " AS tasks, " + _TIMELINE + " AS timeline"


async def case_contents(db: DB, case_id: int) -> CaseContents:
    """A case's tasks and steps (_CONTENTS) in one round trip."""
    row = await db.fetchrow("SELECT " + _CONTENTS + " FROM cases c WHERE c.id = $1", case_id)
    assert row is not None  # the id of a case the caller has just read
    return _contents(dict(row))


def _contents(columns: dict[str, object]) -> CaseContents:
    # JSON carries dates and times as ISO strings: strict=False parses them into the rows' types. The steps' times
    # are written in UTC ("Z"), as asyncpg reads a timestamptz, not in the connection's time zone as to_json would.
    return msgspec.convert(columns, CaseContents, strict=False)


async def cases_of_person(db: DB, person_id: int, account_id: int) -> list[CaseOfPerson]:
    """The cases a person may read, newest first: their own, those their account filed for a minor child as a
    parent, and those they are linked to as a party (一事不二办) — the rows app.cases.workflow.resident_relation then
    tells apart (`linked_as` is the link's role, whichever)."""
    rows = await db.fetch(
        "SELECT c.case_no, c.life_event_code, e.name AS life_event_name, c.created_at, "
        "array_agg(t.status ORDER BY t.position) AS task_statuses, c.applicant_person_id, "
        "CASE WHEN c.filed_as = 'parent' THEN c.filed_by_account_id END AS parent_account_id, "
        "(SELECT l.role FROM case_links l WHERE l.case_id = c.id AND l.person_id = $1) AS linked_as "
        "FROM cases c JOIN life_events e ON e.code = c.life_event_code JOIN tasks t ON t.case_id = c.id "
        "WHERE c.applicant_person_id = $1 OR (c.filed_as = 'parent' AND c.filed_by_account_id = $2) "
        "OR c.id IN (SELECT l.case_id FROM case_links l WHERE l.person_id = $1) "
        "GROUP BY c.id, e.name ORDER BY c.created_at DESC",
        person_id,
        account_id,
    )
    return [CaseOfPerson(**dict(r)) for r in rows]


async def cases_of_organisation(db: DB, credit_code: str, scope: list[str] | None) -> list[CaseListed]:
    """An organisation's cases (法人办事), whoever of its legal representative and 经办人 filed them, newest first;
    only those of the life events in `scope` when given (an agent's)."""
    rows = await db.fetch(
        "SELECT c.case_no, c.life_event_code, e.name AS life_event_name, c.created_at, "
        "array_agg(t.status ORDER BY t.position) AS task_statuses "
        "FROM cases c JOIN life_events e ON e.code = c.life_event_code JOIN tasks t ON t.case_id = c.id "
        "WHERE c.subject_org_credit_code = $1 AND ($2::text[] IS NULL OR c.life_event_code = ANY($2)) "
        "GROUP BY c.id, e.name ORDER BY c.created_at DESC",
        credit_code,
        scope,
    )
    return [CaseListed(**dict(r)) for r in rows]


async def case_numbers(db: DB, case_ids: list[int]) -> dict[int, str]:
    rows = await db.fetch("SELECT id, case_no FROM cases WHERE id = ANY($1::bigint[])", case_ids)
    return {r["id"]: r["case_no"] for r in rows}


async def organisation_of_case(db: DB, case_no: str) -> tuple[str, str] | None:
    """(the organisation's credit code, the life event) of a case filed for an organisation; None for any other."""
    row = await db.fetchrow(
        "SELECT subject_org_credit_code, life_event_code FROM cases "
        "WHERE case_no = $1 AND subject_org_credit_code IS NOT NULL",
        case_no,
    )
    return (row["subject_org_credit_code"], row["life_event_code"]) if row else None


async def case_by_number(db: DB, case_no: str) -> CaseHead | None:
    return _head(await db.fetchrow(_CASE_HEAD + " WHERE c.case_no = $1", case_no))


async def cases_filed_by_helpers(
    db: DB, helper_account_ids: list[int], client_person_ids: list[int]
) -> list[HelperFiledCase]:
    """The cases each helper filed as a helper for the client beside them in the two lists, newest first, with their
    tasks' states."""
    rows = await db.fetch(
        "SELECT c.case_no, c.filed_by_account_id AS helper_account_id, c.applicant_person_id, c.life_event_code, "
        "array_agg(t.status ORDER BY t.position) AS task_statuses "
        "FROM unnest($1::bigint[], $2::bigint[]) AS p(helper, client) "
        "JOIN cases c ON c.filed_by_account_id = p.helper AND c.applicant_person_id = p.client "
        "JOIN tasks t ON t.case_id = c.id "
        "WHERE c.filed_as = 'helper' GROUP BY c.id ORDER BY c.created_at DESC, c.id DESC",
        helper_account_ids,
        client_person_ids,
    )
    return [HelperFiledCase(**dict(r)) for r in rows]


async def cases_of_deceased_applicants(
    db: DB, *, region_prefix: str, department: str | None
) -> list[DeceasedApplicantCase]:
    """Cases of applicants now 已注销 in the region (with a task of the department, when given), newest first."""
    rows = await db.fetch(
        "SELECT c.case_no, e.name AS life_event_name, c.created_at, p.name AS applicant_name, p.died_on, "
        "array_agg(t.status ORDER BY t.position) AS task_statuses "
        "FROM cases c JOIN people p ON p.id = c.applicant_person_id JOIN life_events e ON e.code = c.life_event_code "
        "JOIN tasks t ON t.case_id = c.id "
        "WHERE p.status = 'deceased' AND coalesce(p.region_code, '') LIKE $1 || '%' "
        "GROUP BY c.id, e.name, p.name, p.died_on "
        "HAVING $2::text IS NULL OR bool_or(t.department_code = $2) "
        "ORDER BY c.created_at DESC, c.id DESC LIMIT 200",
        region_prefix,
        department,
    )
    return [DeceasedApplicantCase(**dict(r)) for r in rows]


# --- tasks: staff queues, and moving one (the workflow) -------------------------------------------

# A task's row as TaskRow reads it, from `t` (the tasks table, or the rows an INSERT returned) and its case `c` (the
# cases table, or the case an INSERT returned in the same statement: insert_case): its columns, and what `t` joins.
_TASK_COLUMNS = """
    t.id, t.case_id, t.status, t.due_on, t.due_provisional, t.updated_at, t.item_code, t.department_code,
    i.name AS item_name, i.promised_limit_value, i.promised_limit_unit, i.result_certificate,
    i.kind AS item_kind, t.office_region, office.name AS office_name, c.received_region,
    d.short_name AS department_name, d.name AS department_full_name,
    c.case_no, c.created_at AS submitted_at, c.applicant_person_id, c.life_event_code, c.channel,
    t.delivery_method,
    e.name AS life_event_name,
    coalesce(p.region_code, '') AS applicant_region,
    CASE WHEN c.filed_as = 'parent' THEN c.filed_by_account_id END AS parent_account_id,
    t.corrects_certificate_id
"""
_TASK_JOINS = """
    JOIN {cases} c ON c.id = t.case_id
    JOIN life_events e ON e.code = c.life_event_code
    JOIN people p ON p.id = c.applicant_person_id
    JOIN service_items i ON i.code = t.item_code
    JOIN departments d ON d.code = t.department_code
    LEFT JOIN regions office ON office.code = t.office_region
"""
_TASK_OF_T = f"SELECT {_TASK_COLUMNS} FROM {{tasks}} t {_TASK_JOINS}"
_TASK = _TASK_OF_T.format(tasks="tasks", cases="cases")


def _task(row: Record) -> TaskRow:
    return msgspec.convert(dict(row), TaskRow)


async def lock_task(db: DB, task_id: int) -> TaskRow | None:
    """The task row locked for this transaction: a second actor waits, then sees the new state."""
    row = await db.fetchrow(_TASK + " WHERE t.id = $1 FOR UPDATE OF t", task_id)
    return _task(row) if row else None


async def get_task(db: DB, task_id: int) -> TaskRow | None:
    row = await db.fetchrow(_TASK + " WHERE t.id = $1", task_id)
    return _task(row) if row else None


async def set_task_status(db: DB, task_id: int, status: str, due_on: date | None, provisional: bool) -> None:
    await db.execute(
        "UPDATE tasks SET status = $2, due_on = $3, due_provisional = $4, version = version + 1, updated_at = now() "
        "WHERE id = $1",
        task_id,
        status,
        due_on,
        provisional,
    )


async def record_delivery(db: DB, task_id: int, method: str, ref: str | None) -> None:
    await db.execute("UPDATE tasks SET delivery_method = $2, delivery_ref = $3 WHERE id = $1", task_id, method, ref)


async def last_event_day(db: DB, task_id: int, status: str) -> date | None:
    return await db.fetchval(
        "SELECT (max(at) AT TIME ZONE 'Asia/Shanghai')::date FROM timeline_events WHERE task_id = $1 AND status = $2",
        task_id,
        status,
    )


# The queue's order: soonest due first, a task with no deadline last, then by id. Its indexes (migrations 0037, 0042)
# hold the open tasks only: a queue query names the states it wants as constants in its text (never a parameter),
# which the planner sees are all open, so those indexes serve it, and whose share of the tasks it estimates from the
# statistics of each state. Each entry carries the task's state, offices and department (0042): the walk decides
# whether a task is in the caller's queue on the entry, without reading the task, its case or its applicant.
_QUEUE_KEY = "coalesce({t}.due_on, 'infinity'::date)"
QUEUE_START = (date.min, 0)  # before every task: the first page
QUEUE_PAGE_QUERY = "-- the queue's page\n"  # how tests/test_performance.py finds the query choosing a page


def _open_states(statuses: list[str], alias: str = "t") -> str:
    """`t.status IN (…)` of these states, each one of OPEN_TASK_STATUSES (a name, never a person's input)."""
    if not statuses or not OPEN_TASK_STATUSES.issuperset(statuses):
        raise ValueError(f"a queue holds open tasks only: {statuses}")
    return f"{alias}.status IN (" + ", ".join(f"'{s}'" for s in sorted(set(statuses))) + ")"


async def queue(
    db: DB,
    *,
    statuses: list[str],
    region_prefix: str,
    department: str | None,
    received_too: bool,
    untaken_departments: list[str] | None = None,
    kind: str | None = None,
    due_before: date | None = None,
    due_from: date | None = None,
    due_until: date | None = None,
    after: tuple[date | None, int] = QUEUE_START,
    limit: int,
    whole_cases: bool = False,
    plan_once: bool = False,
) -> QueueRows:
    """A page of the tasks in these states routed to an office within the region, of the department when given, and
    those no office has taken yet (全城通办) of `untaken_departments` (None: any); `received_too`: also every task of a
    case received at a hall within the region, or filed online or by a helper for a resident of it (a window clerk's:
    workflow.receiving_hall). Narrowed to an item kind, a deadline before, from or until a day when given. Soonest due
    first: the `limit` tasks after `after` (the deadline, None for none, and id of the last task of the page before).

    `whole_cases`: the page is `limit` cases instead, each with all its tasks in the queue, in the order of each
    case's first task in the queue (its anchor), and `after` is the anchor of the last case of the page before: a case
    is on one page only, however far apart its tasks' deadlines are; read with what the queue says of each case
    (QueueRows.case_facts). `plan_once`: without a department, the page is
    chosen by the query's generic plan (_by_generic_plan): the same index walk for every cursor and region.

    The page is chosen first, walking an index in queue order and stopping after `limit` matches (the receiving hall
    is the task's own `receiving_region`, kept from the case: 0042), then read in full;
    each filter adds its clause (never `$n IS NULL OR …`, which a prepared statement's generic plan cannot index)."""
    args: list[object] = [after[0], after[1], region_prefix, limit]

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    untaken = "{t}.office_region IS NULL"
    if untaken_departments is not None:
        untaken += f" AND {{t}}.department_code = ANY({arg(untaken_departments)}::text[])"
    # A task's own clauses, for any alias of tasks (a case's other tasks are held to the same), each on a column the
    # queue indexes carry (0042): the walk turns away other offices' tasks without reading them, their cases or people.
    own = [
        _open_states(statuses, "{t}"),
        f"(({untaken}) OR {{t}}.office_region LIKE $3 || '%'"
        + (" OR {t}.receiving_region LIKE $3 || '%')" if received_too else ")"),
    ]
    if department is not None:
        own.append(f"{{t}}.department_code = {arg(department)}")
    if kind is not None:
        own.append(f"{{t}}.item_code IN (SELECT code FROM service_items WHERE kind = {arg(kind)})")
    if due_before is not None:
        own.append(f"{{t}}.due_on < {arg(due_before)}")
    if due_from is not None:
        own.append(f"{{t}}.due_on >= {arg(due_from)}")
    if due_until is not None:
        own.append(f"{{t}}.due_on <= {arg(due_until)}")

    def in_queue(alias: str) -> str:
        return " AND ".join(clause.replace("{t}", alias) for clause in own)

    key = _QUEUE_KEY
    after_clause = f"({key.format(t='t')}, t.id) > (coalesce($1::date, 'infinity'::date), $2)"
    walk = f"FROM tasks t WHERE {in_queue('t')} AND {after_clause}"
    if not whole_cases:
        page = f"SELECT t.id {walk} ORDER BY {key.format(t='t')}, t.id LIMIT $4"
    else:
        earlier = (
            f"NOT EXISTS (SELECT 1 FROM tasks s WHERE s.case_id = t.case_id AND {in_queue('s')} "
            f"AND ({key.format(t='s')}, s.id) < ({key.format(t='t')}, t.id))"
        )
        anchors = (
            f"SELECT t.case_id, {key.format(t='t')} AS case_key, t.id AS case_anchor {walk} AND {earlier} "
            f"ORDER BY {key.format(t='t')}, t.id LIMIT $4"
        )
        page = (
            f"SELECT s.id FROM ({anchors}) a JOIN tasks s ON s.case_id = a.case_id WHERE {in_queue('s')} "
            f"ORDER BY a.case_key, a.case_anchor, {key.format(t='s')}, s.id"
        )
    # Not with a department: its generic plan, not knowing which department (nor how many of its tasks are open),
    # can choose a bitmap of all its tasks after the cursor and a sort, where each department's plan walks the index.
    if plan_once and department is None:
        rows = await _by_generic_plan(db, QUEUE_PAGE_QUERY + _page_read(f"ARRAY({page})", whole_cases), args)
    else:
        # Planned for its arguments, the page and its read as one statement would plan the read's many joins on every
        # page too (more than both statements cost together): the page's ids first, then the page read by them.
        ids = [r["id"] for r in await db.fetch(QUEUE_PAGE_QUERY + page, *args)]
        rows = await db.fetch(_page_read("$1::bigint[]", whole_cases), ids) if ids else []
    return _queue_rows(rows, whole_cases)


def _page_read(ids: str, whole_cases: bool) -> str:
    """The tasks of `ids` (an array, in queue order) read in that order, for a page of whole cases with what the queue
    says of their cases (_CASE_FACTS: the same case and applicant rows, not read again)."""
    facts, facts_joins = (f", {_CASE_FACTS}", _CASE_FACTS_JOINS) if whole_cases else ("", "")
    return (
        f"SELECT {_TASK_COLUMNS}{facts} FROM unnest({ids}) WITH ORDINALITY AS page(id, n) "
        f"JOIN tasks t ON t.id = page.id {_TASK_JOINS.format(cases='cases')}{facts_joins}ORDER BY page.n"
    )


def _queue_rows(rows: list[Record], whole_cases: bool) -> QueueRows:
    """A page as read (_page_read): its tasks, and for a page of whole cases each case's facts, read once a case."""
    read = [dict(r) for r in rows]
    facts: dict[str, QueueCaseFacts] = {}
    if whole_cases:
        for row in read:
            if row["case_no"] not in facts:
                facts[row["case_no"]] = msgspec.convert(row, QueueCaseFacts)
    return QueueRows(tasks=[msgspec.convert(row, TaskRow) for row in read], case_facts=facts)


async def _by_generic_plan(db: DB, query: str, args: list[object]) -> list[Record]:
    """A page of the queue chosen by its query's generic plan, and read: the plan prepared once per connection
    instead of planned afresh on every page (about 1 ms of the server's time a page of whole cases at 100,000 open
    tasks, 0.4 ms a page of the API's tasks, more than running it; issue 20). Left to itself the server keeps planning
    it for each cursor and region, its estimate of the generic plan being the costlier. Both walk the same index from
    the cursor (the cursor and the region are on the index entry either way; tests/test_performance.py checks the
    generic plan). Planned once, the page's ids and its read are one statement: no round trip between them. In a
    read-only transaction of its own, so that the setting (SET LOCAL) ends with it; within a caller's transaction it
    is left as it is.

    The transaction is begun and set in one round trip (one simple query runs both; asyncpg's transaction() would
    send them one by one): three round trips, not four. Should the page's query fail, the connection goes back to
    the pool, which rolls the transaction back."""
    if not isinstance(db, asyncpg.Pool):
        return await db.fetch(query, *args)
    async with db.acquire() as conn:
        await conn.execute("BEGIN READ ONLY; SET LOCAL plan_cache_mode = force_generic_plan")
        rows = await conn.fetch(query, *args)
        await conn.execute("COMMIT")
        return rows


async def department_tasks(
    db: DB,
    *,
    department: str,
    region_prefix: str,
    status: str | None,
    since: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[TaskRow]:
    """A department's tasks routed to an office within a region (or to none yet: 全城通办), in the order they last
    changed (then by id): a page of them after `after` (the last one of the page before), changed at `since` or
    later, in `status` when given."""
    after_at, after_id = after if after is not None else (None, None)
    rows = await db.fetch(
        _TASK + " WHERE t.department_code = $1 AND (t.office_region IS NULL OR t.office_region LIKE $2 || '%') "
        "AND ($3::text IS NULL OR t.status = $3) AND ($4::timestamptz IS NULL OR t.updated_at >= $4) "
        "AND ($5::timestamptz IS NULL OR (t.updated_at, t.id) > ($5, $6)) "
        "ORDER BY t.updated_at, t.id LIMIT $7",
        department,
        region_prefix,
        status,
        since,
        after_at,
        after_id,
        limit,
    )
    return [_task(r) for r in rows]


async def upload_chunk(db: DB, case_id: int, material_code: str, offset: int, length: int) -> bytes | None:
    """`length` bytes from `offset` of the (first) file of a case answering a material; None when there is none."""
    return await db.fetchval(
        "SELECT substring(content FROM $3 FOR $4) FROM uploads WHERE case_id = $1 AND material_code = $2 "
        "ORDER BY id LIMIT 1",
        case_id,
        material_code,
        offset + 1,
        length,
    )


async def tasks_of_case(db: DB, case_id: int) -> list[TaskRow]:
    return [_task(r) for r in await db.fetch(_TASK + " WHERE t.case_id = $1 ORDER BY t.position", case_id)]


async def lock_tasks_of_case(db: DB, case_id: int) -> list[TaskRow]:
    """Every task of the case, locked for this transaction, in the order the merge of duplicates locks them too."""
    rows = await db.fetch(_TASK + " WHERE t.case_id = $1 ORDER BY t.position FOR UPDATE OF t", case_id)
    return [_task(r) for r in rows]


# --- what the statistics recount --------------------------------------------------------------------------------------


async def last_case_id(db: DB) -> int:
    return await db.fetchval("SELECT coalesce(max(id), 0) FROM cases")


async def task_histories(db: DB, after_case_id: int, upto_case_id: int) -> list[TaskHistoryRow]:
    """The tasks of the cases with ids in (after, upto], with the moments of their first 办结 and 出件 events."""
    rows = await db.fetch(
        """WITH steps AS (
               SELECT task_id, min(at) FILTER (WHERE status = 'completed') AS completed_at,
                      min(at) FILTER (WHERE status = 'delivered') AS delivered_at
               FROM timeline_events
               WHERE case_id > $1 AND case_id <= $2 AND task_id IS NOT NULL AND status IN ('completed', 'delivered')
               GROUP BY task_id)
           SELECT t.id, t.case_id, t.department_code, t.office_region, coalesce(p.region_code, '') AS applicant_region,
                  t.item_code, i.kind AS item_kind, c.channel, c.created_at AS submitted_at, t.due_on,
                  t.delivery_method, i.result_certificate->>'kind' AS certificate_kind, s.completed_at, s.delivered_at
           FROM tasks t
           JOIN cases c ON c.id = t.case_id
           JOIN people p ON p.id = c.applicant_person_id
           JOIN service_items i ON i.code = t.item_code
           LEFT JOIN steps s ON s.task_id = t.id
           WHERE t.case_id > $1 AND t.case_id <= $2 AND t.corrects_certificate_id IS NULL
           ORDER BY t.id""",
        after_case_id,
        upto_case_id,
    )
    return [msgspec.convert(dict(r), TaskHistoryRow) for r in rows]


# --- a case as the back office opens it -----------------------------------------------------------


async def staff_case_record(db: DB, case_no: str) -> StaffCaseRecord | None:
    row = await db.fetchrow(
        "SELECT c.id, c.case_no, c.life_event_code, e.name AS life_event_name, c.created_at, c.channel, c.filed_as, "
        "c.data_enc, coalesce(p.region_code, '') AS applicant_region, p.name AS applicant_name, "
        "p.id_number_masked AS applicant_id_masked, p.id AS applicant_person_id, c.purged_at, "
        "c.subject_org_credit_code, o.name AS subject_org_name "
        "FROM cases c JOIN life_events e ON e.code = c.life_event_code JOIN people p ON p.id = c.applicant_person_id "
        "LEFT JOIN organisations o ON o.credit_code = c.subject_org_credit_code "
        "WHERE c.case_no = $1",
        case_no,
    )
    return StaffCaseRecord(**dict(row)) if row else None


# What the queue says of a case besides its tasks (QueueCaseFacts, with c.case_no and c.channel), from a case `c` and
# its applicant `p`: the applicant, their district (the first six digits of their region), for a case filed at a
# window the hall that received it (recorded on the case), and whether it is on a flag of 一事不二办 still open.
_CASE_FACTS = (
    f"p.name AS applicant_name, c.filed_as, {OPEN_FLAG_OF_CASE} AS duplicate, district.name AS applicant_district, "
    "hall.name AS receiving_region, hall.code AS receiving_region_code, o.name AS subject_org_name"
)
_CASE_FACTS_JOINS = (
    "LEFT JOIN organisations o ON o.credit_code = c.subject_org_credit_code "
    "LEFT JOIN regions district ON district.code = left(p.region_code, 6) "
    "LEFT JOIN regions hall ON hall.code = c.received_region "
)


async def queue_case_facts(db: DB, case_nos: list[str]) -> list[QueueCaseFacts]:
    """Each case's applicant and where it was received, and whether it is flagged (_CASE_FACTS)."""
    rows = await db.fetch(
        f"SELECT c.case_no, c.channel, {_CASE_FACTS} "
        "FROM cases c JOIN people p ON p.id = c.applicant_person_id "
        f"{_CASE_FACTS_JOINS}WHERE c.case_no = ANY($1::text[])",
        case_nos,
    )
    return [QueueCaseFacts(**dict(r)) for r in rows]


async def staff_timeline_of(db: DB, case_id: int) -> list[StaffTimelineEntry]:
    """A case's history for the back office: every step with its note, who took it and who may read it, oldest first."""
    rows = await db.fetch(
        "SELECT ev.at, ev.status, ev.title, ev.task_id, ev.note, ev.visibility, d.short_name AS department_name, "
        "a.name AS actor_name FROM timeline_events ev "
        "LEFT JOIN departments d ON d.code = ev.department_code "
        "LEFT JOIN accounts a ON a.id = ev.actor_account_id "
        "WHERE ev.case_id = $1 ORDER BY ev.at, ev.id",
        case_id,
    )
    return [StaffTimelineEntry(**dict(r)) for r in rows]


async def uploads_of_case(db: DB, case_id: int) -> list[StaffUpload]:
    rows = await db.fetch(
        "SELECT token, material_code, filename, content_type, size FROM uploads WHERE case_id = $1 ORDER BY id",
        case_id,
    )
    return [StaffUpload(**dict(r)) for r in rows]


async def upload_of_case(db: DB, token: str) -> StoredUpload | None:
    row = await db.fetchrow(
        "SELECT u.filename, u.content_type, u.content, u.material_code, c.case_no "
        "FROM uploads u JOIN cases c ON c.id = u.case_id WHERE u.token = $1",
        token,
    )
    return StoredUpload(**dict(row)) if row else None


async def cases_filed_at_window(db: DB, clerk_account_id: int, person_id: int, since: datetime) -> list[FiledCase]:
    """Cases one clerk filed at the window for one resident since a moment (the in-person ID check)."""
    rows = await db.fetch(
        "SELECT c.case_no, c.created_at, e.name AS life_event_name FROM cases c "
        "JOIN life_events e ON e.code = c.life_event_code "
        "WHERE c.applicant_person_id = $1 AND c.created_at >= $2 AND c.filed_by_account_id = $3 "
        "AND c.filed_as = 'clerk' ORDER BY c.created_at",
        person_id,
        since,
        clerk_account_id,
    )
    return [FiledCase(**dict(r)) for r in rows]


# --- drafts ---------------------------------------------------------------------------------------


# One draft per account, life event, person filed for and organisation filed for (none: NULL).
_DRAFT = (
    "account_id = $1 AND life_event_code = $2 AND subject_person_id = $3 "
    "AND subject_org_credit_code IS NOT DISTINCT FROM $4"
)


async def get_draft(
    db: DB, account_id: int, life_event_code: str, person_id: int, org_credit_code: str | None
) -> StoredDraft | None:
    row = await db.fetchrow(
        f"SELECT data_enc, version, form_checksum, items FROM drafts WHERE {_DRAFT}",
        account_id,
        life_event_code,
        person_id,
        org_credit_code,
    )
    return StoredDraft(**dict(row)) if row else None


async def save_draft(
    db: DB,
    *,
    account_id: int,
    life_event_code: str,
    person_id: int,
    org_credit_code: str | None,
    expected_version: int,
    data_enc: bytes,
    form_checksum: str,
    items: list[str] | None = None,
) -> int | None:
    """Write version expected+1; None when someone else saved in between (the caller answers 409)."""
    if expected_version == 0:
        return await db.fetchval(
            "INSERT INTO drafts (account_id, life_event_code, subject_person_id, subject_org_credit_code, data_enc, "
            "version, form_checksum, items) VALUES ($1, $2, $3, $4, $5, 1, $6, $7) ON CONFLICT DO NOTHING "
            "RETURNING version",
            account_id,
            life_event_code,
            person_id,
            org_credit_code,
            data_enc,
            form_checksum,
            items,
        )
    return await db.fetchval(
        "UPDATE drafts SET data_enc = $5, version = version + 1, form_checksum = $6, items = $8, updated_at = now() "
        f"WHERE {_DRAFT} AND version = $7 RETURNING version",
        account_id,
        life_event_code,
        person_id,
        org_credit_code,
        data_enc,
        form_checksum,
        expected_version,
        items,
    )


async def delete_draft(
    db: DB, account_id: int, life_event_code: str, person_id: int, org_credit_code: str | None
) -> None:
    await db.execute(f"DELETE FROM drafts WHERE {_DRAFT}", account_id, life_event_code, person_id, org_credit_code)


async def delete_drafts_for_person(db: DB, account_id: int, person_id: int) -> None:
    """Every draft one account keeps for one person (a clerk's, when the resident leaves the window)."""
    await db.execute("DELETE FROM drafts WHERE account_id = $1 AND subject_person_id = $2", account_id, person_id)


# --- uploads --------------------------------------------------------------------------------------


async def insert_upload(
    db: DB,
    *,
    token: str,
    account_id: int,
    person_id: int,
    org_credit_code: str | None,
    life_event_code: str,
    material_code: str,
    filename: str,
    content_type: str,
    content: bytes,
    sha256: bytes,
) -> None:
    await db.execute(
        "INSERT INTO uploads (token, account_id, subject_person_id, subject_org_credit_code, life_event_code, "
        "material_code, filename, content_type, size, sha256, content) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        token,
        account_id,
        person_id,
        org_credit_code,
        life_event_code,
        material_code,
        filename,
        content_type,
        len(content),
        sha256,
        content,
    )


async def insert_supplement(
    db: DB,
    *,
    token: str,
    account_id: int,
    person_id: int,
    case_id: int,
    life_event_code: str,
    material_code: str,
    filename: str,
    content_type: str,
    content: bytes,
    sha256: bytes,
) -> None:
    await db.execute(
        "INSERT INTO uploads (token, account_id, subject_person_id, life_event_code, material_code, case_id, "
        "filename, content_type, size, sha256, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        token,
        account_id,
        person_id,
        life_event_code,
        material_code,
        case_id,
        filename,
        content_type,
        len(content),
        sha256,
        content,
    )


async def pending_uploads(
    db: DB, account_id: int, person_id: int, org_credit_code: str | None, life_event_code: str, tokens: list[str]
) -> list[PendingUpload]:
    """The account's uploads not yet on a case, made for this person (and this organisation, or none) and form."""
    rows = await db.fetch(
        "SELECT token, material_code FROM uploads WHERE token = ANY($1::text[]) AND account_id = $2 "
        "AND subject_person_id = $3 AND subject_org_credit_code IS NOT DISTINCT FROM $4 AND life_event_code = $5 "
        "AND case_id IS NULL",
        tokens,
        account_id,
        person_id,
        org_credit_code,
        life_event_code,
    )
    return [PendingUpload(token=r["token"], material_code=r["material_code"]) for r in rows]


async def attach_uploads_as(db: DB, case_id: int, tokens: list[str], material_code: str) -> None:
    """Uploads attached to a case as one material (the evidence of a correction: correction:<task id>)."""
    await db.execute(
        "UPDATE uploads SET case_id = $1, material_code = $3 WHERE token = ANY($2::text[]) AND case_id IS NULL",
        case_id,
        tokens,
        material_code,
    )


async def attach_uploads(db: DB, case_id: int, tokens: list[str]) -> None:
    await db.execute(
        "UPDATE uploads SET case_id = $1 WHERE token = ANY($2::text[]) AND case_id IS NULL", case_id, tokens
    )


async def upload_for_account(db: DB, token: str, account_id: int) -> UploadContent | None:
    """A file this account uploaded, or one attached to a case it filed."""
    row = await db.fetchrow(
        "SELECT u.filename, u.content_type, u.content FROM uploads u LEFT JOIN cases c ON c.id = u.case_id "
        "WHERE u.token = $1 AND (u.account_id = $2 OR c.filed_by_account_id = $2)",
        token,
        account_id,
    )
    return UploadContent(**dict(row)) if row else None


async def open_task_counts(db: DB, statuses: frozenset[str]) -> list[TaskCount]:
    rows = await db.fetch(
        """SELECT t.department_code AS department, coalesce(left(p.region_code, 6), '') AS district, t.status,
                  count(*) AS open,
                  count(*) FILTER (WHERE t.due_on < current_date AND t.status <> 'completed') AS overdue
           FROM tasks t
           JOIN cases c ON c.id = t.case_id
           LEFT JOIN people p ON p.id = c.applicant_person_id
           WHERE t.status = ANY($1::text[])
           GROUP BY 1, 2, 3""",
        sorted(statuses),
    )
    return [TaskCount(**dict(r)) for r in rows]


# --- retention: cases past it lose their answers, files and notes; forms never sent are dropped -----------------

_RETENTION_FACTS = """
    SELECT c.id, c.case_no, c.created_at, t.task_statuses, t.item_codes, t.last_change
    FROM cases c,
         LATERAL (SELECT coalesce(array_agg(status ORDER BY position), '{}') AS task_statuses,
                         coalesce(array_agg(item_code ORDER BY position), '{}') AS item_codes,
                         max(updated_at) AS last_change
                  FROM tasks WHERE case_id = c.id) t
"""


def _retention_facts(rows: list[Record]) -> list[RetentionFacts]:
    return [RetentionFacts(**dict(r)) for r in rows]


async def retention_facts_page(
    db: DB, *, created_before: datetime, after: tuple[datetime, int] | None, limit: int
) -> list[RetentionFacts]:
    """Cases not yet purged that were filed before a moment, oldest first, `limit` of them after `after` (the last
    one of the page before): a walk along cases_unpurged_idx that never holds more than a page."""
    after_at, after_id = after if after is not None else (None, None)
    rows = await db.fetch(
        _RETENTION_FACTS + " WHERE c.purged_at IS NULL AND c.created_at < $1 "
        "AND ($2::timestamptz IS NULL OR (c.created_at, c.id) > ($2, $3)) ORDER BY c.created_at, c.id LIMIT $4",
        created_before,
        after_at,
        after_id,
        limit,
    )
    return _retention_facts(rows)


async def lock_for_purge(tx: DB, case_ids: list[int]) -> list[RetentionFacts]:
    """The cases (not yet purged) with their tasks share-locked first, as the workflow locks a task before its case:
    a transition in flight finishes before these facts are read, and none starts until the purge commits."""
    await tx.execute("SELECT 1 FROM tasks WHERE case_id = ANY($1::bigint[]) ORDER BY id FOR SHARE", case_ids)
    rows = await tx.fetch(
        _RETENTION_FACTS + " WHERE c.id = ANY($1::bigint[]) AND c.purged_at IS NULL ORDER BY c.id", case_ids
    )
    return _retention_facts(rows)


async def forget_answers(tx: DB, case_ids: list[int]) -> list[int]:
    """Answers removed and the case marked purged; the ids it did that to (one another purge got first is skipped)."""
    rows = await tx.fetch(
        "UPDATE cases SET data_enc = NULL, purged_at = now() WHERE id = ANY($1::bigint[]) AND purged_at IS NULL "
        "RETURNING id",
        case_ids,
    )
    return [r["id"] for r in rows]


async def delete_uploads_of_cases(tx: DB, case_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Every file of the cases (the content is in the row itself); by case id: (files, bytes) removed."""
    rows = await tx.fetch(
        "WITH gone AS (DELETE FROM uploads WHERE case_id = ANY($1::bigint[]) RETURNING case_id, size) "
        "SELECT case_id, count(*) AS files, sum(size) AS bytes FROM gone GROUP BY case_id",
        case_ids,
    )
    return {r["case_id"]: (r["files"], r["bytes"]) for r in rows}


async def clear_notes_of_cases(tx: DB, case_ids: list[int]) -> dict[int, int]:
    """Each step keeps its time, public title, status and department; its note (a 补正 reason, the resident's answer,
    who filed at which window) goes. By case id: how many notes."""
    rows = await tx.fetch(
        "WITH cleared AS (UPDATE timeline_events SET note = NULL WHERE case_id = ANY($1::bigint[]) "
        "AND note IS NOT NULL RETURNING case_id) SELECT case_id, count(*) AS notes FROM cleared GROUP BY case_id",
        case_ids,
    )
    return {r["case_id"]: r["notes"] for r in rows}


async def clear_delivery_refs(tx: DB, case_ids: list[int]) -> None:
    """A 出件 by post keeps its method; the waybill number, which leads to the address, goes. updated_at stays: the
    data-exchange API pages by it, and nothing a department acts on changed."""
    await tx.execute(
        "UPDATE tasks SET delivery_ref = NULL WHERE case_id = ANY($1::bigint[]) AND delivery_ref IS NOT NULL",
        case_ids,
    )


async def delete_drafts_saved_before(db: DB, before: datetime, limit: int) -> int:
    """Up to `limit` drafts last saved before a moment; how many."""
    return await db.fetchval(
        "WITH gone AS (DELETE FROM drafts WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM drafts WHERE updated_at < $1 LIMIT $2)) AND updated_at < $1 RETURNING 1) "
        "SELECT count(*) FROM gone",
        before,
        limit,
    )


async def delete_unattached_uploads_before(db: DB, before: datetime, limit: int) -> tuple[int, int]:
    """Up to `limit` files attached to no case that arrived before a moment, unless a draft of the same form (account,
    life event, person) was saved since: (files, bytes) removed."""
    row = await db.fetchrow(
        "WITH gone AS (DELETE FROM uploads WHERE id IN ("
        "SELECT u.id FROM uploads u WHERE u.case_id IS NULL AND u.created_at < $1 AND NOT EXISTS ("
        "SELECT 1 FROM drafts d WHERE d.account_id = u.account_id AND d.life_event_code = u.life_event_code "
        "AND d.subject_person_id = u.subject_person_id AND d.updated_at >= $1) LIMIT $2) "
        "AND case_id IS NULL RETURNING size) SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM gone",
        before,
        limit,
    )
    assert row is not None
    return row["files"], row["bytes"]


# --- 一事不二办: subject keys and linked parties ------------------------------------------------------------------


async def cases_about(
    db: DB, subject_key: bytes, *, recent_days: int, open_statuses: frozenset[str], limit: int = 20
) -> list[SubjectCase]:
    """The cases with this subject key still open (a task in `open_statuses`) or made within `recent_days`, newest
    first; at most `limit`, from the newest 50 with the key (one short index scan, however many someone filed)."""
    rows = await db.fetch(
        "WITH newest AS (SELECT id FROM cases WHERE subject_key = $1 AND data_enc IS NOT NULL "
        "ORDER BY created_at DESC LIMIT 50) "
        "SELECT c.id, c.case_no, c.created_at, c.applicant_person_id, c.data_enc, "
        "array_agg(t.item_code ORDER BY t.position) AS item_codes, "
        "array_agg(t.status ORDER BY t.position) AS task_statuses "
        "FROM newest JOIN cases c ON c.id = newest.id JOIN tasks t ON t.case_id = c.id "
        "GROUP BY c.id HAVING c.created_at > now() - make_interval(days => $2) OR bool_or(t.status = ANY($3::text[])) "
        "ORDER BY c.created_at DESC, c.id DESC LIMIT $4",
        subject_key,
        recent_days,
        sorted(open_statuses),
        limit,
    )
    return [SubjectCase(**dict(r)) for r in rows]


async def link_party(db: DB, case_id: int, person_id: int, role: str) -> None:
    await db.execute(
        "INSERT INTO case_links (case_id, person_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        case_id,
        person_id,
        role,
    )


async def cases_to_key(db: DB, after_id: int, limit: int) -> list[CaseToKey]:
    """Cases without a subject key after `after_id`, in id order (migration 0032's data step, a batch at a time)."""
    rows = await db.fetch(
        "SELECT c.id, c.data_enc, array_agg(t.item_code ORDER BY t.position) AS item_codes, "
        "p.region_code AS applicant_region "
        "FROM cases c JOIN tasks t ON t.case_id = c.id JOIN people p ON p.id = c.applicant_person_id "
        "WHERE c.id > $1 AND c.subject_key IS NULL GROUP BY c.id, p.region_code ORDER BY c.id LIMIT $2",
        after_id,
        limit,
    )
    return [CaseToKey(**dict(r)) for r in rows]


async def set_subject_keys(db: DB, keys: list[tuple[int, bytes]]) -> None:
    await db.execute(
        "UPDATE cases SET subject_key = k.key FROM unnest($1::bigint[], $2::bytea[]) AS k(id, key) "
        "WHERE cases.id = k.id",
        [case_id for case_id, _ in keys],
        [key for _, key in keys],
    )


async def move_uploads(db: DB, from_case_id: int, to_case_id: int) -> int:
    """A withdrawn duplicate's materials, moved to the case it was merged into; how many."""
    moved = await db.fetchval(
        "WITH m AS (UPDATE uploads SET case_id = $2 WHERE case_id = $1 RETURNING 1) SELECT count(*) FROM m",
        from_case_id,
        to_case_id,
    )
    return int(moved)
