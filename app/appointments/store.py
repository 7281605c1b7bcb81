"""SQL for appointments: halls, appointment groups and their items, places per half-day, bookings. The only store of
these tables (halls, appointment_groups, appointment_capacity, appointments)."""

from __future__ import annotations

from datetime import date, datetime, time

from app.appointments.models import AppointmentRow, BookedCount, Capacity, HallRow, NewAppointment
from db.pool import DB

_HALL = """
    SELECT h.id, h.name, h.region_code, r.name AS region_name, h.address, h.phone,
           h.am_opens, h.am_closes, h.pm_opens, h.pm_closes
    FROM halls h JOIN regions r ON r.code = h.region_code
"""
_APPOINTMENT = """
    SELECT a.id, a.code, a.person_id, a.item_code, i.name AS item_name, a.group_code, a.hall_id, a.day, a.half,
           a.status, a.booked_by_account_id, a.booked_as, a.created_at, a.arrived_at
    FROM appointments a JOIN service_items i ON i.code = a.item_code
"""
# Places taken: bookings still to come and arrivals (a cancelled or missed one frees its place).
_TAKES_A_PLACE = "status IN ('booked', 'arrived')"


# --- configuration (db/seed/halls.json, python -m app hall-capacity) --------------------------------------------


async def upsert_group(db: DB, code: str, name: str, department_code: str) -> None:
    await db.execute(
        "INSERT INTO appointment_groups (code, name, department_code) VALUES ($1, $2, $3) "
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, department_code = excluded.department_code",
        code,
        name,
        department_code,
    )


async def upsert_hall(
    db: DB,
    *,
    hall_id: str,
    name: str,
    region_code: str,
    address: str,
    phone: str | None,
    am: tuple[time, time],
    pm: tuple[time, time],
    position: int,
) -> None:
    await db.execute(
        """INSERT INTO halls (id, name, region_code, address, phone, am_opens, am_closes, pm_opens, pm_closes, position)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, region_code = excluded.region_code,
               address = excluded.address, phone = excluded.phone, am_opens = excluded.am_opens,
               am_closes = excluded.am_closes, pm_opens = excluded.pm_opens, pm_closes = excluded.pm_closes,
               position = excluded.position""",
        hall_id,
        name,
        region_code,
        address,
        phone,
        am[0],
        am[1],
        pm[0],
        pm[1],
        position,
    )


async def set_places(db: DB, hall_id: str, group_code: str, half: str, places: int) -> None:
    await db.execute(
        "INSERT INTO appointment_capacity (hall_id, group_code, half, places) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (hall_id, group_code, half) DO UPDATE SET places = excluded.places",
        hall_id,
        group_code,
        half,
        places,
    )


async def group_exists(db: DB, code: str) -> bool:
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM appointment_groups WHERE code = $1)", code))


# --- halls and what they offer ---------------------------------------------------------------------------------


async def halls(db: DB) -> list[HallRow]:
    rows = await db.fetch(_HALL + " ORDER BY h.position, h.id")
    return [HallRow(**dict(r)) for r in rows]


async def hall(db: DB, hall_id: str) -> HallRow | None:
    row = await db.fetchrow(_HALL + " WHERE h.id = $1", hall_id)
    return HallRow(**dict(row)) if row else None


async def hall_of_region(db: DB, region_code: str) -> HallRow | None:
    row = await db.fetchrow(_HALL + " WHERE h.region_code = $1", region_code)
    return HallRow(**dict(row)) if row else None


async def group_name(db: DB, code: str) -> str | None:
    return await db.fetchval("SELECT name FROM appointment_groups WHERE code = $1", code)


async def places_of(db: DB, group_code: str, hall_id: str | None = None) -> list[Capacity]:
    """The places per half-day each hall (or one) offers the group; halls offering none are left out."""
    rows = await db.fetch(
        "SELECT hall_id, half, places FROM appointment_capacity "
        "WHERE group_code = $1 AND ($2::text IS NULL OR hall_id = $2) AND places > 0",
        group_code,
        hall_id,
    )
    return [Capacity(**dict(r)) for r in rows]


async def booked_counts(db: DB, group_code: str, hall_id: str, first: date, last: date) -> list[BookedCount]:
    rows = await db.fetch(
        f"""SELECT hall_id, day, half, count(*)::int AS booked FROM appointments
            WHERE group_code = $1 AND hall_id = $2 AND day BETWEEN $3 AND $4 AND {_TAKES_A_PLACE}
            GROUP BY hall_id, day, half""",
        group_code,
        hall_id,
        first,
        last,
    )
    return [BookedCount(**dict(r)) for r in rows]


# --- booking: one transaction, the half-day's places locked first -------------------------------------------------


async def lock_places(tx: DB, hall_id: str, group_code: str, half: str) -> int | None:
    """The places of a hall's half-day for the group, its row locked until the transaction ends: bookings of that
    half-day (and changes to its places) wait their turn, so counting then inserting never oversells."""
    return await tx.fetchval(
        "SELECT places FROM appointment_capacity WHERE hall_id = $1 AND group_code = $2 AND half = $3 FOR UPDATE",
        hall_id,
        group_code,
        half,
    )


