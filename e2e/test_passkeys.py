"""A resident signs up with a passkey on a phone, signs out, and signs back in without typing."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import ConsoleWatch
from e2e.helpers import add_virtual_authenticator


def test_sign_up_sign_out_and_sign_in_again_on_a_phone(phone: Page) -> None:
    cdp, authenticator = add_virtual_authenticator(phone)
    phone.goto("/register")
    phone.get_by_label("姓名").fill("李娜")
    phone.get_by_label("公民身份号码").fill("320402199506180126")
    phone.get_by_role("button", name="创建通行密钥并注册").click()
    expect(phone).to_have_url("/me")
    expect(phone.get_by_text("320402********0126")).to_be_visible()
    assert "320402199506180126" not in phone.content()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360

    phone.get_by_role("button", name="退出登录").click()
    expect(phone.get_by_role("link", name="登录")).to_be_visible()

    phone.goto("/login?next=/me")
    # Passkey autofill (conditional mediation) may sign in by itself; the button is the way otherwise.
    button = phone.get_by_role("button", name="使用通行密钥登录")
    phone.wait_for_timeout(300)
    if "/login" in phone.url:
        button.click()
    expect(phone).to_have_url("/me")
    expect(phone.get_by_role("heading", name="我的", exact=True)).to_be_visible()
    expect(phone.get_by_text("李娜").first).to_be_visible()


def test_sign_up_errors_are_shown_beside_the_field_and_in_a_summary(phone: Page, console_watch: ConsoleWatch) -> None:
    console_watch.allow("status of 400 (Bad Request)")  # the field error answer, on purpose
    add_virtual_authenticator(phone)
    phone.goto("/register")
    phone.get_by_label("姓名").fill("李娜")
    phone.get_by_label("公民身份号码").fill("320402199506180127")
    phone.get_by_role("button", name="创建通行密钥并注册").click()
    error = phone.locator("#id_number-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("校验位")
    expect(phone.get_by_label("公民身份号码")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator(".error-summary")).to_be_focused()


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
    assert "创建通行密钥并注册" in focused
