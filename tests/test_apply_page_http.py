"""The merged form page over HTTP: rendered from the merged form, checked field by field, and posted without JS."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.forms.answers import FieldAnswer
from app.forms.presenter import dom_id
from auth.pii import PiiCipher
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_up
from tests.case_helpers import PNG_1X1, answers_for, upload_required_materials
from tests.database_fixtures import TEST_SECRET_KEY

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
LEIDA = "91320411MA1T4U5W2G"  # 常州磊达电子科技有限公司, 黄磊 its legal representative


class _Inputs(HTMLParser):
    """Every named input, select and textarea of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"input", "select", "textarea"}:
            self.controls.append({"tag": tag, **dict(attrs)})


def _controls(html: str) -> list[dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(html)
    return parser.controls


def _named(html: str, name: str) -> dict[str, str | None]:
    matches = [c for c in _controls(html) if c.get("name") == name]
    assert len(matches) == 1, f"{name}: {len(matches)} inputs"
    return matches[0]


def _prefill_value(form: dict[str, Any], key: str) -> str:
    fields = {f["key"]: f for s in form["sections"] for f in s["fields"]}
    return fields[key]["prefill"]["value"]


async def _signed_in_form(client: Client) -> dict[str, Any]:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    return (await client.get("/api/v1/life-events/birth/form")).json()


def _multipart_answers(form: dict[str, Any]) -> dict[str, str]:
    """What a browser posts: text for every answer, "true" for a ticked checkbox."""
    return {key: "true" if value is True else str(value) for key, value in answers_for(form).items()}


async def test_the_page_renders_every_field_once_with_prefill_and_held_materials(client: Client) -> None:
    form = await _signed_in_form(client)
    response = await client.get("/life-events/birth/apply")
    assert response.status_code == 200
    html = response.text
    assert response.headers["cache-control"] == "no-store"
    assert html.count("<fieldset") == len(form["sections"]) + 1  # the materials are the last step
    for section in form["sections"]:
        # Each section's title is its group's legend and a heading (trained staff see the form on one page).
        assert f'<legend><h2 class="apply-step-title">{section["title"]}</h2></legend>' in html
        for field in section["fields"]:
            control = _named(html, field["key"])
            field_id = field["key"].replace(".", "-")
            assert control["id"] == field_id
            assert f'for="{field_id}"' in html
            assert f"{field_id}-error" in (control["aria-describedby"] or "")
            assert f'id="{field_id}-error"' in html
            if field["type"] == "select":
                assert all(f'value="{option["value"]}"' in html for option in field["options"])
    assert _named(html, "applicant.name")["value"] == "张伟"
    assert _named(html, "household.address")["value"] == _prefill_value(form, "household.address")
    assert "来自：电子证照：居民户口簿" in html and "来自：人口基础库" in html
    # The applicant's own number: masked, read-only and grouped 6-8-4; the server takes it from the account.
    own = _named(html, "applicant.id_number")
    assert own["value"] == "320402 ******** 0119" and "readonly" in own
    assert ZHANG_WEI["id_number"] not in html
    for held in form["materials"]["held"]:
        assert held["name"] in html and held["number_masked"] in html
        assert f"materials.{held['code']}" not in html  # never asked for
    assert html.count("无需提交") >= len(form["materials"]["held"])
    for need in form["materials"]["to_upload"]:
        upload = _named(html, f"materials.{need['code']}")
        assert upload["type"] == "file" and upload["accept"] == ".pdf,.jpg,.jpeg,.png"
    for issued in form["materials"]["issued_in_case"]:
        assert issued["name"] in html
    assert "办理过程中自动生成" in html
    assert re.search(r'name="idempotency_key" value="[A-Za-z0-9_-]{16,}"', html)


async def test_every_life_event_asks_each_of_its_fields_once(client: Client) -> None:
    """Every life event's page names each field of its form once; those filed only for an organisation (企业变更登记,
    企业注销) as its legal representative acting for it (黄磊, 常州磊达电子科技有限公司)."""
    await sign_up(client, new_authenticator(), {"name": "黄磊", "id_number": "320411198309093113"})
    events = (await client.get("/api/v1/life-events")).json()
    assert len(events) >= 6
    for event in events:
        company = any(item["for_organisation"] for item in event["items"])
        if company:
            await client.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(client))
        headers = {"X-On-Behalf-Of-Org": LEIDA} if company else {}
        form = (await client.get(f"/api/v1/life-events/{event['code']}/form", headers=headers)).json()
        html = (await client.get(f"/life-events/{event['code']}/apply")).text
        for field in (f for section in form["sections"] for f in section["fields"]):
            _named(html, field["key"])
        if company:
            await client.post("/org/switch", data={"uscc": ""}, headers=await csrf(client))


