"""网上预约: booking a visit to a hall for an item done in person (居民身份证换领: photo and fingerprints) or, as the
resident prefers, at a window; cancelling, moving (改约), the clerk's 签到; the halls and their places.

Who books for whom is app.filing's one rule (resolve_filing), as for a case: the resident themself (or their minor
child), a helper's client under a live delegation covering the item, the resident a clerk received at the window. A
booking someone may not act for looks exactly like no booking (NotFound), the refusal audited by that rule.

No oversell: a booking locks its half-day's places row (appointment_capacity, SELECT … FOR UPDATE) before it counts
the places taken and inserts, in one transaction; every booking of that hall's half-day for the group waits its turn,
so the count it reads is the count it writes against. One live booking per person and item is a unique index.

What a resident hears: the day before at REMINDER_HOUR a reminder (inbox and push, app.notifications.schedule_reminder,
sent once by a worker); and at once when a helper or a clerk booked, moved or cancelled it for them.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import msgspec

from app.accounts import service as accounts
from app.appointments import store
from app.appointments.models import (
    AppointmentBody,
    AppointmentRow,
    AppointmentView,
    BookableItem,
    CheckInView,
    HallRow,
    HallView,
    NewAppointment,
    RescheduleBody,
    SlotView,
)
from app.appointments.slots import (
    BOOKING_DAYS,
    HALVES,
    SlotKey,
    day_label,
    half_label,
    is_bookable,
    parse_slot_id,
    reminder_due,
    slot_keys,
    slot_label,
    slot_times,
)
from app.calendar.service import china_time, current_calendar, today_in_china
from app.catalogue import service as catalogue
from app.catalogue.translations import text as catalogue_text
from app.console import service as console
from app.delegations import service as delegations
from app.errors import Conflict, FieldErrors, Forbidden, NotFound
from app.filing import service as filing
from app.notifications import service as notifications
from app.people import service as people
from app.people.identity import mask_name
from app.web.types import Connection
from auth import ratelimit
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from db.pool import DB, Tx
from i18n import N_, gettext, use_language

FULL = N_("该时段已约满，请选择其他时段")
NOT_FOUND = N_("没有找到该预约，请核对预约码")
NOT_BOOKABLE = N_("该事项不需要预约，请在办事指南中查看办理方式")
NO_HALL = N_("没有找到该办事大厅，请重新选择")
QR_TITLE = N_("预约签到二维码")
# Live bookings one person may hold at once (all items): enough for a family's errands, too few to hoard places.
MAX_LIVE = 3
# Bookings, moves and cancellations per person in an hour: a script cannot hold places by cycling them.
CHANGES_PER_HOUR = 10
STATUS_LABELS = {"booked": N_("已预约"), "arrived": N_("已签到"), "cancelled": N_("已取消"), "missed": N_("未到")}
# 预约码: 8 characters without 0/O, 1/I/L (read aloud at a window, typed from a phone's screen).
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE = re.compile(r"[2-9A-HJKMNP-Z]{8}")
_CODE_TRIES = 5


# --- codes and links ---------------------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def normalize_code(raw: str) -> str:
    """As typed: spaces, dashes and case do not matter."""
    return re.sub(r"[^0-9A-Za-z]", "", raw)[:20].upper()


def grouped_code(code: str) -> str:
    """7KQ2 M9XD: as the page shows it, to be read out."""
    return f"{code[:4]} {code[4:]}"


def check_in_url(public_url: str, code: str) -> str:
    """What the booking's QR code encodes: the clerk's page of the booking (/scan opens it; anyone else is asked to
    sign in and then refused)."""
    return f"{public_url}/console/appointments/{code}"


def qr_url(public_url: str, appointment_id: int) -> str:
    return f"{public_url}/api/v1/appointments/{appointment_id}/qr.svg"


# --- halls, items, slots -------------------------------------------------------------------------------------------


def _hall_view(hall: HallRow) -> HallView:
    return HallView(
        id=hall.id,
        name=hall.name,
        region=hall.region_code,
        region_name=hall.region_name,
        address=hall.address,
        phone=hall.phone,
        hours=hall.hours.text,
    )


async def halls(db: DB) -> list[HallView]:
    return [_hall_view(h) for h in await store.halls(db)]


async def hall(db: DB, hall_id: str) -> HallRow:
    found = await store.hall(db, hall_id)
    if found is None:
        raise NotFound(NO_HALL)
    return found


async def bookable(db: DB, item_code: str) -> BookableItem:
    """An item a visit may be booked for, with the windows whose places it takes; NotFound for any other."""
    item = await catalogue.service_item(db, item_code)
    group = await store.group_name(db, item.appointment_group) if item and item.appointment_group else None
    if item is None or item.appointment_group is None or group is None:
        raise NotFound(NOT_BOOKABLE)
    return BookableItem(item_code=item.code, item_name=item.name, group_code=item.appointment_group, group_name=group)


async def halls_for(db: DB, item: BookableItem, home_region: str | None = None) -> list[HallView]:
    """The halls offering places for the item, the hall of the person's own district first."""
    offering = {c.hall_id for c in await store.places_of(db, item.group_code)}
    found = [h for h in await store.halls(db) if h.id in offering]
    home = (home_region or "")[:6]
    found.sort(key=lambda h: h.region_code != home)  # stable: the configured order otherwise
    return [_hall_view(h) for h in found]


