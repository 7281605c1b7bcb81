"""网上预约 over HTTP against PostgreSQL: halls and slots, booking, 改约, cancelling, the limits, who may see and change
a booking (attackers included), the clerk's 签到 at their own hall, and no oversell under concurrent bookings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.appointments import service as appointments
from app.calendar.service import today_in_china
from app.cases.qr import qr_svg
from app.people.identity import check_char
from app.people.register import import_register
from auth import enrollment
from auth.pii import PiiCipher
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
MakeClient = Callable[[], Client]
ID_CARD = "CZ-GA-004"  # 居民身份证换领: in person only (网上预约), group id_card
ELDERLY = "CZ-MZ-002"  # 尊老金申领: online, or booked at a 民政 window
FULL = "该时段已约满，请选择其他时段"


async def _slots(client: Client, hall: str = "tianning", item: str = ID_CARD, **params: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/v1/halls/{hall}/slots", params={"item": item, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _book(client: Client, slot: str, hall: str = "tianning", item: str = ID_CARD, **extra: Any) -> httpx.Response:
    return await post(client, "/api/v1/appointments", {"item": item, "hall": hall, "slot": slot, **extra})


def _remaining(slots: list[dict[str, Any]], slot_id: str) -> int:
    return next(s["remaining"] for s in slots if s["id"] == slot_id)


async def _staff(
    make: MakeClient, pool: asyncpg.Pool, settings: Settings, *, name: str, role: str, region: str, **extra: Any
) -> Client:
    client = make()
    await staff_client_sign_up(client, pool, settings.secret_key, name=name, role=role, region=region, **extra)
    return client


async def _receive(clerk: Client, person: dict[str, str]) -> None:
    started = await post(clerk, "/api/v1/console/walk-ins", {**person, "identity_checked": True})
    assert started.status_code in (200, 201), started.text


# --- halls and slots --------------------------------------------------------------------------------------------------


async def test_halls_and_their_slots_are_public_working_days_from_tomorrow(client: Client) -> None:
    halls = (await client.get("/api/v1/halls")).json()
    assert [h["id"] for h in halls][:2] == ["city", "tianning"] and len(halls) == 7
    city = halls[0]
    assert city["name"] == "常州市政务服务中心" and city["region"] == "320400" and city["address"]
    slots = await _slots(client)
    today = today_in_china()
    assert slots, "two weeks hold working days"
    days = {date.fromisoformat(s["day"]) for s in slots}
    assert min(days) > today and max(days) <= today + timedelta(days=14)
    assert all(day.weekday() < 5 or day.isoformat() in _make_up_days() for day in days)
    morning = next(s for s in slots if s["half"] == "am")
    assert morning["capacity"] == morning["remaining"] == 20  # db/seed/halls.json: 天宁 居民身份证 mornings
    assert morning["start"].endswith("09:00:00+08:00") and morning["end"].endswith("12:00:00+08:00")
    assert morning["id"] == f"{morning['day']}-am"
    # Only slots of the range asked for.
    first = min(days).isoformat()
    assert {s["day"] for s in await _slots(client, **{"from": first, "to": first})} == {first}


def _make_up_days() -> set[str]:
    import chinese_calendar

    today = today_in_china()
    days = (today + timedelta(days=n) for n in range(15))
    return {d.isoformat() for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)}


async def test_slots_of_what_cannot_be_booked_are_404_and_bad_dates_400(client: Client) -> None:
    assert (await client.get("/api/v1/halls/tianning/slots", params={"item": "CZ-WJ-001"})).status_code == 404
    assert (await client.get("/api/v1/halls/nowhere/slots", params={"item": ID_CARD})).status_code == 404
    assert (
        await client.get("/api/v1/halls/tianning/slots", params={"item": ID_CARD, "from": "2026-13-01"})
    ).status_code == 400
    # The city hall has no 民政 window: it offers 尊老金 no slot.
    assert await _slots(client, hall="city", item=ELDERLY) == []


# --- booking, 改约, cancelling ----------------------------------------------------------------------------------------


async def test_a_resident_books_a_half_day_and_takes_one_place(client: Client, settings: Settings) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = (await _slots(client))[0]["id"]
    booked = await _book(client, slot)
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert set(body) == {"id", "code", "qr_url"}
    assert len(body["code"]) == 8 and body["qr_url"] == f"{settings.public_url}/api/v1/appointments/{body['id']}/qr.svg"
    assert _remaining(await _slots(client), slot) == 19

    mine = (await client.get("/api/v1/appointments")).json()
    assert [(b["id"], b["item"], b["hall"], b["slot"], b["status"]) for b in mine] == [
        (body["id"], ID_CARD, "tianning", slot, "booked")
    ]
    assert mine[0]["person_name"] == "张伟" and mine[0]["status_label"] == "已预约"
    # The QR code is the clerk's link to the booking, nothing else.
    qr = await client.get(f"/api/v1/appointments/{body['id']}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    link = f"{settings.public_url}/console/appointments/{body['code']}"
    assert qr.content == qr_svg(link, title=appointments.QR_TITLE)


async def test_one_live_booking_per_item_and_rescheduling_keeps_the_code(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slots = await _slots(client)
    first, second = slots[0]["id"], slots[1]["id"]
    booked = (await _book(client, first)).json()
    again = await _book(client, second)
    assert again.status_code == 409
    assert again.json()["detail"].startswith("已预约居民身份证换领") and again.json()["appointment"] == booked["id"]

    moved = await post(client, f"/api/v1/appointments/{booked['id']}/reschedule", {"hall": "tianning", "slot": second})
    assert moved.status_code == 200, moved.text
    assert moved.json()["slot"] == second and moved.json()["code"] == booked["code"]
    after = await _slots(client)
    assert _remaining(after, first) == 20 and _remaining(after, second) == slots[1]["capacity"] - 1
    # Another hall: the place moves there.
    elsewhere = await post(
        client, f"/api/v1/appointments/{booked['id']}/reschedule", {"hall": "zhonglou", "slot": first}
    )
    assert elsewhere.status_code == 200 and elsewhere.json()["hall_name"] == "钟楼区政务服务中心"
    assert _remaining(await _slots(client), second) == slots[1]["capacity"]


async def test_cancelling_frees_the_place_and_a_cancelled_booking_stays_cancelled(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = (await _slots(client))[0]["id"]
    booked = (await _book(client, slot)).json()
    headers = await csrf(client)
    assert (await client.delete(f"/api/v1/appointments/{booked['id']}", headers=headers)).status_code == 204
    assert _remaining(await _slots(client), slot) == 20
    again = await client.delete(f"/api/v1/appointments/{booked['id']}", headers=headers)
    assert again.status_code == 409 and again.json()["detail"] == "该预约已取消"
    moved = await post(client, f"/api/v1/appointments/{booked['id']}/reschedule", {"hall": "tianning", "slot": slot})
    assert moved.status_code == 409
    # Booked again (a new booking, a new code).
    rebooked = await _book(client, slot)
    assert rebooked.status_code == 201 and rebooked.json()["code"] != booked["code"]
    statuses = {b["id"]: b["status"] for b in (await client.get("/api/v1/appointments")).json()}
    assert statuses == {booked["id"]: "cancelled", rebooked.json()["id"]: "booked"}


async def test_bad_choices_are_named_beside_their_fields(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    today = today_in_china()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    cases = {
        "item": (
            {"item": "CZ-WJ-001", "hall": "tianning", "slot": f"{today + timedelta(days=1)}-am"},
            "该事项不需要预约",
        ),
        "slot": ({"item": ID_CARD, "hall": "tianning", "slot": f"{today}-am"}, "只能预约明天起14天内的工作日"),
        "hall": ({"item": ID_CARD, "hall": "nowhere", "slot": "x"}, "请选择办事大厅"),
    }
    for field, (body, words) in cases.items():
        answer = await post(client, "/api/v1/appointments", body)
        assert answer.status_code == 400, (field, answer.text)
        assert answer.json()["errors"][field].startswith(words), answer.json()
    if saturday.isoformat() not in _make_up_days():
        weekend = await _book(client, f"{saturday}-am")
        assert weekend.status_code == 400 and "errors" in weekend.json() and "slot" in weekend.json()["errors"]
    slot = (await _slots(client, hall="tianning", item=ELDERLY))[0]["id"]
    no_window = await _book(client, slot, hall="city", item=ELDERLY)
    assert no_window.status_code == 400
    assert no_window.json()["errors"]["hall"] == "常州市政务服务中心不办理民政综合预约，请选择其他大厅"


async def test_no_more_than_three_live_bookings_and_ten_changes_an_hour(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = (await _slots(client))[0]["id"]
    # Two more bookable items in the id_card group, for this test only.
    await pool.execute(
        "UPDATE service_items SET appointment_group = 'id_card' WHERE code IN ('CZ-GA-001', 'CZ-GA-003')"
    )
    for item in (ID_CARD, "CZ-GA-001", "CZ-GA-003"):
        assert (await _book(client, slot, item=item)).status_code == 201
    await pool.execute("UPDATE service_items SET appointment_group = 'id_card' WHERE code = 'CZ-GA-002'")
    fourth = await _book(client, slot, item="CZ-GA-002")
    assert fourth.status_code == 409 and fourth.json()["detail"] == "同时最多保留3个预约，请先办完或取消其中一个"
    # Cycling a booking to hold places is slowed down: the tenth change in an hour is the last.
    booking = (await client.get("/api/v1/appointments")).json()[0]["id"]
    slots = [s["id"] for s in (await _slots(client))[:2]]
    answers = [
        (await post(client, f"/api/v1/appointments/{booking}/reschedule", {"hall": "tianning", "slot": slots[n % 2]}))
        for n in range(7)
    ]
    assert [a.status_code for a in answers] == [200] * 6 + [429]
    assert "分钟后再试" in answers[-1].json()["detail"]


# --- who may see and change a booking ---------------------------------------------------------------------------------


async def test_another_resident_can_neither_see_nor_change_my_booking(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = (await _slots(client))[0]["id"]
    mine = (await _book(client, slot)).json()
    other = another_client()
    await sign_up(other, new_authenticator(), LI_NA)
    assert (await other.get("/api/v1/appointments")).json() == []
    for answer in (
        await other.get(f"/api/v1/appointments/{mine['id']}"),
        await other.get(f"/api/v1/appointments/{mine['id']}/qr.svg"),
        await other.delete(f"/api/v1/appointments/{mine['id']}", headers=await csrf(other)),
        await post(other, f"/api/v1/appointments/{mine['id']}/reschedule", {"hall": "tianning", "slot": slot}),
        await other.get(f"/appointments/{mine['id']}"),
    ):
        assert answer.status_code == 404, answer.text  # the same as a booking that does not exist
    assert (await other.get("/api/v1/appointments/99999999")).status_code == 404
    # Her tries are on the audit log; his booking is untouched.
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'family.check' AND outcome = 'forbidden'")
        >= 4
    )
    assert (await client.get(f"/api/v1/appointments/{mine['id']}")).json()["status"] == "booked"
    # Booking for someone else by naming their number is refused (not her child).
    refused = await _book(other, slot, on_behalf_of=ZHANG_WEI["id_number"])
    assert refused.status_code == 403
    # Nobody signed in books nothing and reads no one's bookings.
    anonymous = httpx.AsyncClient(transport=other._transport, base_url="http://localhost:8000")
    assert (await anonymous.get("/api/v1/appointments")).status_code == 401
    assert (await anonymous.post("/api/v1/appointments", json={})).status_code in (401, 403)


async def test_staff_who_do_not_book_are_refused(
    another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    approver = await _staff(
        another_client, pool, settings, name="刘审批", role="approver", region="320400", department="police"
    )
    slot = (await _slots(approver))[0]["id"]
    assert (await _book(approver, slot)).status_code == 403
    assert (await approver.get("/api/v1/appointments")).status_code == 403
    assert (await approver.get("/api/v1/console/appointments")).status_code == 403


async def test_a_helper_books_for_a_client_under_a_live_delegation_only(
    another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    helper = await _staff(another_client, pool, settings, name="陈帮办", role="helper", region=VILLAGE)
    slot = (await _slots(helper, hall="liyang"))[0]["id"]
    refused = await _book(helper, slot, hall="liyang", on_behalf_of=ELDER["id_number"])
    assert refused.status_code == 403  # no delegation yet
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    booked = await _book(helper, slot, hall="liyang", on_behalf_of=ELDER["id_number"])
    assert booked.status_code == 201, booked.text
    listed = (await helper.get("/api/v1/appointments")).json()
    assert [(b["id"], b["person_name"]) for b in listed] == [(booked.json()["id"], "史永生")]
    # Without on_behalf_of a helper has no one to book for.
    assert (await _book(helper, slot, hall="liyang")).status_code == 403
    # Once the delegation is revoked the booking is no longer theirs to see or cancel.
    delegation = (await helper.get("/api/v1/delegations")).json()[0]["id"]
    assert (await helper.delete(f"/api/v1/delegations/{delegation}", headers=await csrf(helper))).status_code == 204
    assert (await helper.get("/api/v1/appointments")).json() == []
    cancel = await helper.delete(f"/api/v1/appointments/{booked.json()['id']}", headers=await csrf(helper))
    assert cancel.status_code == 404


# --- at the hall ------------------------------------------------------------------------------------------------------


async def test_a_clerk_books_for_the_walk_in_and_checks_them_in_on_the_day(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    clerk = await _staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region="320402", department="police"
    )
    slot = (await _slots(clerk))[0]["id"]
    # Only for the resident whose ID card the clerk checked.
    assert (await _book(clerk, slot, on_behalf_of=ZHANG_WEI["id_number"])).status_code == 403
    await _receive(clerk, ZHANG_WEI)
    booked = await _book(clerk, slot, on_behalf_of=ZHANG_WEI["id_number"])
    assert booked.status_code == 201, booked.text
    code = booked.json()["code"]
    # 张伟 hears of it at once (消息, 预约), and sees it as his own.
    inbox = (await client.get("/api/v1/notifications")).json()["items"]
    notice = next(e for e in inbox if e["kind"] == "reminder")
    assert notice["title"] == "已为您预约：居民身份证换领" and "天宁窗口（窗口工作人员）为您预约了" in notice["body"]
    assert [b["code"] for b in (await client.get("/api/v1/appointments")).json()] == [code]

    # The day before is too early to check in.
    early = await post(clerk, f"/api/v1/console/appointments/{code}/check-in", {"identity_checked": True})
    assert early.status_code == 409 and "不是今天" in early.json()["detail"]
    # The day comes.
    await pool.execute("UPDATE appointments SET day = $1 WHERE code = $2", today_in_china(), code)
    found = await clerk.get(f"/api/v1/console/appointments/{code.lower()[:4]} {code.lower()[4:]}")
    assert found.status_code == 200, found.text
    shown = found.json()
    assert shown["person_name"] == "张伟" and shown["id_number_masked"] == "320402********0119"
    assert shown["item_name"] == "居民身份证换领" and shown["today"] is True and shown["status"] == "booked"
    unchecked = await post(clerk, f"/api/v1/console/appointments/{code}/check-in", {})
    assert unchecked.status_code == 400 and "identity_checked" in unchecked.json()["errors"]
    arrived = await post(clerk, f"/api/v1/console/appointments/{code}/check-in", {"identity_checked": True})
    assert arrived.status_code == 200 and arrived.json()["status"] == "arrived", arrived.text
    twice = await post(clerk, f"/api/v1/console/appointments/{code}/check-in", {"identity_checked": True})
    assert twice.status_code == 409 and twice.json()["detail"].startswith("该预约已签到")
    # 签到 started receiving him at the window, audited with the booking.
    walk_in = await clerk.get("/console/walk-in")
    assert "正在接待：张伟" in walk_in.text
    audits = await pool.fetch(
        "SELECT action, detail->>'appointment' AS code FROM audit_log WHERE action IN "
        "('appointment.check_in', 'walk_in.start') AND outcome = 'ok' ORDER BY id"
    )
    assert [(a["action"], a["code"]) for a in audits][-2:] == [("appointment.check_in", None), ("walk_in.start", code)]
    assert (await client.get("/api/v1/appointments")).json()[0]["status_label"] == "已签到"
    # Arrived: no longer cancelled or moved.
    assert (
        await client.delete(f"/api/v1/appointments/{booked.json()['id']}", headers=await csrf(client))
    ).status_code == 409


async def test_a_clerk_sees_only_their_own_halls_bookings(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = (await _slots(client, hall="wujin"))[0]["id"]
    code = (await _book(client, slot, hall="wujin")).json()["code"]
    await pool.execute("UPDATE appointments SET day = $1 WHERE code = $2", today_in_china(), code)
    tianning = await _staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region="320402", department="police"
    )
    elsewhere = await tianning.get(f"/api/v1/console/appointments/{code}")
    assert elsewhere.status_code == 403
    assert elsewhere.json()["detail"].startswith("该预约的办理地点是武进区政务服务中心")
    assert "张伟" not in elsewhere.text and "0119" not in elsewhere.text
    assert (
        await post(tianning, f"/api/v1/console/appointments/{code}/check-in", {"identity_checked": True})
    ).status_code == 403
    assert (await tianning.get("/api/v1/console/appointments")).json()["appointments"] == []
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'appointment.open' AND outcome = 'forbidden'"
        )
        == 2
    )
    assert (await tianning.get("/api/v1/console/appointments/ZZZZ2222")).status_code == 404
    assert (await tianning.get("/api/v1/console/appointments/not-a-code!")).status_code == 400

    wujin = await _staff(
        another_client, pool, settings, name="武进窗口", role="clerk", region="320412", department="hrss"
    )
    day = (await wujin.get("/api/v1/console/appointments")).json()
    assert day["hall"]["id"] == "wujin" and [a["code"] for a in day["appointments"]] == [code]
    assert day["appointments"][0]["person_name"] == "张*"  # a list on a screen at the window: masked
    # A clerk of a region with no hall has no bookings to check in.
    town = await _staff(
        another_client, pool, settings, name="镇窗口", role="clerk", region="320402001", department="police"
    )
    assert (await town.get("/api/v1/console/appointments")).status_code == 403


# --- no oversell ----------------------------------------------------------------------------------------------------


def _invented_people(count: int) -> list[tuple[str, str]]:
    """(number, name) of invented residents of 天宁区, valid by GB 11643."""
    people = []
    for n in range(count):
        first17 = f"32040219800101{n + 100:03d}"
        people.append((first17 + check_char(first17), f"测试{n:02d}"))
    return people


async def test_twenty_concurrent_bookings_of_the_last_five_places_book_exactly_five(
    app: Litestar, pool: asyncpg.Pool, settings: Settings
) -> None:
    residents = _invented_people(20)
    csv = "id_number,name,phone,region_code\n" + "".join(f"{n},{name},,320402001001\n" for n, name in residents)
    report = await import_register(pool, PiiCipher(settings.secret_key), csv)
    assert report.added == 20, report.problems
    clients: list[Client] = []
    try:
        for n, (number, name) in enumerate(residents):
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 51000 + n)),
                base_url="http://localhost:8000",
            )
            clients.append(client)
            person_id = await pool.fetchval(
                "SELECT id FROM people WHERE id_number_hash = $1", PiiCipher(settings.secret_key).lookup_hash(number)
            )
            code, _ = await enrollment.issue(pool, settings.secret_key, person_id=person_id, issued_by="test")
            signed = await sign_up(
                client, new_authenticator(), {"name": name, "id_number": number}, enrollment_code=code
            )
            assert signed.status_code == 201, signed.text
        slot = (await _slots(clients[0]))[0]["id"]
        await pool.execute(
            "UPDATE appointment_capacity SET places = 5 WHERE hall_id = 'tianning' AND group_code = 'id_card'"
        )
        bodies = {"item": ID_CARD, "hall": "tianning", "slot": slot}
        headers = [await csrf(c) for c in clients]
        answers = await asyncio.gather(
            *(c.post("/api/v1/appointments", json=bodies, headers=h) for c, h in zip(clients, headers, strict=True))
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201] * 5 + [409] * 15, [a.text for a in answers if a.status_code not in (201, 409)]
        assert {a.json()["detail"] for a in answers if a.status_code == 409} == {FULL}
        taken = await pool.fetchval("SELECT count(*) FROM appointments WHERE day = $1 AND half = $2", *_day_half(slot))
        assert taken == 5
        assert _remaining(await _slots(clients[0]), slot) == 0
    finally:
        for client in clients:
            await client.aclose()


def _day_half(slot: str) -> tuple[date, str]:
    return date.fromisoformat(slot[:10]), slot[11:]
