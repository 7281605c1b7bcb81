"""一事不二办 on two phones: 苏婉清 files her baby's birth; her husband 严俊杰, on his own phone, fills the same birth
in the form and is told it is already being processed, then finds it in 我的办件 as the father linked to it. And when
his phone sends such a filing only once the connection returns, it says the same, not an error to retry.

严俊杰 and 苏婉清 are invented demo residents used by this file only (db/seed: married, a 结婚证 in both libraries)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.conftest import PHONE, ConsoleWatch, LiveServer
from e2e.helpers import api, fill_step, form_enhanced, next_step, sign_up_with_enrollment_code, under_service_worker
from tests.case_helpers import PNG_1X1, answers_for

HIM = ("严俊杰", "320402199003120412")
HER = ("苏婉清", "32040219920725042X")


def _on_a_phone(browser: Browser, live_server: LiveServer) -> BrowserContext:
    return browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)


@pytest.fixture
def two_phones(browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch) -> Iterator[tuple[Page, Page]]:
    his, hers = _on_a_phone(browser, live_server), _on_a_phone(browser, live_server)
    pages = his.new_page(), hers.new_page()
    for page in pages:
        console_watch.attach(page)
    # The refusal is a 409 answer, which Chromium logs as a failed resource: expected here.
    console_watch.allow("status of 409 (Conflict)")
    yield pages
    his.close()
    hers.close()


def _she_files(page: Page, born: date, child: str, key: str) -> str:
    """The mother files through the API from her phone (her own documents are in her library); the case number."""
    form = api(page, "GET", "/api/v1/life-events/birth/form")
    data: dict[str, Any] = {
        **answers_for(form),
        "child.relationship": "mother",
        "child.name": child,
        "child.sex": "F",
        "child.birth_date": born.isoformat(),
        "father.name": HIM[0],
        "father.id_number": HIM[1],
        "household.head_name": HIM[0],
        "household.relationship": "daughter",
    }
    uploads = [
        api(
            page,
            "POST",
            "/api/v1/uploads",
            multipart={
                "life_event": "birth",
                "material_code": m["code"],
                "file": {"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1},
            },
        )["token"]
        for m in form["materials"]["to_upload"]
        if m["required"]
    ]
    body = {"life_event": "birth", "data": data, "idempotency_key": key, "uploads": uploads}
    return api(page, "POST", "/api/v1/cases", data=body)["case_no"]


def _he_fills_the_form(page: Page, born: date, child: str) -> None:
    """The father fills the merged form on his phone, step by step, as the father, naming his wife as the mother; on
    to 提交申请 with his own materials uploaded (hers wait for her consent)."""
    page.goto("/life-events/birth/apply")
    page.get_by_label("申请人与新生儿的关系").select_option(label="父亲")
    typed = {
        "新生儿姓名": child,
        "出生日期": born.isoformat(),
        "分娩医院": "常州市妇幼保健院",
        "母亲姓名": HER[0],
        "母亲公民身份号码": HER[1],
        "母亲手机号码": "13900000302",
    }
    form_enhanced(page)
    while page.get_by_role("button", name="下一步").is_visible():
        step = page.locator(".apply-step:not([hidden])")
        for label, value in typed.items():
            field = step.get_by_label(label, exact=True)
            if field.count() and field.is_visible() and not field.input_value():
                field.fill(value)
                field.press("Tab")
        sex = step.get_by_label("新生儿性别", exact=True)
        if sex.count() and sex.is_visible():
            sex.select_option(label="女")
        fill_step(page)
        next_step(page)
    materials = page.locator("#step-materials")
    for upload in materials.locator("input[type=file]").all():
        title = page.locator(f"[id='{upload.get_attribute('id')}-title']").inner_text()
        if "对方同意后可不上传" in title or "选填" in title:
            continue
        upload.set_input_files({"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1})
        expect(page.locator(f"[id='{upload.get_attribute('id')}-status']")).to_have_text("已上传：scan.png")


def _finds_it_in_my_cases(page: Page, case_no: str) -> None:
    notice = page.locator("#duplicate-notice")
    notice.get_by_role("link", name="查看我的办件").click()
    expect(page).to_have_url(re.compile(r"/cases$"))
    card = page.locator(".case-card", has_text=case_no)
    expect(card).to_contain_text("关联办件：您是申请中的父亲")
    card.click()
    expect(page).to_have_url(re.compile(rf"/cases/{case_no}$"))
    expect(page.locator(".linked-note")).to_contain_text("您作为申请中的父亲关联了这件办件")
    expect(page.locator(".case-table")).to_be_visible()


def test_the_second_parent_sees_the_birth_is_already_being_processed_and_finds_it_in_my_cases(
    two_phones: tuple[Page, Page], live_server: LiveServer
) -> None:
    his, hers = two_phones
    sign_up_with_enrollment_code(hers, live_server, *HER)
    sign_up_with_enrollment_code(his, live_server, *HIM)
    born = date.today() - timedelta(days=3)
    case_no = _she_files(hers, born, "严语桐", "e2e-dup-online-1")

    _he_fills_the_form(his, born, "严语桐")
    his.get_by_role("button", name="提交申请").click()

    notice = his.locator("#duplicate-notice")
    expect(notice).to_be_visible()
    expect(notice).to_be_focused()
    expect(notice).to_contain_text("这件事已在办理中，无需重复提交")
    expect(notice).to_contain_text(f"已有人为此事提交申请（办件编号 {case_no}）")
    expect(his.locator("#apply-form")).to_be_hidden()
    assert [c["case_no"] for c in api(his, "GET", "/api/v1/cases")] == [case_no]
    _finds_it_in_my_cases(his, case_no)


def test_a_filing_sent_when_the_connection_returns_says_it_is_already_being_processed(
    two_phones: tuple[Page, Page], live_server: LiveServer, offline_ok: ConsoleWatch
) -> None:
    his, hers = two_phones
    sign_up_with_enrollment_code(hers, live_server, *HER)
    sign_up_with_enrollment_code(his, live_server, *HIM)
    born = date.today() - timedelta(days=12)  # another birth: ten days from the first test's
    under_service_worker(his)
    _he_fills_the_form(his, born, "严语安")
    his.context.set_offline(True)
    his.get_by_role("button", name="提交申请").click()
    expect(his.locator("#outbox-status")).to_contain_text("待发送")
    # Meanwhile, on her phone, she files the same birth.
    case_no = _she_files(hers, born, "严语安", "e2e-dup-offline-1")

    his.context.set_offline(False)  # the phone sends what waited: the server answers it is a duplicate

    notice = his.locator("#duplicate-notice")
    expect(notice).to_be_visible(timeout=15_000)
    expect(notice).to_contain_text(f"已有人为此事提交申请（办件编号 {case_no}）")
    expect(his.locator("#outbox-status")).to_be_hidden()
    queued = his.evaluate("async () => (await self.ywtbLocal.queued(document.body.dataset.localKey)).length")
    assert queued == 0  # nothing left to send again
    _finds_it_in_my_cases(his, case_no)