async def slots(
    db: DB, hall_id: str, item_code: str, start: date | None = None, end: date | None = None
) -> list[SlotView]:
    """The half-days of a hall that may be booked for the item (working days from tomorrow, BOOKING_DAYS ahead,
    within [start, end] when given) with the places left; none when the hall does not offer the item."""
    item = await bookable(db, item_code)
    return await slots_of(db, await hall(db, hall_id), item, start, end)


async def slots_of(
    db: DB, at: HallRow, item: BookableItem, start: date | None = None, end: date | None = None
) -> list[SlotView]:
    places = {c.half: c.places for c in await store.places_of(db, item.group_code, at.id)}
    calendar = await current_calendar(db)
    keys = [k for k in slot_keys(calendar, today_in_china(), start, end) if k.half in places]
    if not keys:
        return []
    taken = {
        (c.day, c.half): c.booked
        for c in await store.booked_counts(db, item.group_code, at.id, keys[0].day, keys[-1].day)
    }
    views: list[SlotView] = []
    for key in keys:
        begins, ends = slot_times(at.hours, key)
        capacity = places[key.half]
        views.append(
            SlotView(
                id=key.id,
                day=key.day,
                half=key.half,
                start=begins,
                end=ends,
                capacity=capacity,
                remaining=max(capacity - taken.get((key.day, key.half), 0), 0),
            )
        )
    return views


# --- booking ---------------------------------------------------------------------------------------------------------


async def _choice(db: DB, hall_id: str, slot_id: str) -> tuple[HallRow, SlotKey]:
    """The hall and half-day chosen, each refused beside its own field."""
    errors: dict[str, str] = {}
    chosen_hall = await store.hall(db, hall_id) if hall_id else None
    if chosen_hall is None:
        errors["hall"] = N_("请选择办事大厅")
    key = parse_slot_id(slot_id)
    if key is None:
        errors["slot"] = N_("请选择预约时段")
    elif not is_bookable(await current_calendar(db), today_in_china(), key):
        errors["slot"] = gettext("只能预约明天起%(booking_days)s天内的工作日，请重新选择时段") % {
            "booking_days": BOOKING_DAYS
        }
    if errors or chosen_hall is None or key is None:
        raise FieldErrors(errors)
    return chosen_hall, key


async def _count_change(db: asyncpg.Pool, person_id: int) -> None:
    """A booking, move or cancellation for this person (429 past CHANGES_PER_HOUR in an hour)."""
    await ratelimit.count_attempt(db, {ratelimit.appointment_change_subject(person_id): CHANGES_PER_HOUR})


async def _take_place(tx: Tx, at: HallRow, item: BookableItem, key: SlotKey) -> None:
    """Hold the half-day's places (row lock) and make sure one is left; the caller inserts or moves in the same
    transaction."""
    places = await store.lock_places(tx, at.id, item.group_code, key.half)
    if not places:
        raise FieldErrors(
            {
                "hall": gettext("%(name)s不办理%(group_name)s预约，请选择其他大厅")
                % {"name": at.name, "group_name": item.group_name}
            }
        )
    if await store.count_taken(tx, at.id, item.group_code, key.day, key.half) >= places:
        raise Conflict(FULL, slot=key.id)


