"""A resident signs up with a passkey on a phone (a code texted to the register's phone first), signs out, and
signs back in without typing."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from e2e.conftest import ConsoleWatch, LiveServer
from e2e.helpers import add_virtual_authenticator, server_log_size, sign_in_with_passkey, texted_code

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
SENT = "若信息无误，验证码已发送至登记手机；未收到请携身份证到政务服务窗口办理"


def test_sign_up_sign_out_and_sign_in_again_on_a_phone(phone: Page, live_server: LiveServer) -> None:
    # 蒋小红: no other e2e test signs her up (李娜 grants a consent in e2e/test_consent.py, on a code from the window).
    cdp, authenticator = add_virtual_authenticator(phone)
    phone.goto("/register")
    phone.get_by_label("姓名").fill("蒋小红")
    phone.get_by_label("身份证件号码").fill("320413197503031985")
    phone.get_by_label("联系手机（选填）").fill("13900000009")
    since = server_log_size()
    phone.get_by_role("button", name="获取短信验证码").click()
    expect(phone.locator("#sms-sent")).to_have_text(SENT)
    expect(phone.get_by_label("短信验证码")).to_be_focused()
    # The `log` SMS backend: one line of the server's log, to the register's phone (not the one typed).
    code = texted_code(since)
    log = live_server.log.read_text(encoding="utf-8")
    assert f"短信 → 186****0024: 【常州一网通办】验证码 {code}，10分钟内有效" in log
    assert "139****0009" not in log
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "register-sms-360.png"), full_page=True)
    phone.get_by_label("短信验证码").fill(code)
    phone.get_by_role("button", name="创建通行密钥并注册").click()
    expect(phone).to_have_url("/me")
    expect(phone.get_by_role("definition").filter(has_text="320413********1985")).to_be_visible()  # 我的 account facts
    assert "320413197503031985" not in phone.content()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    phone.get_by_role("button", name="退出登录").click()
    expect(phone.get_by_role("link", name="登录")).to_be_visible()

    sign_in_with_passkey(phone, "/me")
    expect(phone.get_by_role("heading", name="我的", exact=True)).to_be_visible()
    expect(phone.get_by_text("蒋小红").first).to_be_visible()


def test_sign_up_errors_are_shown_beside_the_field_and_in_a_summary(phone: Page, console_watch: ConsoleWatch) -> None:
    console_watch.allow("status of 400 (Bad Request)")  # the field error answer, on purpose
    add_virtual_authenticator(phone)
    phone.goto("/register")
    phone.get_by_label("姓名").fill("李娜")
    phone.get_by_label("身份证件号码").fill("320402199506180127")
    phone.get_by_role("button", name="获取短信验证码").click()
    error = phone.locator("#id_number-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("校验位")
    expect(phone.get_by_label("身份证件号码")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#register-form .error-summary")).to_be_focused()


def test_a_wrong_code_is_shown_beside_its_field_and_the_same_for_details_that_are_wrong(
    phone: Page, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("status of 400 (Bad Request)")  # the wrong code's answer, on purpose
    add_virtual_authenticator(phone)
    phone.goto("/register")
    # Nobody called 王五 has this number: the page says exactly what it says to the right person.
    phone.get_by_label("姓名").fill("王五")
    phone.get_by_label("身份证件号码").fill("320412196608080133")
    phone.get_by_role("button", name="获取短信验证码").click()
    expect(phone.locator("#sms-sent")).to_have_text(SENT)
    expect(phone.get_by_role("button", name="重新获取验证码（60秒后）")).to_be_disabled()
    phone.get_by_label("短信验证码").fill("123456")
    phone.get_by_role("button", name="创建通行密钥并注册").click()
    error = phone.locator("#sms_code-error")
    expect(error).to_contain_text("验证码不正确或已失效")
    expect(phone.get_by_label("短信验证码")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#sms-form .error-summary")).to_be_focused()
    phone.get_by_role("button", name="修改姓名或身份证件号码").click()
    expect(phone.get_by_label("姓名")).to_be_focused()


def test_register_and_login_work_with_the_keyboard_alone(phone: Page) -> None:
    add_virtual_authenticator(phone)
    phone.goto("/register")
    phone.keyboard.press("Tab")  # skip link
    phone.keyboard.press("Tab")
    focused = [phone.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")]
    for _ in range(12):
        phone.keyboard.press("Tab")
        focused.append(phone.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert {"name", "id_number", "phone"} <= set(focused)
    assert "获取短信验证码" in focused

    # Typing and Enter alone take 杨帆 through both steps.
    phone.get_by_label("姓名").focus()
    phone.keyboard.type("杨帆")
    phone.keyboard.press("Tab")
    phone.keyboard.type("320404199108152894")
    since = server_log_size()
    phone.keyboard.press("Enter")
    expect(phone.get_by_label("短信验证码")).to_be_focused()
    phone.keyboard.type(texted_code(since))
    phone.keyboard.press("Enter")
    expect(phone).to_have_url("/me")
