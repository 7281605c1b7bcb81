"""Public statistics over HTTP, for anyone: the page /stats, GET /api/v1/stats and /stats.csv — the contract's figures
for the last 12 months, small cells shown as "<5" everywhere, the filters by department and district, one Chinese
message per bad field, cache headers for public aggregates; a filed case counted once folded; the home page's three
figures of this month."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import date

import asyncpg
import httpx
import msgspec
import pytest

from app.calendar.service import today_in_china
from app.shell.service import ELDER_COOKIE
from app.stats import service as stats
from app.stats import store as stats_store
from app.stats.models import Delta
from config.settings import Settings
from tests.app_process import ROOT
from tests.window_helpers import clerk_signs_in, file_walk_in, receive_walk_in

BU_ZHENHUA = {"name": "卜振华", "id_number": "320412196803171719"}
CAI_LIJUN = {"name": "蔡丽君", "id_number": "320404198508166641"}

pytestmark = pytest.mark.anyio
THIS_MONTH = today_in_china().replace(day=1)


def _month_before(month: date, count: int = 1) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture(autouse=True)
async def fresh_figures() -> AsyncIterator[None]:
    """Each test reads its own database's figures, not what this process cached for another's."""
    stats.forget_cached_figures()
    yield
    stats.forget_cached_figures()


async def _put(pool: asyncpg.Pool, *deltas: Delta) -> None:
    async with pool.acquire() as conn:
        await stats_store.append(conn, list(deltas))
    await stats.fold(pool)


def _received(
    count: int, department: str = "police", office: str = "320402", channel: str = "online", day: date = THIS_MONTH
) -> Delta:
    return Delta(day, department, office, "CZ-GA-001", channel, {"received": count})


async def test_the_api_answers_the_last_twelve_months_with_the_contracts_figures(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/stats")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    months = body["months"]
    assert len(months) == 12 and months[-1]["month"] == f"{THIS_MONTH:%Y-%m}"
    assert (body["from"], body["to"]) == (months[0]["month"], months[-1]["month"])
    for field in ("received", "online_share", "no_visit_share", "on_time_rate", "satisfaction_rate", "ratings"):
        assert field in months[0], field
    assert months[0]["received"] == 0 and months[0]["on_time_rate"] is None and months[0]["suppressed"] == []
    catalogue = body["catalogue"]
    # Every item of db/seed/items.json but 遗体火化 and 身份证换领 (网上预约 only) is offered 网上办理.
    items = len(msgspec.json.decode((ROOT / "db" / "seed" / "items.json").read_bytes()))
    assert (catalogue["items"], catalogue["online_items"]) == (items, items - 2)
    assert catalogue["online_available_rate"] == round((items - 2) / items, 4)
    assert catalogue["online_available_target"] == 0.85
    assert catalogue["certificate_target"] == 1.0 and body["small_cell_threshold"] == 5
    assert {d["code"] for d in body["districts"]} >= {"320400", "320402", "320481"}
    assert "set-cookie" not in answer.headers  # the same for everyone: no session, no CSRF cookie


async def test_a_case_filed_at_a_window_is_counted_once_folded_and_under_5_shows_as_less_than_5(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    """退休 at the 武进 hall for 王建国, then for two more: three 市级 items each (人社, 公积金, 医保), so 市本级
    offices, channel window."""
    clerk = another_client()
    await clerk_signs_in(clerk, pool, settings.public_url)
    body = await receive_walk_in(clerk)
    assert (await file_walk_in(clerk, body, "stats-walk-in-0001")).status_code == 201
    assert (await client.get("/api/v1/stats")).json()["months"][-1]["received"] == 0  # not folded yet
    await stats.fold(pool)
    stats.forget_cached_figures()
    month = (await client.get("/api/v1/stats")).json()["months"][-1]
    assert month["received"] is None and {"received", "online_share", "window_share"} <= set(month["suppressed"])

    # Two more residents retire (one person's 退休 filed again would be 一事不二办's duplicate, not a new case).
    for key, person in (("stats-walk-in-0002", BU_ZHENHUA), ("stats-walk-in-0003", CAI_LIJUN)):
        assert (await file_walk_in(clerk, await receive_walk_in(clerk, person), key)).status_code == 201
    await stats.fold(pool)
    stats.forget_cached_figures()
    month = (await client.get("/api/v1/stats")).json()["months"][-1]
    assert (month["received"], month["window_share"], month["online_share"], month["suppressed"]) == (9, 1.0, 0.0, [])
    city = (await client.get("/api/v1/stats", params={"district": "320400"})).json()["months"][-1]
    wujin = (await client.get("/api/v1/stats", params={"district": "320412"})).json()["months"][-1]
    assert (city["received"], wujin["received"]) == (9, 0)
    hrss = (await client.get("/api/v1/stats", params={"department": "hrss"})).json()["months"][-1]
    assert hrss["received"] is None and "received" in hrss["suppressed"]  # three 办件: 人社's one item, thrice


async def test_small_cells_are_less_than_5_in_the_page_the_json_and_the_csv(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    earlier = _month_before(THIS_MONTH)
    await _put(
        pool,
        _received(3, day=earlier),
        Delta(earlier, "police", "320402", "CZ-GA-001", "online", {"completed": 7, "completed_on_time": 6}),
        _received(5),
    )
    body = (await client.get("/api/v1/stats")).json()
    small, enough = body["months"][-2], body["months"][-1]
    assert small["received"] is None and small["online_share"] is None
    assert set(small["suppressed"]) == {"received", "online_share", "window_share", "helper_share", "instant_share"}
    assert (small["completed"], small["on_time_rate"]) == (7, round(6 / 7, 4))  # its own count is 7: published
    assert (enough["received"], enough["online_share"], enough["suppressed"]) == (5, 1.0, [])

    page = await client.get("/stats")
    assert page.status_code == 200
    received_table = page.text.split('id="received-caption"', 1)[1].split("</table>", 1)[0]
    rows = {
        re.sub(r"<[^>]+>", "", month): cells
        for month, cells in re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', received_table)
    }
    row = rows[f"{earlier.year}年{earlier.month}月"]
    assert row.startswith('<td>&lt;5<span class="visually-hidden">（少于5件，不公布）</span></td>'), row

    csv = await client.get("/stats.csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[-3].startswith(f"{earlier:%Y-%m},全部部门,全市,<5,<5,<5,<5,<5,0,,7,85.7,"), lines[-3]
    assert lines[-2].startswith(f"{THIS_MONTH:%Y-%m},全部部门,全市,5,100.0,0.0,0.0,0.0,"), lines[-2]


async def test_the_filters_pick_a_department_and_the_district_of_the_office(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _put(
        pool,
        _received(7, "police", "320402"),
        _received(9, "health", "320481001"),  # a town's office counts for its district
        _received(6, "health", "320400", "window"),
    )

    async def received(**params: str) -> int | None:
        answer = await client.get("/api/v1/stats", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()["months"][-1]["received"]

    assert await received() == 22
    assert await received(department="health") == 15
    assert await received(district="320481") == 9
    assert await received(department="health", district="320400") == 6
    assert await received(department="police", district="320481") == 0
    body = (await client.get("/api/v1/stats", params={"department": "health"})).json()
    assert body["department"] == {"code": "health", "name": "卫健"} and body["district"] is None
    districts = {d["code"]: d["received"] for d in body["districts"]}  # of 卫健
    assert (districts["320481"], districts["320400"], districts["320402"]) == (9, 6, 0)
    departments = {d["code"]: d["received"] for d in body["departments"]}  # of the whole city
    assert (departments["police"], departments["health"]) == (7, 15)
    page = await client.get("/stats", params={"department": "health", "district": "320481"})
    assert page.status_code == 200 and "卫健 · 溧阳市" in page.text
    assert 'value="health" selected' in page.text and 'value="320481" selected' in page.text
    csv = (await client.get("/stats.csv", params={"department": "health", "district": "320481"})).text
    assert csv.splitlines()[-2].startswith(f"{THIS_MONTH:%Y-%m},卫健,溧阳市,9,")


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ({"from": "2026-13"}, "from", "起始月份请按“年-月”填写"),
        ({"from": "26-1"}, "from", "起始月份请按“年-月”填写"),
        ({"from": "２０２６-０１"}, "from", "起始月份请按“年-月”填写"),  # full-width digits are not a month
        ({"to": "2017-12"}, "to", "截止月份不能早于2018年1月"),
        ({"to": "2999-01"}, "to", "截止月份不能晚于本月"),
        ({"from": "2025-06", "to": "2025-05"}, "to", "截止月份不能早于起始月份"),
        ({"from": "2019-01", "to": "2022-01"}, "to", "一次最多查看36个月"),
        ({"department": "fbi"}, "department", "没有这个部门"),
        ({"district": "320402001"}, "district", "没有这个区"),  # a town is no district
        ({"district": "110000"}, "district", "没有这个区"),
    ],
)
async def test_a_bad_query_is_400_with_a_chinese_message_for_its_field(
    client: httpx.AsyncClient, query: dict[str, str], field: str, says: str
) -> None:
    answer = await client.get("/api/v1/stats", params=query)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["errors"][field] and list(answer.json()["errors"]) == [field]
    page = await client.get("/stats", params=query)
    assert page.status_code == 400 and says in page.text and f'href="#filter-{field}"' in page.text
    assert f'id="filter-{field}"' in page.text and 'aria-invalid="true"' in page.text
    csv = await client.get("/stats.csv", params=query)
    assert csv.status_code == 400 and csv.headers["content-type"].startswith("text/plain")
    assert f"{field}：" in csv.text and says in csv.text


async def test_every_bad_field_is_named_at_once(client: httpx.AsyncClient) -> None:
    params = {"from": "x", "to": "y", "department": "nope", "district": "1"}
    errors = (await client.get("/api/v1/stats", params=params)).json()["errors"]
    assert set(errors) == {"from", "to", "department", "district"}


async def test_public_aggregates_carry_a_short_max_age_and_an_etag_answered_by_304(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _put(pool, _received(12))
    for path in ("/api/v1/stats", "/stats.csv"):
        first = await client.get(path)
        assert first.headers["cache-control"] == "public, max-age=60", path
        tag = first.headers["etag"]
        again = await client.get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"", path
        assert "set-cookie" not in first.headers, path
    csv = await client.get("/stats.csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("\ufeff月份,")
    assert 'attachment; filename="changzhou-stats-' in csv.headers["content-disposition"]
    page = await client.get("/stats")
    assert page.headers["cache-control"] == "no-cache" and page.headers["etag"].startswith('W/"')
    assert (await client.get("/stats", headers={"If-None-Match": page.headers["etag"]})).status_code == 304
    # Another figure, another tag (once this worker reads the figures again).
    await _put(pool, _received(1))
    stats.forget_cached_figures()
    assert (await client.get("/api/v1/stats", headers={"If-None-Match": tag})).status_code == 200


async def test_each_figure_is_a_figure_with_an_svg_chart_a_summary_and_a_table(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _put(pool, _received(40), _received(25, day=_month_before(THIS_MONTH, 3)))
    page = (await client.get("/stats")).text
    assert page.count("<figure") == 7 and page.count("<figcaption") == 7
    assert page.count('role="img" aria-label="') == 7
    assert "柱状图：" in page and "最高" in page and "数字见下表" in page
    assert page.count('<rect class="bar"') == 2  # the two months with cases; the rest are 0
    assert page.count("<table") == 7 and "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    normal = page.count('class="tick" x=')
    client.cookies.set(ELDER_COOKIE, "1")
    elder = (await client.get("/stats")).text
    assert 'class="elder' in elder and elder.count('class="tick" x=') < normal  # fewer month labels, each wider


async def test_the_home_page_shows_this_months_three_figures_linking_to_stats(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert "本月办事数据" not in (await client.get("/")).text  # nothing read yet: left out
    await _put(
        pool,
        _received(12),
        Delta(THIS_MONTH, "police", "320402", "CZ-GA-001", "online", {"completed": 10, "completed_on_time": 9}),
        Delta(THIS_MONTH, "police", "320402", "CZ-GA-001", "online", {"ratings": 8, "ratings_good": 6}),
    )
    await stats.refresh_headline(pool)
    home = (await client.get("/")).text
    section = home.split('<section class="headline-figures"', 1)[1].split("</section>", 1)[0]
    assert "本月办事数据" in section and 'href="/stats"' in section
    assert "12<span" in section and "90.0%" in section and "75.0%" in section


async def test_two_folds_at_once_move_each_increment_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await stats_store.append(conn, [_received(1, office=f"3204{n:02d}") for n in range(2, 14)] * 50)
    moved = await asyncio.gather(stats.fold(pool), stats.fold(pool), stats.fold(pool))
    assert sum(moved) + await stats.fold(pool) == 600
    assert await pool.fetchval("SELECT count(*) FROM stats_deltas") == 0
    assert await pool.fetchval("SELECT sum(received) FROM stats_monthly") == 600
    assert await pool.fetchval("SELECT sum(received) FROM stats_daily") == 600


def _form_token(page: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]*)"', page)
    assert found is not None
    return found.group(1)


async def test_a_kept_page_carries_each_visitors_own_csrf_token_never_anothers(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], pool: asyncpg.Pool
) -> None:
    """The page is kept drawn for visitors not signed in; the CSRF token in it (the display switch's form, htmx's
    header) is each visitor's own: another's would let their token leak and refuse this one's form."""
    await _put(pool, _received(12))
    first = (await client.get("/stats")).text
    mine = client.cookies["csrftoken"]
    assert _form_token(first) == mine and f'"X-CSRFToken": "{mine}"' in first
    other = another_client()
    second = (await other.get("/stats")).text
    theirs = other.cookies["csrftoken"]
    assert theirs != mine and _form_token(second) == theirs and mine not in second
    # Their form works with the token their page carries, without JavaScript.
    switched = await other.post("/preferences", data={"_csrf_token": _form_token(second), "elder_mode": "1"})
    assert switched.status_code == 303, switched.text