async def _insert(tx: Tx, new: NewAppointment) -> int:
    for _ in range(_CODE_TRIES):
        appointment_id = await store.insert(tx, new)
        if appointment_id is not None:
            return appointment_id
        new = msgspec.structs.replace(new, code=new_code())
    raise Conflict(N_("系统繁忙，请稍后再试"))  # five codes in a row taken: not by chance


async def book(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, body: AppointmentBody
) -> AppointmentRow:
    """Book a half-day at a hall for an item, for the caller or whom they act for. FieldErrors for a bad choice,
    Conflict (409) when the half-day is full (FULL) or the person already has a live booking of the item."""
    try:
        item = await bookable(db, body.item)
    except NotFound:
        raise FieldErrors({"item": NOT_BOOKABLE}) from None
    at, key = await _choice(db, body.hall, body.slot)
    filed = await filing.resolve_filing(db, cipher, user, body.on_behalf_of, item.item_code, conn)
    person_id, today = filed.person_id, today_in_china()
    await _count_change(db, person_id)
    new = NewAppointment(
        code=new_code(),
        person_id=person_id,
        item_code=item.item_code,
        group_code=item.group_code,
        hall_id=at.id,
        day=key.day,
        half=key.half,
        booked_by_account_id=user.account_id,
        booked_as=filed.filed_as,
    )
    try:
        async with db.acquire() as tx, tx.transaction():
            await store.mark_missed(tx, person_id, item.item_code, today)
            await _refuse_second_booking(tx, person_id, item, today)
            await _take_place(tx, at, item, key)
            booked = await store.get(tx, await _insert(tx, new))
            assert booked is not None
            await _tell(tx, user, booked, at, filed.filed_as, "booked")
            await audit(
                tx,
                conn,
                "appointment.book",
                "ok",
                subject=f"appointment:{booked.id}",
                person=person_id,
                item=item.item_code,
                hall=at.id,
                slot=key.id,
                booked_as=filed.filed_as,
            )
    except asyncpg.UniqueViolationError:  # the same person's other request won the race for this item
        raise Conflict(gettext("已预约%(item_name)s，如需更换时间请改约") % {"item_name": item.item_name}) from None
    return booked


async def _refuse_second_booking(tx: Tx, person_id: int, item: BookableItem, today: date) -> None:
    live = await store.live_of_item(tx, person_id, item.item_code, today)
    if live is not None:
        raise Conflict(
            gettext("已预约%(item_name)s（%(day_label)s），如需更换时间请改约")
            % {"item_name": item.item_name, "day_label": day_label(live.day)},
            appointment=live.id,
        )
    if await store.live_count(tx, person_id, today) >= MAX_LIVE:
        raise Conflict(gettext("同时最多保留%(max_live)s个预约，请先办完或取消其中一个") % {"max_live": MAX_LIVE})


# --- one booking: who may see and change it --------------------------------------------------------------------------


async def _acting_for(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, appointment_id: int
) -> tuple[AppointmentRow, str]:
    """The booking and how the caller acts for its person (self, parent, helper, clerk); NotFound for a booking of
    anyone they may not act for (app.filing decides, and audits the refusal), as for one that does not exist."""
    row = await store.get(db, appointment_id)
    if row is None:
        raise NotFound(NOT_FOUND)
    if user.person_id is not None and row.person_id == user.person_id:
        return row, "self"
    identity = await people.identity_of(db, cipher, row.person_id)
    if identity is None:
        raise NotFound(NOT_FOUND)
    try:
        filed = await filing.resolve_filing(db, cipher, user, identity.id_number, row.item_code, conn)
    except Forbidden:
        raise NotFound(NOT_FOUND) from None
    return row, filed.filed_as


def _status(row: AppointmentRow, today: date) -> str:
    return "missed" if row.status == "booked" and row.day < today else row.status


