"""Screenshots of the three journeys at their devices, for docs/screens/ (`make screens`; not part of `make test`):
an elderly resident on a 360 × 740 phone in 长辈版 at the largest text step, a village helper on a 1024 × 768 tablet
filing for an elder of 79, and a window clerk on the same tablet; then the public statistics (/stats) on a phone, a
1024 px screen and in 长辈版. The app is served and driven as in the browser
tests (e2e/conftest.py, e2e/helpers.py), on a fresh database with the demo data; each picture is what the person
sees at that step. Run: `python -m pytest e2e/screens.py` (pytest collects a file named on its command line).

Each PNG is reduced to a 256-colour palette to keep the repository small; docs/screens/README.md indexes them."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

from PIL import Image
from playwright.sync_api import Browser, Page, expect

from app.certificates.service import seal
from auth.pii import PiiCipher
from bench.store import create_statistics_data
from db.pool import create_pool
from e2e.conftest import PHONE, ROOT, TABLET, ConsoleWatch, LiveServer
from e2e.helpers import (
    api,
    cli,
    file_life_event,
    file_retirement,
    fill_required_fields,
    register_resident,
    register_staff,
    sign_up_with_enrollment_code,
    upload_required_materials,
)
from e2e.layout import use_display
from e2e.test_helper import _draw_signature, _fill_client
from tests.case_helpers import PNG_1X1
from tests.database_fixtures import TEST_SECRET_KEY, run_sync

SCREENS = ROOT / "docs" / "screens"
ELDER_RESIDENT = ("王建国", "320412196608080133")  # 60, retiring
HELPERS_CLIENT = ("史永生", "320481194702282050")  # 79, in the helper's village
WALK_IN = ("周丽华", "320412196801221647")
VILLAGE = "320481002002"
RATING_RESIDENT = ("卜振华", "320412196803171719")
PENSION = "企业职工基本养老保险退休申请"


def shoot(page: Page, name: str, *, full_page: bool = False, screens: int = 0) -> Path:
    """The page as shown, whole (`full_page`), or its first `screens` screens, saved as docs/screens/<name>.png in a
    256-colour palette. For several screens the window is made that tall for the picture (a phone's tab bar stays at
    the bottom, where it is fixed, rather than across the middle of a stitched page), then put back."""
    page.wait_for_load_state("networkidle")
    viewport = page.viewport_size
    assert viewport is not None
    if screens:
        height = min(page.evaluate("document.documentElement.scrollHeight"), viewport["height"] * screens)
        page.set_viewport_size({"width": viewport["width"], "height": height})
        page.wait_for_timeout(200)
    png = page.screenshot(full_page=full_page, animations="disabled", caret="hide")
    if screens:
        page.set_viewport_size(viewport)
    image = Image.open(BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    image.save(path, optimize=True)
    return path


def _context_page(browser: Browser, live_server: LiveServer, watch: ConsoleWatch, viewport: dict[str, int]) -> Page:
    context = browser.new_context(
        base_url=live_server.url,
        viewport=viewport,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        has_touch=viewport["width"] < 768,
        is_mobile=viewport["width"] < 768,
    )
    context.on("page", watch.attach)
    return context.new_page()


def test_elder_on_a_phone(phone: Page) -> None:
    """王建国 on his phone, 长辈版 at the largest text (40 px): from the home page to his case, receipt and 我的."""
    page = phone
    register_resident(page, *ELDER_RESIDENT)
    use_display(page, elder=True, text_step=4)
    page.goto("/")
    shoot(page, "elder-01-home", screens=3)
    page.goto("/life-events/retirement")
    shoot(page, "elder-02-life-event", screens=3)
    page.goto("/life-events/retirement/apply")
    expect(page.locator("#apply-form")).to_have_attribute("data-enhanced", "true")
    shoot(page, "elder-03-form-step", screens=3)
    created = file_retirement(page, "screens-elder-1")
    case_no = created["case_no"]
    page.goto(f"/cases/{case_no}")
    shoot(page, "elder-04-case", screens=3)
    page.goto(f"/cases/{case_no}/receipt")
    shoot(page, "elder-05-receipt", screens=3)
    page.goto(re.sub(r"^https?://[^/]+", "", created["tracking_url"]))
    shoot(page, "elder-06-tracking", screens=3)
    page.goto("/notifications")
    shoot(page, "elder-07-inbox", screens=3)
    page.goto("/me")
    shoot(page, "elder-08-me", screens=3)


def test_helper_on_a_tablet(tablet: Page, live_server: LiveServer) -> None:
    """A village helper records 史永生's delegation (the statement read to him, his signature), finds the events
    likely at 79 first, files 退休 for him on one page and prints the receipt naming him."""
    page = tablet
    register_staff(page, live_server, "陈帮办", "--role", "helper", "--region", VILLAGE)
    _fill_client(page, *HELPERS_CLIENT)
    _draw_signature(page)
    page.locator("#consent-statement").scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -80)")
    shoot(page, "helper-01-delegation-form")
    page.get_by_role("button", name="记录授权").click()
    expect(page).to_have_url("/helper?notice=created")
    page.locator(".roster-card", has_text=HELPERS_CLIENT[0]).get_by_role("button", name="为TA办事").click()
    expect(page).to_have_url("/helper/client")
    shoot(page, "helper-02-client-events")
    page.locator(".event-card", has_text="退休").click()
    expect(page.locator("#apply-form")).to_have_attribute("data-layout", "one-page")
    shoot(page, "helper-03-apply-one-page")
    form = api(page, "GET", f"/api/v1/life-events/retirement/form?on_behalf_of={quote(HELPERS_CLIENT[1])}")
    fill_required_fields(page, form, "溧阳天目湖茶厂")
    upload_required_materials(page, form)
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/helper/cases/CZ\d{14}/receipt$"))
    shoot(page, "helper-04-receipt")
    page.goto("/helper")
    shoot(page, "helper-05-roster")


def test_clerk_at_the_window(
    tablet: Page, browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    """A clerk of the city hall: receives a walk-in, works the queue (one row per case), accepts a task (the page
    returns to it and says so), sends a 补正告知 and prints the 补正告知书 for the resident to take away."""
    resident = _context_page(browser, live_server, console_watch, PHONE)
    register_resident(resident, "张伟", "320402199403150119")
    case_no = file_life_event(resident, "birth", "screens-clerk-birth-1")["case_no"]
    resident.context.close()

    page = tablet
    register_staff(page, live_server, "市民中心窗口", "--role", "clerk", "--department", "police", "--region", "320400")
    page.goto("/console/walk-in")
    page.get_by_label("姓名").fill(WALK_IN[0])
    page.get_by_label("身份证件号码").fill(WALK_IN[1])
    page.get_by_label("已当面核验本人居民身份证原件").check()
    shoot(page, "clerk-01-walk-in-check")
    page.get_by_role("button", name="开始接待").click()
    page.locator(".event-card", has_text="退休").click()
    expect(page.locator("#apply-form")).to_have_attribute("data-layout", "one-page")
    form = api(page, "GET", f"/api/v1/life-events/retirement/form?on_behalf_of={quote(WALK_IN[1])}")
    fill_required_fields(page, form, "武进湖塘织布厂")
    shoot(page, "clerk-02-walk-in-form")
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/console/cases/CZ\d{14}/receipt$"))
    page.goto("/console")
    shoot(page, "clerk-03-queue")

    page.goto(f"/console/cases/{case_no}")
    card = page.locator(".task-card", has_text="出生医学证明签发")
    card.get_by_role("button", name="受理", exact=True).click()
    expect(page.locator(".confirmation")).to_contain_text("已受理：出生医学证明签发")
    shoot(page, "clerk-04-case-confirmation")

    card = page.locator(".task-card", has_text="出生户口登记")
    card.get_by_label(re.compile("^说明")).fill(
        "请补交：\n1. 新生儿父母双方的居民户口簿原件\n2. 父母双方的结婚证原件（电子证照库中未找到）"
    )
    card.get_by_role("button", name="补正告知").click()
    expect(page.locator(".confirmation")).to_contain_text("已发出补正告知：出生户口登记")
    notice = page.locator(".task-card", has_text="出生户口登记").get_by_role("link", name="打印补正告知书")
    page.goto(notice.get_attribute("href") or "")
    page.emulate_media(media="print")
    shoot(page, "clerk-05-supplement-notice-print", full_page=True)
    page.emulate_media(media="screen")


def test_ratings_and_supervision(
    phone: Page, browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    """好差评 and 督办: an elder rates the city's pension office from her phone in 长辈版 (a bad rating, followed up);
    a walk-in rates on the clerk's tablet; the city's hrss supervisor sees the overdue work and the 整改 list."""
    page = phone
    register_resident(page, *RATING_RESIDENT)
    use_display(page, elder=True, text_step=4)
    case_no = file_retirement(page, "screens-rating-1")["case_no"]
    clerk = _context_page(browser, live_server, console_watch, TABLET)
    register_staff(clerk, live_server, "武进评价窗口", "--role", "clerk", "--department", "hrss", "--region", "320412")
    approver = _context_page(browser, live_server, console_watch, TABLET)
    register_staff(
        approver, live_server, "市人社审批", "--role", "approver", "--department", "hrss", "--region", "320400"
    )
    task = next(
        t for t in api(clerk, "GET", "/api/v1/console/tasks") if t["case_no"] == case_no and t["item_name"] == PENSION
    )
    api(clerk, "POST", f"/api/v1/console/tasks/{task['id']}/transition", data={"action": "accept"})
    for action in ("review", "approve", "complete"):
        api(approver, "POST", f"/api/v1/console/tasks/{task['id']}/transition", data={"action": action})

    page.goto(f"/cases/{case_no}")
    card = page.locator(".review-card", has_text=PENSION)
    card.scroll_into_view_if_needed()
    shoot(page, "rating-01-ask-elder", screens=2)
    card.get_by_label("不满意", exact=True).check()
    card.get_by_label("办理时间长").check()
    card.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("status")).to_contain_text("谢谢您的评价")
    page.locator(".review-card", has_text=PENSION).scroll_into_view_if_needed()
    shoot(page, "rating-02-followed-up-elder", screens=2)

    clerk.goto(f"/console/cases/{case_no}")
    clerk.get_by_role("button", name="请办事人评价").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("请您评价本次办理")
    shoot(clerk, "rating-03-window-tablet")

    supervisor = _context_page(browser, live_server, console_watch, TABLET)
    register_staff(
        supervisor, live_server, "市人社督查", "--role", "supervisor", "--department", "hrss", "--region", "320400"
    )
    supervisor.goto("/console/supervision")
    shoot(supervisor, "supervision-01-board", full_page=True)
    supervisor.goto(f"/console/audit?case_no={case_no}")
    shoot(supervisor, "supervision-02-audit", full_page=True)


def _make_overdue(live_server: LiveServer, consultation_id: int) -> None:
    """Move a consultation's date a week back, as if 民政 had let it lapse (the supervisor's list shows it)."""
    import asyncpg

    from tests.database_fixtures import run_sync

    async def run() -> None:
        conn = await asyncpg.connect(live_server.database_url)
        try:
            await conn.execute("UPDATE consultations SET due_on = current_date - 7 WHERE id = $1", consultation_id)
        finally:
            await conn.close()

    run_sync(run())


def test_consultation_between_departments(
    browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch
) -> None:
    """征求意见 and notes, on the back office's 1024 × 768 tablet and a 360 px phone: the 人社 approver's case page with
    a question out to 民政, a note for the resident and an internal one; 民政's console and the page it answers on;
    the answer back on the task; an unanswered one, late, on the supervisor's page."""
    resident = _context_page(browser, live_server, console_watch, PHONE)
    sign_up_with_enrollment_code(resident, live_server, "蔡丽君", "320404198508166641")
    case_no = file_retirement(resident, "screens-consult-1")["case_no"]

    def staff(name: str, viewport: dict[str, int], region: str, *args: str) -> Page:
        page = _context_page(browser, live_server, console_watch, viewport)
        register_staff(page, live_server, name, *args, "--region", region)
        return page

    # 钟楼's hall receives it; 退休 is 市级: the city's 人社 office handles it and asks the city's 民政 office.
    clerk = staff("钟楼窗口", TABLET, "320404", "--role", "clerk", "--department", "hrss")
    hrss = staff("市人社审批征询", TABLET, "320400", "--role", "approver", "--department", "hrss")
    civil = staff("市民政审批征询", TABLET, "320400", "--role", "approver", "--department", "civil_affairs")
    tasks = api(hrss, "GET", f"/api/v1/console/cases/{case_no}")["tasks"]
    task = next(t for t in tasks if t["department"] == "hrss")
    path = f"/api/v1/console/tasks/{task['id']}"
    api(clerk, "POST", f"{path}/transition", data={"action": "accept"})
    api(hrss, "POST", f"{path}/transition", data={"action": "review"})
    api(
        hrss,
        "POST",
        f"{path}/notes",
        data={"text": "请补充提供近三个月的工资流水，可在办件页上传。", "visibility": "resident"},
    )
    api(
        hrss,
        "POST",
        f"{path}/notes",
        data={"text": "档案中参加工作时间与社保记录相差一年，已电话联系原单位核实。", "visibility": "internal"},
    )
    asked = api(
        hrss,
        "POST",
        f"{path}/consultations",
        multipart={
            "department": "civil_affairs",
            "question": "申请人是否在民政部门领取过尊老金或其他补贴？",
            "due_in_days": "3",
            "file": {"name": "蔡丽君参保缴费记录.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"},
        },
    )
    late = api(
        hrss,
        "POST",
        f"{path}/consultations",
        data={"department": "civil_affairs", "question": "申请人的婚姻登记状况？", "due_in_days": 2},
    )

    hrss.goto(f"/console/cases/{case_no}#task-{task['id']}")
    card = hrss.locator(f"#task-{task['id']}")
    card.get_by_text("征求其他部门意见").click()
    card.scroll_into_view_if_needed()
    shoot(hrss, "consult-01-task-card-asking", full_page=True)

    civil.goto("/console")
    shoot(civil, "consult-02-queue-to-answer")
    civil.goto(f"/console/consultations/{asked['id']}")
    civil.get_by_label(re.compile("^本部门意见")).fill("经查，申请人未在民政部门领取尊老金或其他补贴。")
    civil.get_by_label("附件（选填）").set_input_files(
        {"name": "尊老金发放台账查询结果.png", "mimeType": "image/png", "buffer": PNG_1X1}
    )
    shoot(civil, "consult-03-answer-form", full_page=True)
    civil.get_by_role("button", name="答复").click()
    expect(civil.locator(".confirmation")).to_contain_text("已答复")

    hrss.goto(f"/console/cases/{case_no}")  # a new page, not a jump to the fragment of the one shown
    expect(hrss.locator(f"#task-{task['id']} .consultation-answer")).to_be_visible()
    shoot(hrss, "consult-04-task-card-answered", full_page=True)

    # The same pages on a phone.
    hrss_phone = staff("市人社审批手机", PHONE, "320400", "--role", "approver", "--department", "hrss")
    hrss_phone.goto(f"/console/cases/{case_no}#task-{task['id']}")
    hrss_phone.locator(f"#task-{task['id']}").get_by_text("添加说明或内部备注").click()
    shoot(hrss_phone, "consult-05-phone-task-card", full_page=True)
    civil_phone = staff("市民政审批手机", PHONE, "320400", "--role", "approver", "--department", "civil_affairs")
    civil_phone.goto("/console")
    shoot(civil_phone, "consult-06-phone-queue", full_page=True)
    civil_phone.goto(f"/console/consultations/{late['id']}")
    shoot(civil_phone, "consult-07-phone-answer-form", full_page=True)

    _make_overdue(live_server, late["id"])
    supervisor = staff("市民政督查", TABLET, "320400", "--role", "supervisor", "--department", "civil_affairs")
    supervisor.goto("/console/supervision")
    expect(supervisor.get_by_role("heading", name="超期未答复的征求意见")).to_be_visible()
    supervisor.get_by_role("heading", name="超期未答复的征求意见").scroll_into_view_if_needed()
    shoot(supervisor, "consult-08-supervision-late")

    resident.goto(f"/cases/{case_no}")
    shoot(resident, "consult-09-resident-case-page", full_page=True)


