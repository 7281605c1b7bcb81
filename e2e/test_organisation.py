"""法人办事 in the browser (issue 18): a company's legal representative signs up, switches on 我的 from 个人办事 to
企业办事 for his company, sees it named in a banner on every page and its 企业办件 page, opens a form with the company's
fields filled from the legal-person register (read-only), files for it as its 经办人 and finds the case under 企业办件;
his own draft of a form and the company's are two; he files 企业变更登记 for the company through its form, the
register's values read-only and the new address typed — on a 360 px phone, without sideways scrolling.

The person and the company are this file's own: 钱晓东 (the last demo resident) and a company the operator imports with
`import-organisations` here, as an operator would (黄磊 and 王美芳, who run demo companies, sign up in other e2e files).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from e2e.conftest import LiveServer
from e2e.helpers import cli, fill_step, form_enhanced, next_step, register_resident, upload_required_materials
from e2e.layout import assert_fits
from tests.case_helpers import PNG_1X1, answers_for

OWNER = ("钱晓东", "320411198805120715")
COMPANY = ("91320411MA1Y2W3A4T", "常州晓东智能科技有限公司")
NEW_ADDRESS = "江苏省常州市新北区三井街道龙锦路88号"
HEADER = "credit_code,name,type,legal_rep_id_number,address,region_code,established_on,status\n"


def _import_company(live_server: LiveServer, tmp_path: Path) -> None:
    register = tmp_path / "organisations.csv"
    register.write_text(
        HEADER + f"{COMPANY[0]},{COMPANY[1]},有限责任公司,{OWNER[1]},江苏省常州市新北区三井街道龙锦路1号,"
        "320411,2021-06-08,存续\n",
        encoding="utf-8",
    )
    cli(live_server, "import-organisations", str(register))


def _for_company(page: Page, method: str, path: str, **kwargs: Any) -> Any:
    """Our API, called for the company as the apply page's JS calls it: the X-On-Behalf-Of-Org header."""
    token = next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), "")
    headers = {"X-CSRFToken": token, "X-On-Behalf-Of-Org": COMPANY[0]}
    response = page.request.fetch(path, method=method, headers=headers, **kwargs)
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def _file_for_company(page: Page) -> str:
    form = _for_company(page, "GET", "/api/v1/life-events/business/form")
    uploads = [
        _for_company(
            page,
            "POST",
            "/api/v1/uploads",
            multipart={
                "life_event": "business",
                "material_code": m["code"],
                "file": {"name": "scan.png", "mimeType": "image/png", "buffer": PNG_1X1},
            },
        )["token"]
        for m in form["materials"]["to_upload"]
        if m["required"]
    ]
    body = {"life_event": "business", "data": answers_for(form), "idempotency_key": "e2e-org-0001", "uploads": uploads}
    return _for_company(page, "POST", "/api/v1/cases", data=json.dumps(body))["case_no"]


def test_a_legal_representative_switches_to_his_company_and_files_for_it(
    phone: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    _import_company(live_server, tmp_path)
    register_resident(phone, *OWNER)

    # 我的: 个人办事 until he switches.
    switch = phone.get_by_role("form", name="办事身份")
    expect(switch.get_by_label("个人办事")).to_be_checked()
    assert_fits(phone, "/me with the identity switch")
    switch.get_by_label(f"企业办事：{COMPANY[1]}").check()
    switch.get_by_role("button", name="切换").click()

    expect(phone).to_have_url("/org/cases")
    banner = phone.get_by_role("region", name="当前办事身份")
    expect(banner).to_contain_text(f"企业办事：{COMPANY[1]}")
    expect(phone.get_by_text(COMPANY[0])).to_be_visible()
    expect(phone.get_by_text("该企业还没有办件")).to_be_visible()
    assert_fits(phone, "/org/cases")

    # The form for the company: its fields from the legal-person register, read-only; the banner still names it.
    phone.goto("/life-events/business/apply")
    expect(phone.get_by_role("heading", level=1)).to_have_text("企业开办：以企业身份填写申请表")
    expect(banner).to_be_visible()
    name = phone.locator("#company-name")
    expect(name).to_have_value(COMPANY[1])
    expect(name).to_have_attribute("readonly", "")
    assert_fits(phone, "/life-events/business/apply as the company")

    case_no = _file_for_company(phone)
    phone.goto("/org/cases")
    expect(phone.get_by_text(case_no)).to_be_visible()
    phone.get_by_text(case_no).click()
    expect(phone).to_have_url(f"/cases/{case_no}")

    # His draft as the company's 经办人 and his own draft of the same form are two, here and on the server.
    _type_draft(phone, "13900000001")
    _switch(phone, None)
    phone.goto("/life-events/business/apply")
    expect(phone.locator("#applicant-phone")).not_to_have_value("13900000001")
    _type_draft(phone, "13900000002")
    _switch(phone, COMPANY)
    phone.goto("/life-events/business/apply")
    expect(phone.locator("#applicant-phone")).to_have_value("13900000001")
    kept = phone.evaluate(
        "async () => (await self.ywtbLocal.drafts(document.body.dataset.localKey)).map((d) => [d.key, d.org || null])"
    )
    assert sorted(str(org) for _key, org in kept) == sorted([COMPANY[0], "None"])

    _file_change(phone)

    # Back to 个人办事: the banner goes.
    phone.goto("/org/cases")
    banner.get_by_role("button", name="切换为个人办事").click()
    expect(phone).to_have_url("/me?switched=person#identity-heading")
    expect(banner).to_have_count(0)


def _switch(page: Page, company: tuple[str, str] | None) -> None:
    """我的 › 办事身份: 个人办事, or 企业办事 for the company."""
    page.goto("/me")
    switch = page.get_by_role("form", name="办事身份")
    switch.get_by_label(f"企业办事：{company[1]}" if company else "个人办事").check()
    switch.get_by_role("button", name="切换").click()


def _type_draft(page: Page, phone_number: str) -> None:
    """The 企业开办 form's first step, its phone typed, until the draft is kept on the server."""
    page.goto("/life-events/business/apply")
    phone_field = page.locator("#applicant-phone")
    phone_field.fill(phone_number)
    expect(page.locator("#draft-status")).to_contain_text("已同步", timeout=5000)


def _file_change(page: Page) -> None:
    """企业变更登记 for the company, as its form asks: the register's values read-only, the new address typed."""
    form = _for_company(page, "GET", "/api/v1/life-events/business-change/form")
    types = {field["key"]: field["type"] for section in form["sections"] for field in section["fields"]}
    page.goto("/life-events/business-change/apply")
    expect(page.get_by_role("heading", level=1)).to_have_text("企业变更登记：以企业身份填写申请表")
    address = page.locator("#change-address")
    form_enhanced(page)
    while True:
        if page.locator("#company-credit_code").is_visible():
            expect(page.locator("#company-credit_code")).to_have_value(COMPANY[0])
            expect(page.locator("#company-name")).to_have_attribute("readonly", "")
            assert_fits(page, "企业变更登记: the company's step, from the register")
        if address.is_visible():
            address.fill(NEW_ADDRESS)
            assert_fits(page, "企业变更登记: 变更事项")
        if not page.get_by_role("button", name="下一步").is_visible():
            break
        fill_step(page, types)
        next_step(page)
    upload_required_materials(page, form)
    page.get_by_role("button", name="提交申请").click()
    expect(page).to_have_url(re.compile(r"/cases/CZ\d+/receipt$"))
    case_no = page.url.split("/")[-2]
    page.goto("/org/cases")
    expect(page.get_by_text(case_no)).to_be_visible()