def _require_live(row: AppointmentRow | None, today: date) -> AppointmentRow:
    if row is None:
        raise NotFound(NOT_FOUND)
    status = _status(row, today)
    if status == "cancelled":
        raise Conflict(N_("该预约已取消"))
    if status == "arrived":
        raise Conflict(N_("该预约已签到，不能再取消或改约"))
    if status == "missed":
        raise Conflict(N_("预约日期已过，请重新预约"))
    return row


async def view_of(db: DB, row: AppointmentRow, public_url: str) -> AppointmentView:
    return (await _views(db, [row], public_url))[0]


async def _views(db: DB, rows: list[AppointmentRow], public_url: str) -> list[AppointmentView]:
    halls_by_id = {h.id: h for h in await store.halls(db)}
    persons = await people.people_by_id(db, [r.person_id for r in rows])
    today = today_in_china()
    views: list[AppointmentView] = []
    for row in rows:
        at = halls_by_id[row.hall_id]
        key = SlotKey(day=row.day, half=row.half)
        begins, ends = slot_times(at.hours, key)
        status = _status(row, today)
        person = persons.get(row.person_id)
        views.append(
            AppointmentView(
                id=row.id,
                code=row.code,
                item=row.item_code,
                item_name=row.item_name,
                hall=at.id,
                hall_name=at.name,
                hall_address=at.address,
                slot=key.id,
                day=row.day,
                half=row.half,
                start=begins,
                end=ends,
                status=status,
                status_label=STATUS_LABELS[status],
                person_name=person.name if person else "",
                qr_url=qr_url(public_url, row.id),
                arrived_at=row.arrived_at,
            )
        )
    return views


async def one(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, appointment_id: int, public_url: str
) -> AppointmentView:
    row, _ = await _acting_for(db, cipher, conn, user, appointment_id)
    return await view_of(db, row, public_url)


async def mine(db: asyncpg.Pool, user: CurrentUser, public_url: str) -> list[AppointmentView]:
    """A resident's own bookings (whoever made them), newest first; a helper's, those they made for clients whose
    delegation to them is still live, from a week ago on."""
    if user.person_id is not None:
        rows = _upcoming_first(await store.of_person(db, user.person_id), today_in_china())
    elif "helper" in user.roles:
        made = await store.booked_by(db, user.account_id, today_in_china() - timedelta(days=7))
        live = {p for p in {r.person_id for r in made} if await delegations.is_live(db, user.account_id, p)}
        rows = [r for r in made if r.person_id in live]
    else:
        rows = []
    return await _views(db, rows, public_url)


async def of_person(db: asyncpg.Pool, person_id: int, public_url: str) -> list[AppointmentView]:
    """The bookings of the person a helper or clerk serves now (checked by the caller's page: app.filing)."""
    return await _views(db, _upcoming_first(await store.of_person(db, person_id), today_in_china()), public_url)


def _upcoming_first(rows: list[AppointmentRow], today: date) -> list[AppointmentRow]:
    """Visits still to come, soonest first; then the others (arrived, cancelled, missed), the latest booked first."""
    upcoming = sorted((r for r in rows if _status(r, today) == "booked"), key=lambda r: (r.day, r.half, r.id))
    others = sorted((r for r in rows if _status(r, today) != "booked"), key=lambda r: r.id, reverse=True)
    return upcoming + others


async def cancel(db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, appointment_id: int) -> None:
    """取消预约: the place is free again at once and no reminder goes out."""
    row, acting = await _acting_for(db, cipher, conn, user, appointment_id)
    await _count_change(db, row.person_id)
    async with db.acquire() as tx, tx.transaction():
        locked = _require_live(await store.get(tx, appointment_id, lock=True), today_in_china())
        await store.cancel(tx, appointment_id)
        await notifications.cancel_reminders(tx, _reminder_key(appointment_id))
        await _tell(tx, user, locked, await hall(tx, locked.hall_id), acting, "cancelled")
        await audit(tx, conn, "appointment.cancel", "ok", subject=f"appointment:{appointment_id}", acting=acting)


