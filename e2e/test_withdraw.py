"""撤回申请 on a 360 px phone: from the case page the resident opens the confirmation in place (htmx), reads what
happens (不可恢复; 已办结的事项不受影响), keeps one item, gives a reason and confirms; the case page says so and each
withdrawn item's step reads 申请人撤回申请. Every screen passes axe and never scrolls sideways.

陆晓燕 is a demo resident no other e2e file uses."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import file_retirement, sign_up_with_enrollment_code
from e2e.test_accessibility import violations

RESIDENT = ("陆晓燕", "320402198311094266")


def _fits(page: Page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_a_resident_withdraws_items_from_the_case_page_on_a_phone(phone: Page, live_server: LiveServer) -> None:
    sign_up_with_enrollment_code(phone, live_server, *RESIDENT)
    case_no = file_retirement(phone, "e2e-withdraw-1")["case_no"]
    phone.goto(f"/cases/{case_no}")
    offer = phone.locator("#withdraw")
    expect(offer).to_contain_text("撤回后不可恢复")

    offer.get_by_role("link", name="撤回申请").click()

    # The confirmation takes the offer's place on the same page, its heading focused for a screen reader.
    heading = phone.get_by_role("heading", name="撤回申请？")
    expect(heading).to_be_focused()
    expect(phone).to_have_url(re.compile(rf"/cases/{case_no}$"))
    expect(phone.locator(".withdraw-warning")).to_contain_text("撤回后不可恢复")
    expect(phone.locator(".withdraw-warning")).to_contain_text("已办结的事项不受影响")
    choices = phone.get_by_role("group", name="撤回哪些事项").get_by_role("checkbox")
    expect(choices).to_have_count(3)
    assert violations(phone) == []
    assert _fits(phone)

    kept = choices.first.locator("xpath=ancestor::label").inner_text().split("（")[0].strip()
    choices.first.uncheck()
    phone.get_by_role("radio", name="不再需要办理").check()
    phone.get_by_label(re.compile("^补充说明")).fill("单位已统一办理")
    phone.get_by_role("button", name="确认撤回").click()

    expect(phone).to_have_url(re.compile(rf"/cases/{case_no}\?notice=withdrawn$"))
    expect(phone.get_by_role("status")).to_contain_text("已撤回申请")
    expect(phone.locator(".case-title")).to_contain_text("已提交")  # where the item kept is
    steps = phone.locator(".timeline-title", has_text="申请人撤回申请")
    expect(steps).to_have_count(2)
    expect(phone.locator(".timeline-note").first).to_contain_text("不再需要办理。单位已统一办理")
    table = phone.locator(".case-table")
    expect(table.locator("tr", has_text=kept)).to_contain_text("已申办")
    expect(table.get_by_text("已撤回")).to_have_count(2)
    # The item kept may still be withdrawn later.
    expect(phone.locator("#withdraw")).to_be_visible()
    assert violations(phone) == []
    assert _fits(phone)
