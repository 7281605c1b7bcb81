"""未送达 on the console: a 不予受理 that neither push nor a text delivered is listed for the window clerk, who phones
the resident and records it; the notice leaves the list, and the resident's case page says it reached them by phone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from db.pool import create_pool
from e2e.conftest import LiveServer
from e2e.helpers import file_retirement, register_staff, sign_up_with_enrollment_code
from push import arrival
from tests.database_fixtures import run_sync

# No phone on the register, no push device: the refusal is texted at once, to the number on the form.
RESIDENT = ("钱立新", "320402197203142115")
REASON = "该事项需由用人单位申报，请联系单位人事部门办理"


async def _the_gateway_refuses_the_number(database_url: str, case_no: str) -> None:
    """What the worker leaves when the SMS gateway answers that the number cannot be texted (sms.delivery), then
    tells the notice (push.arrival.after_text): the browser test has no worker or gateway of its own."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        message_id = await pool.fetchval("SELECT sms_message_id FROM notice_arrivals WHERE case_no = $1", case_no)
        assert message_id is not None
        await pool.execute(
            "UPDATE sms_messages SET status = 'permanent-failure', attempts = 1, "
            "last_error = 'isv.MOBILE_NUMBER_ILLEGAL: 号码无法接收短信' WHERE id = $1",
            message_id,
        )
        await arrival.after_text(pool, message_id)
    finally:
        await pool.close()


def test_a_clerk_phones_a_resident_no_channel_reached_and_the_notice_leaves_the_list(
    phone: Page, tablet: Page, live_server: LiveServer
) -> None:
    sign_up_with_enrollment_code(phone, live_server, *RESIDENT)
    case_no = file_retirement(phone, "e2e-undelivered-1")["case_no"]

    clerk = tablet
    register_staff(clerk, live_server, "韩窗口", "--role", "clerk", "--department", "hrss", "--region", "320402")
    clerk.goto(f"/console/cases/{case_no}")
    pension = clerk.locator(".task-card", has_text="企业职工基本养老保险退休申请")
    pension.get_by_label(re.compile("^说明")).fill(REASON)
    pension.get_by_role("button", name="不予受理", exact=True).click()
    expect(clerk.locator(".task-card", has_text="企业职工基本养老保险退休申请")).to_contain_text("不予受理")

    run_sync(_the_gateway_refuses_the_number(live_server.database_url, case_no))

    clerk.goto("/console")
    box = clerk.locator("#undelivered")
    expect(box.get_by_role("heading")).to_contain_text("未送达的通知")
    expect(box).to_contain_text("号码无法接收短信")
    box.get_by_role("link", name=case_no).click()
    notice = clerk.locator(".notice-card", has_text="不予受理")
    expect(notice).to_contain_text("未送达")
    expect(notice.get_by_label("电话告知")).to_be_checked()
    notice.get_by_label("说明").fill("已与本人通话，告知向单位申报")
    notice.get_by_role("button", name="记录已告知").click()

    notice = clerk.locator(".notice-card", has_text="不予受理")
    expect(notice).to_contain_text("已送达")
    expect(notice).to_contain_text("电话")
    expect(notice).to_contain_text("已与本人通话")
    expect(notice.get_by_role("button", name="记录已告知")).to_have_count(0)
    clerk.goto("/console")
    expect(clerk.locator("#undelivered").get_by_role("link", name=case_no)).to_have_count(0)

    phone.goto(f"/cases/{case_no}")
    delivered = phone.locator(".notice-delivery", has_text="不予受理")
    expect(delivered).to_contain_text("已送达")
    expect(delivered).to_contain_text("电话")
    expect(phone.locator(".timeline")).to_contain_text("已电话告知申请人")