async def reschedule(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    user: CurrentUser,
    appointment_id: int,
    body: RescheduleBody,
) -> AppointmentRow:
    """改约: the same booking (its code and QR stay) at another half-day or hall, if a place is left there."""
    row, acting = await _acting_for(db, cipher, conn, user, appointment_id)
    item = await bookable(db, row.item_code)
    at, key = await _choice(db, body.hall, body.slot)
    await _count_change(db, row.person_id)
    async with db.acquire() as tx, tx.transaction():
        locked = _require_live(await store.get(tx, appointment_id, lock=True), today_in_china())
        if (locked.hall_id, locked.day, locked.half) == (at.id, key.day, key.half):
            return locked
        await _take_place(tx, at, item, key)
        await store.move(tx, appointment_id, at.id, key.day, key.half)
        moved = await store.get(tx, appointment_id)
        assert moved is not None
        await _tell(tx, user, moved, at, acting, "moved")
        await audit(
            tx,
            conn,
            "appointment.reschedule",
            "ok",
            subject=f"appointment:{appointment_id}",
            acting=acting,
            hall=at.id,
            slot=key.id,
        )
    return moved


# --- what the resident hears -----------------------------------------------------------------------------------------


def reminder_ahead(booking: AppointmentView) -> bool:
    """Whether the day-before reminder of a live booking is still to come (booked after it, none is sent)."""
    return booking.live and reminder_due(SlotKey(day=booking.day, half=booking.half)) > datetime.now(UTC)


def _reminder_key(appointment_id: int) -> str:
    return f"appointment:{appointment_id}"


async def _tell(tx: Tx, actor: CurrentUser, row: AppointmentRow, at: HallRow, acting: str, what: str) -> None:
    """The reminder of the day before (scheduled again, or cancelled, with every change), to the person's account and
    to the helper or parent who booked it; and, when someone else acted for the person, a notice now."""
    key = _reminder_key(row.id)
    url = f"/appointments/{row.id}"
    person_account = await accounts.resident_account_of(tx, row.person_id)
    if what != "cancelled":
        await notifications.cancel_reminders(tx, key)
        due = reminder_due(SlotKey(day=row.day, half=row.half))
        recipients = {person_account.id} if person_account else set[int]()
        if row.booked_as in ("helper", "parent") and row.booked_by_account_id is not None:
            recipients.add(row.booked_by_account_id)
        if due > datetime.now(UTC):  # booked after that moment: the booking page itself said it all
            languages = await accounts.languages_of(tx, sorted(recipients))
            for account_id in sorted(recipients):
                with use_language(languages.get(account_id)):  # in the language the recipient reads
                    await notifications.schedule_reminder(
                        tx,
                        account_id,
                        key=key,
                        due_at=due,
                        title=gettext("明天到大厅办理：%(item_name)s") % {"item_name": catalogue_text(row.item_name)},
                        body=gettext("%(slot)s，%(name)s（%(address)s）。请带齐材料，出示预约码 %(grouped_code)s。")
                        % {
                            "slot": slot_label(at.hours, SlotKey(day=row.day, half=row.half)),
                            "name": catalogue_text(at.name),
                            "address": at.address,
                            "grouped_code": grouped_code(row.code),
                        },
                        url=url,
                    )
    if acting == "self" or person_account is None or person_account.id == actor.account_id:
        return
    with use_language(person_account.language):  # the person's language, not the one who acted for them
        await _tell_now(tx, actor, row, at, person_account.id, what, url)


async def _tell_now(
    tx: Tx, actor: CurrentUser, row: AppointmentRow, at: HallRow, account_id: int, what: str, url: str
) -> None:
    slot = slot_label(at.hours, SlotKey(day=row.day, half=row.half))
    # The item and the hall as the catalogue names them in the recipient's language (the database keeps Chinese).
    item_name, hall_name = catalogue_text(row.item_name), catalogue_text(at.name)
    who = actor.name if "helper" in actor.roles else gettext("%(name)s（窗口工作人员）") % {"name": actor.name}
    title, body = {
        "booked": (
            gettext("已为您预约：%(item_name)s") % {"item_name": item_name},
            gettext(
                "%(who)s为您预约了%(slot)s，%(name)s。预约码 %(grouped_code)s。如有变化，可在“我的预约”中改约或取消。"
            )
            % {"who": who, "slot": slot, "name": hall_name, "grouped_code": grouped_code(row.code)},
        ),
        "moved": (
            gettext("预约已改期：%(item_name)s") % {"item_name": item_name},
            gettext("%(who)s把您的预约改到%(slot)s，%(name)s。") % {"who": who, "slot": slot, "name": hall_name},
        ),
        "cancelled": (
            gettext("预约已取消：%(item_name)s") % {"item_name": item_name},
            gettext("%(who)s取消了您%(slot)s在%(name)s的预约。") % {"who": who, "slot": slot, "name": hall_name},
        ),
    }[what]
    await notifications.notify_reminder(tx, account_id, title=title, body=body, url=url)


