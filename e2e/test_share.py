"""分享给家人 on a phone without a share sheet: the tracking link goes to the clipboard, and the page says so in a
live region (a screen reader says it too)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import file_retirement, sign_up_with_enrollment_code

# Nobody else's in the e2e run: a retirement filed twice for one person is refused as a duplicate (一事不二办).
RESIDENT = ("许国强", "320412197501180593")


def test_the_share_button_copies_the_tracking_link(phone: Page, live_server: LiveServer) -> None:
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    # As on a desktop browser, or a phone's without the Web Share API: the copy is what is left.
    phone.context.add_init_script("delete Navigator.prototype.share; delete Navigator.prototype.canShare;")
    sign_up_with_enrollment_code(phone, live_server, *RESIDENT)
    created = file_retirement(phone, "e2e-share-1")

    for path in (f"/cases/{created['case_no']}/receipt", f"/cases/{created['case_no']}"):
        phone.goto(path)
        phone.evaluate("navigator.clipboard.writeText('')")
        button = phone.get_by_role("button", name="分享给家人")
        button.click()
        status = phone.get_by_role("status").filter(has_text="已复制")
        expect(status).to_be_visible()
        expect(status).to_have_attribute("aria-live", "polite")
        assert phone.evaluate("navigator.clipboard.readText()") == created["tracking_url"]
