"""窗口收件 on the window's tablet (1024×768): a clerk checks a walk-in resident's ID card, fills 退休 for her with
the merged form and no uploads, prints the receipt and ends the visit; the resident later signs up on her phone
and finds the case."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import PHONE, ConsoleWatch, LiveServer
from e2e.helpers import api, fill_required_fields, register_resident, register_staff
from e2e.test_accessibility import violations

RESIDENT = ("周丽华", "320412196801221647")  # lives in 武进区 (320412); no other e2e test uses her
EMPLOYER = "武进湖塘织布厂"


def _kept_for_visits(page: Page) -> list[str]:
    """What the browser keeps for walk-in visits: tab storage keys and IndexedDB drafts (local-data.js)."""
    keys = page.evaluate(
        "() => [...Object.keys(sessionStorage), ...Object.keys(localStorage)].filter((k) => k.includes(':client-w'))"
    )
    drafts = page.evaluate(
        "async () => (await self.ywtbLocal.drafts(document.body.dataset.localKey)).map((d) => d.subject)"
    )
    return keys + drafts


def test_a_clerk_files_for_a_walk_in_resident_who_then_finds_the_case(
    tablet: Page, browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("status of 400 (Bad Request)")  # the ID check refused on purpose
    page = tablet
    register_staff(page, live_server, "武进窗口", "--role", "clerk", "--department", "hrss", "--region", "320412")
    page.goto("/console")
    page.get_by_role("link", name="窗口收件：为来办群众填写申请").click()
    expect(page).to_have_url("/console/walk-in")
    assert violations(page) == []

    # The ID card is checked first: a mistyped number and a forgotten tick are refused beside their fields.
    page.get_by_label("姓名").fill(RESIDENT[0])
    page.get_by_label("身份证件号码").fill(RESIDENT[1][:-1] + "8")
    page.get_by_role("button", name="开始接待").click()
    expect(page.locator("#walk-in-id-number-error")).to_contain_text("校验位不正确")
    expect(page.locator("#walk-in-identity-checked-error")).to_contain_text("请先当面核验居民身份证")
    expect(page.locator(".error-summary")).to_be_visible()
    assert violations(page) == []
    expect(page.get_by_label("姓名")).to_have_value(RESIDENT[0])
    page.get_by_label("身份证件号码").fill(RESIDENT[1])
    page.get_by_label("已当面核验本人居民身份证原件").check()
    page.get_by_role("button", name="开始接待").click()
    expect(page).to_have_url("/console/walk-in?notice=started")
    expect(page.get_by_role("heading", name=f"正在接待：{RESIDENT[0]}")).to_be_visible()
    banner = page.locator("#helper-banner")
    expect(banner).to_contain_text(f"窗口收件：正在为 {RESIDENT[0]}（320412********1647）办理")
    assert RESIDENT[1] not in page.content()

    # The merged form, filled for her: her identity from the population register, paper originals at the window.
    page.locator(".event-card", has_text="退休").click()
    expect(page).to_have_url("/life-events/retirement/apply")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"退休：为{RESIDENT[0]}填写申请表")
    expect(page.get_by_label("申请人姓名")).to_have_value(RESIDENT[0])
    expect(page.get_by_label("申请人公民身份号码")).to_have_value("320412 ******** 1647")  # read-only: 6-8-4
    # Trained staff get the form on one page: every section with its heading, no 下一步.
    expect(page.locator("#apply-form")).to_have_attribute("data-layout", "one-page")
    expect(page.get_by_role("heading", level=2, name="退休信息")).to_be_visible()
    expect(page.get_by_role("button", name="下一步")).to_be_hidden()
    form = api(page, "GET", f"/api/v1/life-events/retirement/form?on_behalf_of={quote(RESIDENT[1])}")
    fill_required_fields(page, form, EMPLOYER)
    expect(page.get_by_text("纸质材料（窗口核验）")).to_be_visible()
    assert violations(page) == []
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=5000)
    assert _kept_for_visits(page), "the draft is kept on this device for this visit"
    page.get_by_role("button", name="提交申请").click()

    expect(page).to_have_url(re.compile(r"/console/cases/CZ\d{14}/receipt$"))
    case_no = re.search(r"/console/cases/(CZ\d{14})/receipt", page.url).group(1)
    expect(page.get_by_text(case_no).first).to_be_visible()
    expect(page.get_by_text("由综合窗口 武进窗口 当面收件")).to_be_visible()
    expect(page.locator(".receipt-qr svg")).to_be_visible()
    expect(page.get_by_role("button", name="打印回执")).to_be_visible()

    # Back at the visit: the case is listed for reprinting; ending the visit clears the device.
    page.get_by_role("link", name="继续为TA办理其他事").click()
    expect(page.locator(".task-card", has_text="本次已收件")).to_contain_text(case_no)
    banner.get_by_role("button", name="结束接待").click()
    expect(page).to_have_url("/console/walk-in?notice=ended")
    expect(page.locator("#helper-banner")).to_have_count(0)
    assert _kept_for_visits(page) == []
    page.goto("/life-events/retirement/apply")
    expect(page).to_have_url("/console/walk-in?notice=choose")

    # The window's case is in the hall's queue like any other.
    page.goto("/console")
    expect(page.get_by_role("link", name=case_no).first).to_be_visible()

    # 周丽华 signs up on her phone and finds the case the window filed for her.
    phone_context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
    phone_context.on("page", console_watch.attach)
    phone = phone_context.new_page()
    register_resident(phone, *RESIDENT)
    phone.goto("/cases")
    phone.get_by_text(case_no).click()
    expect(phone.get_by_text("由综合窗口 武进窗口 当面收件").first).to_be_visible()
    expect(phone.get_by_text("综合窗口已收件").first).to_be_visible()
    phone_context.close()
