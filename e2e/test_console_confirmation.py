"""A clerk's action says what it did and comes back to the task it was done to: after 受理 on a task far down the
case page, the page (a new one: Post/Redirect/Get) confirms it and shows that task, not the top of the page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import TABLET, LiveServer
from e2e.helpers import file_life_event, register_staff, sign_up_with_enrollment_code
from e2e.test_accessibility import violations

RESIDENT = ("张伟", "320402199403150119")


def test_a_clerks_accept_confirms_it_and_keeps_the_task_in_view(
    phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    sign_up_with_enrollment_code(phone, live_server, *RESIDENT)
    case_no = file_life_event(phone, "birth", "e2e-confirm-1")["case_no"]

    context = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN")
    clerk = context.new_page()
    register_staff(clerk, live_server, "天宁窗口", "--role", "clerk", "--department", "police", "--region", "320402")
    clerk.goto(f"/console/cases/{case_no}")
    card = clerk.locator(".task-card").last  # the last task: well below the first screen
    name = card.locator("h3").inner_text().split(" ")[0].strip()
    card.get_by_role("button", name="受理", exact=True).click()

    expect(clerk).to_have_url(re.compile(rf"/console/cases/{case_no}#task-\d+$"))
    task_id = clerk.url.rsplit("#task-", 1)[1]
    expect(clerk.locator(".confirmation")).to_contain_text(f"已受理：{name}")
    done = clerk.locator(f"#task-{task_id}")
    expect(done).to_contain_text(f"已受理：{name}")
    expect(done).to_be_in_viewport()
    assert clerk.evaluate("window.scrollY") > 0, "the page came back at its task, not at the top"
    assert violations(clerk) == []

    # A 补正告知 on another task, and its notice to print: both pass axe, as does the queue.
    other = clerk.locator(".task-card").first
    other.get_by_label(re.compile("^说明")).fill("请补交：\n1. 出生医学证明首次签发登记表")
    other.get_by_role("button", name="补正告知").click()
    expect(clerk.locator(".confirmation")).to_contain_text("已发出补正告知")
    notice = clerk.locator(".task-card").first.get_by_role("link", name="打印补正告知书")
    clerk.goto(notice.get_attribute("href") or "")
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("补正材料告知书")
    expect(clerk.locator(".notice-note")).to_have_text("请补交：\n1. 出生医学证明首次签发登记表")
    expect(clerk.get_by_role("button", name="打印告知书")).to_be_visible()
    assert violations(clerk) == []
    clerk.goto("/console")
    assert violations(clerk) == []
    context.close()
