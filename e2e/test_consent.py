"""授权使用证照 on two phones: 张伟 files 新生儿出生 as the father; the form says the mother's documents wait for her
consent (never his own card for hers); 李娜, on her own phone, opens the request from her inbox and grants it; 张伟's
case then shows her documents 已关联 and its tasks leave 待授权."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.conftest import PHONE, LiveServer
from e2e.helpers import sign_up_with_enrollment_code, step_to
from tests.case_helpers import PNG_1X1

ZHANG_WEI = ("张伟", "320402199403150119")
LI_NA = ("李娜", "320402199506180126")


def _on_a_phone(browser: Browser, live_server: LiveServer) -> BrowserContext:
    return browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)


@pytest.fixture
def two_phones(browser: Browser, live_server: LiveServer) -> Iterator[tuple[Page, Page]]:
    his, hers = _on_a_phone(browser, live_server), _on_a_phone(browser, live_server)
    yield his.new_page(), hers.new_page()
    his.close()
    hers.close()


def _next(page: Page) -> None:
    page.get_by_role("button", name="下一步").click()


def test_a_husband_files_a_birth_and_his_wife_grants_the_use_of_her_documents(
    two_phones: tuple[Page, Page], live_server: LiveServer
) -> None:
    his, hers = two_phones
    sign_up_with_enrollment_code(his, live_server, *ZHANG_WEI)
    sign_up_with_enrollment_code(hers, live_server, *LI_NA)

    # 生育津贴 is 按需办理 (chosen, or pre-ticked by the mother's 社会保障卡): chosen here, so 母亲参保单位名称 shows.
    his.goto("/life-events/birth/apply?items=CZ-YB-002")
    his.get_by_label("申请人与新生儿的关系").select_option(label="父亲")
    _next(his)
    his.get_by_label("新生儿姓名").fill("张小宝")
    his.get_by_label("新生儿性别").select_option(label="男")
    # Not e2e/test_apply.py's birth (3 days ago): the same birth filed twice by him would be refused (一事不二办).
    his.get_by_label("出生日期").fill((date.today() - timedelta(days=9)).isoformat())
    his.get_by_label("分娩医院").fill("常州市妇幼保健院")
    _next(his)
    his.get_by_label("母亲姓名").fill("李娜")
    his.get_by_label("母亲公民身份号码").fill(LI_NA[1])
    his.get_by_label("母亲公民身份号码").press("Tab")
    his.get_by_label("母亲手机号码").fill("13800000002")
    his.get_by_label("母亲参保单位名称").fill("常州市天宁区某某科技有限公司")
    _next(his)
    his.get_by_label("新生儿与户主关系").select_option(label="子")
    _next(his)
    his.get_by_label("开户银行").fill("江苏银行常州分行")
    his.get_by_label("银行账号").fill("6222 0210 0112 3456 789")
    _next(his)
    his.get_by_label("领取方式").select_option(label="电子证照")
    _next(his)

    # The materials step, drawn for the mother's number: her documents wait for her; his own card is only his.
    step = his.locator("#step-materials")
    parties = step.locator("#material-parties")
    expect(parties.locator(".material", has_text="母亲居民身份证")).to_contain_text("母亲的 · 待对方同意")
    expect(parties.locator(".material", has_text="父母结婚证")).to_contain_text("母亲的 · 待对方同意")
    expect(step.locator(".material", has_text="父亲居民身份证").get_by_text("无需提交")).to_be_visible()
    assert "0126" not in step.inner_text()
    # Upload what is the applicant's own to upload; leave hers to her consent.
    for upload in step.locator("input[type=file]").all():
        title = his.locator(f"[id='{upload.get_attribute('id')}-title']").inner_text()
        if "对方同意后可不上传" in title or "选填" in title:
            continue
        upload.set_input_files({"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1})
        expect(his.locator(f"[id='{upload.get_attribute('id')}-status']")).to_have_text("已上传：scan.png")
    step_to(his, his.get_by_role("button", name="提交申请"))
    his.get_by_role("button", name="提交申请").click()
    expect(his).to_have_url(re.compile(r"/cases/CZ\d{14}/receipt$"))
    case_no = re.search(r"/cases/(CZ\d{14})/receipt", his.url).group(1)  # type: ignore[union-attr]
    his.goto(f"/cases/{case_no}")
    expect(his.locator(".case-title")).to_contain_text("待授权")
    consents = his.locator(".case-consents")
    expect(consents.locator(".material", has_text="母亲居民身份证")).to_contain_text("待对方同意")

    # Her phone: the inbox says who asks for what; the request page lets her decide.
    hers.goto("/notifications")
    entry = hers.locator(".inbox-entry", has_text="张伟申请新生儿出生，需使用您的居民身份证、结婚证").first
    expect(entry).to_be_visible()
    entry.get_by_role("link").click()
    expect(hers).to_have_url(re.compile(r"/consents"))
    request = hers.locator(".consent", has_text="张伟申请新生儿出生").first
    expect(request).to_contain_text("待同意")
    request.get_by_role("button", name="同意").click()
    expect(hers.get_by_role("status")).to_contain_text("已同意")
    expect(hers.locator(".consent", has_text="张伟申请新生儿出生").first).to_contain_text("已同意")

    # His case: her documents are attached, and no task waits any more.
    his.reload()
    expect(consents.locator(".material", has_text="母亲居民身份证")).to_contain_text("已关联")
    expect(consents.locator(".material", has_text="父母结婚证")).to_contain_text("已关联")
    expect(his.locator(".case-title")).not_to_contain_text("待授权")
    expect(his.locator(".case-table")).not_to_contain_text("待授权")
