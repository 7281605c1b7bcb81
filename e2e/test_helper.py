"""帮办代办 on a shared tablet (1024×768): a village helper records an elder's delegation with a signature drawn on
the screen, files 退休 for him, switches to another elder and finds nothing of the first one's in the form; the
elder later signs up on a phone and sees the case."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import PHONE, ConsoleWatch, LiveServer
from e2e.helpers import (
    add_virtual_authenticator,
    api,
    fill_required_fields,
    helper_script_ready,
    register_resident,
    register_staff,
    sign_up_on_page,
    upload_required_materials,
)
from tests.case_helpers import PNG_1X1

VILLAGE = "320481002002"
ELDER = ("史永生", "320481194702282050")
NEIGHBOUR = ("潘玉兰", "32048119490821212X")
EMPLOYER = "武进湖塘纺织厂"  # typed for the first client only


def _draw_signature(page: Page) -> None:
    """A signature with the mouse: pointer events, as a finger or stylus would send them — once delegation.js listens
    (under load it can run after the page shows: strokes before it leave no ink)."""
    expect(page.locator("#delegation-form")).to_have_attribute("data-enhanced", "true")
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    x, y = box["x"] + 40, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(x + i * 25, y + (30 if i % 2 else -30), steps=3)
    page.mouse.up()
    expect(page.locator("#signature-status")).to_have_text("已签名")


def _fill_client(page: Page, name: str, id_number: str) -> None:
    page.goto("/helper")
    page.get_by_role("link", name="新增代办授权").click()
    expect(page).to_have_url("/helper/delegations/new")
    page.get_by_label("姓名").fill(name)
    page.get_by_label("身份证件号码").fill(id_number)
    page.get_by_label("怎样核验的身份").select_option(label="当面核验居民身份证")


def _work_for(page: Page, name: str) -> None:
    page.goto("/helper")
    helper_script_ready(page)
    page.locator(".roster-card", has_text=name).get_by_role("button", name="为TA办事").click()
    expect(page).to_have_url("/helper/client")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"为{name}办事")


def _open_retirement(page: Page) -> None:
    """The client's 退休 form, on one page (a helper is trained staff), once its script has taken over."""
    page.locator(".event-card", has_text="退休").click()
    expect(page).to_have_url("/life-events/retirement/apply")
    expect(page.locator("#apply-form")).to_have_attribute("data-enhanced", "true")
    expect(page.locator("#apply-form")).to_have_attribute("data-layout", "one-page")
    expect(page.get_by_role("button", name="下一步")).to_be_hidden()
    expect(page.get_by_role("button", name="提交申请")).to_be_visible()


def _date_in_days(page: Page, days: int) -> str:
    """A date `days` from today as the tablet's date input takes it (yyyy-mm-dd)."""
    return page.evaluate(
        "(days) => { const d = new Date(Date.now() + days * 864e5); return d.toISOString().slice(0, 10); }", days
    )


def _client_keys(page: Page) -> list[str]:
    return page.evaluate(
        "() => [...Object.keys(sessionStorage), ...Object.keys(localStorage)].filter((k) => k.includes(':client-'))"
    )


def _device_drafts(page: Page) -> list[str]:
    """Whom the drafts this tablet keeps in IndexedDB (local-data.js) are for."""
    return page.evaluate(
        "async () => (await self.ywtbLocal.drafts(document.body.dataset.localKey)).map((d) => d.subject)"
    )


