"""Texts drawn from tables and the catalogue in the reader's language (issue 21): a clerk's queue and case page, the
resident's /me and /notifications pages, a service item's guide, and the statistics, fetched in English (the
`ywtb_lang` cookie), carry no Chinese from a table of ours or the catalogue; Chinese stays the default."""

from __future__ import annotations

import re
from collections.abc import Callable

import asyncpg
import httpx
import pytest
from litestar import Litestar

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, new_authenticator, sign_up, signed_in_staff
from tests.test_i18n_staff import _birth_case, _speaks

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]
_CHINESE = re.compile(r"[\u3400-\u9fff]")


def _chinese_in(html: str, tag: str) -> list[str]:
    """The text of each `<tag>` element of the page that holds Chinese."""
    found = re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", html, re.DOTALL)
    return [re.sub(r"<[^>]*>", "", cell).strip() for cell in found if _CHINESE.search(re.sub(r"<[^>]*>", "", cell))]


async def test_a_clerks_queue_and_case_answers_draw_the_catalogue_and_statuses_in_english(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    case = await _birth_case(client)
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    queue = await _speaks(clerk, "en").get("/console")
    assert queue.status_code == 200, queue.text
    assert not _chinese_in(queue.text, "td") + _chinese_in(queue.text, "th"), _chinese_in(queue.text, "td")
    page = await clerk.get(f"/console/cases/{case['case_no']}")
    assert page.status_code == 200, page.text
    assert not _chinese_in(page.text, "dt") + _chinese_in(page.text, "h3"), _chinese_in(page.text, "dt")
    chinese = await _speaks(clerk, None).get(f"/console/cases/{case['case_no']}")
    assert "母亲姓名" in chinese.text


async def test_a_service_items_guide_draws_its_coded_values_in_english(client: Client) -> None:
    page = await _speaks(client, "en").get("/items/CZ-GA-001")
    assert page.status_code == 200, page.text
    facts = re.search(r'<dl class="guide">.*?</dl>', page.text, re.DOTALL)
    assert facts is not None
    # The place is an address, kept as written (what a taxi driver reads); every other fact is in English.
    cells = [cell for cell in _chinese_in(facts.group(0), "dd") if "常州市" not in cell and "路" not in cell]
    assert not cells, cells
    chinese = await _speaks(client, None).get("/items/CZ-GA-001")
    assert "行政确认" in chinese.text or "公共服务" in chinese.text or "行政许可" in chinese.text


async def test_the_residents_sms_choice_and_inbox_are_in_english(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    me = await _speaks(client, "en").get("/me")
    assert me.status_code == 200, me.text
    assert "仅在无法推送时发短信" not in me.text and "每一步都发短信" not in me.text
    inbox = await client.get("/notifications")
    assert inbox.status_code == 200 and '<html lang="en"' in inbox.text


async def test_statistics_console_filters_and_a_halls_bookings_name_departments_and_halls_in_english(
    client: Client, another_client: MakeClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    stats = await _speaks(client, "en").get("/stats")
    assert stats.status_code == 200, stats.text
    assert not _chinese_in(stats.text, "option") + _chinese_in(stats.text, "th"), _chinese_in(stats.text, "th")
    assert "公安" in (await _speaks(client, None).get("/stats")).text  # the figures are cached: Chinese stays Chinese
    clerk = await signed_in_staff(another_client, pool, settings, name="王窗口", role="clerk", department="police")
    queue = await _speaks(clerk, "en").get("/console")
    assert not _chinese_in(queue.text, "option"), _chinese_in(queue.text, "option")
    bookings = await clerk.get("/console/appointments")
    assert bookings.status_code == 200, bookings.text
    assert not _chinese_in(bookings.text, "p") + _chinese_in(bookings.text, "caption"), _chinese_in(bookings.text, "p")


async def test_a_text_drawn_through_gettext_that_is_not_one_of_ours_is_escaped(app: Litestar) -> None:
    """`{{ _(value) }}` trusts only the catalogue's own texts as HTML (ours hold links and markup): a value that is not
    a marked text — were a person's words ever to reach it — is drawn as text, never as markup."""
    engine = app.template_engine.engine  # type: ignore[union-attr]
    drawn = engine.from_string("{{ _(value) }}|{{ _(value, n=1) }}").render(value="<script>alert(1)</script>%(n)s")
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    ours = '<a href="/appointments">我的预约</a>：到大厅办理的时间和预约码'
    assert engine.from_string("{{ _(value) }}").render(value=ours) == ours
