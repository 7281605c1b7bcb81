"""A shared device with a poor connection: what a helper or a window clerk already submitted (待发送) is not lost when
they turn to the next person.

A village helper files 退休 for one elder while the connection drops, switches to the next elder and ends: the
first elder's draft leaves the tablet, the submission does not, and once the connection holds it becomes exactly one
case. A clerk is asked before ending a visit whose submission still waits (the server takes it only while that
visit lasts); one ended anyway is shown as 未能发送 and can be deleted, or sent again after the resident's ID card
is checked again."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Dialog, Page, Route, expect

from e2e.conftest import ConsoleWatch, LiveServer
from e2e.helpers import (
    api,
    fill_required_fields,
    helper_script_ready,
    register_staff,
    under_service_worker,
    upload_required_materials,
    wait_until,
)
from e2e.test_helper import _client_keys, _device_drafts, _draw_signature, _fill_client, _open_retirement, _work_for

# No other e2e test registers, receives or delegates any of these residents.
HELPER_VILLAGE = "320412002001"
FIRST_ELDER = ("周德明", "320412194104121430")
NEXT_ELDER = ("吴秀英", "320412194309301507")
LEFT_AT_WINDOW = ("恽福根", "320402193906062279")
NEXT_AT_WINDOW = ("孙悦", "320402200402292823")
CHECKED_AGAIN = ("朱国平", "320404195804042973")
EMPLOYER = "武进湖塘针织厂"

OUTBOX = """async () => (await self.ywtbLocal.queued(document.body.dataset.localKey))
  .map((e) => ({subject: e.subject, state: e.state}))"""


class FlakyConnection:
    """Every POST /api/v1/cases fails as on a village connection (the page's and the service worker's), until
    `restore`; counts the tries."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.tries = 0
        page.context.route("**/api/v1/cases", self._fail)

    def _fail(self, route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        self.tries += 1
        route.abort("connectionfailed")

    def restore(self) -> None:
        self.page.context.unroute("**/api/v1/cases", self._fail)


def _submit_offline_then_connection_flaky(page: Page) -> FlakyConnection:
    """Presses 提交申请 offline; the connection then returns, but no submission gets through yet."""
    page.context.set_offline(True)
    page.get_by_role("button", name="提交申请").click()
    expect(page.locator("#outbox-status")).to_contain_text("待发送")
    flaky = FlakyConnection(page)
    page.context.set_offline(False)
    wait_until(page, lambda: flaky.tries >= 1)  # the device tried by itself as the connection returned
    return flaky


def _delegate(page: Page, name: str, id_number: str) -> None:
    _fill_client(page, name, id_number)
    _draw_signature(page)
    page.get_by_role("button", name="记录授权").click()
    expect(page).to_have_url("/helper?notice=created")


def _open_cases(page: Page, name: str) -> list[str]:
    page.goto("/helper")
    facts = page.locator(".roster-card", has_text=name).locator(".roster-facts")
    return re.findall(r"CZ\d{14}", facts.text_content() or "")


def test_a_helper_switching_elders_keeps_the_queued_submission_and_it_becomes_one_case(
    tablet: Page, live_server: LiveServer, offline_ok: ConsoleWatch
) -> None:
    offline_ok.allow("ERR_CONNECTION_FAILED")  # the sends the flaky connection drops
    page = tablet
    register_staff(page, live_server, "周村帮办员", "--role", "helper", "--region", HELPER_VILLAGE)
    _delegate(page, *FIRST_ELDER)
    _delegate(page, *NEXT_ELDER)
    under_service_worker(page)

    _work_for(page, FIRST_ELDER[0])
    first = page.locator("#helper-banner").get_attribute("data-client")
    _open_retirement(page)
    form = api(page, "GET", f"/api/v1/life-events/retirement/form?on_behalf_of={quote(FIRST_ELDER[1])}")
    fill_required_fields(page, form, EMPLOYER)
    upload_required_materials(page, form)
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=5000)
    assert _device_drafts(page) == [f"client-{first}"]
    flaky = _submit_offline_then_connection_flaky(page)
    assert page.evaluate(OUTBOX) == [{"subject": f"client-{first}", "state": "pending"}]

    # The next elder: the helper is told what still waits for the first one, and is not held up by it.
    page.locator("#helper-banner").get_by_role("link", name="切换").click()
    helper_script_ready(page)
    page.locator(".roster-card", has_text=NEXT_ELDER[0]).get_by_role("button", name="为TA办事").click()
    expect(page).to_have_url("/helper/client")
    expect(page.locator("#helper-banner")).to_contain_text(f"正在为 {NEXT_ELDER[0]}")
    # Her draft and her tab's keys are gone from the tablet; the submission made for her is not.
    assert page.evaluate(OUTBOX) == [{"subject": f"client-{first}", "state": "pending"}]
    assert _device_drafts(page) == []
    assert _client_keys(page) == []
    note = page.get_by_role("status").filter(has_text="还没有发送")
    expect(note).to_have_text(
        f"为{FIRST_ELDER[0]}提交的1份申请还没有发送，已保存在本机，联网后会自动发送，不会重复办理。"
    )
    expect(page.locator("#app-outbox")).to_contain_text("待发送：1份申请")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024

    page.locator("#helper-banner").get_by_role("button", name="结束").click()
    expect(page).to_have_url("/helper?notice=ended")
    assert page.evaluate(OUTBOX) == [{"subject": f"client-{first}", "state": "pending"}]
    assert _open_cases(page, FIRST_ELDER[0]) == []

    # The connection holds again: sent once, and said for whom.
    flaky.restore()
    page.reload()
    outbox = page.locator("#app-outbox")
    expect(outbox).to_contain_text("为 320412********1430 离线提交的申请已发送，办件编号", timeout=15_000)
    case_no = re.search(r"办件编号 (CZ\d{14})", outbox.text_content() or "").group(1)
    expect(outbox.get_by_role("link", name="查看受理回执")).to_have_attribute(
        "href", f"/helper/cases/{case_no}/receipt"
    )
    assert page.evaluate(OUTBOX) == []
    assert _open_cases(page, FIRST_ELDER[0]) == [case_no]
    assert _open_cases(page, NEXT_ELDER[0]) == []


