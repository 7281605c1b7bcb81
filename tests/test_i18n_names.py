"""The catalogue's names on the pages that draw them from a case, a booking or a certificate (issue 21): the database
keeps a case's life event, items and departments, a booking's item and a certificate's title and issuer in Chinese
(the text of record), and a page read in English names each in English (`|catalogue`); in Chinese they stay as
stored. One test per family of pages: consultation and supervision, the 补正告知书, rating, certificates and their
correction, the helper's client page and the search."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import httpx
import pytest

from app.calendar.service import today_in_china
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, post, sign_up, signed_in_staff
from tests.birth_helpers import BIRTH_CERTIFICATE, BirthDesk, birth_certificate_of, born_days_ago, file_birth_case
from tests.push_helpers import resident_with_device
from tests.push_service import LocalPushService
from tests.test_appointment_reminders import _book_the_last_slot, push_service  # noqa: F401  # pyright: ignore[reportPrivateUsage]
from tests.test_consultations_http import QUESTION, Desk, _ask, desk  # noqa: F401  # pyright: ignore[reportPrivateUsage]
from tests.test_delegations_http import ELDER, VILLAGE, delegation_body
from tests.test_i18n_staff import _speaks  # pyright: ignore[reportPrivateUsage]
from tests.test_reviews_http import _case_with_finished_task  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], Client]

BIRTH = ("新生儿出生", "Birth of a child")
VACCINATION = ("预防接种证办理", "Vaccination certificate")
HEALTH = ("卫健", "Health")
CIVIL_AFFAIRS = ("民政", "Civil affairs")


def _reads(page: httpx.Response, *names: tuple[str, str], besides: str = "") -> None:
    """Each (Chinese, English) name is on the page in English and not in Chinese (`besides`: words a person wrote,
    which stay as written)."""
    assert page.status_code == 200, page.text[:500]
    assert '<html lang="en"' in page.text
    text = page.text.replace(besides, "") if besides else page.text
    for chinese, english in names:
        assert english in text, english
        assert chinese not in text, chinese


async def test_a_consultation_and_supervision_name_the_case_its_item_and_departments_in_english(
    desk: Desk,  # noqa: F811 (the fixture imported above)
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    consultation = (await _ask(desk.health, desk.task["id"])).json()
    sheet = await _speaks(desk.civil, "en").get(f"/console/consultations/{consultation['id']}")
    _reads(sheet, BIRTH, VACCINATION, HEALTH, CIVIL_AFFAIRS, besides=QUESTION)
    chinese = await _speaks(desk.civil, None).get(f"/console/consultations/{consultation['id']}")
    assert all(name in chinese.text for name in (BIRTH[0], VACCINATION[0], CIVIL_AFFAIRS[0]))

    await pool.execute(
        "UPDATE consultations SET due_on = $2 WHERE id = $1", consultation["id"], today_in_china() - timedelta(days=7)
    )
    supervisor = await signed_in_staff(
        desk.make, pool, settings, name="民政督查", role="supervisor", department="civil_affairs"
    )
    board = await _speaks(supervisor, "en").get("/console/supervision")
    assert desk.case_no in board.text
    _reads(board, VACCINATION, HEALTH, CIVIL_AFFAIRS)


async def test_the_notice_of_missing_documents_names_the_item_and_department_in_english(
    desk: Desk,  # noqa: F811 (the fixture imported above)
    client: Client,
) -> None:
    asked = await post(
        desk.health,
        f"/api/v1/console/tasks/{desk.task['id']}/transition",
        {"action": "request_supplement", "note": "请补交接种记录。"},
    )
    assert asked.status_code == 200, asked.text
    notice = await _speaks(client, "en").get(f"/cases/{desk.case_no}/tasks/{desk.task['id']}/notice")
    _reads(notice, BIRTH, VACCINATION)
    assert "Changzhou Health Commission" in notice.text or "Health" in notice.text
    chinese = await _speaks(client, None).get(f"/cases/{desk.case_no}/tasks/{desk.task['id']}/notice")
    assert VACCINATION[0] in chinese.text and BIRTH[0] in chinese.text


async def test_rating_names_the_life_event_and_the_item_in_english(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case, _task, _approver = await _case_with_finished_task(client, pool, settings, another_client)
    page = await _speaks(client, "en").get(f"/cases/{case['case_no']}/reviews")
    _reads(page, BIRTH, VACCINATION, HEALTH)
    assert "整体办理" not in page.text
    chinese = await _speaks(client, None).get(f"/cases/{case['case_no']}/reviews")
    assert BIRTH[0] in chinese.text and VACCINATION[0] in chinese.text


async def test_my_certificates_and_a_correction_name_each_certificate_and_its_issuer_in_english(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    mine = await _speaks(client, "en").get("/certificates")
    _reads(
        mine,
        ("居民身份证", "Resident identity card"),  # the catalogue's English, on every page
        ("结婚证", "Marriage certificate"),
        ("常州市公安局天宁分局", "Tianning Branch, Changzhou Public Security Bureau"),
    )
    one = re.search(r'href="/certificates/(\d+)"', mine.text)
    assert one
    shown = await client.get(f"/certificates/{one.group(1)}")
    assert shown.status_code == 200 and not re.search(r"<h1>[^<]*[\u3400-\u9fff]", shown.text)
    issuer = re.search(r"<dt>Issued by</dt><dd>([^<]*)</dd>", shown.text)
    assert issuer and not re.search(r"[\u3400-\u9fff]", issuer.group(1)), issuer
    assert "居民身份证" in (await _speaks(client, None).get("/certificates")).text

    birth_desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    case_no = await file_birth_case(client, born_days_ago(), "names-birth-1")
    await birth_desk.complete_health_task((await birth_desk.tasks(case_no))[BIRTH_CERTIFICATE])
    certificate_id = (await birth_certificate_of(client, case_no))["id"]
    chooser = await _speaks(client, "en").get(f"/cases/{case_no}/corrections/new")
    _reads(chooser, BIRTH, ("出生医学证明", "Medical birth certificate"), ("卫生健康委员会", "Health Commission"))
    assert f"Case number {case_no}. If a certificate" in chooser.text  # one sentence after another
    fields = await client.get(f"/cases/{case_no}/corrections/new?certificate={certificate_id}")
    assert fields.status_code == 200 and "出生医学证明" not in fields.text, fields.text


async def test_the_helpers_client_page_and_the_search_name_items_in_english(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    helper = await signed_in_staff(another_client, pool, settings, name="陈帮办", role="helper", region=VILLAGE)
    created = await post(helper, "/api/v1/delegations", delegation_body(ELDER))
    assert created.status_code == 201, created.text
    chosen = await helper.post(
        f"/helper/clients/{created.json()['id']}/select", headers=await csrf(helper), follow_redirects=False
    )
    assert chosen.status_code == 303
    page = await _speaks(helper, "en").get("/helper/client")
    _reads(page, ("居民身份证换领", "Renewing a resident identity card"), ("公安", "Police"))

    found = await _speaks(client, "en").get("/", params={"q": "出生"}, headers={"HX-Request": "true"})
    assert found.status_code == 200 and "Birth registration (hukou)" in found.text, found.text
    assert not re.search(r'<a href="/items/[^"]+">[^<]*[\u3400-\u9fff]', found.text), found.text


async def test_a_bookings_reminder_names_the_item_and_hall_in_the_residents_english(
    client: Client,
    pool: asyncpg.Pool,
    push_service: LocalPushService,  # noqa: F811 (the fixture imported above)
) -> None:
    await resident_with_device(client, push_service)
    chosen = await client.put("/api/v1/preferences", json={"language": "en"}, headers=await csrf(client))
    assert chosen.status_code == 200, chosen.text
    await _book_the_last_slot(client)
    [reminder] = await pool.fetch("SELECT title, body FROM scheduled_notices WHERE sent_at IS NULL")
    assert reminder["title"] == "Tomorrow at the service hall: Renewing a resident identity card", reminder["title"]
    assert "天宁区政务服务中心" not in reminder["body"] and "Tianning" in reminder["body"], reminder["body"]
