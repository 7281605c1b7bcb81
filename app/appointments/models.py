"""What appointments answer and take: halls, half-day slots with their places, bookings; and the rows of its store."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

import msgspec

from app.appointments.slots import OpeningHours

# --- the API -------------------------------------------------------------------------------------------------------


class HallView(msgspec.Struct, frozen=True, kw_only=True):
    """A service hall (办事大厅): where it is, when it opens."""

    id: str
    name: str
    region: str  # its region code: the clerks of that region work there
    region_name: str
    address: str
    phone: str | None
    hours: str  # 工作日 9:00-12:00，13:30-17:00（法定节假日除外）


class SlotView(msgspec.Struct, frozen=True, kw_only=True):
    """A half-day of a hall for a kind of matter, and the places left."""

    id: str  # 2026-12-03-am
    day: date
    half: str  # am | pm
    start: datetime
    end: datetime
    capacity: int
    remaining: int


class AppointmentBody(msgspec.Struct, frozen=True, kw_only=True):
    """Book a visit: the item, the hall and a slot id of GET /api/v1/halls/{id}/slots. A helper names their client
    (`on_behalf_of`, under a live delegation), a clerk the resident at the window."""

    item: Annotated[str, msgspec.Meta(max_length=40)]
    hall: Annotated[str, msgspec.Meta(max_length=40)]
    slot: Annotated[str, msgspec.Meta(max_length=20)]
    on_behalf_of: Annotated[str, msgspec.Meta(max_length=30)] | None = None


class RescheduleBody(msgspec.Struct, frozen=True, kw_only=True):
    """Move a booking to another slot (改约), at the same hall or another."""

    hall: Annotated[str, msgspec.Meta(max_length=40)]
    slot: Annotated[str, msgspec.Meta(max_length=20)]


class AppointmentCreated(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    code: str
    qr_url: str


class AppointmentView(msgspec.Struct, frozen=True, kw_only=True):
    """A booking as the person it is for (or the helper or clerk who acts for them) sees it."""

    id: int
    code: str  # 预约码: shown at the hall, typed or scanned by the clerk
    item: str
    item_name: str
    hall: str
    hall_name: str
    hall_address: str
    slot: str
    day: date
    half: str
    start: datetime
    end: datetime
    status: str  # booked | arrived | cancelled | missed
    status_label: str
    person_name: str
    qr_url: str
    arrived_at: datetime | None = None

    @property
    def live(self) -> bool:
        """Still to come: it may be cancelled or moved."""
        return self.status == "booked"


class CheckInView(msgspec.Struct, frozen=True, kw_only=True):
    """A booking as the clerk at its hall sees it on scanning its code: who (masked number), what, when."""

    id: int
    code: str
    person_name: str
    id_number_masked: str
    item_name: str
    hall_name: str
    slot_label: str  # 12月3日 周三 上午 9:00-12:00
    half_label: str  # 上午 9:00-12:00
    day: date
    status: str
    status_label: str
    arrived_at: datetime | None
    today: bool  # the visit is today: 签到 may be pressed


# --- rows of app/appointments/store.py -----------------------------------------------------------------------------


class HallRow(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    region_code: str
    region_name: str
    address: str
    phone: str | None
    am_opens: time
    am_closes: time
    pm_opens: time
    pm_closes: time

    @property
    def hours(self) -> OpeningHours:
        return OpeningHours(
            am_opens=self.am_opens, am_closes=self.am_closes, pm_opens=self.pm_opens, pm_closes=self.pm_closes
        )


class BookableItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item that may be booked, and the windows (group) whose places it takes."""

    item_code: str
    item_name: str
    group_code: str
    group_name: str


class Capacity(msgspec.Struct, frozen=True, kw_only=True):
    hall_id: str
    half: str
    places: int


class BookedCount(msgspec.Struct, frozen=True, kw_only=True):
    hall_id: str
    day: date
    half: str
    booked: int


class AppointmentRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    code: str
    person_id: int
    item_code: str
    item_name: str
    group_code: str
    hall_id: str
    day: date
    half: str
    status: str
    booked_by_account_id: int | None
    booked_as: str
    created_at: datetime
    arrived_at: datetime | None


class NewAppointment(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    person_id: int
    item_code: str
    group_code: str
    hall_id: str
    day: date
    half: str
    booked_by_account_id: int
    booked_as: str
