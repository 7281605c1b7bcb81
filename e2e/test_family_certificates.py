"""Issue 15 end to end in the browser: 张伟 files 新生儿出生 on his phone, 李娜 grants the use of her documents on
hers, the police approver completes 出生户口登记 with the newborn's number, 张伟 sees his son under 家庭成员 and the
出生医学证明 under 我的证照, shows it (亮证), and a clerk's scanner reads the QR code on his screen and opens the check,
which says the certificate is genuine — with the holder's name masked."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import PHONE, TABLET, LiveServer
from e2e.helpers import api, register_staff, sign_up_with_enrollment_code
from e2e.test_accessibility import violations
from e2e.test_scan import write_y4m
from tests.birth_helpers import BIRTH_CERTIFICATE, BIRTH_REGISTRATION, birth_answers, born_days_ago, newborn_number
from tests.case_helpers import PNG_1X1

ZHANG_WEI = ("张伟", "320402199403150119")
LI_NA = ("李娜", "320402199506180126")


def _mother_grants(browser: Browser, live_server: LiveServer) -> None:
    """李娜, on her own phone: the request in her inbox, 同意 on the request page."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
    hers = context.new_page()
    sign_up_with_enrollment_code(hers, live_server, *LI_NA)
    hers.goto("/consents")
    request = hers.locator(".consent", has_text="张伟申请新生儿出生").filter(has_text="待同意").first
    request.get_by_role("button", name="同意").click()
    expect(hers.get_by_role("status")).to_contain_text("已同意")
    context.close()


