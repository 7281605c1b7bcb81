"""A clerk's action says what it did and comes back to the task it was done to: after 受理 on a task far down the
case page, the page (a new one: Post/Redirect/Get) confirms it and shows that task, not the top of the page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import TABLET, LiveServer
from e2e.helpers import file_life_event, register_resident, register_staff

RESIDENT = ("张伟", "320402199403150119")


def test_a_clerks_accept_confirms_it_and_keeps_the_task_in_view(
    phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    register_resident(phone, *RESIDENT)
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
    context.close()
