"""法人办事 from a company's first day (issue 18's Done-when), in the browser on a 360 px phone: a resident files
企业开办 for a company that does not exist yet; at the 金坛 hall the clerk 受理s it and 市场监管's approver completes
企业设立登记 on the console, entering the new 统一社会信用代码 (a mistyped one is refused beside its field); the other
departments complete the rest (印章, 发票, 参保, 公积金), which now belong to the company. The resident switches to
企业办事 for the company he now represents, finds the case and the 营业执照 under 企业办件 and the company's entry on
登记信息, opens 企业变更登记 and finds its form filled from the register (read-only), types the new address and files
it; once 市场监管 completes the change, 变更记录 shows it with the case that made it. No page scrolls sideways and axe
finds nothing serious on any of them.

The resident is this file's own: 戴晨 (金坛区), whom no other e2e file signs up."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.people.identity import credit_code_check_char, credit_code_warning
from e2e.conftest import TABLET, LiveServer
from e2e.helpers import api, fill_step, next_step, register_resident, register_staff, upload_required_materials
from e2e.layout import assert_fits
from e2e.test_accessibility import violations

FOUNDER = ("戴晨", "320413200106013593")  # lives in 金坛区 (320413): its hall receives his online cases
COMPANY = "常州戴晨网络科技有限公司"
ADDRESS = "江苏省常州市金坛区西城街道东门大街18号"
NEW_ADDRESS = "江苏省常州市金坛区金城镇南环一路66号"
HALL = "320413"
# The rest of 企业开办, by item: the department whose approver completes it, and the office it is routed to.
THE_REST = {
    "CZ-GA-002": ("金坛公安审批", "police", HALL),
    "CZ-SW-001": ("金坛税务审批", "tax", HALL),
    "CZ-RS-002": ("金坛人社审批", "hrss", HALL),
    "CZ-GJJ-001": ("市公积金审批", "housing_fund", "320400"),  # 公积金 is a 市级 item
}


def _new_credit_code() -> str:
    """A code the register does not hold, passing GB 32100 and its organisation part GB 11714, as 市场监管 assigns."""
    for last in "0123456789X":
        first17 = "91320413MA1DC2CH" + last
        code = first17 + credit_code_check_char(first17)
        if credit_code_warning(code) is None:
            return code
    raise AssertionError("no code passes both checks")


CODE = _new_credit_code()


def _checked(page: Page, where: str) -> None:
    """No sideways scrolling on the phone, nothing serious for axe."""
    assert_fits(page, where)
    assert violations(page) == [], where


def _staff(browser: Browser, live_server: LiveServer, name: str, *args: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN")
    page = context.new_page()
    register_staff(page, live_server, name, *args)
    return context, page


def _move(staff: Page, task_id: int, *actions: str) -> None:
    for action in actions:
        api(staff, "POST", f"/api/v1/console/tasks/{task_id}/transition", data={"action": action})


def _task_ids(staff: Page, case_no: str) -> dict[str, int]:
    return {t["item_code"]: t["id"] for t in api(staff, "GET", f"/api/v1/console/cases/{case_no}")["tasks"]}


def _walk(page: Page, types: dict[str, str], typed: dict[str, str], where: str) -> None:
    """Every step of the form on the page: the `typed` fields (by element id) where shown, the other required ones
    filled with valid answers, each step checked; on to the last step with 提交申请."""
    # The steps are laid out by apply-steps.js: until it has run every step shows, and a field seen now may hide.
    expect(page.locator("#step-progress")).to_be_visible()
    while True:
        for element_id, value in typed.items():
            field = page.locator(f"#{element_id}")
            if field.is_visible():
                field.fill(value)
        _checked(page, f"{where}: {page.locator('#step-progress').inner_text()}")
        if not page.get_by_role("button", name="下一步").is_visible():
            return
        fill_step(page, types)
        next_step(page)


def _form(page: Page, code: str, org: str | None = None) -> dict[str, Any]:
    token = next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), "")
    headers = {"X-CSRFToken": token, **({"X-On-Behalf-Of-Org": org} if org else {})}
    response = page.request.get(f"/api/v1/life-events/{code}/form", headers=headers)
    assert response.ok, response.text()
    return response.json()


def _types(form: dict[str, Any]) -> dict[str, str]:
    return {field["key"]: field["type"] for section in form["sections"] for field in section["fields"]}


def _submit(page: Page) -> str:
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/cases/CZ\d{14}/receipt$"))
    _checked(page, "the receipt")
    return page.url.rsplit("/", 2)[-2]


def test_a_founder_files_business_start_up_then_changes_his_new_company_from_the_register(
    phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    register_resident(phone, *FOUNDER)

    # 企业开办, as himself: the company has no code yet.
    phone.goto("/life-events/business")
    phone.get_by_role("link", name="开始办理").click()
    expect(phone).to_have_url(re.compile(r"/life-events/business/apply"))
    form = _form(phone, "business")
    _walk(phone, _types(form), {"company-name": COMPANY, "company-address": ADDRESS}, "企业开办")
    upload_required_materials(phone, form)
    case_no = _submit(phone)

    # The 金坛 hall receives it; 市场监管 completes 设立登记 on the console, assigning the code.
    clerk_context, clerk = _staff(
        browser, live_server, "金坛窗口", "--role", "clerk", "--department", "market", "--region", HALL
    )
    tasks = _task_ids(clerk, case_no)
    for task_id in tasks.values():
        _move(clerk, task_id, "accept")
    market_context, market = _staff(
        browser, live_server, "金坛登记", "--role", "approver", "--department", "market", "--region", HALL
    )
    market.goto(f"/console/cases/{case_no}")
    registration = market.locator(".task-card", has_text="企业设立登记")
    for button, label in (("开始审核", "审核中"), ("批准", "已批准")):
        registration.get_by_role("button", name=button, exact=True).click()
        expect(market.locator(".task-card", has_text="企业设立登记")).to_contain_text(label)
    registration = market.locator(".task-card", has_text="企业设立登记")
    registration.get_by_label(re.compile("统一社会信用代码")).fill(CODE[:-1] + ("0" if CODE[-1] != "0" else "1"))
    registration.get_by_role("button", name="办结", exact=True).click()
    mistyped = market.locator(".task-card", has_text="企业设立登记")
    expect(mistyped.locator("[id^=credit-code][id$=-error]")).to_have_text(
        "统一社会信用代码校验位不正确，请对照营业执照核对，可能有一位输错"
    )
    assert violations(market) == [], "the console with the code refused"
    mistyped.get_by_label(re.compile("统一社会信用代码")).fill(CODE)
    mistyped.get_by_role("button", name="办结", exact=True).click()
    expect(market.locator(".task-card", has_text="企业设立登记")).to_contain_text("已办结")
    expect(market.get_by_text(f"{COMPANY}（统一社会信用代码 {CODE}）")).to_be_visible()  # the case is the company's
    assert violations(market) == [], "the console, the company the case's subject"

    # The other departments complete the rest of 企业开办.
    others: list[BrowserContext] = []
    for item, (name, department, office) in THE_REST.items():
        context, approver = _staff(
            browser, live_server, name, "--role", "approver", "--department", department, "--region", office
        )
        others.append(context)
        _move(approver, tasks[item], "review", "approve", "complete")

    # He now represents the company: he switches to it on 我的.
    phone.goto("/me")
    switch = phone.get_by_role("form", name="办事身份")
    switch.get_by_label(f"企业办事：{COMPANY}").check()
    _checked(phone, "/me with the new company to switch to")
    switch.get_by_role("button", name="切换").click()
    expect(phone).to_have_url("/org/cases")
    expect(phone.get_by_role("region", name="当前办事身份")).to_contain_text(f"企业办事：{COMPANY}")
    expect(phone.get_by_text(CODE).first).to_be_visible()
    started = phone.locator(".case-card", has_text=case_no)
    expect(started).to_contain_text("企业开办")
    expect(started).to_contain_text("已办结")
    expect(phone.locator(".passkey", has_text="营业执照")).to_contain_text("市场监督管理局")
    _checked(phone, "/org/cases of the new company")

    phone.get_by_role("link", name="登记信息和变更记录").click()
    expect(phone).to_have_url("/org/register")
    for shown in (COMPANY, CODE, "有限责任公司", FOUNDER[0], ADDRESS, "金坛区", "存续", "法人库中还没有变更记录"):
        expect(phone.get_by_text(shown, exact=False).first).to_be_visible()
    _checked(phone, "/org/register before any change")

    # 企业变更登记: the form from the register, read-only; he types the new address.
    phone.goto("/life-events/business-change")
    phone.get_by_role("link", name="开始办理").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("企业变更登记：以企业身份填写申请表")
    for element_id, value in (
        ("company-credit_code", CODE),
        ("company-name", COMPANY),
        ("company-address", ADDRESS),
        ("company-legal_rep_name", FOUNDER[0]),
    ):
        field = phone.locator(f"#{element_id}")
        expect(field).to_have_value(value)
        expect(field).to_have_attribute("readonly", "")
    change_form = _form(phone, "business-change", CODE)
    _walk(phone, _types(change_form), {"change-address": NEW_ADDRESS}, "企业变更登记")
    upload_required_materials(phone, change_form)
    change_no = _submit(phone)
    phone.goto("/org/cases")
    expect(phone.locator(".case-card", has_text=change_no)).to_contain_text("企业变更登记")

    # 市场监管 completes the change: the register's history names it, with its case.
    change_task = _task_ids(clerk, change_no)["CZ-SJ-002"]
    _move(clerk, change_task, "accept")
    _move(market, change_task, "review", "approve", "complete")
    phone.goto("/org/register")
    change = phone.locator(".passkey", has_text="住所")
    expect(change).to_contain_text(f"变更前：{ADDRESS}")
    expect(change).to_contain_text(f"变更后：{NEW_ADDRESS}")
    expect(change.get_by_role("link", name=change_no)).to_be_visible()
    _checked(phone, "/org/register with the change")

    for context in (clerk_context, market_context, *others):
        context.close()
