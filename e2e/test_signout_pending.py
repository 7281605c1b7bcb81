"""Signing out with an application still waiting on the phone (待发送, filled offline): it is sent first when it can
be; when it cannot, nothing is deleted unless the resident says so twice, and staying signed in keeps it until it
is sent, once.

The resident has /me open in one tab and fills the form in another; the connection drops as she submits, so the
application waits on the phone, and she goes back to /me to sign out."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, Route, expect

from e2e.conftest import ConsoleWatch
from e2e.helpers import (
    api,
    fill_required_fields,
    register_resident,
    sign_in_with_passkey,
    under_service_worker,
    upload_required_materials,
    wait_until,
)

STAYER = ("刘桂芳", "320412196802141227")
DISCARDER = ("顾建明", "320404196207161856")
SENDER = ("袁志强", "320413196312123671")

DEVICE_STATE = """async (user) => ({
  drafts: (await self.ywtbLocal.drafts(user)).length,
  queued: (await self.ywtbLocal.queued(user)).length,
  pages: await caches.has(self.ywtbLocal.PAGES_CACHE),
})"""


def _one_application_waiting(page: Page, resident: tuple[str, str]) -> str:
    """Signs the resident up (the page stays on /me), submits 退休 offline in a second tab and closes it. Leaves the
    phone offline; returns the account's local key."""
    register_resident(page, *resident)
    under_service_worker(page)
    expect(page).to_have_url("/me")
    form_tab = page.context.new_page()
    form_tab.goto("/life-events/retirement/apply")
    form = api(form_tab, "GET", "/api/v1/life-events/retirement/form")
    fill_required_fields(form_tab, form, "常州市钟楼区某某机械厂")
    upload_required_materials(form_tab, form)
    page.context.set_offline(True)
    form_tab.get_by_role("button", name="提交申请").click()
    expect(form_tab.locator("#outbox-status")).to_contain_text("待发送")
    form_tab.close()
    page.bring_to_front()
    key = page.evaluate("document.body.dataset.localKey")
    assert page.evaluate(DEVICE_STATE, key)["queued"] == 1
    return key


def _sign_in_again(page: Page) -> None:
    sign_in_with_passkey(page, "/me")


def _signed_in(page: Page) -> bool:
    return page.request.get("/api/v1/me", headers={"Accept": "application/json"}).ok


def test_offline_sign_out_warns_and_staying_keeps_the_application_until_it_is_sent(
    phone: Page, offline_ok: ConsoleWatch
) -> None:
    page = phone
    key = _one_application_waiting(page, STAYER)

    sign_out = page.get_by_role("button", name="退出登录")
    sign_out.click()
    warning = page.get_by_role("dialog", name="有1份申请还没有发送")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("当前没有网络")
    expect(warning).to_contain_text("会从这台设备上删除")
    stay = warning.get_by_role("button", name="保持登录")
    expect(stay).to_be_focused()  # the safe answer is the default
    box = warning.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    expect(page.locator("#signout-status")).to_contain_text("已保持登录")
    expect(sign_out).to_be_focused()
    assert page.url.endswith("/me")
    assert page.evaluate(DEVICE_STATE, key)["queued"] == 1

    # Escape is staying too.
    sign_out.press("Enter")
    expect(warning).to_be_visible()
    page.keyboard.press("Escape")
    expect(warning).to_be_hidden()
    assert page.evaluate(DEVICE_STATE, key)["queued"] == 1

    page.context.set_offline(False)
    outbox = page.locator("#app-outbox")
    expect(outbox).to_contain_text("您离线时提交的申请已发送", timeout=15_000)
    case_no = re.search(r"办件编号 (CZ\d{14})", outbox.text_content() or "").group(1)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert [c["case_no"] for c in api(page, "GET", "/api/v1/cases")] == [case_no]
    assert page.evaluate(DEVICE_STATE, key)["queued"] == 0
    assert _signed_in(page)


def test_choosing_to_delete_signs_out_and_leaves_nothing_on_the_phone(phone: Page, offline_ok: ConsoleWatch) -> None:
    page = phone
    key = _one_application_waiting(page, DISCARDER)

    page.get_by_role("button", name="退出所有设备").click()
    warning = page.get_by_role("dialog", name="有1份申请还没有发送")
    expect(warning.get_by_role("button", name="保持登录")).to_be_focused()
    page.keyboard.press("Tab")
    expect(warning.get_by_role("button", name="仍要退出")).to_be_focused()
    page.keyboard.press("Enter")
    expect(warning).to_be_hidden()
    confirm = page.get_by_role("dialog", name="删除这1份申请并退出？")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("button", name="不删除，保持登录")).to_be_focused()
    confirm.get_by_role("button", name="删除申请并退出").click()

    status = page.locator("#signout-status")
    expect(status).to_contain_text("已删除")
    expect(status).to_contain_text("联网后会自动完成退出")
    assert page.evaluate(DEVICE_STATE, key) == {"drafts": 0, "queued": 0, "pages": False}
    assert page.evaluate("() => localStorage.getItem('ywtb:last-user')") is None

    page.context.set_offline(False)  # the sign-out the server could not hear goes now, by itself
    expect(page).to_have_url("/", timeout=15_000)
    expect(page.get_by_role("link", name="登录")).to_be_visible()
    assert not _signed_in(page)
    assert page.evaluate(DEVICE_STATE, key) == {"drafts": 0, "queued": 0, "pages": False}

    _sign_in_again(page)  # the deleted application never reached the server
    assert api(page, "GET", "/api/v1/cases") == []


def test_online_sign_out_sends_the_waiting_application_first(phone: Page, offline_ok: ConsoleWatch) -> None:
    offline_ok.allow("status of 503")
    page = phone
    key = _one_application_waiting(page, SENDER)

    # Back online, but the service is busy for a moment: the application is still waiting when she signs out.
    phase = {"now": "busy"}
    busy: list[Route] = []
    held: list[Route] = []

    def service(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
        elif phase["now"] == "busy":
            busy.append(route)
            route.fulfill(status=503, json={"detail": "服务繁忙"})
        else:
            held.append(route)  # answered below, once the progress has been seen

    page.context.route("**/api/v1/cases", service)
    page.context.set_offline(False)
    wait_until(page, lambda: len(busy) >= 1)  # the phone tried by itself as the connection returned
    expect(page.locator("#app-outbox")).to_contain_text("待发送：1份申请")
    assert page.evaluate(DEVICE_STATE, key)["queued"] == 1

    phase["now"] = "hold"
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("#signout-status")).to_have_text("正在发送1份待发送的申请，发送后再退出，请稍候…")
    wait_until(page, lambda: len(held) == 1)
    expect(page).to_have_url("/me")  # not before it is sent
    held[0].continue_()
    page.context.unroute("**/api/v1/cases")

    expect(page).to_have_url("/", timeout=15_000)
    assert len(held) == 1
    assert not _signed_in(page)
    assert page.evaluate(DEVICE_STATE, key) == {"drafts": 0, "queued": 0, "pages": False}

    _sign_in_again(page)
    cases: list[dict[str, Any]] = api(page, "GET", "/api/v1/cases")
    assert len(cases) == 1 and cases[0]["life_event"] == "retirement"
