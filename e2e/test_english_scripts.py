"""Our scripts speak the reader's language (issue 21): a resident who chose English reads the merged form's
messages (the step it is on, the draft saved on this device) in English, and the offline shell the service worker
shows is English too — while the same device back in Chinese gets the Chinese shell."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import ConsoleWatch
from e2e.helpers import api, register_resident, under_service_worker

APPLY = "/life-events/retirement/apply"
RESIDENT = ("沈福林", "320481195209173875")


def _choose(page: Page, language: str) -> None:
    api(page, "PUT", "/api/v1/preferences", data={"language": language})


def test_a_resident_who_chose_english_reads_the_scripts_and_the_offline_shell_in_english(
    phone: Page, offline_ok: ConsoleWatch
) -> None:
    page = phone
    register_resident(page, *RESIDENT)
    _choose(page, "en")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    under_service_worker(page)
    # The worker's own texts (a notification's fallbacks, sw-push.js): every language's /i18n/<language>.js, which
    # it imports, in the language this device reads pages in.
    page.wait_for_function("async () => (await self.ywtbLocal.deviceLanguage()) === 'en'")
    worker = next(w for w in page.context.service_workers if w.url.endswith("/sw.js"))
    tap = worker.evaluate("async () => (await self.ywtbTexts()).t('您有一条新消息，点按查看')")
    assert tap == "You have a new message. Tap to read it"

    page.goto(APPLY)
    page.wait_for_load_state("networkidle")
    # apply-steps.js: "第1步，共n步：…" in English.
    expect(page.locator("#step-progress")).to_contain_text(re.compile(r"^Step 1 of \d+: "))

    page.context.set_offline(True)
    page.locator("#applicant-phone").fill("13900000998")  # the first step's one field the resident types
    status = page.locator("#draft-status")
    expect(status).to_have_text(re.compile(r"^Saved on this device at \d\d:\d\d"))

    # A page never opened: the worker's offline shell, in the language this device reads pages in.
    page.goto("/stats")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(page.locator("[data-offline-draft-list] a")).to_have_text(re.compile(r"\(saved on this device\)$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # Back to Chinese: the same device's shell is Chinese again.
    page.context.set_offline(False)
    _choose(page, "zh")
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.wait_for_function("async () => (await self.ywtbLocal.deviceLanguage()) === 'zh'")
    page.context.set_offline(True)
    page.goto("/stats")
    expect(page.get_by_role("heading", level=1)).to_have_text("当前没有网络")
    expect(page.locator("[data-offline-draft-list] a")).to_have_text(re.compile(r"（已保存到本机）$"))
