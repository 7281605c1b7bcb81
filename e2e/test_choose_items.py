"""On a phone (360 px): a resident chooses the items of 新生儿出生 that apply (一件事，按需组合) and files only those,
then applies for one item on its own (尊老金申领) from its 办事指南."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, StorageState, expect

from e2e.conftest import PHONE, LiveServer
from e2e.helpers import add_virtual_authenticator, api, sign_up_on_page, upload_required_materials, walk_form

CHEN_XIAOFENG = {"name": "陈晓峰", "id_number": "320411198811021297"}  # no other e2e file uses him
MATERNITY = "CZ-YB-002"


@pytest.fixture(scope="module")
def chen_xiaofeng(browser: Browser, live_server: LiveServer) -> StorageState:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    add_virtual_authenticator(page)
    sign_up_on_page(page, CHEN_XIAOFENG["name"], CHEN_XIAOFENG["id_number"])
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def resident(phone: Page, chen_xiaofeng: dict[str, Any]) -> Page:
    phone.context.add_cookies(chen_xiaofeng["cookies"])
    return phone


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"


def test_a_resident_chooses_the_items_that_apply_then_files_only_those(resident: Page) -> None:
    page = resident
    page.goto("/life-events/birth")
    expect(page.get_by_text("适用：母亲参加了职工基本医疗保险（生育保险）时可以申领")).to_be_visible()
    page.get_by_role("link", name="开始办理").click()
    expect(page).to_have_url(re.compile(r"/life-events/birth/choose$"))
    _fits(page)
    required = page.get_by_role("checkbox", name=re.compile("出生医学证明签发"))
    expect(required).to_be_checked()
    expect(required).to_be_disabled()
    maternity = page.get_by_role("checkbox", name=re.compile("生育津贴申领"))
    maternity.uncheck()
    page.get_by_role("button", name="下一步：填写申请表").click()

    expect(page).to_have_url(re.compile(r"/life-events/birth/apply\?items="))
    expect(page.get_by_text("一张表同时申请5个事项")).to_be_visible()
    expect(page.locator("[name='bank.account']")).to_have_count(0)  # asked only for 生育津贴
    _fits(page)
    chosen = page.locator("#apply-form").get_attribute("data-items") or ""
    form = api(page, "GET", "/api/v1/life-events/birth/form?" + "&".join(f"items={c}" for c in chosen.split(",")))
    walk_form(page)
    upload_required_materials(page, form)
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/cases/CZ\d{14}/receipt$"))
    case_no = page.url.rsplit("/", 2)[-2]
    case = api(page, "GET", f"/api/v1/cases/{case_no}")
    assert MATERNITY not in [task["item_code"] for task in case["tasks"]]
    assert len(case["tasks"]) == 5


def test_a_resident_applies_for_one_item_on_its_own(resident: Page) -> None:
    page = resident
    page.goto("/items/CZ-MZ-002")
    page.get_by_role("link", name="在线办理").click()
    expect(page).to_have_url(re.compile(r"/items/CZ-MZ-002/apply$"))
    expect(page.get_by_role("heading", name="尊老金申领：填写申请表")).to_be_visible()
    _fits(page)
    form = api(page, "GET", "/api/v1/items/CZ-MZ-002/form")
    walk_form(page)
    upload_required_materials(page, form)
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/cases/CZ\d{14}/receipt$"))
    expect(page.get_by_text("尊老金申领").first).to_be_visible()
    case_no = page.url.rsplit("/", 2)[-2]
    case = api(page, "GET", f"/api/v1/cases/{case_no}")
    assert case["life_event_name"] == "尊老金申领"
    assert [task["item_code"] for task in case["tasks"]] == ["CZ-MZ-002"]


def test_the_form_helpers_wait_for_the_form_script(resident: Page) -> None:
    """On a slow phone the form's script runs late: until it has, every step shows and 下一步 is hidden. The helpers
    the other tests lean on wait for it (CI once saw walk_form take a form still laid out as one page for a form with
    one step, and upload before the uploads were wired)."""
    page = resident

    def late_script(route: Route) -> None:
        response = route.fetch()
        late = "await new Promise((resolve) => setTimeout(resolve, 1500));\n" + response.text()
        route.fulfill(response=response, body=late)

    page.route(re.compile(r"/js/apply\.js"), late_script)
    page.goto("/items/CZ-MZ-002/apply")
    form = api(page, "GET", "/api/v1/items/CZ-MZ-002/form")
    walk_form(page)
    upload_required_materials(page, form)
    expect(page.get_by_role("button", name="提交申请")).to_be_visible()
