"""How a page is laid out on a phone, measured as a person would notice it: whether it scrolls sideways, how much of
the first screen the header takes, whether a typed ID number stays whole in its field. Shared by the browser tests
(and any screenshot run) so every page is held to the same numbers.

Widths are measured against the device's width, not innerWidth: a phone's browser widens its layout viewport (and
innerWidth) to whatever a page overflows to."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from e2e.helpers import api

# A header that takes more than this share of the first screen pushes the page itself out of sight.
HEADER_SHARE_MAX = 0.20

# How wide the document is, and what sticks out past the phone's width (for the failure message): as drawn, then
# with every character widened by what a Chinese one lacks of 1 em here (nothing where a CJK font is installed, as
# fonts-noto-cjk is on Debian; Latin text gets wider too, which errs on the safe side). The widening is a
# constructed sheet (the page's CSP allows no <style>), removed again afterwards.
FITS = """(width) => {
  const measure = () => ({
    scrollWidth: document.documentElement.scrollWidth,
    wider: [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .slice(0, 8)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`),
  });
  const drawn = measure();
  const probe = document.body.appendChild(document.createElement("span"));
  probe.textContent = "中";
  const lacking = 1 - probe.getBoundingClientRect().width / parseFloat(getComputedStyle(probe).fontSize);
  probe.remove();
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`* { letter-spacing: ${Math.max(lacking, 0).toFixed(3)}em !important; }`);
  const before = document.adoptedStyleSheets;
  document.adoptedStyleSheets = [...before, sheet];
  const fullWidth = measure();
  document.adoptedStyleSheets = before;
  return { drawn, fullWidth };
}"""

# Every typed or shown ID number field that cuts its value off (its text wider than its box).
CUT_ID_NUMBERS = """() => [...document.querySelectorAll("input.id-number")]
  .filter((el) => el.getBoundingClientRect().width > 0 && el.scrollWidth > el.clientWidth + 1)
  .map((el) => `#${el.id} "${el.value}" ${el.scrollWidth}>${el.clientWidth}`)"""


# Text squeezed into a column a few characters wide (a label column beside it at 40 px: one character per line):
# every element of the page's main part whose own text is 4 characters or more gets at least 3.5 of them a line.
SQUEEZED = """() => [...document.querySelectorAll("main *")]
  .filter((el) => {
    const own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join("");
    const r = el.getBoundingClientRect();
    if ([...own].length < 4 || r.width === 0 || el.closest("[hidden], .visually-hidden, svg")) return false;
    return r.width < 3.5 * parseFloat(getComputedStyle(el).fontSize);
  })
  .slice(0, 8)
  .map((el) => `${el.tagName} "${el.textContent.trim().slice(0, 12)}" ${el.getBoundingClientRect().width}px`)"""


def _width(page: Page) -> int:
    viewport = page.viewport_size
    assert viewport is not None
    return viewport["width"]


def assert_fits(page: Page, where: str) -> None:
    """No sideways scrolling: the document is no wider than the device, as drawn and with full-width Chinese."""
    width = _width(page)
    measured: dict[str, Any] = page.evaluate(FITS, width)
    for how, seen in (("as drawn", measured["drawn"]), ("Chinese full width", measured["fullWidth"])):
        assert seen["scrollWidth"] <= width, f"{where}, {how}: {seen['scrollWidth']} px wide: {seen['wider']}"


def assert_not_squeezed(page: Page, where: str) -> None:
    """No text is set a character or two per line beside something that takes the width."""
    assert page.evaluate(SQUEEZED) == [], where


def header_share(page: Page) -> float:
    """The share of the first screen the site header takes."""
    viewport = page.viewport_size
    assert viewport is not None
    height = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().height")
    return float(height) / viewport["height"]


def assert_compact_header(page: Page, where: str) -> None:
    share = header_share(page)
    assert share <= HEADER_SHARE_MAX, f"{where}: the header takes {share:.0%} of the first screen"


def assert_id_numbers_whole(page: Page, where: str) -> None:
    """Every ID number field on show keeps all of its characters in view."""
    assert page.evaluate(CUT_ID_NUMBERS) == [], where


def tab_bar(page: Page) -> list[dict[str, Any]]:
    """The bottom tab bar's tabs as drawn (name, label shown, size, label font size, the label's lines and whether
    it is wider than its tab), or [] where the navigation is not one."""
    return page.evaluate(
        """() => {
          const nav = document.querySelector(".site-nav");
          if (!nav || getComputedStyle(nav).position !== "fixed") return [];
          return [...nav.querySelectorAll("a")].map((a) => {
            const r = a.getBoundingClientRect();
            const label = a.querySelector(".nav-label");
            const style = getComputedStyle(label);
            return { name: a.getAttribute("aria-label") || a.textContent.trim(), shown: label.innerText.trim(),
                     width: r.width, height: r.height, bottom: r.bottom, font: parseFloat(style.fontSize),
                     lines: Math.round(label.getBoundingClientRect().height / parseFloat(style.lineHeight)),
                     overflows: label.scrollWidth > label.clientWidth };
          });
        }"""
    )


def use_display(page: Page, *, elder: bool, text_step: int = 0) -> None:
    """长辈版 and its text size for this browser (and the account, when signed in), as the switch saves them; the
    page is loaded again to show it."""
    api(page, "PUT", "/api/v1/preferences", data={"elder_mode": elder, "text_step": text_step})
    page.reload()