def _receive(page: Page, name: str, id_number: str) -> None:
    page.get_by_label("姓名").fill(name)
    page.get_by_label("身份证件号码").fill(id_number)
    page.get_by_label("已当面核验本人居民身份证原件").check()
    page.get_by_role("button", name="开始接待").click()


def _file_at_window(page: Page, resident: tuple[str, str]) -> FlakyConnection:
    """Receives the resident and presses 提交申请 for 退休 while the connection drops; it stays flaky."""
    page.goto("/console/walk-in")
    _receive(page, *resident)
    expect(page).to_have_url("/console/walk-in?notice=started")
    under_service_worker(page)
    page.locator(".event-card", has_text="退休").click()
    expect(page).to_have_url("/life-events/retirement/apply")
    form = api(page, "GET", f"/api/v1/life-events/retirement/form?on_behalf_of={quote(resident[1])}")
    fill_required_fields(page, form, EMPLOYER)
    return _submit_offline_then_connection_flaky(page)


def _refused_after_the_visit(page: Page, masked: str) -> Any:
    note = page.locator("#app-outbox p", has_text="未能发送")
    expect(note).to_contain_text(f"为 {masked} 提交的1份申请未被服务器接收", timeout=15_000)
    expect(note).to_contain_text("这次窗口接待已结束，不能再以TA的名义发送")
    return note


