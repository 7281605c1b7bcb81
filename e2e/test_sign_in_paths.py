"""Signing in and up as people meet it: 开始办理 → 登录 → 注册 ends on the form they were opening; too many tries reads
as a wait (never as something to correct, never on a page just opened); every time shown is Beijing time on a
server that runs in UTC (e2e.conftest), on 我的 and in the console as on the receipt."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect

from e2e.conftest import ConsoleWatch, LiveServer
from e2e.helpers import (
    add_virtual_authenticator,
    file_life_event,
    register_resident,
    register_staff,
    server_log_size,
    texted_code,
)

NEWCOMER = ("徐海峰", "320412197902113316")
RETURNING = ("巢建新", "320411195506303251")
TIMED = ("殷秀兰", "320404196012253048")  # lives in 钟楼区 (320404)
MINUTES_9 = 540


def test_signing_up_from_start_applying_lands_on_the_form(phone: Page) -> None:
    page = phone
    add_virtual_authenticator(page)
    # 退休 has no 按需办理 item: 开始办理 opens the form itself (新生儿出生 asks which items apply first).
    page.goto("/life-events/retirement")
    page.get_by_role("link", name="开始办理").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/life-events/retirement/apply$"))
    page.get_by_role("link", name="注册").click()
    assert urlsplit(page.url).path == "/register"
    page.get_by_label("姓名").fill(NEWCOMER[0])
    page.get_by_label("身份证件号码").fill(NEWCOMER[1])
    since = server_log_size()
    page.get_by_role("button", name="获取短信验证码").click()
    page.get_by_label("短信验证码").fill(texted_code(since))
    page.get_by_role("button", name="创建通行密钥并注册").click()
    expect(page).to_have_url(re.compile(r"/life-events/retirement/apply$"))
    expect(page.get_by_label("申请人姓名")).to_have_value(NEWCOMER[0])


def test_a_next_path_to_another_site_is_never_followed_after_sign_up(phone: Page) -> None:
    page = phone
    page.goto("/register?next=//evil.example/phish")
    expect(page.locator("#register-form")).to_have_attribute("data-next", "/me")
    page.goto("/login?next=/life-events/retirement/apply")
    expect(page.get_by_role("link", name="注册")).to_have_attribute(
        "href", "/register?next=%2Flife-events%2Fretirement%2Fapply"
    )


def _too_many_tries(route: Route) -> None:
    body = {"status_code": 429, "detail": "尝试次数过多，请9分钟后再试", "retry_after": MINUTES_9}
    route.fulfill(
        status=429,
        headers={"Retry-After": str(MINUTES_9)},
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False),
    )


def test_too_many_tries_reads_as_a_wait_and_never_greets_a_page_just_opened(
    phone: Page, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("status of 429 (Too Many Requests)")  # the refusals, on purpose
    page = phone
    register_resident(page, *RETURNING)
    page.context.clear_cookies()  # signed out; the passkey stays on the phone
    page.route("**/api/v1/auth/login/verify", _too_many_tries)
    page.goto("/login?next=/cases")
    wait = page.locator(".wait-notice")
    summary = page.locator(".error-summary")
    # Passkey autofill may try by itself as the page opens: refused, it says nothing until the person acts.
    page.wait_for_timeout(1500)
    expect(wait).to_be_hidden()
    expect(summary).to_be_hidden()
    page.get_by_role("button", name="使用通行密钥登录").click()
    expect(wait).to_be_visible()
    expect(wait).to_contain_text("请稍后再试：9分钟后可以再次尝试；急需办理请拨打 12345")
    expect(summary).to_be_hidden()
    expect(page.get_by_text("请修改以下内容")).to_be_hidden()


def _shown_time(text: str) -> datetime:
    found = re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text)
    assert found, text
    return datetime.strptime(found.group(0), "%Y-%m-%d %H:%M")


def test_times_on_me_and_in_the_console_are_the_receipts_beijing_time(
    phone: Page, tablet: Page, live_server: LiveServer
) -> None:
    register_resident(phone, *TIMED)
    created = file_life_event(phone, "retirement", "beijing-time-1")
    phone.goto(f"/cases/{created['case_no']}/receipt")
    receipt = _shown_time(phone.locator(".receipt-facts div", has_text="提交时间").inner_text())
    # The browser is in Beijing (e2e.conftest): its clock says what time it is there.
    now = datetime.strptime(
        phone.evaluate("new Date().toLocaleString('sv-SE', {timeZone: 'Asia/Shanghai'}).slice(0, 16)"), "%Y-%m-%d %H:%M"
    )
    assert abs(now - receipt) <= timedelta(minutes=2), (receipt, now)

    phone.goto("/me")
    passkey = _shown_time(phone.locator("#passkeys").get_by_text("创建于").inner_text())
    assert abs(passkey - receipt) <= timedelta(minutes=2), (passkey, receipt)  # made a moment before filing

    register_staff(tablet, live_server, "杨窗口", "--role", "clerk", "--department", "hrss", "--region", "320404")
    tablet.goto(f"/console/cases/{created['case_no']}")
    console = _shown_time(tablet.locator("dt:has-text('提交时间') + dd").inner_text())
    assert console == receipt
