"""A resident applies for 新生儿出生 on a phone: one merged form in steps, held materials not asked again,
files uploaded as chosen, then the receipt with its QR code and the public tracking page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, StorageState, expect

from e2e.conftest import PHONE, ConsoleWatch, LiveServer
from e2e.helpers import add_virtual_authenticator, sign_up_on_page
from tests.case_helpers import PNG_1X1

APPLY = "/life-events/birth/apply"
ZHANG_WEI = {"name": "张伟", "id_number": "320402199403150119"}


@pytest.fixture(scope="module")
def zhang_wei(browser: Browser, live_server: LiveServer) -> StorageState:
    """张伟 signs up once with a passkey (the e2e database lives for the whole run); tests reuse his session."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    add_virtual_authenticator(page)
    sign_up_on_page(page, ZHANG_WEI["name"], ZHANG_WEI["id_number"])
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def resident(phone: Page, zhang_wei: dict[str, Any]) -> Page:
    phone.context.add_cookies(zhang_wei["cookies"])
    return phone


@pytest.fixture
def no_script_page(browser: Browser, live_server: LiveServer, zhang_wei: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=False, storage_state=zhang_wei
    )
    yield context.new_page()
    context.close()


def _next(page: Page, step: int) -> None:
    page.get_by_role("button", name="下一步").click()
    expect(page.locator("#step-progress")).to_contain_text(f"第{step}步，共7步")


def test_a_resident_fills_the_birth_form_in_steps_and_gets_a_receipt_and_tracking(
    resident: Page,
) -> None:
    page = resident
    page.goto(APPLY)
    progress = page.locator("#step-progress")
    expect(progress).to_have_text("第1步，共7步：申请人")
    expect(progress).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("button", name="上一步")).to_be_hidden()
    expect(page.get_by_role("button", name="提交申请")).to_be_hidden()
    # Prefilled, with where it came from; the own ID number masked and read-only.
    expect(page.get_by_label("申请人姓名")).to_have_value("张伟")
    expect(page.get_by_label("申请人公民身份号码")).to_have_value("320402********0119")
    expect(page.get_by_label("申请人公民身份号码")).not_to_be_editable()
    expect(page.get_by_text("来自：人口基础库").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    _next(page, 2)
    expect(page.get_by_label("新生儿姓名")).to_be_visible()
    expect(page.get_by_label("申请人姓名")).to_be_hidden()
    page.get_by_label("新生儿姓名").fill("张小宝")
    page.get_by_label("新生儿性别").select_option(label="男")
    page.get_by_label("出生日期").fill((date.today() - timedelta(days=3)).isoformat())
    page.get_by_label("分娩医院").fill("常州市妇幼保健院")
    page.get_by_label("出生体重（克）（选填）").fill("3250")
    # Kept on the phone at once, and as a server draft a second after the last change.
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=5000)

    _next(page, 3)
    page.get_by_label("母亲姓名").fill("李娜")
    # Inline validation (htmx): a wrong check digit is explained beside the field, and cleared when fixed.
    mother_id = page.get_by_label("母亲公民身份号码")
    mother_id.fill("320402199506180127")
    mother_id.press("Tab")
    error = page.locator("#mother-id_number-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("校验位")
    expect(mother_id).to_have_attribute("aria-invalid", "true")
    mother_id.fill("320402199506180126")
    mother_id.press("Tab")
    expect(error).to_be_hidden()
    expect(mother_id).not_to_have_attribute("aria-invalid", "true")
    page.get_by_label("母亲手机号码").fill("13800000002")
    page.get_by_label("母亲参保单位名称").fill("常州市天宁区某某科技有限公司")
    page.get_by_label("父亲姓名").fill("张伟")
    page.get_by_label("父亲公民身份号码").fill("320402199403150119")
    page.get_by_label("父亲手机号码").fill("13800000001")

    _next(page, 4)
    expect(page.get_by_label("户籍地址")).not_to_have_value("")
    page.get_by_label("新生儿与户主关系").select_option(label="子")
    _next(page, 5)
    page.get_by_label("开户银行").fill("江苏银行常州分行")
    page.get_by_label("银行账号").fill("6222 0210 0112 3456 789")
    _next(page, 6)
    page.get_by_label("领取方式").select_option(label="电子证照")
    _next(page, 7)

    # Materials: what the e-certificate library holds is not asked for again.
    step = page.locator("#step-materials")
    for held in ("母亲居民身份证", "父亲居民身份证", "父母结婚证", "落户地居民户口簿"):
        expect(step.locator(".material", has_text=held).get_by_text("无需提交")).to_be_visible()
    expect(step.get_by_text("办理过程中自动生成").first).to_be_visible()
    uploads = step.locator("input[type=file]")
    assert uploads.count() == 6
    for index in range(uploads.count()):
        upload = uploads.nth(index)
        upload.set_input_files({"name": f"scan-{index}.png", "mimeType": "image/png", "buffer": PNG_1X1})
        status = page.locator(f"[id='{upload.get_attribute('id')}-status']")
        expect(status).to_have_text(f"已上传：scan-{index}.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/cases/CZ\d{14}/receipt$"))
    case_no = re.search(r"/cases/(CZ\d{14})/receipt", page.url).group(1)
    expect(page.get_by_text(case_no).first).to_be_visible()
    expect(page.locator("svg").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    tracking_url = page.get_by_text(re.compile(r"/t/[A-Za-z0-9_-]{22,}")).first.inner_text().strip()
    page.goto(tracking_url)
    expect(page.get_by_text(case_no).first).to_be_visible()
    assert "张伟" not in page.content()

    # A new fill of the same form starts clean: the submitted draft is gone.
    page.goto(APPLY)
    _next(page, 2)
    expect(page.get_by_label("新生儿姓名")).to_have_value("")


def test_steps_and_errors_work_with_the_keyboard(resident: Page, console_watch: ConsoleWatch) -> None:
    console_watch.allow("status of 400 (Bad Request)")  # the submission's field errors, on purpose
    page = resident
    page.goto(APPLY)
    page.get_by_label("申请人手机号码").focus()
    page.keyboard.press("Enter")  # Enter in a field moves to the next step rather than submitting
    expect(page.locator("#step-progress")).to_contain_text("第2步")
    expect(page.locator("#step-child")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("新生儿姓名")).to_be_focused()
    for step in range(3, 8):
        page.get_by_role("button", name="下一步").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#step-progress")).to_contain_text(f"第{step}步")
    submit = page.get_by_role("button", name="提交申请")
    submit.focus()
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("请填写新生儿姓名")
    expect(summary).to_contain_text("请上传")
    # The summary's link opens the step that holds the field.
    summary.get_by_role("link", name="请填写新生儿姓名").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("新生儿姓名")).to_be_focused()
    expect(page.locator("#step-progress")).to_contain_text("第2步")
    expect(page.locator("#child-name-error")).to_have_text("请填写新生儿姓名")


