"""网上预约 pages, plain forms that work without JavaScript: /items/{code}/book (hall → day and half-day, the places
left shown), /appointments (mine) and one booking with its QR code, cancel and 改约; at the hall /console/appointments
(today's bookings, find one by its code) and its 签到.

A helper books for the client chosen on the roster, a clerk for the resident received at the window (both kept in the
server session, as on the apply page): the page names that person, and every request is checked again in the server
(app.filing via app.appointments.service)."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import msgspec
from babel.dates import format_date
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

import i18n
from app.appointments import service
from app.appointments.models import AppointmentBody, AppointmentView, BookableItem, HallView, RescheduleBody, SlotView
from app.appointments.slots import HALF_NAMES, day_label
from app.calendar.service import today_in_china
from app.cases import service as cases
from app.cases.qr import qr_svg_inline
from app.catalogue import service as catalogue
from app.delegations import current
from app.errors import Conflict, FieldErrors
from app.filing import service as filing
from app.filing.models import Subject
from app.people import service as people
from app.shell.service import OFFLINE_COPY
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth import walk_in
from auth.access import caller, roles
from auth.models import CurrentUser
from auth.pii import PiiCipher
from config.settings import Settings
from i18n import N_, _

BOOKERS = roles("resident", "helper", "clerk")
CLERK = roles("clerk")
NOTICES = {
    "booked": N_("预约成功。请按时到大厅，向窗口出示预约码或二维码。"),
    "moved": N_("已改约，预约码不变。"),
    "cancelled": N_("预约已取消，号源已释放。"),
}


def _notice(key: str) -> str | None:
    """Why the page was opened (?notice=), in the reader's language."""
    return _(NOTICES[key]) if key in NOTICES else None


def _day_label(day: date) -> str:
    """A day as the reader's language writes it (12月3日 周四, Thu 3 Dec): the date pattern is a text of the
    catalogue, the names of months and weekdays Babel's."""
    return format_date(day, _("M月d日 EEE"), locale=i18n.html_lang().replace("-", "_"))