async def _year_of_cases(database_url: str) -> int:
    """4,000 invented single-item cases over the last year (bench/store.py), as the benchmark seeds them at scale."""
    cipher = PiiCipher(TEST_SECRET_KEY)
    sealed = seal(cipher, "demo", "演示证照0001", {})
    pool = await create_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            return await create_statistics_data(
                conn,
                4000,
                person_enc=cipher.encrypt("320400190001010000"),
                certificate_number_enc=sealed.number_enc,
                certificate_data_enc=sealed.data_enc,
            )
    finally:
        await pool.close()


def test_public_statistics(browser: Browser, live_server: LiveServer, console_watch: ConsoleWatch) -> None:
    """/stats over a year of invented cases (recounted with `stats-rebuild`): on a phone, on a 1024 px screen, and on
    the phone in 长辈版. Last of the journeys: its cases would otherwise join the clerk's queue above."""
    run_sync(_year_of_cases(live_server.database_url))
    cli(live_server, "stats-rebuild")
    phone = _context_page(browser, live_server, console_watch, PHONE)
    phone.goto("/stats")
    shoot(phone, "stats-01-phone", screens=4)
    wide = _context_page(browser, live_server, console_watch, TABLET)
    wide.goto("/stats")
    shoot(wide, "stats-02-1024", screens=3)
    use_display(phone, elder=True, text_step=1)
    shoot(phone, "stats-03-phone-elder", screens=4)
