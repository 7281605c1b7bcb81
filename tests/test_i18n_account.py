"""The resident's own pages in English (issue 21): 我的 and its passkeys and devices, 消息, 我的证照, 预约 (booking,
the pass, cancelling and 改约), 好差评, the public statistics and 企业办事. Asked for in English (the browser's
`Accept-Language`, or the device's `ywtb_lang` cookie), each page carries its English and none of its template's
Chinese — only names and data (a person's name, an item's or hall's name) stay as they are; asked for nothing, the
same page is Chinese, the language of record."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_up
from tests.org_helpers import HUANG_LEI
from tests.test_reviews_http import _case_with_finished_task  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
MakeClient = Callable[[], Client]
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
TEMPLATES = Path(__file__).resolve().parent.parent / "pwa" / "templates"
ID_CARD = "CZ-GA-004"  # 居民身份证换领: done in person, booked

# A marked text in a template, and the placeholders inside one.
_MARKED = re.compile(r"""_\(\s*(?P<q>["'])(?P<text>(?:(?!(?P=q)).)*)(?P=q)""", re.DOTALL)
_PLACEHOLDER = re.compile(r"%\(\w+\)[.\d]*[sdf]|%%|<[^>]*>|&lt;")
_CHINESE = re.compile(r"[\u3400-\u9fff]")


@cache
def _template_chinese(name: str) -> frozenset[str]:
    """Every piece of Chinese a template writes (its marked texts, cut at their placeholders and markup): none of
    them may be left on the English page."""
    pieces: set[str] = set()
    for marked in _MARKED.finditer((TEMPLATES / name).read_text(encoding="utf-8")):
        for piece in _PLACEHOLDER.split(marked.group("text")):
            if len(_CHINESE.findall(piece)) >= 2:
                pieces.add(piece.strip())
    return frozenset(pieces)


def _assert_english(page: httpx.Response, *templates: str, shows: tuple[str, ...]) -> None:
    assert page.status_code == 200, page.text[:500]
    assert '<html lang="en"' in page.text
    for text in shows:
        assert text in page.text, text
    left = sorted(piece for name in templates for piece in _template_chinese(name) if piece in page.text)
    assert not left, f"Chinese left on the English page: {left}"


async def _signed_up(client: Client) -> Client:
    assert (await sign_up(client, new_authenticator(), ZHANG_WEI)).status_code == 201
    return client


async def _form(client: Client, path: str, fields: dict[str, str], **headers: str) -> httpx.Response:
    token = (await csrf(client))["X-CSRFToken"]
    return await client.post(path, data={**fields, "_csrf_token": token}, headers=headers)


async def test_me_and_its_passkeys_and_devices_are_in_english_and_chinese_by_default(client: Client) -> None:
    await _signed_up(client)
    me = await client.get("/me", headers=ENGLISH)
    _assert_english(
        me,
        "me.html",
        "partials/passkeys.html",
        "partials/push_optin.html",
        shows=(
            "My passkeys",
            "Add a passkey on this device",
            "Progress reminders",
            "Sign out on all devices",
            "ID number",
        ),
    )
    assert "张伟" in me.text  # a name is never translated
    devices = await client.get("/me/devices", headers=ENGLISH)
    assert devices.status_code == 200 and "No device has reminders turned on" in devices.text
    assert not [p for p in _template_chinese("partials/push_devices.html") if p in devices.text]

    chinese = await client.get("/me")
    assert '<html lang="zh-CN"' in chinese.text and "我的通行密钥" in chinese.text and "My passkeys" not in chinese.text
    assert "身份证件号码" in chinese.text


async def test_the_device_cookie_chooses_english_for_messages_certificates_scan_and_consents(client: Client) -> None:
    await _signed_up(client)
    client.cookies.set("ywtb_lang", "en")
    inbox = await client.get("/notifications")
    _assert_english(inbox, "notifications.html", "partials/push_optin.html", shows=("Messages",))
    assert "No messages yet" in inbox.text or "Every step of your cases and every account security alert" in inbox.text
    certificates = await client.get("/certificates")
    _assert_english(certificates, "certificates.html", shows=("My certificates", "E-certificates issued to you"))
    one = re.search(r'href="/certificates/(\d+)"', certificates.text)
    if one:  # the demo register's certificates of 张伟
        _assert_english(
            await client.get(f"/certificates/{one.group(1)}"), "certificate.html", shows=("Show certificate", "Holder")
        )
    _assert_english(await client.get("/scan"), "scan.html", shows=("Scan to track", "Type the case number"))
    wrong = await client.get("/scan/case", params={"no": "123"})
    assert wrong.status_code == 400 and "A case number is CZ followed by 14 digits" in wrong.text
    _assert_english(await client.get("/consents"), "consents.html", shows=("Consent requests",))

    client.cookies.delete("ywtb_lang")
    assert "<h1>消息</h1>" in (await client.get("/notifications")).text
    assert "政府部门已签发的电子证照" in (await client.get("/certificates")).text


async def test_booking_a_visit_its_pass_moving_and_cancelling_it_are_in_english(client: Client) -> None:
    await _signed_up(client)
    _assert_english(await client.get("/appointments", headers=ENGLISH), "appointments.html", shows=("No bookings yet",))
    choose_hall = await client.get(f"/items/{ID_CARD}/book", headers=ENGLISH)
    _assert_english(choose_hall, "book.html", shows=("Step 1: choose a service hall", "Next: choose a time"))
    assert "Renewing a resident identity card" in choose_hall.text and "居民身份证换领" not in choose_hall.text
    halls = await client.get(f"/items/{ID_CARD}/book", params={"hall": "tianning"}, headers=ENGLISH)
    _assert_english(halls, "book.html", shows=("Step 2: choose a time", "Confirm booking", "left"))
    assert re.search(r"<legend>(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}</legend>", halls.text), halls.text
    slot = re.search(r'name="slot" value="([^"]+)"', halls.text)
    assert slot

    booked = await _form(client, f"/items/{ID_CARD}/book", {"hall": "tianning", "slot": slot.group(1), "for": ""})
    assert booked.status_code == 303, booked.text
    location = booked.headers["location"]
    booking = await client.get(location, headers=ENGLISH)
    _assert_english(booking, "appointment.html", shows=("Booked. Please arrive on time", "Booking code", "Bring with"))
    assert "Morning" in booking.text or "Afternoon" in booking.text
    path = location.split("?", 1)[0]
    mine = await client.get("/appointments", headers=ENGLISH)
    # The item booked is named in English on every page of the booking (the database keeps it in Chinese).
    _assert_english(mine, "appointments.html", shows=("My bookings", "Booked", "Renewing a resident identity card"))
    assert "居民身份证换领" not in mine.text and "公安" not in mine.text
    assert "Renewing a resident identity card" in booking.text and "居民身份证换领" not in booking.text
    _assert_english(
        await client.get(f"{path}/cancel", headers=ENGLISH),
        "appointment_cancel.html",
        shows=("Cancel", "Renewing a resident identity card"),
    )
    _assert_english(
        await client.get(f"{path}/reschedule", headers=ENGLISH),
        "book.html",
        shows=("Change booking", "Your booking code stays the same", "Renewing a resident identity card"),
    )
    again = await client.get(f"/items/{ID_CARD}/book", headers=ENGLISH)
    _assert_english(again, "book.html", shows=("Already booked", "You are booked for"))

    chinese = await client.get(path)
    assert "预约码" in chinese.text and "Booking code" not in chinese.text
    assert re.search(r"\d{1,2}月\d{1,2}日 周[一二三四五六日] (上午|下午)", chinese.text)


async def test_rating_a_finished_task_is_in_english(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case, _task, _approver = await _case_with_finished_task(client, pool, settings, another_client)
    path = f"/cases/{case['case_no']}/reviews"
    page = await client.get(path, headers=ENGLISH)
    _assert_english(
        page,
        "reviews.html",
        "partials/review_forms.html",
        shows=("Please rate this service", "Very satisfied", "Too many documents asked for", "Submit rating"),
    )
    chinese = await client.get(path)
    assert "请评价本次办理" in chinese.text and "非常满意" in chinese.text


async def test_the_public_statistics_are_in_english_and_chinese_by_default(client: Client) -> None:
    page = await client.get("/stats", headers=ENGLISH)
    _assert_english(
        page,
        "stats.html",
        "partials/stats_figures.html",
        "partials/stats_filters.html",
        shows=("How we count", "Totals for the period", "Download the table (CSV)", "All departments", "Whole city"),
    )
    # The charts speak English too (their summary is the image's name), and months are named, not numbered.
    assert "Bar chart: Received each month" in page.text
    abbreviated = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    month = rf"{abbreviated} \d{{4}}"
    assert re.search(rf'<option value="\d{{4}}-\d{{2}}"[^>]*>{month}<', page.text)
    # A table's first row names its month before the year, as English writes it ("Dec 2025", not "2025 Dec").
    first_row = re.search(r'<th scope="row">(.*?)</th>', page.text)
    assert first_row and re.fullmatch(
        rf'<span class="nowrap">{abbreviated}</span> <span class="nowrap">\d{{4}}</span>', first_row[1]
    ), first_row
    refused = await client.get("/stats", params={"from": "2026-13"}, headers=ENGLISH)
    assert refused.status_code == 400 and "Please correct the filters" in refused.text
    # (What to fix is the statistics service's message, translated with the other errors: not this page's text.)
    too_early = await client.get("/api/v1/stats", params={"to": "2017-12"}, headers=ENGLISH)
    assert too_early.status_code == 400 and "cannot be before Jan 2018" in too_early.text, too_early.text
    form = re.sub(r'<div class="error-summary".*?</div>|<p class="field-error".*?</p>', "", refused.text, flags=re.S)
    assert "From month" in form and not [p for p in _template_chinese("partials/stats_filters.html") if p in form]

    chinese = await client.get("/stats")
    assert "统计口径" in chinese.text and "柱状图：" in chinese.text and "How we count" not in chinese.text
    first_row = re.search(r'<th scope="row">(.*?)</th>', chinese.text)
    assert first_row and re.fullmatch(
        r'<span class="nowrap">\d{4}年</span><wbr><span class="nowrap">\d{1,2}月</span>', first_row[1]
    ), first_row
    # The file's columns stay Chinese whatever the language (a stable header for whoever reads it with a program).
    csv = await client.get("/stats.csv", headers=ENGLISH)
    assert csv.text.lstrip("\ufeff").startswith("月份,部门,区（县级市）,收件量（件）")


async def test_acting_for_a_business_is_in_english(another_client: MakeClient) -> None:
    huang = another_client()
    assert (await sign_up(huang, new_authenticator(), HUANG_LEI)).status_code == 201
    huang.cookies.set("ywtb_lang", "en")
    me = await huang.get("/me")
    _assert_english(me, "me.html", "partials/identity_switch.html", shows=("Acting as", "For myself", "Acting for"))
    uscc = re.search(r'name="uscc" value="(\w{18})"', me.text)
    assert uscc
    switched = await _form(huang, "/org/switch", {"uscc": uscc.group(1)})
    assert switched.status_code == 303
    cases = await huang.get("/org/cases")
    _assert_english(
        cases,
        "org_cases.html",
        "partials/org_banner.html",
        shows=("Business cases", "Unified Social Credit Code", "Legal representative", "Agent's ID number"),
    )
    _assert_english(
        await huang.get("/org/register"),
        "org_register.html",
        "partials/org_register.html",
        shows=("Registration details and changes", "Registered address"),
    )
    huang.cookies.delete("ywtb_lang")
    assert "企业办件" in (await huang.get("/org/cases")).text
