"""长辈版 in Chromium, measured as the MIIT 2021 适老化 rules put it (../shared/reference/standards.md): main text
≥ 18 pt (24 CSS px) and up to ≥ 30 pt (40 px) with the A+ control, line height ≥ 1.3, contrast ≥ 4.5:1, tap targets
≥ 60 × 60; a single column, no sideways scrolling on a 360 px phone; remembered on the device."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.helpers import add_virtual_authenticator, register_resident, walk_form
from e2e.test_passkeys import SCREENSHOTS

RESIDENT = ("孙浩", "320402198501302695")

# Every visible element with text of its own in the page's main parts, every control; what breaks a rule.
MEASURE = """([minimum, width]) => {
  const px = (v) => parseFloat(v);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const rgba = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && !el.closest("[hidden], .visually-hidden");
  };
  const failures = [];
  const scope = document.querySelectorAll("main *, .site-header *, .app-status *, .helper-banner *");
  for (const el of scope) {
    if (!visible(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("svg, [aria-hidden=true]")) continue;
    const s = getComputedStyle(el);
    const size = px(s.fontSize);
    const label = `${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 20)}"`;
    // The phone's bottom tab bar keeps 长辈版's body size (24 px, 18 pt) whatever A+ is: five tabs share 360 px.
    const tabs = el.closest(".site-nav");
    const least = tabs && getComputedStyle(tabs).position === "fixed" ? Math.min(minimum, 24) : minimum;
    if (size < least - 0.01) failures.push(`font ${size}px: ${label}`);
    if (s.lineHeight === "normal" || px(s.lineHeight) / size < 1.3 - 0.001) {
      failures.push(`line-height ${s.lineHeight}: ${label}`);
    }
    const [fg, bg] = [luminance(rgba(s.color).slice(0, 3)), luminance(background(el))];
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) failures.push(`contrast ${ratio.toFixed(2)}: ${label}`);
  }
  // A file input is out of sight: its labelled button (.button) is what a finger taps.
  const controls = "button, .button, input:not([type=hidden], .file-input), select, textarea, summary, .site-nav a, "
    + ".brand, .breadcrumb a, .event-card, .case-card, .link-list a";
  for (const el of document.querySelectorAll(controls)) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 60 || r.height < 60) {
      const name = (el.textContent || el.name || "").trim().slice(0, 20);
      failures.push(`target ${Math.round(r.width)}×${Math.round(r.height)}: ${el.tagName.toLowerCase()} "${name}"`);
    }
  }
  // Against the device's width: a phone's browser widens innerWidth to whatever the page overflows to.
  if (document.documentElement.scrollWidth > width) {
    failures.push(`scrolls sideways: ${document.documentElement.scrollWidth}px`);
  }
  return failures;
}"""


def _measured(page: Page, minimum: float) -> list[str]:
    viewport = page.viewport_size
    assert viewport is not None
    return page.evaluate(MEASURE, [minimum, viewport["width"]])


def _no_failures(failures: list[str], where: str) -> None:
    assert failures == [], where


def _root_px(page: Page) -> float:
    return float(page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)"))


def test_elder_mode_meets_the_numbers_on_a_phone_and_is_remembered(phone: Page) -> None:
    page = phone
    page.goto("/")
    assert any(f.startswith("font 16px") for f in _measured(page, 24))  # the measure bites: standard text is 16 px
    page.get_by_role("button", name="长辈版").click()
    # At once, without a reload; no pop-up, nothing to confirm.
    expect(page.locator("html")).to_have_class("elder")
    # The header's one control is now 字号, and the way out is behind it.
    expect(page.get_by_role("button", name="长辈版", exact=True)).to_be_hidden()
    expect(page.get_by_text("字号", exact=True)).to_be_visible()
    assert _root_px(page) == 24
    assert _measured(page, 24) == []
    # One simple column of life events.
    columns = page.evaluate("getComputedStyle(document.querySelector('.event-grid')).gridTemplateColumns")
    assert len(columns.split()) == 1

    # Remembered on this device: the server draws the next page in 长辈版 (no flash), and every page has it.
    for path in ("/life-events/birth", "/scan", "/login", "/offline"):
        page.goto(path)
        expect(page.locator("html")).to_have_class("elder")
        assert _measured(page, 24) == [], path

    # Text up to 40 px (30 pt), step by step, still without sideways scrolling on a 360 px phone: the controls are
    # behind the header's one 字号 button, which opens in place.
    page.goto("/life-events/birth")
    page.get_by_text("字号", exact=True).click()
    for _ in range(4):
        page.get_by_role("button", name="字号调大").click()
    expect(page.get_by_role("button", name="字号调大")).to_be_disabled()
    assert _root_px(page) == 40
    assert _measured(page, 40) == []
    page.reload()
    assert _root_px(page) == 40
    page.get_by_text("字号", exact=True).click()
    page.get_by_role("button", name="字号调小").click()
    assert _root_px(page) == 36

    page.get_by_role("button", name="退出长辈版").click()
    expect(page.locator("html")).not_to_have_class("elder")
    page.reload()
    expect(page.get_by_role("button", name="长辈版")).to_be_visible()
    assert _root_px(page) == 16


def test_elder_mode_on_a_residents_own_pages_and_form(phone: Page) -> None:
    page = phone
    register_resident(page, *RESIDENT)
    expect(page.get_by_role("heading", name="长辈版")).to_be_visible()  # also a setting on /me
    page.locator(".display-switch-me").get_by_role("button", name="长辈版").click()
    expect(page.locator("html")).to_have_class("elder")
    assert _measured(page, 24) == []
    for path in ("/cases", "/notifications", "/life-events/retirement/apply"):
        page.goto(path)
        expect(page.locator("html")).to_have_class("elder")
        assert _measured(page, 24) == [], path
    # Every step of the merged form (each answered, as 下一步 checks it first).
    walk_form(page, lambda step: _no_failures(_measured(page, 24), step))


def test_elder_mode_on_both_steps_of_sign_up(phone: Page) -> None:
    page = phone
    add_virtual_authenticator(page)
    page.goto("/register")
    page.get_by_role("button", name="长辈版").click()
    expect(page.locator("html")).to_have_class("elder")
    page.get_by_text("有开户码？").click()
    assert _measured(page, 24) == []
    page.get_by_label("姓名").fill("蒋根林")
    page.get_by_label("身份证件号码").fill("320413194507191915")
    page.get_by_role("button", name="获取短信验证码").click()
    expect(page.get_by_label("短信验证码")).to_be_focused()
    assert _measured(page, 24) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "register-sms-elder-360.png"), full_page=True)