def _file_birth(phone: Page) -> str:
    """张伟 files 新生儿出生 for his son through the API, as the form would, uploading only what is his to upload: the
    mother's documents are left to her consent. The case number."""
    form = api(phone, "GET", "/api/v1/life-events/birth/form")
    uploads = [
        api(
            phone,
            "POST",
            "/api/v1/uploads",
            multipart={
                "life_event": "birth",
                "material_code": m["code"],
                "file": {"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1},
            },
        )["token"]
        for m in form["materials"]["to_upload"]
        if m["required"] and m.get("about", "applicant") in ("applicant", "father", "child")
    ]
    body = {
        "life_event": "birth",
        "data": birth_answers(form, born_days_ago()),
        "idempotency_key": "e2e-family-birth-1",
        "uploads": uploads,
    }
    return api(phone, "POST", "/api/v1/cases", data=body)["case_no"]


def _staff(browser: Browser, live_server: LiveServer, name: str, *args: str) -> Page:
    page = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN").new_page()
    register_staff(page, live_server, name, *args)
    return page


def _move(page: Page, task_id: int, *actions: str) -> None:
    for action in actions:
        api(page, "POST", f"/api/v1/console/tasks/{task_id}/transition", data={"action": action})


def test_registered_newborn_appears_in_the_family_and_the_shown_certificate_verifies(
    phone: Page, browser: Browser, live_server: LiveServer, camera_browser: Callable[[Path], Browser], tmp_path: Path
) -> None:
    sign_up_with_enrollment_code(phone, live_server, *ZHANG_WEI)
    case_no = _file_birth(phone)
    phone.goto(f"/cases/{case_no}")
    expect(phone.locator(".case-title")).to_contain_text("待授权")  # her documents wait for her
    _mother_grants(browser, live_server)
    phone.reload()
    expect(phone.locator(".case-title")).not_to_contain_text("待授权")

    # The case is driven to the last step quickly: the window accepts, 卫健 issues the 出生医学证明, 公安 approves.
    clerk = _staff(browser, live_server, "天宁窗口", "--role", "clerk", "--department", "police", "--region", "320402")
    tasks = {t["item_code"]: t["id"] for t in api(clerk, "GET", f"/api/v1/console/cases/{case_no}")["tasks"]}
    _move(clerk, tasks[BIRTH_CERTIFICATE], "accept")
    _move(clerk, tasks[BIRTH_REGISTRATION], "accept")
    health = _staff(  # the city's 卫健 office: 出生医学证明签发 is a 市级 item
        browser, live_server, "市卫健", "--role", "approver", "--department", "health", "--region", "320400"
    )
    _move(health, tasks[BIRTH_CERTIFICATE], "review", "approve", "complete")
    police = _staff(
        browser, live_server, "天宁户籍", "--role", "approver", "--department", "police", "--region", "320402"
    )
    _move(police, tasks[BIRTH_REGISTRATION], "review", "approve")

    # The police approver completes 户口登记 on the case page, with the newborn's new number.
    police.goto(f"/console/cases/{case_no}")
    card = police.locator(f"#task-{tasks[BIRTH_REGISTRATION]}")
    wrong_sex = newborn_number(born_days_ago(), sex="F")
    card.get_by_label(re.compile("新生儿公民身份号码")).fill(wrong_sex)
    card.get_by_role("button", name="办结", exact=True).click()
    # Named beside the field, and in the task's own summary of what stopped the action.
    expect(police.locator(f"#child-id-{tasks[BIRTH_REGISTRATION]}-error")).to_contain_text("性别为女")
    expect(police.locator(f"#task-{tasks[BIRTH_REGISTRATION]} [role=alert]")).to_contain_text("操作未完成")
    card = police.locator(f"#task-{tasks[BIRTH_REGISTRATION]}")
    expect(card.get_by_label(re.compile("新生儿公民身份号码"))).to_have_value(wrong_sex)
    card.get_by_label(re.compile("新生儿公民身份号码")).fill(newborn_number(born_days_ago()))
    card.get_by_role("button", name="办结", exact=True).click()
    expect(police.locator(f"#task-{tasks[BIRTH_REGISTRATION]}")).to_contain_text("已办结")

    # 张伟: his son under 家庭成员, the timeline says so, the 出生医学证明 under 我的证照.
    phone.goto("/me")
    family = phone.locator("#family-heading + ul")
    expect(family).to_contain_text("张小宝")
    expect(family.get_by_role("link", name="为TA办理")).to_be_visible()
    assert violations(phone) == [], "/me"
    phone.goto(f"/cases/{case_no}")
    expect(phone.get_by_text("已将新生儿登记入人口库").first).to_be_visible()
    phone.clock.install()  # the page's timers run on a clock the test moves (the QR's refresh, below)
    phone.goto("/certificates")
    assert violations(phone) == [], "/certificates"
    child_section = phone.locator("section", has=phone.get_by_role("heading", name=re.compile("张小宝的证照")))
    child_section.get_by_role("link", name="出生医学证明").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("出生医学证明")
    assert violations(phone) == [], "/certificates/{id}"

    # 亮证: a QR code with a countdown; a clerk's scanner reads it off the screen.
    qr = phone.locator("[data-share-qr] svg")
    expect(qr).to_be_visible()
    expect(phone.locator("[data-share-countdown]")).to_have_text(re.compile(r"^[45]:\d\d$"))
    qr.evaluate("svg => svg.scrollIntoView({block: 'center'})")  # clear of the phone's bottom tab bar
    shot = Image.open(io.BytesIO(qr.screenshot())).convert("L")
    scale = 4
    shot = shot.resize((shot.width * scale, shot.height * scale), Image.Resampling.NEAREST)
    decoded = zxingcpp.read_barcodes(shot)
    assert decoded, "the 亮证 QR code could not be read"
    url = decoded[0].text
    assert url.startswith(f"{live_server.url}/verify/")

    # Before it expires, the page swaps in a fresh code, and counts down from five minutes again.
    first = qr.inner_html()
    phone.clock.run_for("04:35")
    phone.wait_for_function("old => document.querySelector('[data-share-qr] svg').innerHTML !== old", arg=first)
    expect(phone.locator("[data-share-countdown]")).to_have_text(re.compile(r"^[45]:\d\d$"))

    scanner_browser = camera_browser(write_y4m(url, tmp_path / "shown.y4m"))
    scanner = scanner_browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN").new_page()
    register_staff(scanner, live_server, "天宁核验", "--role", "clerk", "--department", "police", "--region", "320402")
    scanner.goto("/scan")
    scanner.get_by_role("button", name="打开摄像头").click()
    expect(scanner).to_have_url(re.compile(r"/verify/[A-Za-z0-9_.-]+$"), timeout=15_000)
    expect(scanner.get_by_text("证照真实有效")).to_be_visible()
    expect(scanner.locator("dl.guide")).to_contain_text("出生医学证明")
    expect(scanner.locator("dl.guide")).to_contain_text("张**")
    assert "张小宝" not in scanner.content()
    assert violations(scanner) == [], "/verify/{token}"
