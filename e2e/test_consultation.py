"""征求意见 and an internal note in the browser: the 人社 approver asks 民政 from the task card with a PDF attached and
leaves an internal note, the 民政 approver finds the question on their console, downloads the PDF and answers with a
photo attached, the asking task shows the answer and its photo downloads there — and the resident's own case page
shows none of it, nor can the resident fetch the files."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import TABLET, LiveServer
from e2e.helpers import api, file_retirement, register_staff, sign_up_with_enrollment_code
from e2e.test_accessibility import violations
from tests.case_helpers import PNG_1X1

RESIDENT = ("邹志明", "320412197005031732")  # 武进区; no other e2e file signs him up
QUESTION = "申请人是否在民政部门领取过尊老金？"
ANSWER = "经查，申请人未领取尊老金。"
INTERNAL = "档案中参加工作时间与社保记录相差一年，已电话核实"
PDF_NAME, PDF = "参保缴费记录.pdf", "%PDF-1.4\n% 参保缴费记录\n%%EOF\n".encode()
PNG_NAME = "尊老金发放台账.png"


def _downloaded(page: Page, link_name: str) -> tuple[str, bytes]:
    """Click the file's link; what the browser saves: its suggested name and its bytes."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    download = info.value
    path = download.path()
    assert path is not None, download.failure()
    return download.suggested_filename, path.read_bytes()


def _staff(browser: Browser, live_server: LiveServer, name: str, region: str, *args: str) -> Page:
    page = browser.new_context(base_url=live_server.url, viewport=TABLET, locale="zh-CN").new_page()
    register_staff(page, live_server, name, *args, "--region", region)
    return page


def test_an_approver_asks_another_department_which_answers_and_the_resident_sees_none_of_it(
    phone: Page, browser: Browser, live_server: LiveServer
) -> None:
    sign_up_with_enrollment_code(phone, live_server, *RESIDENT)
    case_no = file_retirement(phone, "e2e-consult-1")["case_no"]
    # 武进's hall receives it; 退休 is a 市级 item, so the city's 人社 office asks the city's 民政 office.
    clerk = _staff(browser, live_server, "武进窗口征询", "320412", "--role", "clerk", "--department", "hrss")
    hrss = _staff(browser, live_server, "市人社审批征询", "320400", "--role", "approver", "--department", "hrss")
    civil = _staff(
        browser, live_server, "市民政审批征询", "320400", "--role", "approver", "--department", "civil_affairs"
    )
    task = next(t for t in api(hrss, "GET", f"/api/v1/console/cases/{case_no}")["tasks"] if t["department"] == "hrss")
    api(clerk, "POST", f"/api/v1/console/tasks/{task['id']}/transition", data={"action": "accept"})
    api(hrss, "POST", f"/api/v1/console/tasks/{task['id']}/transition", data={"action": "review"})

    hrss.goto(f"/console/cases/{case_no}")
    card = hrss.locator(f"#task-{task['id']}")
    card.get_by_text("征求其他部门意见").click()
    card.get_by_label("征求意见的部门").select_option("civil_affairs")
    card.get_by_label(re.compile("^问题")).fill(QUESTION)
    card.get_by_label("附件（选填）").set_input_files({"name": PDF_NAME, "mimeType": "application/pdf", "buffer": PDF})
    card.get_by_role("button", name="发出征求意见").click()
    expect(hrss.locator(".confirmation")).to_contain_text("已发出征求意见")
    card = hrss.locator(f"#task-{task['id']}")
    expect(card.locator(".consultation")).to_contain_text("待答复")
    expect(card.locator(".consultation-files")).to_contain_text(PDF_NAME)

    card.get_by_text("添加说明或内部备注").click()
    card.get_by_label("内容", exact=True).fill(INTERNAL)  # 内部备注 is the default: the resident does not read it
    card.get_by_role("button", name="保存").click()
    expect(hrss.locator(".confirmation")).to_contain_text("已添加内部备注")
    expect(hrss.locator(f"#task-{task['id']} .history-note.is-internal")).to_contain_text(INTERNAL)
    assert violations(hrss) == []

    civil.goto("/console")
    civil.get_by_role("link", name=re.compile(case_no)).click()
    expect(civil.locator(".consultation-question")).to_have_text(QUESTION)
    assert violations(civil) == []
    assert _downloaded(civil, PDF_NAME) == (PDF_NAME, PDF)
    civil.get_by_label(re.compile("^本部门意见")).fill(ANSWER)
    civil.get_by_label("附件（选填）").set_input_files({"name": PNG_NAME, "mimeType": "image/png", "buffer": PNG_1X1})
    civil.get_by_role("button", name="答复").click()
    expect(civil.locator(".confirmation")).to_contain_text("已答复")
    expect(civil.locator(".consultation-answer")).to_have_text(ANSWER)
    expect(civil.get_by_role("link", name=PNG_NAME)).to_be_visible()

    hrss.goto(f"/console/cases/{case_no}")
    expect(hrss.locator(f"#task-{task['id']} .consultation-answer")).to_contain_text(ANSWER)
    assert _downloaded(hrss, PNG_NAME) == (PNG_NAME, PNG_1X1)
    file_urls = [
        a["url"]
        for a in api(hrss, "GET", f"/api/v1/console/cases/{case_no}")["consultations"][str(task["id"])][0][
            "attachments"
        ]
    ]

    phone.goto(f"/cases/{case_no}")
    expect(phone.get_by_role("heading", name="办理记录")).to_be_visible()
    text = phone.locator("main").inner_text()
    assert QUESTION not in text and ANSWER not in text and INTERNAL not in text and "征求" not in text
    assert PDF_NAME not in text and PNG_NAME not in text
    for url in file_urls:  # the addresses are refused to the resident, on their own case
        assert phone.request.get(url).status == 403
        assert phone.request.get(url.removeprefix("/api/v1")).status == 403  # the console's address of it too

    # The 民政 approver's session lapses with the page open: the file's link leads to sign-in, then back to the file
    # (the page links the console's address of it; the API's would have been saved as a JSON 401).
    civil.context.clear_cookies()
    civil.get_by_role("link", name=PNG_NAME).click()
    expect(civil).to_have_url(re.compile(r"/login\?next=/console/consultations/\d+/attachments/\d+$"))
