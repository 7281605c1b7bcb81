"""马上办 at the window's tablet (1024×768): a 天宁 clerk holding 公积金中心's window authorisation receives a
resident of 溧阳 (全城通办), files 退休 for him, completes the 即办件 住房公积金封存及退休提取 on the spot and prints a
receipt that says 当场办结."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import api, fill_required_fields, register_staff
from e2e.test_accessibility import violations

RESIDENT = ("史卫东", "320481196607123915")  # registered in 溧阳市 (320481); no other e2e test uses him
ON_THE_SPOT_ITEM = "住房公积金封存及退休提取"  # 即办件 of 公积金中心 (housing_fund)


def test_a_clerk_completes_a_walk_ins_jibanjian_on_the_spot(tablet: Page, live_server: LiveServer) -> None:
    page = tablet
    register_staff(
        page,
        live_server,
        "天宁马上办",
        "--role",
        "clerk",
        "--department",
        "hrss",
        "--region",
        "320402",
        "--window-for",
        "housing_fund",
    )
    page.goto("/console/walk-in")
    page.get_by_label("姓名").fill(RESIDENT[0])
    page.get_by_label("身份证件号码").fill(RESIDENT[1])
    page.get_by_label("已当面核验本人居民身份证原件").check()
    page.get_by_role("button", name="开始接待").click()
    expect(page).to_have_url("/console/walk-in?notice=started")  # a 天宁 hall receives a 溧阳 resident

    page.locator(".event-card", has_text="退休").click()
    expect(page).to_have_url("/life-events/retirement/apply")
    form = api(page, "GET", f"/api/v1/life-events/retirement/form?on_behalf_of={quote(RESIDENT[1])}")
    fill_required_fields(page, form, "溧阳天目湖机械厂")
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/console/cases/CZ\d{14}/receipt$"))
    case_no = re.search(r"/console/cases/(CZ\d{14})/receipt", page.url).group(1)

    # From the receipt to the case: the 即办件 offers 当场办结, the 承诺件 do not.
    page.get_by_role("link", name="在工作台办理本件（即办件可当场办结）").click()
    expect(page).to_have_url(f"/console/cases/{case_no}")
    card = page.locator(".task-card", has_text=ON_THE_SPOT_ITEM)
    expect(page.get_by_role("button", name="当场办结")).to_have_count(1)
    assert violations(page) == []
    card.get_by_role("button", name="当场办结").click()
    expect(page).to_have_url(re.compile(rf"/console/cases/{case_no}#task-\d+$"))
    card = page.locator(".task-card", has_text=ON_THE_SPOT_ITEM)
    expect(card.locator(".task-done")).to_contain_text(f"已当场办结：{ON_THE_SPOT_ITEM}")
    expect(card).to_contain_text("已办结")
    expect(card.get_by_role("button", name="出件")).to_be_visible()  # handed over at once, at the same window

    # The receipt printed for him says so.
    page.goto(f"/console/cases/{case_no}/receipt")
    row = page.locator(".receipt-items tr", has_text=ON_THE_SPOT_ITEM)
    expect(row).to_contain_text("当场办结")
    expect(page.locator(".receipt-items tr", has_text="企业职工基本养老保险退休申请")).not_to_contain_text("当场办结")
    assert violations(page) == []

    # The queue keeps 即办件 apart.
    page.goto("/console?kind=即办件")
    expect(page.get_by_label("事项类型")).to_have_value("即办件")