async def test_a_hostile_csrf_cookie_is_written_into_the_kept_page_escaped(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _put(pool, _received(12))
    await client.get("/stats")  # the page is kept now
    client.cookies.set("csrftoken", "<svg/onload=alert(1)>")  # what a cookie may hold: no quote, no space
    page = (await client.get("/stats")).text
    assert "<svg/onload" not in page
    # Escaped once, as the template escapes it for a page drawn afresh (twice would break the visitor's own form).
    assert '"X-CSRFToken": "&lt;svg/onload=alert(1)&gt;"' in page and "&amp;lt;svg" not in page


async def test_the_kept_page_is_byte_for_byte_the_page_drawn_for_the_visitor_alone(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient], pool: asyncpg.Pool
) -> None:
    """Kept for anyone (a slot for the token) or drawn as Litestar's Template draws it (a cookie no page is kept
    for): the same page but for the token, compressed or not."""
    await _put(pool, _received(12))
    kept = await client.get("/stats", headers={"Accept-Encoding": "gzip"})
    assert kept.headers["content-encoding"] == "gzip"
    plain = await client.get("/stats", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == kept.content
    alone = another_client()
    alone.cookies.set("csrftoken", "made-by-hand")  # not hex: drawn for this visitor alone
    drawn = (await alone.get("/stats")).text
    assert "made-by-hand" in drawn
    assert kept.text.replace(client.cookies["csrftoken"], "made-by-hand") == drawn
