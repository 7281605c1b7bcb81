"""好差评 and 督办 in the browser: a resident rates from the notification on a phone; a resident rates on the
window's tablet; a supervisor urges an overdue task and the office hears of it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import asyncpg
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import TABLET, LiveServer
from e2e.helpers import api, file_retirement, register_resident, register_staff
from e2e.test_accessibility import violations

ONLINE = ("卜振华", "320412196803171719")
AT_WINDOW = ("伍德明", "320481196209052939")
OVERDUE = ("闻秀兰", "320404197008121645")
PENSION = "企业职工基本养老保险退休申请"
CITY = "320400"  # 退休 is a 市级 item: the city's hrss office handles it, whichever hall received it


def _staff_page(browser: Browser, live_server: LiveServer, name: str, *args: str) -> Page:
    page = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN").new_page()
    register_staff(page, live_server, name, *args)
    return page


def _finish_pension(browser: Browser, live_server: LiveServer, case_no: str, region: str, tag: str) -> Page:
    """The hall of `region` accepts the pension task at its window and the city's hrss office (退休 is 市级: routed to
    320400) completes it; the clerk's tablet page is returned."""
    clerk = _staff_page(
        browser, live_server, f"{tag}窗口", "--role", "clerk", "--department", "hrss", "--region", region
    )
    approver = _staff_page(
        browser, live_server, f"{tag}审批", "--role", "approver", "--department", "hrss", "--region", CITY
    )
    queue = api(clerk, "GET", "/api/v1/console/tasks")
    task = next(t for t in queue if t["case_no"] == case_no and t["item_name"] == PENSION)
    api(clerk, "POST", f"/api/v1/console/tasks/{task['id']}/transition", data={"action": "accept"})
    for action in ("review", "approve", "complete"):
        api(approver, "POST", f"/api/v1/console/tasks/{task['id']}/transition", data={"action": action})
    return clerk


def test_a_resident_rates_from_the_notification_on_a_phone(
    phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    register_resident(phone, *ONLINE)
    case_no = file_retirement(phone, "e2e-reviews-online")["case_no"]
    _finish_pension(browser, live_server, case_no, "320412", "钟楼评")
    phone.goto("/notifications")
    phone.locator(".inbox-entry", has_text="请评价").first.get_by_role("link").click()
    expect(phone).to_have_url(f"/cases/{case_no}")
    card = phone.locator(".review-card", has_text=PENSION)
    card.get_by_label("不满意", exact=True).check()
    card.get_by_label("办理时间长").check()
    card.get_by_label("意见或建议").fill("希望能更快")
    card.get_by_role("button", name="提交评价").click()
    expect(phone.get_by_role("status")).to_contain_text("谢谢您的评价")
    rated = phone.locator(".review-card", has_text=PENSION)
    expect(rated).to_contain_text("您的评价：不满意")
    expect(rated).to_contain_text("督查人员")  # a bad rating is followed up, with its deadlines
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert violations(phone) == [], "the case page with its rating"


def test_a_walk_in_rates_on_the_clerks_tablet(phone: Page, browser: Browser, live_server: LiveServer) -> None:
    register_resident(phone, *AT_WINDOW)
    case_no = file_retirement(phone, "e2e-reviews-window")["case_no"]
    clerk = _finish_pension(browser, live_server, case_no, "320481", "溧阳评")
    clerk.goto(f"/console/cases/{case_no}")
    clerk.get_by_role("button", name="请办事人评价").click()
    # The tablet now shows only the rating screen: big buttons, no navigation, nothing of the console.
    expect(clerk.get_by_role("heading", level=1)).to_have_text("请您评价本次办理")
    expect(clerk.get_by_role("navigation")).to_have_count(0)
    assert violations(clerk) == [], "the window tablet's rating screen"
    clerk.get_by_role("button", name="非常满意").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("谢谢您的评价！")
    reviews = api(phone, "GET", f"/api/v1/cases/{case_no}/reviews")
    assert [(r["level"], r["channel"]) for r in reviews] == [(5, "window")]


def _make_overdue(live_server: LiveServer, case_no: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(live_server.database_url)
        try:
            await conn.execute(
                "UPDATE tasks SET due_on = current_date - 7 WHERE case_id = (SELECT id FROM cases WHERE case_no = $1)",
                case_no,
            )
        finally:
            await conn.close()

    # Playwright's sync API runs an event loop in this thread: the query runs in a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_a_supervisor_urges_an_overdue_task(phone: Page, browser: Browser, live_server: LiveServer) -> None:
    register_resident(phone, *OVERDUE)
    case_no = file_retirement(phone, "e2e-reviews-overdue")["case_no"]
    _make_overdue(live_server, case_no)
    approver = _staff_page(
        browser, live_server, "市人社审批", "--role", "approver", "--department", "hrss", "--region", CITY
    )
    supervisor = _staff_page(
        browser, live_server, "市人社督查", "--role", "supervisor", "--department", "hrss", "--region", CITY
    )
    supervisor.goto("/console/supervision")
    row = supervisor.locator("tr", has_text=case_no).first
    expect(row).to_contain_text("超期")
    expect(supervisor.locator("main")).not_to_contain_text(OVERDUE[0])  # no resident's name
    assert violations(supervisor) == [], "/console/supervision"
    row.get_by_label("督办要求").fill("请今日内办结并答复")
    row.get_by_role("button", name="督办").click()
    expect(supervisor.get_by_role("status")).to_contain_text(f"已督办办件 {case_no}")
    approver.goto("/notifications")
    expect(approver.locator(".inbox-entry", has_text="督办").first).to_contain_text("请今日内办结并答复")
    phone.goto(f"/cases/{case_no}")
    expect(phone.get_by_text("已督办").first).to_be_visible()
    supervisor.goto(f"/console/audit?case_no={case_no}")
    expect(supervisor.get_by_role("heading", level=1)).to_be_visible()
    assert violations(supervisor) == [], "/console/audit"
