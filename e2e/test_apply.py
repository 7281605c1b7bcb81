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
from e2e.helpers import add_virtual_authenticator, fill_step, next_step, sign_up_on_page, step_to, walk_form
from tests.case_helpers import PNG_1X1

# With 生育津贴 chosen (an optional item): every section of the merged form, bank account included.
APPLY = "/life-events/birth/apply?items=CZ-YB-002"
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
    # Prefilled, with where it came from; the own ID number masked, read-only and grouped 6-8-4.
    expect(page.get_by_label("申请人姓名")).to_have_value("张伟")
    expect(page.get_by_label("申请人公民身份号码")).to_have_value("320402 ******** 0119")
    expect(page.get_by_label("申请人公民身份号码")).not_to_be_editable()
    expect(page.get_by_text("来自：人口基础库").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # Asked first: who the applicant is in the event. 张伟 is the father.
    page.get_by_label("申请人与新生儿的关系").select_option(label="父亲")

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
    # The father is the applicant: his fields are his own, filled from the first step, not asked again.
    for label, value in (("父亲姓名", "张伟"), ("父亲公民身份号码", "320402 ******** 0119"), ("父亲手机号码", "")):
        father = page.get_by_label(label)
        expect(father).not_to_be_editable()
        if value:
            expect(father).to_have_value(value)
    expect(page.locator("#father-name-same")).to_have_text("与申请人相同，已自动填写")
    expect(page.locator("#father-name-same")).to_be_visible()
    expect(page.get_by_label("父亲手机号码")).to_have_value(page.get_by_label("申请人手机号码").input_value())

    _next(page, 4)
    expect(page.get_by_label("户籍地址")).not_to_have_value("")
    page.get_by_label("新生儿与户主关系").select_option(label="子")
    _next(page, 5)
    page.get_by_label("开户银行").fill("江苏银行常州分行")
    page.get_by_label("银行账号").fill("6222 0210 0112 3456 789")
    _next(page, 6)
    page.get_by_label("领取方式").select_option(label="电子证照")
    _next(page, 7)

    # Materials: what the e-certificate library holds of the person each is about is not asked for again — the
    # father's card is his own; the mother's documents are hers, for her consent or an upload (e2e/test_consent.py).
    step = page.locator("#step-materials")
    for held in ("父亲居民身份证", "落户地居民户口簿"):
        expect(step.locator(".material", has_text=held).get_by_text("无需提交")).to_be_visible()
    for hers in ("母亲居民身份证", "父母结婚证"):
        expect(step.locator("#material-parties .material", has_text=hers)).to_contain_text("母亲的 · 待对方同意")
    expect(step.get_by_text("办理过程中自动生成").first).to_be_visible()
    uploads = step.locator("input[type=file]")
    assert uploads.count() == 8  # 6 of his own, and hers, which he may upload instead of asking her
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
    page.get_by_label("申请人与新生儿的关系").select_option(label="父亲")
    _next(page, 2)
    expect(page.get_by_label("新生儿姓名")).to_have_value("")


def test_steps_and_errors_work_with_the_keyboard(resident: Page) -> None:
    page = resident
    page.goto(APPLY)
    progress = page.locator("#step-progress")
    summary = page.locator(".error-summary")
    # Enter in a field moves on rather than submitting — once the step is answered: here it is not.
    page.get_by_label("申请人手机号码").focus()
    page.keyboard.press("Enter")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_text(["请选择申请人与新生儿的关系"])
    expect(progress).to_contain_text("第1步")
    summary.get_by_role("link").focus()
    page.keyboard.press("Enter")
    relation = page.get_by_label("申请人与新生儿的关系")
    expect(relation).to_be_focused()
    relation.select_option(label="父亲")
    page.get_by_label("申请人手机号码").focus()
    page.keyboard.press("Enter")
    expect(progress).to_contain_text("第2步")
    expect(summary).to_be_hidden()
    expect(page.locator("#step-child")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("新生儿姓名")).to_be_focused()
    page.get_by_role("button", name="下一步").focus()
    page.keyboard.press("Enter")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("请填写新生儿姓名")
    expect(progress).to_contain_text("第2步")
    # The summary's link takes the focus to the field, whose own error says the same.
    summary.get_by_role("link", name="请填写新生儿姓名").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("新生儿姓名")).to_be_focused()
    expect(page.locator("#child-name-error")).to_have_text("请填写新生儿姓名")