# --- at the hall: the clerk's 签到 ---------------------------------------------------------------------------------


async def _clerks_hall(db: DB, user: CurrentUser) -> HallRow:
    at = await store.hall_of_region(db, user.region_code or "")
    if at is None:
        raise Forbidden(N_("您所在的窗口没有开通网上预约，请按现场收件办理"))
    return at


async def clerks_hall(db: DB, user: CurrentUser) -> HallView:
    return _hall_view(await _clerks_hall(db, user))


async def _at_clerks_hall(db: DB, conn: Connection, user: CurrentUser, raw_code: str) -> tuple[AppointmentRow, HallRow]:
    """A booking at the clerk's own hall, found by its code (typed or scanned); NotFound for an unknown code, Forbidden
    (audited) for another hall's, naming where the visit is booked (nothing about the person)."""
    code = normalize_code(raw_code)
    if not _CODE.fullmatch(code):
        raise FieldErrors({"code": N_("预约码是8位字母和数字（如 7KQ2 M9XD），请核对后重新输入")})
    at = await _clerks_hall(db, user)
    row = await store.by_code(db, code)
    if row is None:
        raise NotFound(NOT_FOUND)
    if row.hall_id != at.id:
        booked_at = await hall(db, row.hall_id)
        await audit(db, conn, "appointment.open", "forbidden", subject=f"appointment:{row.id}", hall=at.id)
        when = slot_label(booked_at.hours, SlotKey(day=row.day, half=row.half))
        raise Forbidden(
            gettext(
                "该预约的办理地点是%(name)s（%(when)s），不在本大厅；可请来办人前往该大厅，或在本窗口按现场收件办理"
            )
            % {"name": booked_at.name, "when": when}
        )
    return row, at


async def _check_in_view(db: DB, row: AppointmentRow, at: HallRow, *, whole_name: bool) -> CheckInView:
    person = await people.get_person(db, row.person_id)
    today = today_in_china()
    status = _status(row, today)
    name = person.name if person else ""
    return CheckInView(
        id=row.id,
        code=row.code,
        person_name=name if whole_name else mask_name(name),
        id_number_masked=person.id_number_masked if person else "",
        item_name=row.item_name,
        hall_name=at.name,
        slot_label=slot_label(at.hours, SlotKey(day=row.day, half=row.half)),
        half_label=half_label(at.hours, row.half),
        day=row.day,
        status=status,
        status_label=STATUS_LABELS[status],
        arrived_at=row.arrived_at,
        today=row.day == today,
    )


async def for_check_in(db: asyncpg.Pool, conn: Connection, user: CurrentUser, raw_code: str) -> CheckInView:
    """The booking the clerk scanned or typed: who (name, masked number), what, when. Opening one at another hall is
    audited (refused); opening one's own hall's is not (no full number is shown, and a page view writes nothing)."""
    row, at = await _at_clerks_hall(db, conn, user, raw_code)
    return await _check_in_view(db, row, at, whole_name=True)


