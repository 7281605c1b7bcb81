"""Times are Beijing time on every page, the server running in UTC (e2e/conftest.py): the console prints the
receipt's 提交时间, the queue too, and 我的 prints the passkey's creation within the same minutes (a UTC clock read as
local would be eight hours off)."""

from __future__ import annotations

from datetime import datetime

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import TABLET, LiveServer
from e2e.helpers import file_retirement, register_staff, sign_up_with_enrollment_code

# A 武进 resident nobody else uses in the e2e run: a retirement filed twice for one person is refused (一事不二办).
RESIDENT = ("钱俊", "320412199212091710")
SHOWN = "%Y-%m-%d %H:%M"


def test_the_console_and_me_show_the_receipts_time(phone: Page, browser: Browser, live_server: LiveServer) -> None:
    sign_up_with_enrollment_code(phone, live_server, *RESIDENT)
    case_no = file_retirement(phone, "e2e-times-1")["case_no"]
    phone.goto(f"/cases/{case_no}/receipt")
    filed = phone.locator(".receipt-facts time").first.inner_text().strip()
    phone.goto("/me")
    made = phone.locator(".passkey-list .muted").first.inner_text()
    made_at = made.split("创建于", 1)[1].split("·", 1)[0].strip()
    gap = abs(datetime.strptime(filed, SHOWN) - datetime.strptime(made_at, SHOWN))
    assert gap.total_seconds() <= 5 * 60, (filed, made_at)

    context = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN")
    clerk = context.new_page()
    register_staff(clerk, live_server, "武进窗口", "--role", "clerk", "--department", "hrss", "--region", "320412")
    clerk.goto(f"/console/cases/{case_no}")
    expect(clerk.locator("dl.guide").first).to_contain_text(f"提交时间{filed}")
    clerk.goto("/console")
    expect(clerk.locator(".queue-case", has_text=case_no)).to_contain_text(filed)
    context.close()
