"""申请更正 as pages, without JavaScript: from 我的证照 to the question of which certificate, which field and what
is right, each problem in Chinese beside its field; the approver's console shows the certificate and the change side by
side; the window's 窗口收件 offers it for the resident being received; the correction item's 办事指南 points to
我的证照 and is never applied for on its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up
from tests.birth_helpers import IssuedCertificate, act, issued_birth_certificate
from tests.case_helpers import PNG_1X1

pytestmark = pytest.mark.anyio


@pytest.fixture
async def issued(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> IssuedCertificate:
    """张伟, signed in on `client`, holds the 出生医学证明 of his 新生儿出生 with the child's name misspelt 张小宝."""
    return await issued_birth_certificate(client, another_client, pool, settings.secret_key, "corr-pages-1")


async def _post_form(
    client: httpx.AsyncClient, path: str, fields: dict[str, str], files: list[tuple[str, bytes]] | None = None
) -> httpx.Response:
    """A multipart form as a browser posts it, CSRF token in the form."""
    token = (await csrf(client))["X-CSRFToken"]
    upload: Any = [("file", (name, content, "image/png")) for name, content in files or []] or None
    return await client.post(path, data={"_csrf_token": token, **fields}, files=upload)


async def test_a_resident_asks_step_by_step_and_meets_each_problem_beside_its_field(
    client: httpx.AsyncClient, pool: asyncpg.Pool, issued: IssuedCertificate
) -> None:
    desk, case_no, certificate_id = issued.desk, issued.case_no, issued.certificate["id"]
    link = f"/cases/{case_no}/corrections/new?certificate={certificate_id}"
    assert link in (await client.get("/certificates")).text
    assert link in (await client.get(f"/certificates/{certificate_id}")).text
    assert f"/cases/{case_no}/corrections/new" in (await client.get(f"/cases/{case_no}")).text

    chooser = await client.get(f"/cases/{case_no}/corrections/new")
    fields = await client.get(link)
    question = await client.get(f"{link}&field=child.name")

    assert chooser.status_code == 200 and f'value="{certificate_id}"' in chooser.text
    assert "新生儿姓名：<strong>张小宝</strong>" in fields.text and 'value="child.sex"' in fields.text
    assert "证照上现在是“张小宝”" in question.text and 'name="value"' in question.text
    sex = await client.get(f"{link}&field=child.sex")
    assert '<option value="F">女</option>' in sex.text  # a select's options, no typing of codes

    path = f"/cases/{case_no}/corrections"
    refused = await _post_form(
        client, path, {"certificate_id": str(certificate_id), "field": "child.name", "value": "张小宝", "reason": ""}
    )
    assert refused.status_code == 400
    assert "与证照上现在的新生儿姓名（张小宝）相同" in refused.text and "请写明更正原因" in refused.text
    assert 'href="#correction-value"' in refused.text and 'aria-invalid="true"' in refused.text
    unknown = await _post_form(
        client, path, {"certificate_id": str(certificate_id), "field": "mother.id_number", "value": "x", "reason": "x"}
    )
    assert unknown.status_code == 400 and "可以更正：新生儿姓名" in unknown.text

    asked = await _post_form(
        client,
        path,
        {"certificate_id": str(certificate_id), "field": "child.name", "value": "张晓宝", "reason": "医院录入错误"},
        [("出院小结.png", PNG_1X1)],
    )

    assert asked.status_code == 303 and asked.headers["location"] == f"/cases/{case_no}"
    page = (await client.get(f"/cases/{case_no}")).text
    assert "出生医学证明信息更正：已申请" in page and "由“张小宝”更正为“张晓宝”" in page
    evidence = await pool.fetch("SELECT filename, material_code FROM uploads WHERE material_code LIKE 'correction:%'")
    assert [r["filename"] for r in evidence] == ["出院小结.png"]
    again = await _post_form(
        client,
        path,
        {"certificate_id": str(certificate_id), "field": "child.name", "value": "张晓包", "reason": "再改"},
    )
    assert again.status_code == 409 and "已有一项更正申请正在办理" in again.text

    # The approver: the certificate and the change side by side, the evidence one click away.
    task_id = int(re.findall(r"correction:(\d+)", evidence[0]["material_code"])[0])
    assert (await act(desk.clerk, task_id, "accept")).status_code == 200
    console = (await desk.health.get(f"/console/cases/{case_no}")).text
    panel = console[console.index('class="correction-panel"') :]
    assert "原证照" in panel and "申请更正为" in panel and "<strong>张晓宝</strong>" in panel
    assert "医院录入错误" in panel and "出院小结.png" in panel


async def test_someone_elses_certificate_or_case_is_a_404_page(
    issued: IssuedCertificate, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    case_no, certificate_id = issued.case_no, issued.certificate["id"]
    li_na = another_client()
    await sign_up(li_na, new_authenticator(), LI_NA)

    on_his_case = await li_na.get(f"/cases/{case_no}/corrections/new?certificate={certificate_id}")
    posted = await _post_form(
        li_na,
        f"/cases/{case_no}/corrections",
        {"certificate_id": str(certificate_id), "field": "child.name", "value": "张晓宝", "reason": "x"},
    )
    her_own = await li_na.get(f"/cases/{case_no}/corrections/new")

    assert [r.status_code for r in (on_his_case, posted, her_own)] == [404, 404, 404]
    assert "张小宝" not in on_his_case.text + posted.text


async def test_the_window_offers_a_correction_only_during_a_live_check(issued: IssuedCertificate) -> None:
    desk, case_no, certificate_id = issued.desk, issued.case_no, issued.certificate["id"]
    path = f"/console/cases/{case_no}/corrections/new?certificate={certificate_id}"

    unchecked = await desk.clerk.get(path)
    started = await post(desk.clerk, "/api/v1/console/walk-ins", {**ZHANG_WEI, "identity_checked": True})
    assert started.status_code == 201
    walk_in = (await desk.clerk.get("/console/walk-in")).text
    checked = await desk.clerk.get(f"{path}&field=child.sex")

    assert unchecked.status_code == 403
    assert path in walk_in
    assert checked.status_code == 200 and "已在窗口核验原件的可不上传" in checked.text
    asked = await _post_form(
        desk.clerk,
        f"/console/cases/{case_no}/corrections",
        {"certificate_id": str(certificate_id), "field": "child.sex", "value": "F", "reason": "出生时性别登记错误"},
    )
    assert asked.status_code == 303 and asked.headers["location"].startswith(f"/console/cases/{case_no}#task-")
    panel = (await desk.clerk.get(f"/console/cases/{case_no}")).text
    assert "窗口当面申请" in panel and "窗口已当面核验原件" in panel


async def test_a_correction_item_is_asked_for_from_my_certificates_never_on_its_own(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    guide = await client.get("/items/CZ-WJ-001-GZ")
    apply = await client.get("/items/CZ-WJ-001-GZ/apply")
    form = await client.get("/api/v1/items/CZ-WJ-001-GZ/form")

    assert guide.status_code == 200 and 'href="/certificates"' in guide.text and "在线办理" not in guide.text
    assert "承诺办结时限</dt><dd>5个工作日" in guide.text  # its own SLA
    assert (apply.status_code, form.status_code) == (404, 404)
