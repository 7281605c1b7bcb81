"""One window in front, departments behind: a clerk accepts on a tablet, an approver completes, and the
resident and the public tracking page see every step."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import TABLET, LiveServer
from e2e.helpers import api, file_retirement, register_resident, register_staff

RESIDENT = ("王建国", "320412196608080133")


def test_clerk_accepts_approver_completes_and_everyone_sees_each_step(
    phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    register_resident(phone, *RESIDENT)
    created = file_retirement(phone, "e2e-console-1")
    case_no = created["case_no"]

    clerk_context = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN")
    clerk = clerk_context.new_page()
    register_staff(clerk, live_server, "武进窗口", "--role", "clerk", "--department", "hrss", "--region", "320412")
    clerk.goto("/console")
    clerk.get_by_label("办件编号").fill(case_no)
    clerk.get_by_role("button", name="查找办件").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("退休")
    expect(clerk.locator(".scope-note")).to_have_count(0)  # the window clerk sees the whole case
    pension = clerk.locator(".task-card", has_text="企业职工基本养老保险退休申请")
    pension.get_by_role("button", name="受理", exact=True).click()
    expect(clerk.locator(".task-card", has_text="企业职工基本养老保险退休申请")).to_contain_text("已受理")

    approver_context = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN")
    approver = approver_context.new_page()
    register_staff(  # the city's 人社 office: 企业职工基本养老保险退休申请 is a 市级 item
        approver, live_server, "人社审批", "--role", "approver", "--department", "hrss", "--region", "320400"
    )
    approver.goto("/console")
    approver.get_by_role("link", name=case_no).first.click()
    # The approver is told which part of the case is theirs, rather than finding holes in it.
    expect(approver.locator(".scope-note")).to_contain_text("本页只显示人社办理的事项内容")
    expect(approver.locator(".task-card", has_text="住房公积金封存及退休提取")).to_contain_text("不向您显示")
    # 显示完整号码 is a small form posted with the CSRF token; htmx puts the number in place of the masked one.
    number = approver.locator("dd", has=approver.get_by_role("button", name="显示完整号码")).first
    expect(number).to_contain_text("320412********0133")
    number.get_by_role("button", name="显示完整号码").click()
    expect(approver.locator(".revealed")).to_have_text(RESIDENT[1])
    expect(approver.get_by_role("button", name="显示完整号码")).to_have_count(0)
    expect(approver.get_by_role("heading", level=1)).to_have_text("退休")  # swapped in place, not a new page
    for button, label in (("开始审核", "审核中"), ("批准", "已批准"), ("办结", "已办结")):
        card = approver.locator(".task-card", has_text="企业职工基本养老保险退休申请")
        card.get_by_role("button", name=button, exact=True).click()
        expect(approver.locator(".task-card", has_text="企业职工基本养老保险退休申请")).to_contain_text(label)

    phone.goto(f"/cases/{case_no}")
    for step in ("已受理", "审核中", "已批准", "已办结"):
        expect(phone.get_by_text(f"企业职工基本养老保险退休申请：{step}").first).to_be_visible()
    phone.goto(created["tracking_url"].replace(live_server.url, ""))
    expect(phone.get_by_text(case_no).first).to_be_visible()
    expect(phone.get_by_text("企业职工基本养老保险退休申请：已办结").first).to_be_visible()
    assert RESIDENT[0] not in phone.content()
    held = api(phone, "GET", "/api/v1/certificates")
    assert "retirement_approval" in {c["kind"] for c in held}
    clerk_context.close()
    approver_context.close()
