"""A resident's whole journey on a 360 × 740 phone in 长辈版, at every text size (A+ up to 40 px): no page scrolls
sideways or sets text a character or two per line — home, a life event, every step of its form, the case, the
receipt, the public tracking page, 消息, 我的, 我的办件 — the header is one compact row (at most a fifth of the
first screen), the navigation is a bottom tab bar sized for 长辈版, and an ID number stays whole in its field."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.helpers import file_life_event, register_resident, walk_form
from e2e.layout import (
    assert_compact_header,
    assert_fits,
    assert_id_numbers_whole,
    assert_not_squeezed,
    tab_bar,
    use_display,
)

RESIDENT = ("许静", "320411198611183187")
ENGLISH_READER = ("刘金宝", "320404194411112470")
TEXT_STEPS = range(5)  # 24, 28, 32, 36 and 40 px


def _pages(case_no: str, tracking: str) -> dict[str, str]:
    return {
        "首页": "/",
        "一件事": "/life-events/birth",
        "办件": f"/cases/{case_no}",
        "受理回执": f"/cases/{case_no}/receipt",
        "公开进度": tracking,
        "消息": "/notifications",
        "我的": "/me",
        "我的办件": "/cases",
    }


def _holds_up(page: Page, where: str) -> None:
    assert_fits(page, where)
    assert_not_squeezed(page, where)
    assert_compact_header(page, where)
    assert_id_numbers_whole(page, where)


def test_every_page_of_the_journey_fits_a_phone_in_elder_mode_at_every_text_size(phone: Page) -> None:
    page = phone
    register_resident(page, *RESIDENT)
    created = file_life_event(page, "birth", "elder-pages-birth-1")
    tracking = re.sub(r"^https?://[^/]+", "", created["tracking_url"])
    pages = _pages(created["case_no"], tracking)

    for step in TEXT_STEPS:
        use_display(page, elder=True, text_step=step)
        expect(page.locator("html")).to_have_class(f"elder text-{step}" if step else "elder")
        for name, path in pages.items():
            page.goto(path)
            page.wait_for_load_state("networkidle")
            _holds_up(page, f"{name} {path} (长辈版, A+ step {step})")
        page.goto("/life-events/birth/apply")
        walk_form(page, lambda progress, step=step: _holds_up(page, f"{progress} (长辈版, A+ step {step})"))


def test_the_header_is_one_row_and_the_tabs_are_sized_for_elder_mode(phone: Page) -> None:
    page = phone
    page.goto("/life-events/birth")
    use_display(page, elder=True, text_step=4)
    header = page.locator(".site-header")
    brand = header.locator(".brand")
    menu = header.get_by_text("字号", exact=True)
    # One row: the brand and the 字号 button side by side.
    assert abs(brand.bounding_box()["y"] - menu.bounding_box()["y"]) < 20  # type: ignore[index]
    assert_compact_header(page, "the life event's page at 40 px")
    # 字号 opens in place: the page moves down, nothing covers it.
    top = page.locator("main").bounding_box()["y"]  # type: ignore[index]
    menu.click()
    expect(page.get_by_role("button", name="字号调小")).to_be_visible()
    assert page.locator("main").bounding_box()["y"] > top  # type: ignore[index]
    assert_fits(page, "字号 open at 40 px")

    tabs = tab_bar(page)
    assert [t["name"] for t in tabs] == ["首页", "我的办件", "扫码", "登录"]
    assert [t["shown"] for t in tabs] == ["首页", "办件", "扫码", "登录"]  # 我的办件 in short
    viewport = page.viewport_size
    assert viewport is not None
    for tab in tabs:
        assert tab["width"] >= 60 and tab["height"] >= 60, tab
        assert tab["font"] >= 24, tab  # 长辈版's body size (18 pt)
        assert tab["bottom"] == viewport["height"], tab  # at the bottom of the screen
    expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的办件")).to_be_visible()


def test_the_tabs_say_their_short_labels_in_english_in_elder_mode(phone: Page) -> None:
    """A narrow 长辈版 tab shows each language's own short word, whole on one line at 24 px: "Cases" (not the tail of
    "My cases"), "Inbox" (where "Messages" would break inside the word)."""
    page = phone
    page.goto("/")
    page.context.add_cookies([{"name": "ywtb_lang", "value": "en", "url": page.url}])
    use_display(page, elder=True)
    tabs = tab_bar(page)
    assert [t["shown"] for t in tabs] == ["Home", "Cases", "Scan", "Sign in"], tabs
    assert tabs[1]["name"] == "My cases"
    page.context.add_cookies([{"name": "ywtb_lang", "value": "zh", "url": page.url}])
    register_resident(page, *ENGLISH_READER)  # the sign-up's labels are looked up in Chinese
    page.context.add_cookies([{"name": "ywtb_lang", "value": "en", "url": page.url}])
    use_display(page, elder=True)
    tabs = tab_bar(page)
    assert [t["shown"] for t in tabs] == ["Home", "Cases", "Scan", "Inbox", "Me"], tabs
    for tab in tabs:
        assert tab["lines"] == 1 and not tab["overflows"] and tab["font"] >= 24, tab
    assert_fits(page, "home in English, 长辈版")


# Each word of an element's text, and the lines it is set on (a word broken inside, "Servic/es", is on two).
_WORD_LINES = """(element) => {
  const words = [];
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      words.push({ word: match[0], lines: tops.size });
    }
  }
  return words;
}"""


def test_the_brand_in_english_breaks_between_words_never_inside_one_at_the_largest_text(phone: Page) -> None:
    """English 长辈版 at A+ 40 px: the header's brand may take two lines, each word whole ("Gov Services", not
    "Gov Servic/es"), beside the text size button, and the page does not scroll sideways."""
    page = phone
    page.goto("/")
    page.context.add_cookies([{"name": "ywtb_lang", "value": "en", "url": page.url}])
    use_display(page, elder=True, text_step=4)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    brand = page.locator(".site-header .brand-name")
    words = [w for w in brand.evaluate(_WORD_LINES) if w["lines"]]  # "Changzhou" is hidden on a phone in 长辈版
    assert words and all(w["lines"] == 1 for w in words), words
    assert_fits(page, "home in English, 长辈版 at 40 px")
    assert_compact_header(page, "home in English, 长辈版 at 40 px")


ELDER_WITH_NOTICES = ("钱秀兰", "320404194003151243")  # no other test signs her up


def test_the_unread_count_on_the_bell_stays_on_one_line_at_the_largest_text(phone: Page) -> None:
    """Two digits of unread notices on the 消息 tab at A+ 40 px: the badge is one line ("12", not "1" over "2" on the
    tab's label) and inside its own tab (the next tab is drawn over anything past its edge)."""
    page = phone
    register_resident(page, *ELDER_WITH_NOTICES)
    file_life_event(page, "retirement", "elder-badge")  # its 已受理 notice: one unread
    # A resident cannot file a dozen cases here (one per life event at a time): the server's own badge, with its
    # count made two digits on the way, is what a resident with 12 unread notices is sent.
    page.route(
        "**/notifications/badge",
        lambda route: route.fulfill(response=(sent := route.fetch()), body=re.sub(r">\d+<", ">12<", sent.text())),
    )
    use_display(page, elder=True, text_step=4)
    count = page.locator(".site-nav .inbox-count-n")
    expect(count).to_have_text("12")
    assert len(count.inner_text()) >= 2
    lines = count.evaluate(
        """(element) => {
          const range = document.createRange();
          range.selectNodeContents(element);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        }"""
    )
    assert lines == 1, f"the unread count {count.inner_text()!r} is set on {lines} lines"
    badge = page.locator(".site-nav .inbox-count").bounding_box()
    tab = page.locator(".site-nav a[href='/notifications']")
    label, tab_box = tab.locator(".nav-label").bounding_box(), tab.bounding_box()
    assert badge is not None and label is not None and tab_box is not None
    assert badge["y"] + badge["height"] <= label["y"] + 1, "the unread count covers the tab's label"
    # Within its own tab: past its edge the next tab is drawn over it.
    assert tab_box["x"] <= badge["x"] and badge["x"] + badge["width"] <= tab_box["x"] + tab_box["width"] + 0.5