class SlotChoice(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    half_name: str  # 上午, in the reader's language
    hours: str  # 9:00-12:00
    remaining: int


class DayChoices(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    label: str  # 12月3日 周三 (Wed 3 Dec)
    slots: list[SlotChoice]


def _days(slots: list[SlotView]) -> list[DayChoices]:
    """The slots grouped by day, as the page lists them (a radio group per day)."""
    days: list[DayChoices] = []
    for slot in slots:
        begins, ends = slot.start, slot.end
        hours = f"{begins.hour}:{begins.minute:02d}-{ends.hour}:{ends.minute:02d}"
        choice = SlotChoice(id=slot.id, half_name=_(HALF_NAMES[slot.half]), hours=hours, remaining=slot.remaining)
        if days and days[-1].day == slot.day:
            days[-1].slots.append(choice)
        else:
            days.append(DayChoices(day=slot.day, label=_day_label(slot.day), slots=[choice]))
    return days


class _ChooseWhom(Exception):
    """A helper or clerk opened a booking page without choosing whom it is for."""

    def __init__(self, home: str) -> None:
        super().__init__(home)
        self.home = home


async def _subject(
    request: AnyRequest, db: asyncpg.Pool, cipher: PiiCipher, user: CurrentUser, item_code: str
) -> Subject | None:
    """The person a helper's tablet or a clerk's window serves now, checked for this item (app.filing); None for a
    resident, who books for themself."""
    if "clerk" in user.roles:
        started = walk_in.peek(request)
        if started is None:
            raise _ChooseWhom("/console/walk-in")
        served = filing.at_window(started)
    elif "helper" in user.roles:
        chosen = await current.live(db, request, user, cases.open_cases_of)
        if chosen is None:
            raise _ChooseWhom("/helper")
        served = await filing.for_client(db, user, chosen[0])
    else:
        return None
    return await filing.subject_for(db, cipher, request, user, served, item_code)


class _Chooser(msgspec.Struct, frozen=True, kw_only=True):
    """What the booking (or 改约) page shows: the halls, or the chosen hall's days."""

    halls: list[HallView]
    hall: HallView | None
    days: list[DayChoices]


async def _chooser(db: asyncpg.Pool, item: BookableItem, hall_id: str, home_region: str | None) -> _Chooser:
    halls = await service.halls_for(db, item, home_region)
    chosen = next((h for h in halls if h.id == hall_id), None)
    if chosen is None and len(halls) == 1:
        chosen = halls[0]  # one hall offers it: nothing to choose
    days = _days(await service.slots_of(db, await service.hall(db, chosen.id), item)) if chosen else []
    return _Chooser(halls=halls, hall=chosen, days=days)


async def _region_of(db: asyncpg.Pool, person_id: int | None) -> str | None:
    """Where the person is registered: their district's hall is listed first."""
    person = await people.get_person(db, person_id) if person_id is not None else None
    return person.region_code if person else None


async def _book_template(
    db: asyncpg.Pool,
    item: BookableItem,
    hall_id: str,
    *,
    action: str,
    subject: Subject | None = None,
    home_region: str | None = None,
    existing: AppointmentView | None = None,
    booking: AppointmentView | None = None,
    errors: dict[str, str] | None = None,
    chosen_slot: str = "",
    status_code: int = HTTP_200_OK,
) -> Template:
    """book.html, to book an item (for the subject, their district's hall first, their live booking of it named) or to
    move `booking` (改约: its hall chosen first); `errors` and `chosen_slot` when a choice was refused."""
    return Template(
        "book.html",
        context={
            "item": item,
            "guide": await catalogue.service_item(db, item.item_code),
            "subject": subject,
            "existing": existing,
            "booking": booking,
            "booking_slot": _slot_text(booking) if booking else None,
            "preselect": booking.hall if booking else "",
            "chooser": await _chooser(db, item, hall_id, home_region),
            "action": action,
            "errors": errors or {},
            "chosen_slot": chosen_slot,
            "mode": "reschedule" if booking else "book",
            "day_label": _day_label,
        },
        status_code=status_code,
    )


def _refused(problem: FieldErrors | Conflict) -> tuple[dict[str, str], int]:
    """A refused booking or 改约 as the page shows it: the fields' errors (400), or the slot taken meanwhile (409)."""
    if isinstance(problem, FieldErrors):
        return problem.errors, HTTP_400_BAD_REQUEST
    return {"slot": problem.message}, HTTP_409_CONFLICT


class AppointmentPages(Controller):
    include_in_schema = False

    async def _book_page(
        self,
        request: AnyRequest,
        db: asyncpg.Pool,
        cipher: PiiCipher,
        settings: Settings,
        item_code: str,
        hall_id: str,
        *,
        errors: dict[str, str] | None = None,
        chosen_slot: str = "",
        status_code: int = HTTP_200_OK,
    ) -> Template | Redirect:
        user = caller(request)
        item = await service.bookable(db, item_code)
        try:
            subject = await _subject(request, db, cipher, user, item.item_code)
        except _ChooseWhom as choose:
            return Redirect(f"{choose.home}?notice=choose", status_code=303)
        person_id = subject.person_id if subject else user.person_id
        booked = await service.of_person(db, person_id, settings.public_url) if person_id is not None else []
        live = [b for b in booked if b.item == item.item_code and b.live]
        return await _book_template(
            db,
            item,
            hall_id,
            action=f"/items/{item.item_code}/book",
            subject=subject,
            home_region=await _region_of(db, person_id),
            existing=live[0] if live else None,
            errors=errors,
            chosen_slot=chosen_slot,
            status_code=status_code,
        )

    @get("/items/{code:str}/book", opt=BOOKERS)
    async def book_page(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        code: FromPath[str],
        hall: FromQuery[str] = "",
    ) -> Template | Redirect:
        return await self._book_page(request, db, cipher, settings, code, hall[:40])

    @post("/items/{code:str}/book", opt=BOOKERS)
    async def book(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        code: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        user = caller(request)
        item = await service.bookable(db, code)
        try:
            subject = await _subject(request, db, cipher, user, item.item_code)
        except _ChooseWhom as choose:
            return Redirect(f"{choose.home}?notice=choose", status_code=303)
        if (subject.key if subject else "") != data.get("for", ""):
            # Chosen for one client, posted after the tablet switched to another: never booked for the new one.
            home = "/console/walk-in" if "clerk" in user.roles else "/helper"
            return Redirect(f"{home}?notice=switched", status_code=303)
        hall, slot = data.get("hall", "")[:40], data.get("slot", "")[:20]
        body = AppointmentBody(
            item=item.item_code, hall=hall, slot=slot, on_behalf_of=subject.on_behalf_of if subject else None
        )
        try:
            booked = await service.book(db, cipher, request, user, body)
        except (FieldErrors, Conflict) as problem:
            errors, status_code = _refused(problem)
            return await self._book_page(
                request, db, cipher, settings, code, hall, errors=errors, chosen_slot=slot, status_code=status_code
            )
        return Redirect(f"/appointments/{booked.id}?notice=booked", status_code=303)

    @get("/appointments", opt=roles("resident", "helper"))
    async def mine(self, request: AnyRequest, db: Db, settings: AppSettings, notice: FromQuery[str] = "") -> Template:
        bookings = await service.mine(db, caller(request), settings.public_url)
        offered = [] if bookings else await catalogue.bookable_items(db)
        return Template(
            "appointments.html",
            context={
                "nav": "cases",
                "bookings": bookings,
                "notice": _notice(notice),
                "offered": offered,
                "day_label": _day_label,
            },
            # A resident's own list and pass open offline too (a hall's basement has no signal); wiped at sign-out.
            headers=OFFLINE_COPY if caller(request).person_id is not None else None,
        )

    @get("/appointments/{appointment_id:int}", opt=BOOKERS)
    async def one(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        appointment_id: FromPath[int],
        notice: FromQuery[str] = "",
    ) -> Template:
        user = caller(request)
        booking = await service.one(db, cipher, request, user, appointment_id, settings.public_url)
        guide = await catalogue.service_item(db, booking.item)
        hall = await service.hall(db, booking.hall)
        url = service.check_in_url(settings.public_url, booking.code)
        return Template(
            "appointment.html",
            context={
                "nav": "cases",
                "booking": booking,
                "code": service.grouped_code(booking.code),
                "slot": _slot_text(booking),
                "hall": hall,
                "guide": guide,
                "qr": qr_svg_inline(url, title=_(service.QR_TITLE)) if booking.live else None,
                "notice": _notice(notice),
                "own": user.person_id is not None,
                "reminder_ahead": service.reminder_ahead(booking),
            },
            headers=OFFLINE_COPY if user.person_id is not None else None,
        )

    @get("/appointments/{appointment_id:int}/cancel", opt=BOOKERS)
    async def cancel_page(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, appointment_id: FromPath[int]
    ) -> Template:
        booking = await service.one(db, cipher, request, caller(request), appointment_id, settings.public_url)
        return Template(
            "appointment_cancel.html", context={"nav": "cases", "booking": booking, "slot": _slot_text(booking)}
        )

    @post("/appointments/{appointment_id:int}/cancel", opt=BOOKERS)
    async def cancel(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, appointment_id: FromPath[int]
    ) -> Template | Redirect:
        user = caller(request)
        try:
            await service.cancel(db, cipher, request, user, appointment_id)
        except Conflict as problem:
            booking = await service.one(db, cipher, request, user, appointment_id, settings.public_url)
            return Template(
                "appointment_cancel.html",
                context={"nav": "cases", "booking": booking, "slot": _slot_text(booking), "error": problem.message},
                status_code=409,
            )
        target = "/appointments" if "clerk" not in user.roles else f"/appointments/{appointment_id}"
        return Redirect(f"{target}?notice=cancelled", status_code=303)

    async def _reschedule_page(
        self,
        request: AnyRequest,
        db: asyncpg.Pool,
        cipher: PiiCipher,
        settings: AppSettings,
        appointment_id: int,
        hall_id: str,
        *,
        errors: dict[str, str] | None = None,
        chosen_slot: str = "",
        status_code: int = HTTP_200_OK,
    ) -> Template:
        user = caller(request)
        booking = await service.one(db, cipher, request, user, appointment_id, settings.public_url)
        return await _book_template(
            db,
            await service.bookable(db, booking.item),
            hall_id,
            action=f"/appointments/{appointment_id}/reschedule",
            booking=booking,
            errors=errors,
            chosen_slot=chosen_slot,
            status_code=status_code,
        )

    @get("/appointments/{appointment_id:int}/reschedule", opt=BOOKERS)
    async def reschedule_page(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        appointment_id: FromPath[int],
        hall: FromQuery[str] = "",
    ) -> Template:
        return await self._reschedule_page(request, db, cipher, settings, appointment_id, hall[:40])

    @post("/appointments/{appointment_id:int}/reschedule", opt=BOOKERS)
    async def reschedule(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        appointment_id: FromPath[int],
        data: URLEncodedBody[dict[str, str]],
    ) -> Template | Redirect:
        hall, slot = data.get("hall", "")[:40], data.get("slot", "")[:20]
        try:
            await service.reschedule(
                db, cipher, request, caller(request), appointment_id, RescheduleBody(hall=hall, slot=slot)
            )
        except (FieldErrors, Conflict) as problem:
            errors, status_code = _refused(problem)
            return await self._reschedule_page(
                request,
                db,
                cipher,
                settings,
                appointment_id,
                hall,
                errors=errors,
                chosen_slot=slot,
                status_code=status_code,
            )
        return Redirect(f"/appointments/{appointment_id}?notice=moved", status_code=303)


def _slot_text(booking: AppointmentView) -> str:
    return (
        f"{_day_label(booking.day)} {_(HALF_NAMES[booking.half])} "
        f"{booking.start.hour}:{booking.start.minute:02d}-{booking.end.hour}:{booking.end.minute:02d}"
    )


class ConsoleAppointmentPages(Controller):
    path = "/console/appointments"
    include_in_schema = False

    @get("", opt=CLERK)
    async def today(self, request: AnyRequest, db: Db, code: FromQuery[str] = "") -> Template | Redirect:
        """Today's bookings at the clerk's hall, and a booking found by its code (typed, or scanned at /scan)."""
        typed = service.normalize_code(code)
        if typed:
            return Redirect(f"/console/appointments/{typed}", status_code=303)
        today = today_in_china()
        hall, bookings = await service.hall_day(db, caller(request), today)
        return Template(
            "console_appointments.html",
            context={"nav": "console", "hall": hall, "day": day_label(today), "bookings": bookings},
        )

    async def _page(
        self,
        request: AnyRequest,
        db: asyncpg.Pool,
        code: str,
        *,
        errors: dict[str, str] | None = None,
        message: str | None = None,
        status_code: int = HTTP_200_OK,
    ) -> Template:
        try:
            booking = await service.for_check_in(db, request, caller(request), code)
        except FieldErrors as problem:
            return Template(
                "console_appointments.html",
                context={
                    "nav": "console",
                    "hall": await service.clerks_hall(db, caller(request)),
                    "day": day_label(today_in_china()),
                    "bookings": (await service.hall_day(db, caller(request), today_in_china()))[1],
                    "typed": code[:20],
                    "code_error": problem.errors["code"],
                },
                status_code=400,
            )
        return Template(
            "console_appointment.html",
            context={
                "nav": "console",
                "booking": booking,
                "code": service.grouped_code(booking.code),
                "errors": errors or {},
                "message": message,
            },
            status_code=status_code,
        )

    @get("/{code:str}", opt=CLERK)
    async def booking(self, request: AnyRequest, db: Db, code: FromPath[str]) -> Template:
        return await self._page(request, db, code)

    @post("/{code:str}/check-in", opt=CLERK)
    async def check_in(
        self, request: AnyRequest, db: Db, code: FromPath[str], data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        try:
            await service.check_in(
                db, request, caller(request), code, identity_checked=data.get("identity_checked") == "true"
            )
        except FieldErrors as problem:
            return await self._page(request, db, code, errors=problem.errors, status_code=400)
        except Conflict as problem:
            return await self._page(request, db, code, message=problem.message, status_code=409)
        return Redirect("/console/walk-in?notice=checked_in", status_code=303)
