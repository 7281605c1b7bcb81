"""The installable app with a bad connection (Chromium): installable by Chromium's own check, an offline reload
shows the app shell, a draft typed offline survives a reload and reaches the server when the connection returns,
a submission made offline becomes exactly one case, and signing out leaves nothing of the account on the device."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Playwright, expect

from e2e.conftest import CHROMIUM_ARGS, ConsoleWatch, LiveServer, chromium_executable
from e2e.helpers import (
    api,
    fill_required_fields,
    register_resident,
    step_to,
    under_service_worker,
    upload_required_materials,
)

APPLY = "/life-events/retirement/apply"
DRAFTER = ("张建华", "320402196810012553")
SUBMITTER = ("钱志刚", "320412196505051575")
CHOOSER = ("王美芳", "320402197005202623")
EMPLOYER = "常州市钟楼区某某机械厂"

LOCAL_STATE = """async () => {
  const user = document.body.dataset.localKey;
  const [drafts, queued] = await Promise.all([self.ywtbLocal.drafts(user), self.ywtbLocal.queued(user)]);
  return { drafts: drafts.length, queued: queued.length, pages: await caches.has(self.ywtbLocal.PAGES_CACHE) };
}"""


@pytest.fixture
def persistent_page(playwright: Playwright, live_server: LiveServer, tmp_path: Path) -> Iterator[Page]:
    """A page in a persistent profile: Chromium never finds an app installable in an incognito context."""
    args = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium_executable(),
        headless=True,
        args=args,
        base_url=live_server.url,
        locale="zh-CN",
    )
    page = context.pages[0] if context.pages else context.new_page()
    yield page
    context.close()


def test_chromium_finds_the_app_installable(persistent_page: Page) -> None:
    page = persistent_page
    page.goto("/")
    under_service_worker(page)
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest")
    assert manifest["errors"] == []
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []


def test_after_one_visit_an_offline_reload_shows_the_app_shell(phone: Page, offline_ok: ConsoleWatch) -> None:
    page = phone
    page.goto("/")
    under_service_worker(page)
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("当前没有网络")
    nav = page.get_by_role("navigation", name="主导航")
    for link in ("首页", "我的办件", "扫码"):
        expect(nav.get_by_role("link", name=link, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="长辈版")).to_be_visible()
    expect(page.locator("#app-offline")).to_be_visible()
    # The layout's stylesheet came from the precache.
    header = page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert header == "rgb(11, 87, 164)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # A page never opened is the shell too; back online, the page asked for opens by itself.
    page.goto("/life-events/birth")
    expect(page).to_have_url(re.compile(r"/life-events/birth$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("当前没有网络")
    page.context.set_offline(False)
    # The shell tries again on the online event and every 4 s (offline.js): on a loaded machine the service worker's
    # own fetch was seen to come back offline twice in 5 s after the page was online again (its network state is
    # Chromium's per-worker emulation), so the retries get a few rounds, as a resident's phone would give them.
    expect(page.get_by_role("heading", level=1)).to_contain_text("新生儿出生", timeout=20_000)
    expect(page).to_have_url(re.compile(r"/life-events/birth$"))


def test_a_draft_typed_offline_survives_a_reload_and_reaches_the_server(phone: Page, offline_ok: ConsoleWatch) -> None:
    page = phone
    register_resident(page, *DRAFTER)
    under_service_worker(page)
    page.goto(APPLY)  # opened once online: kept for reading offline
    page.wait_for_load_state("networkidle")

    page.context.set_offline(True)
    employer = page.locator("#retirement-employer")
    step_to(page, employer)
    employer.fill(EMPLOYER)
    status = page.locator("#draft-status")
    expect(status).to_contain_text("已保存到本机")
    expect(status).not_to_contain_text("已同步")

    page.reload()  # still offline: the form comes from the service worker, the answers from IndexedDB
    expect(page.get_by_role("heading", level=1)).to_contain_text("退休")
    expect(status).to_have_text("已恢复本机保存的内容")
    expect(employer).to_have_value(EMPLOYER)
    assert api(page, "GET", "/api/v1/drafts/retirement")["data"].get("retirement.employer") is None
    # The offline shell lists what the device keeps: the form opened online, and the answers saved here.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("当前没有网络")
    expect(page.get_by_role("link", name="退休 · 填写申请")).to_be_visible()
    expect(page.get_by_role("link", name="退休（已保存到本机）")).to_be_visible()
    page.get_by_role("link", name="退休（已保存到本机）").click()
    expect(employer).to_have_value(EMPLOYER)

    page.context.set_offline(False)
    expect(status).to_contain_text("已同步", timeout=10_000)
    assert api(page, "GET", "/api/v1/drafts/retirement")["data"]["retirement.employer"] == EMPLOYER

    # Signing out leaves nothing of the account on the device: no drafts, no pages kept for reading offline.
    assert page.evaluate(LOCAL_STATE) == {"drafts": 1, "queued": 0, "pages": True}
    key = page.evaluate("document.body.dataset.localKey")
    page.goto("/me")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url("/")
    left = page.evaluate(
        """async (user) => ({ drafts: (await self.ywtbLocal.drafts(user)).length,
                              pages: await caches.has(self.ywtbLocal.PAGES_CACHE) })""",
        key,
    )
    assert left == {"drafts": 0, "pages": False}


def test_a_submission_made_offline_becomes_exactly_one_case(phone: Page, offline_ok: ConsoleWatch) -> None:
    page = phone
    register_resident(page, *SUBMITTER)
    under_service_worker(page)
    page.goto(APPLY)
    form = api(page, "GET", "/api/v1/life-events/retirement/form")
    fill_required_fields(page, form, EMPLOYER)
    upload_required_materials(page, form)
    assert api(page, "GET", "/api/v1/cases") == []

    page.context.set_offline(True)
    page.get_by_role("button", name="提交申请").click()
    outbox = page.locator("#outbox-status")
    expect(outbox).to_contain_text("待发送")
    page.reload()  # still waiting after a reload; nothing reached the server
    expect(outbox).to_contain_text("待发送")
    assert page.evaluate(LOCAL_STATE)["queued"] == 1
    assert api(page, "GET", "/api/v1/cases") == []

    page.context.set_offline(False)  # the online event, Background Sync and the next page load all try to send
    expect(page).to_have_url(re.compile(r"/cases/CZ\d{14}/receipt$"), timeout=15_000)
    case_no = re.search(r"/cases/(CZ\d{14})/receipt", page.url).group(1)
    expect(page.get_by_text(case_no).first).to_be_visible()
    # The receipt the resident opened can be read offline, QR code and all.
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_text(case_no).first).to_be_visible()
    expect(page.locator(".receipt-qr svg")).to_be_visible()
    page.context.set_offline(False)
    page.goto("/cases")
    page.reload()
    page.wait_for_load_state("networkidle")
    cases = api(page, "GET", "/api/v1/cases")
    assert [c["case_no"] for c in cases] == [case_no]
    assert page.evaluate(LOCAL_STATE)["queued"] == 0


# Offline, what the page gets for its stylesheet and its English texts under another release's ?v= (a page kept before
# a deploy links those): the text of each answer, or the error.
OLDER_RELEASE_FILES = """async () => {
  const older = (url) => url.replace(/([?&]v=)[^&]+/, "$1000000000000");
  const links = [document.querySelector('link[rel="stylesheet"][href*="app.css"]').href,
                 new URL("/i18n/en.js?v=1", location.href).href];
  return Promise.all(links.map((url) => fetch(older(url)).then((r) => r.text(), (e) => `failed: ${e}`)));
}"""


def test_a_page_kept_before_a_release_keeps_its_styles_and_texts_offline(phone: Page, offline_ok: ConsoleWatch) -> None:
    page = phone
    page.goto("/")
    under_service_worker(page)
    page.context.set_offline(True)
    css, english = page.evaluate(OLDER_RELEASE_FILES)
    assert ".site-header" in css  # this release's app.css stands in for the older one
    assert english.startswith("(self.ywtbScriptTexts ??= {}).en = ")  # the English texts, not Chinese fallbacks
    page.context.set_offline(False)


def test_a_new_version_waits_until_the_resident_chooses_to_update(phone: Page) -> None:
    page = phone
    page.goto("/")
    under_service_worker(page)
    update = page.get_by_role("button", name="有新版本，点击更新")
    expect(update).to_be_hidden()
    page.evaluate("() => caches.open('ywtb-shell-000000000000').then(() => true)")  # as an older version left it
    # A new worker as a deploy brings one (another script URL is another worker for the browser): it installs
    # and waits; the page keeps running under the old one until asked.
    page.evaluate(
        """() => navigator.serviceWorker.register("/sw.js?release=next", { scope: "/", updateViaCache: "none" })"""
    )
    expect(update).to_be_visible()
    assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
    update.click()
    page.wait_for_load_state()  # reloaded under the new version
    page.wait_for_function("() => navigator.serviceWorker.controller?.scriptURL.endsWith('release=next')")
    expect(page.get_by_role("heading", level=1)).to_have_text("一件事，一次办")
    shells = page.evaluate("async () => (await caches.keys()).filter((name) => name.startsWith('ywtb-shell-'))")
    assert len(shells) == 1 and shells != ["ywtb-shell-000000000000"]  # older versions' caches are gone


def test_answers_typed_offline_and_a_draft_changed_elsewhere_are_both_shown(
    phone: Page, offline_ok: ConsoleWatch
) -> None:
    offline_ok.allow("status of 409 (Conflict)")
    page = phone
    register_resident(page, *CHOOSER)
    under_service_worker(page)
    page.goto(APPLY)
    page.wait_for_load_state("networkidle")
    page.context.set_offline(True)
    employer = page.locator("#retirement-employer")
    step_to(page, employer)
    employer.fill(EMPLOYER)
    expect(page.locator("#draft-status")).to_contain_text("已保存到本机")

    # Meanwhile another device of hers saves a draft on the server.
    draft = api(page, "GET", "/api/v1/drafts/retirement")
    body = {"data": {"retirement.employer": "另一台设备填的单位"}, "version": draft["version"]}
    api(page, "PUT", "/api/v1/drafts/retirement", data={**body, "form_checksum": draft["form_checksum"]})

    page.context.set_offline(False)
    page.reload()
    notice = page.locator("#draft-conflict")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"本页：{EMPLOYER}")
    expect(notice).to_contain_text("另一设备：另一台设备填的单位")
    notice.get_by_role("button", name="保留本页填写的内容").click()
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=10_000)
    assert api(page, "GET", "/api/v1/drafts/retirement")["data"]["retirement.employer"] == EMPLOYER