def test_an_invalid_field_stops_next_on_its_own_step_until_it_is_fixed(resident: Page) -> None:
    page = resident
    page.goto(APPLY)
    progress = page.locator("#step-progress")
    summary = page.locator(".error-summary")
    page.get_by_label("申请人与新生儿的关系").select_option(label="其他监护人")
    _next(page, 2)
    page.get_by_label("新生儿姓名").fill("张小二")
    page.get_by_label("新生儿性别").select_option(label="女")
    page.get_by_label("出生日期").fill((date.today() - timedelta(days=2)).isoformat())
    page.get_by_label("分娩医院").fill("常州市妇幼保健院")
    _next(page, 3)
    # 其他监护人: both parents' fields are asked. One number has a wrong check digit, the father's name is missing.
    for label, value in (("母亲姓名", "李娜"), ("母亲手机号码", "13800000002"), ("母亲参保单位名称", "某某公司")):
        page.get_by_label(label).fill(value)
    page.get_by_label("母亲公民身份号码").fill("320402199506180127")
    page.get_by_label("父亲姓名").fill("")
    page.get_by_label("父亲公民身份号码").fill("320402199403150119")
    page.get_by_label("父亲手机号码").fill("13800000001")
    page.get_by_role("button", name="下一步").click()

    expect(summary).to_be_focused()
    expect(progress).to_contain_text("第3步")  # the form stays on the step with the problem
    expect(summary.get_by_role("link")).to_have_text(
        ["身份证号码校验位不正确，请核对号码，可能有一位输错或两位顺序颠倒", "请填写父亲姓名"]
    )
    expect(page.get_by_label("母亲公民身份号码")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#father-name-error")).to_have_text("请填写父亲姓名")

    # Fixed beside the field, the summary follows (the inline check), and then it is gone.
    page.get_by_label("母亲公民身份号码").fill("320402199506180126")
    page.get_by_label("母亲公民身份号码").press("Tab")
    expect(summary.get_by_role("link")).to_have_text(["请填写父亲姓名"])
    page.get_by_label("父亲姓名").fill("张伟")
    page.get_by_label("父亲姓名").press("Tab")
    expect(summary).to_be_hidden()
    _next(page, 4)
    expect(summary).to_be_hidden()  # never a summary left over on a later step


def test_the_applicants_own_party_fields_follow_who_they_say_they_are(resident: Page) -> None:
    page = resident
    page.goto(APPLY)
    relation = page.get_by_label("申请人与新生儿的关系")
    relation.select_option(label="其他监护人")
    mother = page.get_by_label("母亲姓名")
    while not mother.is_visible():
        fill_step(page)
        next_step(page)
    mother.fill("李娜")
    page.get_by_role("button", name="上一步").click()
    page.get_by_role("button", name="上一步").click()
    relation.select_option(label="母亲")
    step_to(page, mother)
    # Now hers are the applicant's (张伟's account, in this test): read-only, from the first step.
    expect(mother).to_have_value("张伟")
    expect(mother).not_to_be_editable()
    expect(page.get_by_label("母亲公民身份号码")).to_have_value("320402 ******** 0119")
    expect(page.get_by_label("父亲姓名")).to_be_editable()
    page.get_by_role("button", name="上一步").click()
    page.get_by_role("button", name="上一步").click()
    relation.select_option(label="父亲")
    step_to(page, mother)
    expect(mother).to_have_value("李娜")  # what was typed there comes back
    expect(mother).to_be_editable()
    expect(page.get_by_label("父亲姓名")).to_have_value("张伟")


def test_a_material_is_chosen_with_a_labelled_button_shown_by_name_and_removed(resident: Page) -> None:
    page = resident
    page.goto("/life-events/retirement/apply")
    step = page.locator("#step-materials")
    walk_form(page)
    upload = step.locator("input[type=file]").first
    material = upload.get_attribute("id")
    button = step.locator(f"[id='{material}-pick']")
    expect(button).to_have_text("拍照或选择文件")
    expect(button).to_be_visible()
    # The browser's own control is out of sight; the input is named by the material and the button.
    assert upload.evaluate("e => e.getBoundingClientRect().width <= 1")
    title = step.locator(f"[id='{material}-title']").inner_text()
    expect(upload).to_have_accessible_name(f"{title} 拍照或选择文件")
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files({"name": "社保缴费证明.png", "mimeType": "image/png", "buffer": PNG_1X1})
    status = step.locator(f"[id='{material}-status']")
    expect(status).to_have_text("已上传：社保缴费证明.png")
    remove = step.get_by_role("button", name="删除").first
    remove.click()
    expect(status).to_have_text("已删除，可重新拍照或选择文件")
    expect(remove).to_be_hidden()
    expect(page.locator(f"[name='uploaded.{material.removeprefix('materials-')}']")).to_have_value("")


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
    # The first step answered (下一步 needs it) and saved: the page holds the draft's version.
    page.get_by_label("申请人与新生儿的关系").select_option(label="父亲")
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=5000)
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