async def test_a_checkbox_posts_true_and_shows_its_state(app: Litestar) -> None:
    template = app.template_engine.engine.get_template("partials/apply_field.html")  # type: ignore[union-attr]
    page = SimpleNamespace(
        event=SimpleNamespace(code="demo"),
        values={},
        errors={},
        read_only=frozenset(),
        today="2026-01-01",
        may_be_own={},
        same_as={},
    )
    field = FieldAnswer(key="consent.truthful", label="本人承诺所填信息真实", type="checkbox", required=True)
    unticked = _named(template.render(f=field, page=page, dom_id=dom_id), "consent.truthful")
    assert unticked["type"] == "checkbox" and unticked["value"] == "true" and "checked" not in unticked
    page.values = {"consent.truthful": "true"}
    ticked = _named(template.render(f=field, page=page, dom_id=dom_id), "consent.truthful")
    assert "checked" in ticked and ticked["id"] == "consent-truthful"


async def test_anonymous_visitors_are_sent_to_sign_in_and_unknown_events_are_404(client: Client) -> None:
    response = await client.get("/life-events/birth/apply")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/life-events/birth/apply"
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    missing = await client.get("/life-events/nope/apply")
    assert missing.status_code == 404
    assert "没有找到这件事" in missing.text


async def test_check_answers_one_fields_error_in_chinese(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    headers = {**await csrf(client), "HX-Request": "true"}
    url = "/life-events/birth/check"
    bad = await client.post(
        url, params={"field": "mother.id_number"}, data={"mother.id_number": "320402199506180127"}, headers=headers
    )
    assert bad.status_code == 200
    assert 'id="mother-id_number-error"' in bad.text and "校验位" in bad.text and "hidden" not in bad.text
    good = await client.post(
        url, params={"field": "mother.id_number"}, data={"mother.id_number": "320402199506180126"}, headers=headers
    )
    assert good.status_code == 200
    assert 'id="mother-id_number-error"' in good.text and "hidden" in good.text
    assert re.search(r">\s*</p>", good.text)
    # An empty required field (the browser sends the name with no value) and a future date.
    empty = await client.post(url, params={"field": "child.name"}, data={"child.name": ""}, headers=headers)
    assert "请填写新生儿姓名" in empty.text
    future = await client.post(
        url, params={"field": "child.birth_date"}, data={"child.birth_date": "2999-01-01"}, headers=headers
    )
    assert "不能晚于今天" in future.text
    unknown = await client.post(url, params={"field": "nope"}, data={}, headers=headers)
    assert unknown.status_code == 404


async def test_a_step_is_checked_with_the_submissions_rules_and_reports_only_its_own_fields(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    url = "/life-events/birth/check-step"
    parents = ["mother.name", "mother.id_number", "mother.phone", "father.name", "father.id_number"]
    answers = {"child.relationship": "guardian", "mother.name": "李娜", "mother.id_number": "320402199506180127"}
    checked = await client.post(url, json={"fields": parents, "data": answers}, headers=await csrf(client))
    assert checked.status_code == 200
    assert checked.json()["errors"] == {
        "mother.id_number": "身份证号码校验位不正确，请核对号码，可能有一位输错或两位顺序颠倒",
        "mother.phone": "请填写母亲手机号码",
        "father.name": "请填写父亲姓名",
        "father.id_number": "请填写父亲公民身份号码",
    }  # not child.name, missing too: another step's
    # 申请人是母亲: her fields are taken from the applicant at submission, not asked on this step.
    mother = {
        **answers,
        "child.relationship": "mother",
        "father.name": "张伟",
        "father.id_number": ZHANG_WEI["id_number"],
    }
    own = await client.post(url, json={"fields": parents, "data": mother}, headers=await csrf(client))
    assert own.json()["errors"] == {}
    assert (await client.post(url, json={"fields": [], "data": {}}, headers=await csrf(client))).json() == {
        "errors": {}
    }
    refused = await client.post(url, json={"fields": parents, "data": answers})
    assert refused.status_code == 403  # no CSRF token
    junk = await client.post(url, json={"fields": "child.name", "data": []}, headers=await csrf(client))
    assert junk.status_code == 400
    assert (
        await client.post("/life-events/nope/check-step", json={"fields": [], "data": {}}, headers=await csrf(client))
    ).status_code == 404


async def test_the_applicants_own_party_is_filled_from_the_account_whatever_was_sent(
    client: Client, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    data = {**answers_for(form), "child.relationship": "father", "father.name": "别人", "father.id_number": ""}
    body = {"life_event": "birth", "data": data, "idempotency_key": "own-party-0001"}
    body["uploads"] = await upload_required_materials(client, "birth", form)
    created = await client.post("/api/v1/cases", json=body, headers=await csrf(client))
    assert created.status_code == 201, created.text
    sealed = await pool.fetchval("SELECT data_enc FROM cases WHERE case_no = $1", created.json()["case_no"])
    stored = PiiCipher(TEST_SECRET_KEY).decrypt_document(sealed)
    assert stored["child.relationship"] == "father"
    assert (stored["father.name"], stored["father.id_number"]) == (ZHANG_WEI["name"], ZHANG_WEI["id_number"])
    page = await client.post(
        "/life-events/birth/apply",
        data={
            **_multipart_answers(form),
            "child.relationship": "father",
            "child.name": "",
            "idempotency_key": "own-party-0002",
        },
        headers=await csrf(client),
    )
    # Re-shown after an error: the father's fields are the applicant's, read-only, the number grouped.
    assert page.status_code == 400
    father = _named(page.text, "father.id_number")
    assert father["value"] == "320402 ******** 0119" and "readonly" in father and "data-bound" in father
    assert "与申请人相同，已自动填写" in page.text


async def test_posting_the_form_without_javascript_makes_a_case_and_shows_the_receipt(
    client: Client, pool: asyncpg.Pool
) -> None:
    form = await _signed_in_form(client)
    page = (await client.get("/life-events/birth/apply")).text
    key = _named(page, "idempotency_key")["value"]
    fields = {**_multipart_answers(form), "idempotency_key": key, "_csrf_token": client.cookies["csrftoken"]}
    fields["applicant.id_number"] = "320402********0119"  # what the read-only input posts
    files = [
        (f"materials.{need['code']}", ("scan.png", PNG_1X1, "image/png")) for need in form["materials"]["to_upload"]
    ]
    response = await client.post("/life-events/birth/apply", data=fields, files=files)
    assert response.status_code == 303, response.text
    case_no = await pool.fetchval("SELECT case_no FROM cases")
    assert response.headers["location"] == f"/cases/{case_no}/receipt"
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE case_id IS NOT NULL") == len(files)
    # Posting the same page again (a double tap, the back button) is the same case.
    again = await client.post("/life-events/birth/apply", data=fields, files=files)
    assert again.status_code == 303 and again.headers["location"] == response.headers["location"]
    assert await pool.fetchval("SELECT count(*) FROM cases") == 1


async def test_a_bad_post_shows_the_page_again_with_errors_and_keeps_what_was_typed(
    client: Client, pool: asyncpg.Pool
) -> None:
    form = await _signed_in_form(client)
    fields = _multipart_answers(form)
    # Filed by a guardian, so the mother's fields are asked (a mother's would be her own, from her account).
    fields["child.relationship"] = "guardian"
    fields.update({"mother.id_number": "320402199506180127", "child.name": "", "mother.phone": "1234"})
    fields["idempotency_key"] = "key-for-a-bad-post-1"
    first, *others = form["materials"]["to_upload"]
    files = [
        (f"materials.{first['code']}", ("notes.txt", b"plain text", "text/plain")),
        (f"materials.{others[0]['code']}", ("scan.png", PNG_1X1, "image/png")),
    ]
    response = await client.post("/life-events/birth/apply", data=fields, files=files, headers=await csrf(client))
    assert response.status_code == 400
    html = response.text
    assert "请修改以下内容" in html and "<title>错误：" in html
    assert 'href="#mother-id_number"' in html and "校验位" in html
    assert "请填写新生儿姓名" in html and "手机号码" in html
    assert "只能上传 PDF、JPG 或 PNG 文件" in html
    assert _named(html, "mother.phone")["value"] == "1234"
    assert _named(html, "mother.id_number")["aria-invalid"] == "true"
    assert _named(html, "idempotency_key")["value"] == "key-for-a-bad-post-1"
    # The good file is kept for the next post, so it need not be chosen again.
    kept = _named(html, f"uploaded.{others[0]['code']}")["value"]
    assert kept and "已上传：scan.png" in html
    assert not _named(html, f"uploaded.{first['code']}")["value"]
    assert await pool.fetchval("SELECT count(*) FROM cases") == 0

    # Fixed, with the remaining files: the kept upload counts, and the case is made.
    fixed = _multipart_answers(form)
    fixed.update({"idempotency_key": "key-for-a-bad-post-1", f"uploaded.{others[0]['code']}": kept})
    rest = [first, *others[1:]]
    files = [(f"materials.{need['code']}", ("scan.pdf", b"%PDF-1.4 demo", "application/pdf")) for need in rest]
    done = await client.post("/life-events/birth/apply", data=fixed, files=files, headers=await csrf(client))
    assert done.status_code == 303, done.text
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE case_id IS NOT NULL") == len(
        form["materials"]["to_upload"]
    )


async def test_missing_materials_and_junk_never_give_a_500(client: Client) -> None:
    form = await _signed_in_form(client)
    headers = await csrf(client)
    no_files = await client.post(
        "/life-events/birth/apply",
        data={**_multipart_answers(form), "idempotency_key": "x"},
        files={"unrelated": ("a.png", PNG_1X1, "image/png")},
        headers=headers,
    )
    assert no_files.status_code == 400
    # The applicant's own are asked for; the parents' (a number typed for each) wait for their consent instead.
    own = [need for need in form["materials"]["to_upload"] if need["about"] == "applicant"]
    assert own and all(f"请上传“{need['name']}”" in no_files.text for need in own)
    junk = await client.post(
        "/life-events/birth/apply",
        data={"child.name": ["甲", "乙"], "uploaded.CZ-GA-001:settle_declaration": "../../etc"},
        files={"materials.CZ-GA-001:settle_declaration": ("", b"", "application/octet-stream")},
        headers=headers,
    )
    assert junk.status_code == 400
    assert _named(junk.text, "child.name")["value"] == "乙"
    unknown = await client.post(
        "/life-events/nope/apply", data={"a": "b"}, files={"f": ("a.png", PNG_1X1, "image/png")}, headers=headers
    )
    assert unknown.status_code == 404