async def check_in(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, raw_code: str, *, identity_checked: bool
) -> CheckInView:
    """签到: the person booked is at the window today, their ID card checked in person against the booking. Marks it
    arrived (audited) and starts receiving them (窗口收件, app.console), so the clerk may file for them at once."""
    if not identity_checked:
        raise FieldErrors({"identity_checked": N_("请当面核验来办人的居民身份证原件，与预约人一致后再勾选")})
    row, at = await _at_clerks_hall(db, conn, user, raw_code)
    today = today_in_china()
    async with db.acquire() as tx, tx.transaction():
        locked = await store.get(tx, row.id, lock=True)
        assert locked is not None
        status = _status(locked, today)
        if status == "arrived" and locked.arrived_at is not None:
            raise Conflict(
                gettext("该预约已签到（%(china_time)s）") % {"china_time": china_time(locked.arrived_at, "%H:%M")}
            )
        if status == "cancelled":
            raise Conflict(N_("该预约已取消，请按现场收件办理"))
        if locked.day != today:
            raise Conflict(
                gettext("预约日期是%(day_label)s，不是今天；可按现场收件办理") % {"day_label": day_label(locked.day)}
            )
        await store.mark_arrived(tx, row.id, user.account_id)
        await notifications.cancel_reminders(tx, _reminder_key(row.id))
        await audit(tx, conn, "appointment.check_in", "ok", subject=f"appointment:{row.id}", hall=at.id)
    await console.receive_booked(db, conn, user, row.person_id, row.code)
    arrived = await store.get(db, row.id)
    assert arrived is not None
    return await _check_in_view(db, arrived, at, whole_name=True)


async def hall_day(db: asyncpg.Pool, user: CurrentUser, day: date) -> tuple[HallView, list[CheckInView]]:
    """The clerk's hall and its bookings of a day (names masked: the list is on a screen at the window)."""
    at = await _clerks_hall(db, user)
    rows = await store.of_hall_day(db, at.id, day)
    persons = await people.people_by_id(db, [r.person_id for r in rows])
    today = today_in_china()
    views = [
        CheckInView(
            id=r.id,
            code=r.code,
            person_name=mask_name(persons[r.person_id].name) if r.person_id in persons else "",
            id_number_masked=persons[r.person_id].id_number_masked if r.person_id in persons else "",
            item_name=r.item_name,
            hall_name=at.name,
            slot_label=slot_label(at.hours, SlotKey(day=r.day, half=r.half)),
            half_label=half_label(at.hours, r.half),
            day=r.day,
            status=_status(r, today),
            status_label=STATUS_LABELS[_status(r, today)],
            arrived_at=r.arrived_at,
            today=r.day == today,
        )
        for r in rows
    ]
    return _hall_view(at), views


# --- configuration ------------------------------------------------------------------------------------------------


def _clock(raw: str) -> time:
    return time.fromisoformat(raw)


async def save_halls(db: DB, config: dict[str, Any], items: list[dict[str, Any]]) -> int:
    """The appointment groups, halls and their places as configured (db/seed/halls.json); every item's
    `appointment_group` must name a group. Returns the number of halls."""
    groups = {group["code"] for group in config["groups"]}
    for item in items:
        if item.get("appointment_group") and item["appointment_group"] not in groups:
            raise ValueError(f"item {item['code']}: appointment_group {item['appointment_group']} is not in halls.json")
    for group in config["groups"]:
        await store.upsert_group(db, group["code"], group["name"], group["department"])
    for position, entry in enumerate(config["halls"]):
        await store.upsert_hall(
            db,
            hall_id=entry["id"],
            name=entry["name"],
            region_code=entry["region"],
            address=entry["address"],
            phone=entry.get("phone"),
            am=(_clock(entry["am"][0]), _clock(entry["am"][1])),
            pm=(_clock(entry["pm"][0]), _clock(entry["pm"][1])),
            position=position,
        )
        for group_code, halves in entry.get("places", {}).items():
            if group_code not in groups:
                raise ValueError(f"hall {entry['id']}: places for unknown group {group_code}")
            for half in HALVES:
                await store.set_places(db, entry["id"], group_code, half, int(halves.get(half, 0)))
    return len(config["halls"])


async def set_places(db: DB, hall_id: str, group_code: str, places: dict[str, int]) -> HallRow:
    """Change a hall's places per half-day for a group (`python -m app hall-capacity`): from now on; bookings already
    made stay, and a half-day booked past its new number takes no more."""
    at = await hall(db, hall_id)
    if not await store.group_exists(db, group_code):
        raise NotFound(gettext("没有预约分组 %(group_code)s") % {"group_code": group_code})
    for half, count in places.items():
        if half not in HALVES or not 0 <= count <= 1000:
            raise FieldErrors({half: N_("每个半天的号源应在0到1000之间")})
        await store.set_places(db, at.id, group_code, half, count)
    return at
