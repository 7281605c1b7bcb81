"""更正 in the browser: a resident on a 360 px phone finds a mistake on a certificate in 我的证照, asks for a correction
(one question per step, no sideways scrolling, in 长辈版 too), the departments decide it, and the resident sees the
corrected certificate while the old one says 已作废. The staff's moves go through the API (the console is tested
elsewhere); a resident nobody else uses in e2e: 冯建军 of 金坛."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import TABLET, ConsoleWatch, LiveServer
from e2e.helpers import api, file_retirement, register_staff, sign_up_with_enrollment_code
from e2e.layout import assert_fits, use_display
from e2e.test_accessibility import violations

RESIDENT = ("冯建军", "320413198104302738")
EMPLOYER = "常州金坛正确机械有限公司"


def _staff(browser: Browser, live_server: LiveServer, watch: ConsoleWatch, name: str, *args: str) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN")
    context.on("page", watch.attach)
    page = context.new_page()
    register_staff(page, live_server, name, *args)
    return page


def _move(page: Page, task_id: int, *actions: str) -> None:
    for action in actions:
        api(page, "POST", f"/api/v1/console/tasks/{task_id}/transition", data={"action": action})


def test_a_resident_asks_for_a_correction_and_sees_the_corrected_certificate(
    phone: Page, browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    sign_up_with_enrollment_code(phone, live_server, *RESIDENT)
    case_no = file_retirement(phone, "e2e-correction-1")["case_no"]
    clerk = _staff(
        browser,
        live_server,
        console_watch,
        "金坛窗口更正",
        "--role",
        "clerk",
        "--department",
        "hrss",
        "--region",
        "320413",
    )
    hrss = _staff(
        browser,
        live_server,
        console_watch,
        "人社审批更正",
        "--role",
        "approver",
        "--department",
        "hrss",
        "--region",
        "320400",
    )
    tasks = {t["item_code"]: t["id"] for t in api(clerk, "GET", f"/api/v1/console/cases/{case_no}")["tasks"]}
    _move(clerk, tasks["CZ-RS-003"], "accept")
    _move(hrss, tasks["CZ-RS-003"], "review", "approve", "complete")

    # 我的证照 → 信息有误？申请更正 → which field → the right value and why.
    use_display(phone, elder=True)
    phone.goto("/certificates")
    entry = phone.locator("li.passkey").filter(has_text="职工退休审批表").filter(has_text=case_no)
    entry.get_by_role("link", name="信息有误？申请更正").click()
    expect(phone.get_by_role("heading", name="申请更正证照信息")).to_be_visible()
    phone.get_by_role("radio", name=re.compile("参保单位名称")).check()
    phone.get_by_role("button", name="下一步").click()
    assert_fits(phone, "申请更正, 长辈版")
    console_watch.allow("status of 400")  # the page answers an empty answer with 400 and its errors, on purpose
    phone.get_by_role("button", name="提交更正申请").click()  # nothing typed: the errors come, beside each field
    expect(phone.get_by_role("alert")).to_contain_text("请填写更正后的参保单位名称")
    expect(phone.get_by_role("alert")).to_contain_text("请写明更正原因")
    assert violations(phone) == [], "申请更正 with errors"
    phone.get_by_label("更正为").fill(EMPLOYER)
    phone.get_by_label(re.compile("更正原因")).fill("单位名称录入错误，见劳动合同")
    phone.get_by_role("button", name="提交更正申请").click()
    expect(phone).to_have_url(f"/cases/{case_no}")
    expect(phone.locator(".timeline")).to_contain_text("职工退休审批表信息更正：已申请")

    correction = next(
        t["id"]
        for t in api(clerk, "GET", f"/api/v1/console/cases/{case_no}")["tasks"]
        if t["item_code"] == "CZ-RS-003-GZ"
    )
    _move(clerk, correction, "accept")
    hrss.goto(f"/console/cases/{case_no}")
    expect(hrss.locator(".correction-panel")).to_contain_text(EMPLOYER)  # side by side with the old value
    assert violations(hrss) == [], "the approver's side-by-side panel"
    _move(hrss, correction, "review", "approve", "complete")

    phone.goto("/certificates")
    current = phone.locator("li.passkey").filter(has_text="职工退休审批表").filter(has_text="-GZ1")
    current.get_by_role("link", name="职工退休审批表").click()
    expect(phone.get_by_role("status").filter(has_text="这是更正后换发的证照")).to_contain_text(EMPLOYER)
    assert_fits(phone, "更正后的证照, 长辈版")
    phone.goto("/certificates")
    phone.get_by_text(re.compile("已作废的证照")).click()
    phone.locator(".voided-certificates").get_by_role("link", name="职工退休审批表").click()
    expect(phone.get_by_role("heading", name="这份证照已作废")).to_be_visible()
    assert violations(phone) == [], "a void certificate"
