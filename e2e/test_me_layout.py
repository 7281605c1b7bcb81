"""No page scrolls sideways on a 360 px phone, in 长辈版 at every text size up to the largest (A+ to 40 px)
either: 我的 with what widens it most — a synced passkey's tag, a long passkey name in its rename field, a
device on the reminder list — and the home page, 我的办件, 消息 and a life event's page (department tags).

Each page is measured as drawn and again with every Chinese character a full em wide, as a phone draws it
(e2e.layout.assert_fits): a machine without a CJK font draws them about 0.6 em wide, which hides text that cannot
wrap."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.helpers import add_virtual_authenticator, api, sign_up_on_page
from e2e.layout import assert_fits
from tests.push_service import FakeDevice

RESIDENT = ("唐文杰", "320413199705163459")
# A name without a single place to break a line, as long as the rename field allows (maxlength 40).
LONG_NAME = "MyPixelPhoneWithAVeryLongPasskeyName0040"
PAGES = ("/me", "/", "/cases", "/notifications", "/life-events/birth")


def _sign_up_with_a_synced_passkey(page: Page) -> None:
    """As e2e.helpers.register_resident, but the phone's passkey is backed up (synced), as most are, so 我的
    shows its 已同步备份 tag."""
    add_virtual_authenticator(page, synced=True)
    sign_up_on_page(page, RESIDENT[0], RESIDENT[1])


def _loaded(page: Page, path: str) -> None:
    page.goto(path)
    if path == "/me":  # the device list arrives after the page (htmx)
        expect(page.locator("#push-devices").get_by_role("button", name="不再提醒", exact=False)).to_be_visible()


def test_no_page_scrolls_sideways_on_a_phone_in_elder_mode_up_to_the_largest_text(phone: Page) -> None:
    page = phone
    _sign_up_with_a_synced_passkey(page)
    expect(page.locator("#passkeys").get_by_text("已同步备份")).to_be_visible()
    page.get_by_label("名称").fill(LONG_NAME)
    page.get_by_role("button", name="重命名").click()
    expect(page.locator("#passkeys strong")).to_have_text(LONG_NAME)
    # A device on the reminder list (127.0.0.1 is an allowed push service in the browser tests; nothing is sent).
    device = FakeDevice(name="layout", endpoint="http://127.0.0.1:9/push/layout").subscription()
    api(page, "POST", "/api/v1/push/subscriptions", data=device)

    for path in PAGES:
        _loaded(page, path)
        assert_fits(page, f"{path} (standard)")

    _loaded(page, "/me")
    page.locator(".display-switch-me").get_by_role("button", name="长辈版").click()
    expect(page.locator("html")).to_have_class("elder")
    larger = page.locator(".display-switch-me").get_by_role("button", name="字号调大")
    size = 24
    assert_fits(page, f"/me (长辈版 {size} px)")
    while larger.is_enabled():
        larger.click()
        size += 4
        expect(page.locator("html")).to_have_class(f"elder text-{(size - 24) // 4}")
        assert_fits(page, f"/me (长辈版 {size} px)")
    assert size == 40

    for path in PAGES:
        _loaded(page, path)
        expect(page.locator("html")).to_have_class("elder text-4")
        assert_fits(page, f"{path} (长辈版 40 px)")
