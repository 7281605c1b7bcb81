"""axe-core (vendored in e2e/vendor/, never served) finds no serious or critical violation on the pages people
use most: home, the merged form, the receipt, the public tracking page, the inbox and the console; in 长辈版 too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import add_virtual_authenticator, file_retirement, register_staff, sign_up_on_page, walk_form

AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js"
RESIDENT = ("黄磊", "320411198309093113")
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
}"""


def violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical axe violations of the page as it is now. The page's CSP allows our scripts only:
    DevTools evaluation is not bound by it."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate(RUN_AXE)


def _no_violations(page: Page, where: str) -> None:
    assert violations(page) == [], where


def _check(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    assert violations(page) == [], path
    # Phone (360 px) and tablet layouts never scroll sideways.
    # Against the viewport's width: a phone's browser widens innerWidth to whatever the page overflows to.
    viewport = page.viewport_size
    assert viewport is not None
    assert page.evaluate("(width) => document.documentElement.scrollWidth <= width", viewport["width"]), path


def test_resident_pages_have_no_serious_accessibility_violations(phone: Page, live_server: LiveServer) -> None:
    page = phone
    _check(page, "/")
    _check(page, "/register")
    add_virtual_authenticator(page)
    sign_up_on_page(page, *RESIDENT, at_the_code_step=lambda step: _no_violations(step, "/register (code)"))
    created = file_retirement(page, "axe-check-key-1")
    tracking = re.sub(r"^https?://[^/]+", "", created["tracking_url"])
    pages = [
        "/",
        "/life-events/birth/apply",
        f"/cases/{created['case_no']}/receipt",
        tracking,
        "/notifications",
        "/consents",
        "/me",
    ]
    for path in pages:
        _check(page, path)
    # Every step of the form (each answered, as 下一步 checks it first), and 长辈版.
    page.goto("/life-events/birth/apply")
    walk_form(page, lambda step: _no_violations(page, step))
    page.get_by_role("button", name="长辈版").first.click()
    expect(page.locator("html")).to_have_class("elder")
    for path in pages:
        _check(page, path)


def test_the_console_has_no_serious_accessibility_violations(tablet: Page, live_server: LiveServer) -> None:
    register_staff(tablet, live_server, "无障碍窗口", "--role", "clerk", "--department", "hrss", "--region", "320411")
    _check(tablet, "/console")
    _check(tablet, "/scan")
    _check(tablet, "/console/enrollment")
    tablet.get_by_label("姓名").fill(RESIDENT[0])
    tablet.get_by_label("身份证件号码").fill(RESIDENT[1])
    tablet.get_by_label("已当面核验本人居民身份证原件").check()
    tablet.get_by_role("button", name="生成开户码").click()
    expect(tablet.get_by_role("heading", name="开户码（只显示这一次）")).to_be_visible()
    _no_violations(tablet, "/console/enrollment (issued)")
    # 窗口收件 for his company: his ID card checked, then the company's authority (he is its legal representative).
    tablet.goto("/console/walk-in")
    tablet.get_by_label("姓名").fill(RESIDENT[0])
    tablet.get_by_label("身份证件号码").fill(RESIDENT[1])
    tablet.get_by_label("已当面核验本人居民身份证原件").check()
    tablet.get_by_role("button", name="开始接待").click()
    _no_violations(tablet, "/console/walk-in (receiving)")
    tablet.get_by_label("统一社会信用代码").fill("91320411MA1T4U5W2G")
    tablet.get_by_role("button", name="为企业办理").click()
    expect(tablet.get_by_text("已核验企业授权")).to_be_visible()
    _no_violations(tablet, "/console/walk-in (for his company)")
    tablet.locator(".event-card", has_text="企业变更登记").click()
    expect(tablet.locator("#apply-form")).to_be_visible()
    _no_violations(tablet, "企业变更登记 at the window")
    # The tablet layout from 768 px: the life events in more than one column.
    tablet.set_viewport_size({"width": 768, "height": 1024})
    _check(tablet, "/")
    columns = tablet.evaluate("getComputedStyle(document.querySelector('.event-grid')).gridTemplateColumns")
    assert len(columns.split()) >= 2