def test_a_clerk_is_asked_before_a_visit_ends_with_a_submission_unsent_and_may_delete_it(
    phone: Page, live_server: LiveServer, offline_ok: ConsoleWatch
) -> None:
    offline_ok.allow("ERR_CONNECTION_FAILED")
    offline_ok.allow("status of 403 (Forbidden)")  # sent after the visit ended, on purpose
    page = phone
    register_staff(page, live_server, "钟楼窗口二", "--role", "clerk", "--department", "hrss", "--region", "320402")
    flaky = _file_at_window(page, LEFT_AT_WINDOW)
    visit = page.locator("#helper-banner").get_attribute("data-client")

    # 结束接待 is asked about (after one more try to send); staying is the default, from the keyboard too.
    page.goto("/console/walk-in")
    helper_script_ready(page)
    end = page.locator("#main").get_by_role("button", name="结束接待")
    end.click()
    question = page.get_by_role("dialog", name=f"为{LEFT_AT_WINDOW[0]}提交的1份申请还没有发送")
    expect(question).to_be_visible()
    expect(question).to_contain_text("现在结束接待，服务器将不再以TA的名义接收这份申请")
    stay = question.get_by_role("button", name="继续接待，等待发送")
    expect(stay).to_be_focused()
    box = question.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.keyboard.press("Enter")
    expect(question).to_be_hidden()
    expect(page.get_by_role("status").filter(has_text="已继续接待")).to_contain_text("联网后会自动发送")
    expect(end).to_be_focused()
    expect(page).to_have_url("/console/walk-in")

    # So is receiving the next person; the clerk goes on anyway.
    _receive(page, *NEXT_AT_WINDOW)
    expect(question).to_be_visible()
    expect(question).to_contain_text("现在接待下一位")
    question.get_by_role("button", name="仍要接待下一位").click()
    expect(page).to_have_url("/console/walk-in?notice=started")
    expect(page.get_by_role("heading", name=f"正在接待：{NEXT_AT_WINDOW[0]}")).to_be_visible()
    assert page.evaluate(OUTBOX) == [{"subject": f"client-{visit}", "state": "pending"}]
    wait_until(page, lambda: f"client-{visit}" not in _device_drafts(page))  # swept as the page loaded

    # Sent once the connection holds, the server refuses it (that visit is over): kept and shown, not retried.
    flaky.restore()
    page.reload()
    note = _refused_after_the_visit(page, "320402********2279")
    assert page.evaluate(OUTBOX) == [{"subject": f"client-{visit}", "state": "forbidden"}]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # Deleting asks first; cancelled, it stays.
    questions: list[str] = []

    def answer(accept: bool) -> Callable[[Dialog], None]:
        def handle(dialog: Dialog) -> None:
            questions.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    note.get_by_role("button", name="删除这份申请").click()
    wait_until(page, lambda: len(questions) == 1)
    assert "删除后，政务服务中心收不到这份申请" in questions[0]
    assert len(page.evaluate(OUTBOX)) == 1
    page.once("dialog", answer(True))
    note.get_by_role("button", name="删除这份申请").click()
    expect(page.locator("#app-outbox")).to_contain_text("已从本机删除这份申请。")
    expect(page.locator("#app-outbox p", has_text="未能发送")).to_have_count(0)
    assert page.evaluate(OUTBOX) == []


def test_a_clerk_sends_a_refused_submission_again_after_checking_the_id_card_again(
    tablet: Page, live_server: LiveServer, offline_ok: ConsoleWatch
) -> None:
    offline_ok.allow("ERR_CONNECTION_FAILED")
    offline_ok.allow("status of 403 (Forbidden)")
    page = tablet
    register_staff(page, live_server, "新北窗口二", "--role", "clerk", "--department", "hrss", "--region", "320404")
    flaky = _file_at_window(page, CHECKED_AGAIN)

    page.goto("/console/walk-in")
    helper_script_ready(page)
    page.locator("#helper-banner").get_by_role("button", name="结束接待").click()
    page.get_by_role("dialog").get_by_role("button", name="仍要结束接待").click()
    expect(page).to_have_url("/console/walk-in?notice=ended")
    flaky.restore()
    page.reload()
    _refused_after_the_visit(page, "320404********2973")

    # He is still at the window: his ID card checked again, the same submission goes, once.
    _receive(page, *CHECKED_AGAIN)
    expect(page).to_have_url("/console/walk-in?notice=started")
    page.locator("#app-outbox").get_by_role("button", name="重新发送").click()
    outbox = page.locator("#app-outbox")
    expect(outbox).to_contain_text("为 320404********2973 离线提交的申请已发送，办件编号", timeout=15_000)
    case_no = re.search(r"办件编号 (CZ\d{14})", outbox.text_content() or "").group(1)
    assert page.evaluate(OUTBOX) == []
    page.reload()
    filed = page.locator(".task-card", has_text="本次已收件")
    expect(filed).to_contain_text(case_no)
    assert re.findall(r"CZ\d{14}", filed.text_content() or "") == [case_no]
