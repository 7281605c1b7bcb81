"""网上预约 over HTTP: the halls and their slots (public), bookings (residents for themselves, helpers for a client,
clerks for the resident at the window), and the clerk's console to find a booking by its code and check it in."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.appointments import service
from app.appointments.models import (
    AppointmentBody,
    AppointmentCreated,
    AppointmentView,
    CheckInView,
    HallView,
    RescheduleBody,
    SlotView,
)
from app.calendar.service import today_in_china
from app.cases.qr import qr_svg
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, public, roles

# Who books a visit: residents (for themselves or a minor child), helpers for a client, clerks for a walk-in.
BOOKERS = roles("resident", "helper", "clerk")
CLERK = roles("clerk")
ItemQuery = Annotated[str, QueryParameter(max_length=40)]
FromDay = Annotated[date | None, QueryParameter(name="from")]
ToDay = Annotated[date | None, QueryParameter(name="to")]


class HallsApi(Controller):
    path = "/api/v1/halls"
    tags = ["appointments"]

    @get("/", opt=public(), summary="Service halls: where they are and when they open")
    async def list_halls(self, db: Db) -> list[HallView]:
        return await service.halls(db)

    @get(
        "/{hall_id:str}/slots",
        opt=public(),
        summary="A hall's half-days that may be booked for an item (working days, from tomorrow), with places left",
    )
    async def slots(
        self, db: Db, hall_id: FromPath[str], item: ItemQuery, from_day: FromDay = None, to_day: ToDay = None
    ) -> list[SlotView]:
        return await service.slots(db, hall_id, item, from_day, to_day)


class AppointmentsApi(Controller):
    path = "/api/v1/appointments"
    tags = ["appointments"]

    @post(
        "/",
        opt=BOOKERS,
        status_code=HTTP_201_CREATED,
        summary="Book a visit: {item, hall, slot}; 409 when the half-day is full or the item is booked already",
    )
    async def book(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, data: JSONBody[AppointmentBody]
    ) -> AppointmentCreated:
        booked = await service.book(db, cipher, request, caller(request), data)
        return AppointmentCreated(id=booked.id, code=booked.code, qr_url=service.qr_url(settings.public_url, booked.id))

    @get("/", opt=roles("resident", "helper"), summary="The caller's bookings (a helper's: those made for clients)")
    async def mine(self, request: AnyRequest, db: Db, settings: AppSettings) -> list[AppointmentView]:
        return await service.mine(db, caller(request), settings.public_url)

    @get("/{appointment_id:int}", opt=BOOKERS, summary="One booking of the caller or of whom they act for")
    async def one(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, appointment_id: FromPath[int]
    ) -> AppointmentView:
        return await service.one(db, cipher, request, caller(request), appointment_id, settings.public_url)

    @delete("/{appointment_id:int}", opt=BOOKERS, status_code=HTTP_204_NO_CONTENT, summary="Cancel a booking")
    async def cancel(self, request: AnyRequest, db: Db, cipher: Cipher, appointment_id: FromPath[int]) -> None:
        await service.cancel(db, cipher, request, caller(request), appointment_id)

    @post(
        "/{appointment_id:int}/reschedule",
        opt=BOOKERS,
        status_code=HTTP_200_OK,
        summary="Move a booking to another half-day or hall (改约); 409 when that one is full",
    )
    async def reschedule(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        appointment_id: FromPath[int],
        data: JSONBody[RescheduleBody],
    ) -> AppointmentView:
        moved = await service.reschedule(db, cipher, request, caller(request), appointment_id, data)
        return await service.view_of(db, moved, settings.public_url)

    @get("/{appointment_id:int}/qr.svg", opt=BOOKERS, summary="The booking's QR code (SVG), shown at the hall")
    async def qr_svg(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, appointment_id: FromPath[int]
    ) -> Response[bytes]:
        booking = await service.one(db, cipher, request, caller(request), appointment_id, settings.public_url)
        url = service.check_in_url(settings.public_url, booking.code)
        return Response(qr_svg(url, title=service.QR_TITLE), media_type="image/svg+xml")


class HallDay(msgspec.Struct, frozen=True, kw_only=True):
    hall: HallView
    day: date
    appointments: list[CheckInView]


class CheckIn(msgspec.Struct, frozen=True, kw_only=True):
    """签到: the clerk checked the ID card of the person at the window against the booking."""

    identity_checked: bool = False


class ConsoleAppointmentsApi(Controller):
    path = "/api/v1/console/appointments"
    tags = ["console"]

    @get("/", opt=CLERK, summary="The bookings of a day (default today) at the clerk's hall, names masked")
    async def day(
        self, request: AnyRequest, db: Db, on: Annotated[date | None, QueryParameter(name="day")] = None
    ) -> HallDay:
        when = on or today_in_china()
        hall, appointments = await service.hall_day(db, caller(request), when)
        return HallDay(hall=hall, day=when, appointments=appointments)

    @get("/{code:str}", opt=CLERK, summary="A booking at the clerk's hall by its code (scanned or typed)")
    async def by_code(self, request: AnyRequest, db: Db, code: FromPath[str]) -> CheckInView:
        return await service.for_check_in(db, request, caller(request), code)

    @post(
        "/{code:str}/check-in",
        opt=CLERK,
        status_code=HTTP_200_OK,
        summary="签到 on the booking's day, the ID card checked in person; starts 窗口收件 for the person",
    )
    async def check_in(self, request: AnyRequest, db: Db, code: FromPath[str], data: JSONBody[CheckIn]) -> CheckInView:
        return await service.check_in(db, request, caller(request), code, identity_checked=data.identity_checked)