async def count_taken(tx: DB, hall_id: str, group_code: str, day: date, half: str) -> int:
    return await tx.fetchval(
        f"SELECT count(*) FROM appointments "
        f"WHERE hall_id = $1 AND group_code = $2 AND day = $3 AND half = $4 AND {_TAKES_A_PLACE}",
        hall_id,
        group_code,
        day,
        half,
    )


async def mark_missed(tx: DB, person_id: int, item_code: str, today: date) -> int:
    """A booking of this person and item whose day went by without 签到 is 未到 (missed): it no longer holds the one
    live booking an item allows."""
    status = await tx.execute(
        "UPDATE appointments SET status = 'missed' "
        "WHERE person_id = $1 AND item_code = $2 AND status = 'booked' AND day < $3",
        person_id,
        item_code,
        today,
    )
    return int(status.split()[-1])


async def live_count(tx: DB, person_id: int, today: date) -> int:
    return await tx.fetchval(
        "SELECT count(*) FROM appointments WHERE person_id = $1 AND status = 'booked' AND day >= $2",
        person_id,
        today,
    )


async def live_of_item(tx: DB, person_id: int, item_code: str, today: date) -> AppointmentRow | None:
    row = await tx.fetchrow(
        _APPOINTMENT + " WHERE a.person_id = $1 AND a.item_code = $2 AND a.status = 'booked' AND a.day >= $3",
        person_id,
        item_code,
        today,
    )
    return AppointmentRow(**dict(row)) if row else None


async def insert(tx: DB, new: NewAppointment) -> int | None:
    """The booking's id; None when its code is taken (draw another). A second live booking of the person and item
    raises asyncpg.UniqueViolationError (appointments_one_live_per_item)."""
    return await tx.fetchval(
        """INSERT INTO appointments (code, person_id, item_code, group_code, hall_id, day, half,
                                     booked_by_account_id, booked_as)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (code) DO NOTHING RETURNING id""",
        new.code,
        new.person_id,
        new.item_code,
        new.group_code,
        new.hall_id,
        new.day,
        new.half,
        new.booked_by_account_id,
        new.booked_as,
    )


async def get(db: DB, appointment_id: int, *, lock: bool = False) -> AppointmentRow | None:
    row = await db.fetchrow(
        _APPOINTMENT + " WHERE a.id = $1" + (" FOR UPDATE OF a" if lock else ""),
        appointment_id,
    )
    return AppointmentRow(**dict(row)) if row else None


async def by_code(db: DB, code: str, *, lock: bool = False) -> AppointmentRow | None:
    row = await db.fetchrow(_APPOINTMENT + " WHERE a.code = $1" + (" FOR UPDATE OF a" if lock else ""), code)
    return AppointmentRow(**dict(row)) if row else None


async def of_person(db: DB, person_id: int, limit: int = 50) -> list[AppointmentRow]:
    rows = await db.fetch(
        _APPOINTMENT + " WHERE a.person_id = $1 ORDER BY a.day DESC, a.half DESC, a.id DESC LIMIT $2",
        person_id,
        limit,
    )
    return [AppointmentRow(**dict(r)) for r in rows]


async def booked_by(db: DB, account_id: int, since: date) -> list[AppointmentRow]:
    rows = await db.fetch(
        _APPOINTMENT + " WHERE a.booked_by_account_id = $1 AND a.day >= $2 ORDER BY a.day, a.half, a.id",
        account_id,
        since,
    )
    return [AppointmentRow(**dict(r)) for r in rows]


async def of_hall_day(db: DB, hall_id: str, day: date) -> list[AppointmentRow]:
    rows = await db.fetch(
        _APPOINTMENT + " WHERE a.hall_id = $1 AND a.day = $2 AND a.status <> 'cancelled' ORDER BY a.half, a.id",
        hall_id,
        day,
    )
    return [AppointmentRow(**dict(r)) for r in rows]


async def cancel(tx: DB, appointment_id: int) -> bool:
    status = await tx.execute(
        "UPDATE appointments SET status = 'cancelled', cancelled_at = now() WHERE id = $1 AND status = 'booked'",
        appointment_id,
    )
    return status == "UPDATE 1"


async def move(tx: DB, appointment_id: int, hall_id: str, day: date, half: str) -> bool:
    status = await tx.execute(
        "UPDATE appointments SET hall_id = $2, day = $3, half = $4, rescheduled_at = now() "
        "WHERE id = $1 AND status = 'booked'",
        appointment_id,
        hall_id,
        day,
        half,
    )
    return status == "UPDATE 1"


async def mark_arrived(tx: DB, appointment_id: int, clerk_account_id: int) -> datetime | None:
    return await tx.fetchval(
        "UPDATE appointments SET status = 'arrived', arrived_at = now(), checked_in_by_account_id = $2 "
        "WHERE id = $1 AND status = 'booked' RETURNING arrived_at",
        appointment_id,
        clerk_account_id,
    )