def test_a_helper_files_for_an_elder_switches_client_and_the_elder_sees_the_case(
    tablet: Page, browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    console_watch.allow("status of 400 (Bad Request)")  # a delegation sent without a signature, on purpose
    page = tablet
    register_staff(page, live_server, "史村帮办员", "--role", "helper", "--region", VILLAGE)
    page.get_by_role("link", name="代办名单").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("代办名单")

    # The delegation for 史永生, recorded with him present; without a signature it is refused beside the pad.
    _fill_client(page, *ELDER)
    page.get_by_role("button", name="记录授权").click()
    expect(page.locator(".error-summary")).to_contain_text("请老人在平板上签名确认")
    expect(page.locator("#consent-error")).to_have_text("请老人在平板上签名确认")
    _draw_signature(page)
    page.get_by_role("button", name="清除").press("Enter")  # reachable and usable from the keyboard
    expect(page.locator("#signature-status")).to_have_text("尚未签名")
    _draw_signature(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.get_by_role("button", name="记录授权").click()
    expect(page).to_have_url("/helper?notice=created")
    card = page.locator(".roster-card", has_text=ELDER[0])
    expect(card).to_contain_text("320481********2050")
    expect(card).to_contain_text("有效")
    expect(card).to_contain_text("全部事项")

    # Filing 退休 for him: his data, his materials; the banner says for whom on every page.
    _work_for(page, ELDER[0])
    banner = page.locator("#helper-banner")
    expect(banner).to_contain_text("正在为 史永生（320481********2050）办理")
    _open_retirement(page)
    expect(banner).to_contain_text("史永生")
    expect(page.get_by_label("申请人姓名")).to_have_value("史永生")
    form = api(page, "GET", f"/api/v1/life-events/retirement/form?on_behalf_of={quote(ELDER[1])}")
    fill_required_fields(page, form, EMPLOYER)
    upload_required_materials(page, form)
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/helper/cases/CZ\d{14}/receipt$"))
    case_no = re.search(r"/helper/cases/(CZ\d{14})/receipt", page.url).group(1)
    expect(page.get_by_text(case_no).first).to_be_visible()
    expect(page.get_by_text("由帮办员 史村帮办员 代办")).to_be_visible()
    expect(page.locator(".receipt-qr svg")).to_be_visible()
    expect(page.get_by_role("button", name="打印回执")).to_be_visible()

    # A second form for him is started (a draft on the server, an upload kept in this tab)...
    page.goto("/life-events/retirement/apply")
    expect(page.get_by_label("申请人姓名")).to_have_value("史永生")
    employer = page.locator("#retirement-employer")
    while not employer.is_visible():
        page.get_by_role("button", name="下一步").click()
    employer.fill(EMPLOYER)
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=5000)
    assert _device_drafts(page) == [f"client-{banner.get_attribute('data-client')}"], "kept on the tablet for him"
    while not page.get_by_role("button", name="提交申请").is_visible():
        page.get_by_role("button", name="下一步").click()
    page.locator("input[type=file]").first.set_input_files(
        {"name": "shi-scan.png", "mimeType": "image/png", "buffer": PNG_1X1}
    )
    expect(page.get_by_text("已上传：shi-scan.png")).to_be_visible()
    assert _client_keys(page), "the upload is kept for this client in the tab"

    # ...when the tablet switches to 潘玉兰: her own delegation first, then her form shows nothing of his.
    banner.get_by_role("link", name="切换").click()
    expect(page).to_have_url("/helper")
    _fill_client(page, *NEIGHBOUR)
    page.get_by_label("有效期至").fill(_date_in_days(page, 180))
    _draw_signature(page)
    page.get_by_role("button", name="记录授权").click()
    expect(page).to_have_url("/helper?notice=created")
    _work_for(page, NEIGHBOUR[0])
    expect(banner).to_contain_text("正在为 潘玉兰（320481********212X）办理")
    assert _client_keys(page) == []  # the previous client's local drafts are gone
    assert _device_drafts(page) == []  # from IndexedDB too
    _open_retirement(page)
    expect(page.get_by_label("申请人姓名")).to_have_value("潘玉兰")
    expect(page.get_by_label("申请人公民身份号码")).to_have_value("320481 ******** 212X")
    html = page.content()
    for first_clients in (ELDER[0], "320481********2050", ELDER[1], EMPLOYER, "shi-scan.png"):
        assert first_clients not in html, first_clients
    for field in page.locator("[data-field]").all():
        assert field.input_value() != EMPLOYER
    expect(page.locator(".upload-status").filter(has_text="已上传")).to_have_count(0)

    # Ending the work for her takes the banner away.
    banner.get_by_role("button", name="结束").click()
    expect(page).to_have_url("/helper?notice=ended")
    expect(page.locator("#helper-banner")).to_have_count(0)
    assert _client_keys(page) == []

    # 史永生 signs up on a phone and finds the case the helper filed for him.
    phone_context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
    phone_context.on("page", console_watch.attach)
    phone = phone_context.new_page()
    register_resident(phone, *ELDER)
    phone.goto("/cases")
    expect(phone.get_by_text(case_no)).to_be_visible()
    phone.get_by_text(case_no).click()
    expect(phone.get_by_text("由帮办员 史村帮办员 代办").first).to_be_visible()
    phone_context.close()


def test_an_elder_with_her_own_passkey_confirms_the_delegation_with_it(
    tablet: Page, browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    # 潘玉兰 has signed up on her phone; the same passkey is then offered to the tablet (as a phone does nearby).
    phone_context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
    phone_context.on("page", console_watch.attach)
    phone = phone_context.new_page()
    phone_cdp, phone_authenticator = add_virtual_authenticator(phone)
    sign_up_on_page(phone, NEIGHBOUR[0], NEIGHBOUR[1])
    [credential] = phone_cdp.send("WebAuthn.getCredentials", {"authenticatorId": phone_authenticator})["credentials"]
    phone_context.close()

    page = tablet
    register_staff(page, live_server, "潘村帮办员", "--role", "helper", "--region", VILLAGE)
    # The tablet's own (internal) authenticator holds the helper's passkey; the elder's arrives on another one.
    tablet_cdp = page.context.new_cdp_session(page)
    elders = tablet_cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "ctap2Version": "ctap2_1",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]
    tablet_cdp.send("WebAuthn.addCredential", {"authenticatorId": elders, "credential": credential})
    _fill_client(page, *NEIGHBOUR)
    page.get_by_label("只代办以下事项").check()
    page.get_by_label("退休").check()
    page.get_by_label("用老人自己的通行密钥确认").check()
    expect(page.locator("#signature-pad")).to_be_hidden()
    page.get_by_role("button", name="记录授权").click()
    expect(page).to_have_url("/helper?notice=created")
    card = page.locator(".roster-card", has_text=NEIGHBOUR[0])
    expect(card).to_contain_text("本人通行密钥")
    expect(card).to_contain_text("退休")
    # The elder's passkey confirmed the delegation only: the tablet is still the helper's.
    assert api(page, "GET", "/api/v1/me")["roles"] == ["helper"]
