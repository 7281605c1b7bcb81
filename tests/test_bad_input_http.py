"""Hostile input is a 400 naming the field, never a 500: a NUL byte in a path, query, form or JSON string (PostgreSQL
refuses NUL in text), an integer past what a column holds, JSON nested thousands deep, a session cookie we never made.
Pages get the error page, the API the FieldErrors shape {"detail", "errors": {field: message}}."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import litestar.connection.base
import pytest

from app.main import create_app
from app.web.input_checks import refuse_unstorable_input
from config.settings import Settings, load_settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_up, staff_client_sign_up
from tests.case_helpers import PNG_1X1

Client = httpx.AsyncClient
BIG = 2**63  # one past the largest bigint


def test_every_route_checks_its_input_first(tmp_path: Path) -> None:
    # A controller declaring its own before_request would replace the app's (Litestar takes the nearest one).
    app = create_app(load_settings({"DATA_DIR": str(tmp_path)}))
    unchecked = [
        f"{route.path} {sorted(handler.http_methods)}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if hasattr(handler, "http_methods") and handler.resolve_before_request() is not refuse_unstorable_input
    ]
    assert unchecked == []


def assert_names_field(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    body = response.json()
    assert field in body["errors"], body
    assert not body["errors"][field].isascii(), body  # a Chinese message saying what to fix
    assert field in body["detail"], body


def assert_error_page_names_field(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert field in response.text
    assert "空字符" in response.text or "超出范围" in response.text


async def signed_in_resident(client: Client) -> dict[str, str]:
    response = await sign_up(client, new_authenticator(), ZHANG_WEI)
    assert response.status_code == 201, response.text
    return await csrf(client)


async def test_nul_in_a_json_body_string_is_a_400_naming_the_field(client: Client) -> None:
    headers = await signed_in_resident(client)
    draft = {"data": {"child.name": "小\x00明"}, "version": 0, "form_checksum": "x"}
    assert_names_field(await client.put("/api/v1/drafts/birth", json=draft, headers=headers), "data.child.name")
    passkeys = (await client.get("/api/v1/me/passkeys")).json()
    rename = await client.patch(f"/api/v1/me/passkeys/{passkeys[0]['id']}", json={"name": "手机\x00"}, headers=headers)
    assert_names_field(rename, "name")


async def test_nul_in_a_json_key_is_a_400(client: Client) -> None:
    headers = await signed_in_resident(client)
    draft = {"data": {"child\x00name": "小明"}, "version": 0, "form_checksum": "x"}
    response = await client.put("/api/v1/drafts/birth", json=draft, headers=headers)
    assert_names_field(response, "data")


async def test_nul_in_a_query_parameter_is_a_400_naming_it(client: Client) -> None:
    assert_names_field(await client.get("/api/v1/regions", params={"parent": "3204\x00"}), "parent")
    assert_names_field(await client.get("/api/v1/items/search", params={"q": "出生\x00"}), "q")
    assert_names_field(await client.get("/api/v1/regions?par%00ent=320400"), "parent")  # in the name itself
    # A page: the error page, naming the parameter.
    assert_error_page_names_field(await client.get("/scan/case", params={"no": "CZ\x00"}), "no")


async def test_a_request_without_a_query_string_has_none_parsed(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Most requests have none: the check costs them no parse (and no copy of nothing into a MultiDict).
    def refused(query_string: bytes) -> tuple[tuple[str, str], ...]:
        raise AssertionError(f"parsed {query_string!r}")

    monkeypatch.setattr(litestar.connection.base, "parse_query_string", refused)
    assert (await client.get("/api/v1/track/" + "y" * 32)).status_code == 404
    assert (await client.get("/api/v1/regions")).status_code == 200


async def test_nul_in_a_path_parameter_is_a_400_naming_it(client: Client) -> None:
    assert_names_field(await client.get("/api/v1/life-events/birth%00/form"), "code")
    assert_names_field(await client.get("/api/v1/track/abc%00def"), "token")
    assert_error_page_names_field(await client.get("/life-events/birth%00"), "code")
    assert_error_page_names_field(await client.get("/static/js/app%00.js"), "file_path")
    await signed_in_resident(client)
    assert_error_page_names_field(await client.get("/cases/CZ2026%00"), "case_no")


async def test_nul_in_a_form_post_is_a_400_naming_the_field(client: Client) -> None:
    token = (await csrf(client))["X-CSRFToken"]
    response = await client.post("/preferences", data={"elder_mode": "1", "next": "/cases\x00", "_csrf_token": token})
    assert_error_page_names_field(response, "next")


async def test_nul_in_a_multipart_field_or_file_name_is_a_400_naming_it(client: Client) -> None:
    headers = await signed_in_resident(client)
    scan = {"file": ("scan.png", PNG_1X1, "image/png")}
    upload = await client.post(
        "/api/v1/uploads", data={"life_event": "birth", "material_code": "m\x00"}, files=scan, headers=headers
    )
    assert_names_field(upload, "material_code")
    # A raw NUL in the file's name (httpx, like browsers, would escape it: a hand-made request).
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    material = form["materials"]["to_upload"][0]["code"].encode()
    body = (
        b'--b\r\nContent-Disposition: form-data; name="life_event"\r\n\r\nbirth\r\n'
        b'--b\r\nContent-Disposition: form-data; name="material_code"\r\n\r\n' + material + b"\r\n"
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="scan\x00.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + PNG_1X1 + b"\r\n--b--\r\n"
    )
    upload = await client.post(
        "/api/v1/uploads", content=body, headers={**headers, "content-type": "multipart/form-data; boundary=b"}
    )
    assert_names_field(upload, "file")
    # The form posted without JavaScript (its CSRF token a form field, so the form is read before the route).
    fields = {"child.name": "小\x00明", "_csrf_token": headers["X-CSRFToken"]}
    page = await client.post("/life-events/birth/apply", data=fields, files=scan)
    assert_error_page_names_field(page, "child.name")


async def test_an_integer_beyond_bigint_in_a_json_body_is_a_400_naming_the_field(client: Client) -> None:
    headers = await signed_in_resident(client)
    draft = {"data": {}, "version": BIG, "form_checksum": "x"}
    assert_names_field(await client.put("/api/v1/drafts/birth", json=draft, headers=headers), "version")
    draft = {"data": {"child.weight": -BIG - 1}, "version": 0, "form_checksum": "x"}
    assert_names_field(await client.put("/api/v1/drafts/birth", json=draft, headers=headers), "data.child.weight")


async def test_a_draft_version_past_what_its_column_holds_is_a_400(client: Client) -> None:
    headers = await signed_in_resident(client)
    draft = {"data": {}, "version": 2**31, "form_checksum": "x"}
    response = await client.put("/api/v1/drafts/birth", json=draft, headers=headers)
    assert response.status_code == 400, response.text
    assert "version" in response.json()["errors"]


async def test_an_integer_beyond_bigint_in_a_path_is_never_a_500(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    headers = await signed_in_resident(client)
    assert_error_page_names_field(await client.get(f"/notifications/{BIG}"), "entry_id")
    assert_names_field(await client.delete(f"/api/v1/me/passkeys/{BIG}", headers=headers), "passkey_id")
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    response = await clerk.post(
        f"/api/v1/console/tasks/{BIG}/transition", json={"action": "accept"}, headers=await csrf(clerk)
    )
    assert_names_field(response, "task_id")


async def test_json_nested_ten_thousand_deep_is_a_400_at_once(client: Client) -> None:
    headers = await signed_in_resident(client)
    for opening, closing in ((b"[", b"]"), (b'{"a":', b"}")):
        deep = opening * 10_000 + b"1" + closing * 10_000
        body = b'{"data":{"x":' + deep + b'},"version":0,"form_checksum":"x"}'
        started = time.monotonic()
        response = await client.put(
            "/api/v1/drafts/birth", content=body, headers={**headers, "content-type": "application/json"}
        )
        assert time.monotonic() - started < 1
        assert response.status_code == 400, response.text
        assert "嵌套" in response.json()["detail"]


async def test_json_nested_moderately_deep_is_refused_too(client: Client) -> None:
    # Deep enough for a slow walk further on (a few hundred levels), still well under Python's recursion limit.
    headers = await signed_in_resident(client)
    body = b'{"data":{"x":' + b"[" * 300 + b"]" * 300 + b'},"version":0,"form_checksum":"x"}'
    response = await client.put(
        "/api/v1/drafts/birth", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert_names_field(response, "data")


async def test_a_session_cookie_we_never_made_is_no_session(another_client: Callable[[], Client]) -> None:
    visitor = another_client()
    for planted in ("%00", "a%00b", "x" * 500):
        home = await visitor.get("/", headers={"cookie": f"ywtb_session={planted}"})
        assert home.status_code == 200
        me = await visitor.get("/me", headers={"cookie": f"ywtb_session={planted}"})
        assert me.status_code == 303 and me.headers["location"].startswith("/login")


async def test_ordinary_input_still_works(client: Client) -> None:
    headers = await signed_in_resident(client)
    draft = {"data": {"child.name": "小明", "child.weight": 3200, "siblings": [{"name": "小红"}]}, "version": 0}
    response = await client.put("/api/v1/drafts/birth", json={**draft, "form_checksum": "x"}, headers=headers)
    assert response.status_code in (200, 409), response.text
    assert (await client.get("/api/v1/regions", params={"parent": "320400"})).status_code == 200
    assert (await client.get("/life-events/birth")).status_code == 200
