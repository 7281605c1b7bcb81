"""/stats in a phone's browser (360 px): the public statistics with no serious axe violation and nothing wider than the
phone, in 长辈版 too; each figure a <figure> whose chart is an image with a spoken summary beside a table of its
numbers; the filters a plain form that works without JavaScript. Run alone: `pytest e2e/test_stats.py`.

The figures are put straight into the statistics' own increments and folded (app/stats), so no case of another
browser test's queue is touched by them."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Browser, Page, expect

from app.calendar.service import today_in_china
from app.stats import service as stats
from app.stats import store as stats_store
from app.stats.models import Delta
from db.pool import create_pool
from e2e.conftest import PHONE, ConsoleWatch, LiveServer
from e2e.layout import assert_fits, use_display
from e2e.test_accessibility import violations
from tests.database_fixtures import run_sync


def _months_back(today: date, count: int) -> list[date]:
    index = today.year * 12 + today.month - 1
    return [date((index - n) // 12, (index - n) % 12 + 1, 1) for n in range(count)]


async def _figures(database_url: str) -> None:
    """A year of figures for 公安 in three offices: many in 天宁区, a handful (some months under 5) in 溧阳市."""
    deltas: list[Delta] = []
    for n, month in enumerate(_months_back(today_in_china(), 12)):
        for office, received in (("320402", 40 + n), ("320400", 25), ("320481", n % 7)):
            for channel, share in (("online", 0.6), ("window", 0.3), ("helper", 0.1)):
                count = round(received * share)
                deltas.append(
                    Delta(
                        month,
                        "police",
                        office,
                        "CZ-GA-001",
                        channel,
                        {
                            "received": count,
                            "completed": count,
                            "completed_on_time": count - (n % 2),
                            "working_days": count * 3,
                            "delivered": count,
                            "delivered_no_visit": count if channel != "window" else 0,
                            "ratings": count // 2,
                            "ratings_good": count // 2 - (n % 3 if count // 2 >= 3 else 0),
                        },
                    )
                )
    pool = await create_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            await stats_store.append(conn, [d for d in deltas if any(d.measures.values())])
        await stats.fold(pool)
    finally:
        await pool.close()


def _check(page: Page, where: str) -> None:
    page.wait_for_load_state("networkidle")
    assert violations(page) == [], where
    assert_fits(page, where)
    figures = page.locator("main figure")
    assert figures.count() >= 7, where
    for index in range(figures.count()):
        figure = figures.nth(index)
        expect(figure.locator("figcaption")).to_have_count(1)
        chart = figure.locator("svg.chart")
        expect(chart).to_have_attribute("role", "img")
        expect(chart).to_have_attribute("aria-label", re.compile(r"(折线图|柱状图|条形图)："))


def test_the_statistics_on_a_phone_and_in_elder_mode(phone: Page, live_server: LiveServer) -> None:
    run_sync(_figures(live_server.database_url))
    page = phone
    page.goto("/stats")
    _check(page, "/stats")
    received = page.locator("figure", has=page.locator("#received-caption"))
    expect(received.locator("table tbody tr")).to_have_count(12)
    expect(received.locator("svg rect.bar")).to_have_count(12)
    # 溧阳市's own months: some under 5, which show as "<5", never the number.
    page.goto("/stats?department=police&district=320481")
    _check(page, "溧阳市")
    expect(page.locator("#received-caption ~ .table-scroll tbody")).to_contain_text("<5")
    use_display(page, elder=True, text_step=2)
    page.goto("/stats")
    expect(page.locator("html")).to_have_class(re.compile("elder"))
    _check(page, "/stats 长辈版")


def test_the_filters_work_without_javascript(
    browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto("/stats")
        page.get_by_label("部门", exact=True).select_option(label="公安")
        page.get_by_label("区（县级市）", exact=True).select_option(label="天宁区")
        page.get_by_role("button", name="查看").click()
        expect(page).to_have_url(re.compile(r"department=police.*district=320402|district=320402.*department=police"))
        expect(page.locator("p.stats-scope")).to_contain_text("公安 · 天宁区")
        # A period that ends before it starts: the form again, saying what to change.
        months = page.locator("#filter-to option")
        page.get_by_label("起始月份", exact=True).select_option(months.nth(0).get_attribute("value") or "")
        page.get_by_label("截止月份", exact=True).select_option(months.nth(1).get_attribute("value") or "")
        page.get_by_role("button", name="查看").click()
        expect(page.locator(".error-summary")).to_contain_text("截止月份不能早于起始月份")
        expect(page.get_by_label("截止月份", exact=True)).to_have_attribute("aria-invalid", "true")
    finally:
        context.close()
