"""网上预约 pages without JavaScript: the 办事指南's 预约办理, choosing a hall then a half-day (radio groups with their
legends, the places left), the booking's code and QR, 改约 and cancelling; a helper booking for the client on the
tablet; at the hall, the clerk's list, finding a booking by its code and 签到."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import asyncpg
import httpx
import pytest

from app.calendar.service import today_in_china
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, signed_in_staff
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
MakeClient = Callable[[], Client]
ID_CARD = "CZ-GA-004"
FULL = "该时段已约满，请选择其他时段"


async def _form(client: Client, path: str, fields: dict[str, str]) -> httpx.Response:
    token = (await csrf(client))["X-CSRFToken"]
    return await client.post(path, data={**fields, "_csrf_token": token})


async def _first_slot(client: Client, hall: str = "tianning") -> str:
    return (await client.get(f"/api/v1/halls/{hall}/slots", params={"item": ID_CARD})).json()[0]["id"]


async def test_the_guide_offers_a_booking_for_an_item_done_in_person_and_beside_applying_online(client: Client) -> None:
    in_person = (await client.get(f"/items/{ID_CARD}")).text
    assert f'<a class="button primary" href="/items/{ID_CARD}/book">预约办理</a>' in in_person
    assert "在线办理" not in in_person and "本事项须本人到办事大厅办理" in in_person
    both = (await client.get("/items/CZ-MZ-002")).text
    assert 'href="/items/CZ-MZ-002/apply">在线办理</a>' in both
    assert '<a class="button" href="/items/CZ-MZ-002/book">预约办理</a>' in both
    online_only = (await client.get("/items/CZ-WJ-001")).text
    assert "/book" not in online_only
    # Signing in comes first, and brings the resident back.
    anonymous = await client.get(f"/items/{ID_CARD}/book")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next=/items/{ID_CARD}/book"
    assert (await client.get("/items/CZ-WJ-001/book")).status_code in (303, 404)


async def test_a_resident_chooses_a_hall_then_a_half_day_and_gets_a_code_and_qr(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    assert f'<a href="/items/{ID_CARD}">居民身份证换领</a>' in (await client.get("/appointments")).text  # none yet
    halls = await client.get(f"/items/{ID_CARD}/book")
    assert halls.status_code == 200
    page = halls.text
    assert '<legend><h2 class="choice-title">第一步：选择办事大厅</h2></legend>' in page
    assert re.search(r'id="hall-tianning" name="hall" value="tianning"[^>]*checked', page)  # his own district first
    assert page.index("hall-tianning") < page.index("hall-city")
    assert 'method="get" action="/items/CZ-GA-004/book"' in page

    slots = (await client.get(f"/items/{ID_CARD}/book", params={"hall": "tianning"})).text
    assert "第二步：选择时间" in slots and "常州市天宁区和平北路99号" in slots
    slot = await _first_slot(client)
    assert f'name="slot" value="{slot}"' in slots and "剩余 20 个" in slots
    assert re.search(r'<fieldset class="slot-day">\s*<legend>\d+月\d+日 周.</legend>', slots)
    assert f'aria-describedby="slot-{slot}-left"' in slots

    booked = await _form(client, f"/items/{ID_CARD}/book", {"hall": "tianning", "slot": slot, "for": ""})
    assert booked.status_code == 303
    location = booked.headers["location"]
    assert re.fullmatch(r"/appointments/\d+\?notice=booked", location)
    page_of_booking = await client.get(location)
    assert page_of_booking.headers["ywtb-offline"] == "keep"  # her pass opens offline at the hall
    shown = page_of_booking.text
    code = (await client.get("/api/v1/appointments")).json()[0]["code"]
    assert "预约成功" in shown and f"{code[:4]} {code[4:]}" in shown and "<svg" in shown and "预约签到二维码" in shown
    assert "天宁区政务服务中心" in shown and "原居民身份证" in shown  # what to bring
    # The guide's page now says it is booked rather than offering a second one.
    again = (await client.get(f"/items/{ID_CARD}/book")).text
    assert "已有预约" in again and 'name="hall"' not in again
    listed = (await client.get("/appointments")).text
    assert "居民身份证换领" in listed and "已预约" in listed


async def test_a_full_half_day_is_named_beside_the_choice(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = await _first_slot(client)
    half = slot[-2:]
    places = "UPDATE appointment_capacity SET places = $1 WHERE hall_id = 'tianning' AND group_code = 'id_card' AND "
    await pool.execute(places + "half = $2", 0, half)
    await pool.execute(places + "half <> $2", 1, half)
    page = (await client.get(f"/items/{ID_CARD}/book", params={"hall": "tianning"})).text
    assert f'value="{slot}"' not in page  # a half-day with no places offered is not listed
    other = next(s["id"] for s in (await client.get("/api/v1/halls/tianning/slots", params={"item": ID_CARD})).json())
    await pool.execute(
        "INSERT INTO appointments (code, person_id, item_code, group_code, hall_id, day, half, booked_as) "
        "SELECT 'ABCD2345', id, 'CZ-GA-004', 'id_card', 'tianning', $1::date, $2, 'self' FROM people "
        "WHERE name = '李娜'",
        date.fromisoformat(other[:10]),
        other[11:],
    )
    full = (await client.get(f"/items/{ID_CARD}/book", params={"hall": "tianning"})).text
    assert re.search(rf'value="{other}"[^>]*disabled', full) and "已约满" in full
    refused = await _form(client, f"/items/{ID_CARD}/book", {"hall": "tianning", "slot": other, "for": ""})
    assert refused.status_code == 409
    assert f'<a href="#choose-slot">{FULL}</a>' in refused.text
    assert (
        'aria-describedby="slot-error"' in refused.text
        and f'id="slot-error" class="field-error">{FULL}' in refused.text
    )
    nothing = await _form(client, f"/items/{ID_CARD}/book", {"hall": "tianning", "for": ""})
    assert nothing.status_code == 400 and "请选择预约时段" in nothing.text


async def test_a_resident_moves_then_cancels_a_booking_with_plain_forms(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = await _first_slot(client)
    await _form(client, f"/items/{ID_CARD}/book", {"hall": "tianning", "slot": slot, "for": ""})
    booking = (await client.get("/api/v1/appointments")).json()[0]
    page = (await client.get(f"/appointments/{booking['id']}")).text
    assert f'href="/appointments/{booking["id"]}/reschedule">改约</a>' in page

    choose = (await client.get(f"/appointments/{booking['id']}/reschedule")).text
    assert re.search(r'id="hall-tianning"[^>]*checked', choose) and "改约后预约码不变" in choose
    zhonglou = await _first_slot(client, "zhonglou")
    moved = await _form(client, f"/appointments/{booking['id']}/reschedule", {"hall": "zhonglou", "slot": zhonglou})
    assert moved.status_code == 303 and moved.headers["location"] == f"/appointments/{booking['id']}?notice=moved"
    assert "钟楼区政务服务中心" in (await client.get(moved.headers["location"])).text

    confirm = (await client.get(f"/appointments/{booking['id']}/cancel")).text
    assert "取消预约？" in confirm and "确认取消预约" in confirm
    cancelled = await _form(client, f"/appointments/{booking['id']}/cancel", {})
    assert cancelled.status_code == 303 and cancelled.headers["location"] == "/appointments?notice=cancelled"
    listed = (await client.get("/appointments?notice=cancelled")).text
    assert "预约已取消" in listed and "已取消" in listed
    twice = await _form(client, f"/appointments/{booking['id']}/cancel", {})
    assert twice.status_code == 409 and "该预约已取消" in twice.text


async def test_a_helper_books_for_the_client_on_the_tablet_and_never_for_the_next_one(
    another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    helper = await signed_in_staff(another_client, pool, settings, name="陈帮办", role="helper", region=VILLAGE)
    nobody = await helper.get(f"/items/{ID_CARD}/book")
    assert nobody.status_code == 303 and nobody.headers["location"] == "/helper?notice=choose"
    delegation = (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).json()["id"]
    assert (await helper.post(f"/helper/clients/{delegation}/select", headers=await csrf(helper))).status_code == 303
    assert f'<a href="/items/{ID_CARD}/book">居民身份证换领</a>' in (await helper.get("/helper/client")).text
    page = (await helper.get(f"/items/{ID_CARD}/book", params={"hall": "liyang"})).text
    assert "为 <strong>史永生</strong> 预约" in page and f'name="for" value="{delegation}"' in page
    slot = await _first_slot(helper, "liyang")
    stale = await _form(helper, f"/items/{ID_CARD}/book", {"hall": "liyang", "slot": slot, "for": "999"})
    assert stale.status_code == 303 and stale.headers["location"] == "/helper?notice=switched"
    booked = await _form(helper, f"/items/{ID_CARD}/book", {"hall": "liyang", "slot": slot, "for": str(delegation)})
    assert booked.status_code == 303, booked.text
    row = await pool.fetchrow("SELECT booked_as, hall_id FROM appointments")
    assert tuple(row) == ("helper", "liyang")
    listed = await helper.get("/appointments")
    assert "史永生" in listed.text and "ywtb-offline" not in listed.headers  # nothing of a client kept on the tablet


async def test_the_clerk_finds_a_booking_by_its_code_and_checks_the_person_in(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    slot = await _first_slot(client)
    await _form(client, f"/items/{ID_CARD}/book", {"hall": "tianning", "slot": slot, "for": ""})
    code = (await client.get("/api/v1/appointments")).json()[0]["code"]
    await pool.execute("UPDATE appointments SET day = $1", today_in_china())
    clerk = await signed_in_staff(
        another_client, pool, settings, name="天宁窗口", role="clerk", region="320402", department="police"
    )
    assert 'href="/console/appointments">预约签到</a>' in (await clerk.get("/console")).text
    today = (await clerk.get("/console/appointments")).text
    assert "天宁区政务服务中心" in today and "张*" in today and "张伟" not in today
    typed = await clerk.get("/console/appointments", params={"code": f"{code[:4].lower()}-{code[4:]}"})
    assert typed.status_code == 303 and typed.headers["location"] == f"/console/appointments/{code}"
    bad = await clerk.get("/console/appointments/abc")
    assert bad.status_code == 400 and "预约码是8位字母和数字" in bad.text
    shown = (await clerk.get(f"/console/appointments/{code}")).text
    assert "张伟" in shown and "320402 ******** 0119" in shown and "签到并开始接待" in shown
    unticked = await _form(clerk, f"/console/appointments/{code}/check-in", {})
    assert unticked.status_code == 400 and "请当面核验来办人的居民身份证原件" in unticked.text
    done = await _form(clerk, f"/console/appointments/{code}/check-in", {"identity_checked": "true"})
    assert done.status_code == 303 and done.headers["location"] == "/console/walk-in?notice=checked_in"
    walk_in = (await clerk.get(done.headers["location"])).text
    assert "预约已签到" in walk_in and "正在接待：张伟" in walk_in
    again = (await clerk.get(f"/console/appointments/{code}")).text
    assert "已签到" in again and "签到并开始接待" not in again
