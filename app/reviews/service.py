"""The rules of 好差评: who may rate which case (its applicant, a parent who filed, a helper with the client beside
them, or the resident on the window's tablet), one rating per task and one for the case, editable for 7 days,
reasons only for the two lowest levels; a bad rating opens a 整改 item for the office's supervisor (回访 within 1
working day, the result within 5), which escalates to the city's supervisor once overdue (worked out when read).

The office rated is the task's department serving the applicant's district. Nothing here copies who the resident is:
the supervisor reads the case number, the rating and its words, and reaches the resident through the case's own
timeline (inbox and push), never by a name or a number kept with the rating."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import asyncpg
import msgspec

from app.calendar.service import CHINA, current_calendar
from app.cases import service as cases
from app.cases.models import TaskRow
from app.cases.offices import answering_office
from app.cases.states import FINISHED_TASK_STATUSES
from app.errors import Conflict, FieldErrors, NotFound
from app.reviews import store
from app.reviews.models import (
    BAD_LEVELS,
    LEVEL_LABELS,
    REASON_TAGS,
    TEXT_MAX,
    FollowUpRecord,
    FollowUpRow,
    FollowUpView,
    OpenFollowUp,
    RatingRecord,
    RatingScreen,
    ReviewBody,
    ReviewRow,
    ReviewView,
    TaskToRate,
)
from app.stats import service as stats
from app.stats.models import FollowUpFacts, RatingFacts
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.scope import region_prefix, serves
from db.pool import DB, Tx
from hooks import outbox as hooks
from hooks.models import Event
from i18n import N_, gettext

EDITABLE_FOR = timedelta(days=7)
CONTACT_WITHIN_WORKING_DAYS = 1
RESULT_WITHIN_WORKING_DAYS = 5
KIOSK_LINK_LIFETIME = timedelta(minutes=15)
CITY = "320400"
FOLLOW_UP_NOTE_MAX = 1000
# A task its applicant withdrew (撤回申请) is over too, but nobody worked it to an end: never rated on its own, and no
# bar to rating the case as a whole once the rest are finished.
_WITHDRAWN = "withdrawn"


def _all_over(tasks: list[TaskRow]) -> bool:
    """The case as a whole may be rated: every task finished or withdrawn, and at least one finished."""
    return all(t.status in FINISHED_TASK_STATUSES or t.status == _WITHDRAWN for t in tasks) and any(
        t.status in FINISHED_TASK_STATUSES for t in tasks
    )


_LIST_LIMIT = 500


class Rater:
    """Who is rating and how: the channel, the account that pressed (None: the resident on the window's tablet),
    and whether a helper's client was beside them."""

    def __init__(self, channel: str, account_id: int | None, client_present: bool = False) -> None:
        self.channel = channel
        self.account_id = account_id
        self.client_present = client_present


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


# --- rating ----------------------------------------------------------------------------------------


def checked_rating(level: int, tags: list[str], text: str | None) -> tuple[int, list[str], str | None]:
    """The level, the reasons (kept in the scale's order) and the words, or one Chinese message per field."""
    errors: dict[str, str] = {}
    if level not in LEVEL_LABELS:
        errors["level"] = N_("请选择评价：非常满意、满意、基本满意、不满意或非常不满意")
    chosen = set(tags)
    if chosen and level not in BAD_LEVELS:
        errors["tags"] = N_("只有选择“不满意”或“非常不满意”时才需要选择原因")
    elif chosen - set(REASON_TAGS):
        errors["tags"] = N_("原因请从以下选项中选择：") + "、".join(REASON_TAGS)
    words = (text or "").strip() or None
    if words is not None and len(words) > TEXT_MAX:
        errors["text"] = gettext("评价内容请不要超过%(text_max)s个字（现有%(len)s个字）") % {
            "text_max": TEXT_MAX,
            "len": len(words),
        }
    if errors:
        raise FieldErrors(errors)
    return level, [t for t in REASON_TAGS if t in chosen], words


async def _tasks_for(db: DB, user: CurrentUser, case_no: str, client_present: bool) -> tuple[list[TaskRow], Rater]:
    """The case's tasks, if the caller may rate it: its applicant (or the parent who filed), or the helper who filed
    it under the applicant's delegation, with the applicant beside them. Anyone else: no such case."""
    if user.kind == "resident":
        return await cases.tasks_to_rate_by_resident(db, user, case_no), Rater("online", user.account_id)
    if "helper" in user.roles:
        tasks = await cases.tasks_to_rate_by_helper(db, user, case_no)
        if not client_present:
            raise FieldErrors(
                {"client_present": N_("评价须由办事人本人作出：请在本人在场时勾选“本人在场，由本人选择”")}
            )
        return tasks, Rater("helper", user.account_id, client_present=True)
    raise NotFound(N_("没有找到该办件"))


def _office_region(task: TaskRow) -> str:
    """The office that did the work (app.cases.offices: routed by competence)."""
    return answering_office(task.office_region, task.applicant_region)


def _target(tasks: list[TaskRow], task_id: int | None) -> tuple[str | None, str]:
    """(department, office region) of what is rated, once it may be rated: a finished task, or the whole case
    once all its tasks are finished."""
    if not tasks:
        raise NotFound(N_("没有找到该办件"))
    if task_id is None:
        if not _all_over(tasks):
            raise Conflict(N_("办件的事项尚未全部办结，全部办结后可以评价整体办理；已办结的事项现在就可以评价"))
        return None, _office_region(tasks[0])
    task = next((t for t in tasks if t.id == task_id), None)
    if task is None:
        raise NotFound(N_("该办件中没有这个事项"))
    if task.status not in FINISHED_TASK_STATUSES:
        raise Conflict(N_("该事项尚未办结，办结后才能评价"))
    return task.department_code, _office_region(task)


async def rate(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, case_no: str, body: ReviewBody, now: datetime
) -> tuple[ReviewView, bool]:
    """Rate a task of a case, or the case as a whole; (the rating, whether it is new). A second rating of the same
    task edits the first while it is editable (7 days, or 7 days after a follow-up's answer)."""
    level, tags, text = checked_rating(body.level, body.tags, body.text)
    tasks, rater = await _tasks_for(db, user, case_no, body.client_present)
    async with db.acquire() as tx, tx.transaction():
        review, created = await _rate(tx, tasks, body.task_id, level, tags, text, rater, now)
    await audit(db, conn, "review.rate", "ok", subject=f"case:{tasks[0].case_no}", channel=rater.channel, level=level)
    return _view(review, None, now), created


async def _rate(
    tx: Tx,
    tasks: list[TaskRow],
    task_id: int | None,
    level: int,
    tags: list[str],
    text: str | None,
    rater: Rater,
    now: datetime,
) -> tuple[ReviewRow, bool]:
    department, region = _target(tasks, task_id)
    case_id = tasks[0].case_id
    existing = await store.lock_review(tx, case_id, task_id)
    if existing is not None:
        if now > existing.editable_until:
            raise Conflict(N_("评价提交已超过7天，不能再修改"))
        review = await store.update_review(
            tx,
            existing.id,
            level=level,
            tags=tags,
            text=text,
            channel=rater.channel,
            rated_by_account_id=rater.account_id,
            client_present=rater.client_present,
            now=now,
        )
        created = False
    else:
        inserted = await store.insert_review(
            tx,
            case_id=case_id,
            task_id=task_id,
            department_code=department,
            region_code=region,
            level=level,
            tags=tags,
            text=text,
            channel=rater.channel,
            rated_by_account_id=rater.account_id,
            client_present=rater.client_present,
            now=now,
            editable_until=now + EDITABLE_FOR,
        )
        if inserted is None:
            raise Conflict(N_("该事项刚刚已经评价过，请刷新后修改"))
        review, created = inserted, True
        await _tell_department_system(tx, review, tasks[0])
    # The public statistics count it (好评率) in this transaction: given, or changed from what it was.
    before = _rating_facts(existing, tasks) if existing is not None else None
    await stats.rating_changed(tx, before, _rating_facts(review, tasks))
    if level in BAD_LEVELS:
        await _open_follow_up(tx, review, now)
    return review, created


async def _tell_department_system(tx: Tx, review: ReviewRow, task: TaskRow) -> None:
    """review.created to the rated department's subscribed systems, in the rating's transaction: the level and
    reason tags only — never the resident's words or who they are (the office reads the rest on its console)."""
    if review.department_code is None:  # the case as a whole: no one department's
        return
    await hooks.emit(
        tx,
        [
            Event(
                type="review.created",
                department_code=review.department_code,
                office_region=review.region_code,
                data={
                    "review_id": review.id,
                    "case_no": task.case_no,
                    "task_id": review.task_id,
                    "level": review.level,
                    "tags": review.tags,
                },
            )
        ],
    )


def _rating_facts(review: ReviewRow, tasks: list[TaskRow]) -> RatingFacts:
    """A rating as the statistics count it: on the day first given, for the office rated."""
    task = next((t for t in tasks if t.id == review.task_id), None)
    return RatingFacts(
        department_code=review.department_code or "",
        office_region=review.region_code,
        item_code=task.item_code if task else "",
        channel=tasks[0].channel,
        rated_on=china_day(review.created_at),
        level=review.level,
    )


def _follow_up_facts(row: FollowUpRow) -> FollowUpFacts:
    """A follow-up as the statistics count it: on the day its result is due; on time when 回访 and the result each
    came by their deadline (a result given without a 回访 first counts as the 回访 too)."""
    contacted = row.contacted_at or row.resolved_at
    on_time = (
        row.resolved_at is not None
        and contacted is not None
        and china_day(row.resolved_at) <= row.result_due_on
        and china_day(contacted) <= row.contact_due_on
    )
    return FollowUpFacts(
        department_code=row.department_code or "",
        office_region=row.region_code,
        due_on=row.result_due_on,
        on_time=on_time,
    )


async def _open_follow_up(tx: Tx, review: ReviewRow, now: datetime) -> None:
    """差评 → 整改: 回访 by the next working day, the result within five working days (the working-day calendar). One
    still open stands; one answered opens again with new deadlines (the statistics count the new one instead)."""
    previous = await store.lock_follow_up_of_review(tx, review.id)
    if previous is not None and previous.resolved_at is None:
        return
    calendar, today = await current_calendar(tx), china_day(now)
    result_due_on = calendar.add_working_days(today, RESULT_WITHIN_WORKING_DAYS).due_on
    await store.open_follow_up(
        tx,
        review=review,
        opened_at=now,
        contact_due_on=calendar.add_working_days(today, CONTACT_WITHIN_WORKING_DAYS).due_on,
        result_due_on=result_due_on,
    )
    opened = FollowUpFacts(
        department_code=review.department_code or "",
        office_region=review.region_code,
        due_on=result_due_on,
        on_time=False,
    )
    await stats.follow_up_changed(tx, _follow_up_facts(previous) if previous else None, opened)


# --- reading ---------------------------------------------------------------------------------------


def _overdue(row: FollowUpRow, today: date) -> bool:
    if row.resolved_at is not None:
        return False
    return today > row.result_due_on or (row.contacted_at is None and today > row.contact_due_on)


def follow_up_view(row: FollowUpRow, today: date) -> FollowUpView:
    overdue = _overdue(row, today)
    return FollowUpView(
        id=row.id,
        contact_due_on=row.contact_due_on,
        result_due_on=row.result_due_on,
        contacted_at=row.contacted_at,
        contact_note=row.contact_note,
        resolved_at=row.resolved_at,
        result_text=row.result_text,
        overdue=overdue,
        escalated=overdue,
    )


def _view(review: ReviewRow, follow_up: FollowUpRow | None, now: datetime) -> ReviewView:
    return ReviewView(
        task_id=review.task_id,
        level=review.level,
        level_label=LEVEL_LABELS[review.level],
        tags=review.tags,
        text=review.text,
        channel=review.channel,
        client_present=review.client_present,
        created_at=review.created_at,
        updated_at=review.updated_at,
        editable_until=review.editable_until,
        editable=now <= review.editable_until,
        follow_up=follow_up_view(follow_up, china_day(now)) if follow_up else None,
    )


async def _views_of_case(db: DB, case_id: int, now: datetime) -> list[ReviewView]:
    follow_ups = {f.review_id: f for f in await store.follow_ups_of_case(db, case_id)}
    return [_view(r, follow_ups.get(r.id), now) for r in await store.reviews_of_case(db, case_id)]


async def reviews_of(db: DB, user: CurrentUser, case_no: str, now: datetime) -> list[ReviewView]:
    """The ratings of a case its rater may read (with each follow-up's 回访 and result)."""
    tasks, _ = await _tasks_for(db, user, case_no, client_present=True)
    return await _views_of_case(db, tasks[0].case_id, now)


def _screen(tasks: list[TaskRow], views: list[ReviewView], only: int | str | None = "all") -> RatingScreen:
    by_task = {v.task_id: v for v in views}
    targets = [
        TaskToRate(task_id=t.id, name=t.item_name, department_name=t.department_name, review=by_task.get(t.id))
        for t in tasks
        if t.status in FINISHED_TASK_STATUSES and (only == "all" or only == t.id)
    ]
    if _all_over(tasks) and only in ("all", None):
        targets.append(TaskToRate(task_id=None, name=N_("整体办理"), department_name=None, review=by_task.get(None)))
    return RatingScreen(case_no=tasks[0].case_no, life_event_name=tasks[0].life_event_name, targets=targets)


async def rating_screen(db: DB, user: CurrentUser, case_no: str, now: datetime) -> RatingScreen:
    """What the resident may rate on a case (finished tasks, the whole case once all are) and how they rated it."""
    tasks, _ = await _tasks_for(db, user, case_no, client_present=True)
    return _screen(tasks, await _views_of_case(db, tasks[0].case_id, now))


# --- the window's tablet -----------------------------------------------------------------------------


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def open_kiosk_link(db: DB, conn: Connection, clerk: CurrentUser, case_no: str, now: datetime) -> str:
    """A one-time link for the rating screen of one case, for the resident to tap on the window's tablet. It rates
    the case as a whole once every task is finished, else the task finished last; it grants nothing else."""
    tasks = await cases.tasks_at_window(db, clerk, case_no)
    finished = [t for t in tasks if t.status in FINISHED_TASK_STATUSES]
    if not finished:
        raise Conflict(N_("该办件还没有办结的事项：办结出件后再请办事人评价"))
    target = None if _all_over(tasks) else max(finished, key=lambda t: t.updated_at).id
    token = secrets.token_urlsafe(32)
    await store.insert_kiosk_link(
        db,
        token_hash=_token_hash(token),
        case_id=tasks[0].case_id,
        task_id=target,
        account_id=clerk.account_id,
        expires_at=now + KIOSK_LINK_LIFETIME,
    )
    await audit(db, conn, "review.kiosk_link", "ok", subject=f"case:{tasks[0].case_no}")
    return token


async def kiosk_screen(db: DB, token: str, now: datetime) -> RatingScreen:
    link = await store.kiosk_link(db, _token_hash(token))
    if link is None or link.used_at is not None or now > link.expires_at:
        raise NotFound(N_("评价页面已失效，请窗口工作人员重新打开"))
    tasks = await cases.tasks_of_case(db, link.case_id)
    return _screen(tasks, [], only=link.task_id)


async def rate_at_kiosk(
    db: asyncpg.Pool, conn: Connection, token: str, level: int, tags: list[str], text: str | None, now: datetime
) -> None:
    """The resident's tap on the window's tablet: the link's one rating, channel 'window', no account behind it."""
    level, tags, text = checked_rating(level, tags, text)
    async with db.acquire() as tx, tx.transaction():
        link = await store.kiosk_link(tx, _token_hash(token), lock=True)
        if link is None or link.used_at is not None or now > link.expires_at:
            raise NotFound(N_("评价页面已失效，请窗口工作人员重新打开"))
        tasks = await cases.tasks_of_case(tx, link.case_id)
        await _rate(tx, tasks, link.task_id, level, tags, text, Rater("window", None), now)
        await store.spend_kiosk_link(tx, _token_hash(token), now)
    await audit(db, conn, "review.rate", "ok", subject=f"case:{tasks[0].case_no}", channel="window", level=level)


# --- follow-ups (整改), for supervisors --------------------------------------------------------------


def is_city_supervisor(user: CurrentUser) -> bool:
    return "supervisor" in user.roles and region_prefix(user.region_code or "") == region_prefix(CITY)


def _reaches(user: CurrentUser, row: FollowUpRow, today: date) -> bool:
    """A supervisor reaches the follow-ups of the offices in their region (and department, when they have one);
    the city's supervisor the overdue ones (escalated) and those of no district."""
    if "supervisor" not in user.roles:
        return False
    if user.department_code is not None and user.department_code != row.department_code:
        return False
    if is_city_supervisor(user):
        return _overdue(row, today) or row.region_code == CITY
    return serves(user.region_code, row.region_code)


def _open_item(record: FollowUpRecord, today: date) -> OpenFollowUp:
    return OpenFollowUp(
        follow_up=follow_up_view(record.follow_up, today),
        case_no=record.case_no,
        department_code=record.follow_up.department_code,
        department_name=record.department_name,
        region_code=record.follow_up.region_code,
        level=record.level,
        level_label=LEVEL_LABELS[record.level],
        tags=record.tags,
        text=record.text,
    )


async def open_follow_ups(db: DB, user: CurrentUser, today: date) -> list[OpenFollowUp]:
    """The open 整改 items a supervisor answers for, soonest due first: a district's supervisor those of its offices;
    the city's supervisor the overdue ones of every office (escalated; worked out here, on read, so no job has to run
    for it) and those of no district."""
    department = user.department_code
    if is_city_supervisor(user):
        overdue = await store.open_follow_ups_overdue(db, today=today, limit=_LIST_LIMIT)
        cityless = await store.open_follow_ups(db, region_prefix=CITY, department=department, limit=_LIST_LIMIT)
        records = [r for r in overdue if department is None or r.follow_up.department_code == department]
        seen = {r.follow_up.id for r in records}
        records += [r for r in cityless if r.follow_up.id not in seen]
        records.sort(key=lambda r: (r.follow_up.result_due_on, r.follow_up.id))
    else:
        records = await store.open_follow_ups(
            db, region_prefix=region_prefix(user.region_code or "-"), department=department, limit=_LIST_LIMIT
        )
    return [_open_item(r, today) for r in records]


def _checked_note(text: str, field: str) -> str:
    words = text.strip()
    if not words:
        raise FieldErrors({field: N_("请写明回访情况或整改结果，办事人会在办件中看到")})
    if len(words) > FOLLOW_UP_NOTE_MAX:
        raise FieldErrors(
            {field: gettext("请不要超过%(follow_up_note_max)s个字") % {"follow_up_note_max": FOLLOW_UP_NOTE_MAX}}
        )
    return words


async def answer_follow_up(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, follow_up_id: int, *, step: str, text: str, now: datetime
) -> None:
    """回访 (step 'contact') or the 整改 result (step 'result'): the words reach the resident on the case's timeline
    (inbox, push); after the result the resident may rate again for 7 days."""
    words = _checked_note(text, "text")
    async with db.acquire() as tx, tx.transaction():
        row = await store.lock_follow_up(tx, follow_up_id)
        if row is None or not _reaches(user, row, china_day(now)):
            raise NotFound(N_("没有找到该整改事项"))
        if row.resolved_at is not None:
            raise Conflict(N_("该整改事项已答复"))
        if step == "contact":
            await store.record_contact(tx, follow_up_id, note=words, at=now, account_id=user.account_id)
            title = N_("评价回访：工作人员已就您的评价回访")
        else:
            await store.record_result(tx, follow_up_id, text=words, at=now, account_id=user.account_id)
            answered = msgspec.structs.replace(row, resolved_at=now, contacted_at=row.contacted_at or now)
            await stats.follow_up_changed(tx, _follow_up_facts(row), _follow_up_facts(answered))
            await store.extend_editing(tx, row.review_id, now + EDITABLE_FOR)
            title = N_("评价整改：已答复整改结果，您可以重新评价")
        await cases.record_review_step(tx, row.case_id, title=title, note=words, actor_account_id=user.account_id)
    await audit(db, conn, f"review.follow_up.{step}", "ok", subject=f"follow_up:{follow_up_id}")


# --- retention --------------------------------------------------------------------------------------------------


async def forget_texts_of_cases(tx: Tx, case_ids: list[int]) -> dict[int, int]:
    """The words of ratings and settled follow-ups of cases past their retention (`python -m app purge`): the level,
    tags and dates stay for the statistics. By case id: how many texts were cleared."""
    return await store.clear_texts_of_cases(tx, case_ids)


# --- what the statistics recount --------------------------------------------------------------------------------------

_RECOUNT_BATCH = 5_000


def _counted_rating(record: RatingRecord) -> RatingFacts:
    return RatingFacts(
        department_code=record.department_code or "",
        office_region=record.region_code,
        item_code=record.item_code,
        channel=record.channel,
        rated_on=china_day(record.created_at),
        level=record.level,
    )


async def counted_ratings(tx: Tx) -> AsyncIterator[list[RatingFacts]]:
    """Every rating as the statistics count it, a batch at a time (a recount: app.stats.service.rebuild)."""
    after = 0
    while records := await store.rating_records(tx, after, _RECOUNT_BATCH):
        yield [_counted_rating(r) for r in records]
        after = records[-1].id


async def counted_follow_ups(tx: Tx) -> AsyncIterator[list[FollowUpFacts]]:
    """Every follow-up as the statistics count it, a batch at a time."""
    after = 0
    while rows := await store.follow_up_records(tx, after, _RECOUNT_BATCH):
        yield [_follow_up_facts(r) for r in rows]
        after = rows[-1].id