def test_without_javascript_the_whole_form_shows_and_posts_to_the_server(no_script_page: Page) -> None:
    page = no_script_page
    page.goto(APPLY)
    expect(page.locator("fieldset.apply-step")).to_have_count(7)
    for legend in ("申请人", "新生儿", "父母", "户籍", "银行账户", "领取方式", "申请材料"):
        expect(page.get_by_role("group", name=legend, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="下一步")).to_be_hidden()
    page.get_by_label("父亲姓名").fill("张伟")
    page.locator("input[type=file]").first.set_input_files(
        {"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1}
    )
    page.get_by_role("button", name="提交申请").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link", name="请填写新生儿姓名")).to_have_attribute("href", "#child-name")
    expect(page.get_by_label("父亲姓名")).to_have_value("张伟")
    expect(page.get_by_text("已上传：scan.png")).to_be_visible()


def test_a_draft_saved_meanwhile_on_another_device_is_offered_not_overwritten(
    resident: Page, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("status of 409 (Conflict)")  # the stale save, on purpose
    page = resident
    page.goto(APPLY)
    page.wait_for_load_state("networkidle")  # the page has read the draft's version
    # Another device saves a draft now, so the version this page holds is stale.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    draft = page.request.get("/api/v1/drafts/birth").json()
    saved = page.request.put(
        "/api/v1/drafts/birth",
        data={
            "data": {"child.name": "张另一", "bank.name": "中国银行"},
            "version": draft["version"],
            "form_checksum": draft["form_checksum"],
        },
        headers={"X-CSRFToken": csrf},
    )
    assert saved.ok, saved.text()

    _next(page, 2)
    page.get_by_label("新生儿姓名").fill("张本机")
    notice = page.locator("#draft-conflict")
    expect(notice).to_be_visible(timeout=5000)
    expect(page.locator("#draft-status")).not_to_contain_text("已同步")
    # Both are shown, field by field, before the resident chooses.
    expect(notice).to_contain_text("本页：张本机")
    expect(notice).to_contain_text("另一设备：张另一")
    expect(notice).to_contain_text("另一设备：中国银行")
    notice.get_by_role("button", name="使用另一设备的草稿").click()
    expect(notice).to_be_hidden()
    expect(page.get_by_label("新生儿姓名")).to_have_value("张另一")

    # With the server's version taken, the next change saves, and a reload restores it over the prefill.
    page.get_by_label("分娩医院").fill("常州市第一人民医院")
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=5000)
    page.reload()
    expect(page.locator("#draft-status")).to_have_text("已恢复上次保存的草稿")
    expect(page.get_by_label("分娩医院")).to_have_value("常州市第一人民医院")
    expect(page.get_by_label("开户银行")).to_have_value("中国银行")
    expect(page.get_by_label("申请人姓名")).to_have_value("张伟")
