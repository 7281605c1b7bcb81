"""The tracking page a receipt opens, in Chromium, as anonymous visitors get it: drawn once, then sent from the page
kept for everyone (gzip parts with each browser's own CSRF token spliced in). The browser reads it, and its language
form, which carries the token, is taken: the page comes back in English (itself kept, and sent again)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import PHONE, LiveServer
from e2e.helpers import file_retirement, register_resident

RESIDENT = ("顾桂英", "320404193812031781")


def test_anonymous_browsers_read_the_kept_page_and_its_forms_carry_their_own_token(
    phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    register_resident(phone, *RESIDENT)
    created = file_retirement(phone, "kept-page-e2e-0001")
    # The first visitor's page is drawn and kept; each one after is sent what is kept, with their own token.
    for visitor in range(3):
        context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
        page = context.new_page()
        response = page.goto(created["tracking_url"])
        assert response is not None and response.status == 200
        assert response.headers.get("content-encoding") == "gzip", response.headers
        expect(page.get_by_role("heading", level=1)).to_have_text("办件进度")
        expect(page.get_by_text(created["case_no"]).first).to_be_visible()
        cookie = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        header = page.evaluate("() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
        fields = page.locator("input[name=_csrf_token]").evaluate_all("inputs => inputs.map(i => i.value)")
        assert header == cookie and fields and set(fields) == {cookie}, visitor

        page.locator("form.language-switch button[lang=en]").first.click()
        expect(page).to_have_url(re.compile(re.escape(created["tracking_url"]) + "$"))
        expect(page.locator("html")).to_have_attribute("lang", re.compile("^en"))
        expect(page.get_by_text(created["case_no"]).first).to_be_visible()
        context.close()
