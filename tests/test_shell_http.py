"""The installable app over HTTP: the manifest, the service worker script and its version, the offline page,
the QR scanner page and its case-number fallback, and 长辈版 remembered per device and per account."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import asyncpg
import httpx

from app.shell.service import PWA_DIR, ServiceWorker
from app.web.assets import StaticAssets
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, csrf, new_authenticator, sign_in, sign_out, sign_up, staff_client_sign_up

CASE_NO = "CZ20261126000123"


async def test_the_manifest_makes_the_app_installable(client: httpx.AsyncClient) -> None:
    response = await client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == "常州一网通办"
    assert manifest["short_name"] and len(manifest["short_name"]) <= 12
    assert manifest["lang"] == "zh-CN"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    pngs = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(pngs)
    for src in pngs.values():
        icon = await client.get(src)
        assert icon.status_code == 200
        assert icon.content.startswith(b"\x89PNG")


async def test_every_page_links_the_manifest_and_its_shell_scripts(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    for script in ("js/push.js", "js/shell.js", "js/local-data.js"):
        assert f"/static/{script}?v=" in page
    # The QR decoder is loaded by the scanner page alone.
    assert "jsQR" not in page


async def test_the_service_worker_is_served_fresh_for_the_whole_site(client: httpx.AsyncClient) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["service-worker-allowed"] == "/"
    first_line, _, rest = response.text.partition("\n")
    assert first_line.startswith("const SHELL = {")
    assert "importScripts(...SHELL.imports)" in rest
    # The app shell is precached under the same versioned names pages use, our scripts' texts in each language too.
    shell = json.loads(first_line.removeprefix("const SHELL = ").removesuffix(";"))
    for asked in ("zh", "en"):
        page = (await client.get("/", headers={"Accept-Language": asked})).text
        linked = re.findall(r'(?:href|src)="(/(?:static|i18n)/[^"]+\?v=[0-9a-f]{12})"', page)
        assert f"/i18n/{asked}.js?v=" in " ".join(linked)
        for url in linked:
            assert url in shell["precache"], url
    # The offline page in every language; the worker imports every language's texts (it shows the device's).
    for language in ("zh", "en"):
        assert f"/offline?lang={language}" in shell["precache"]
        assert any(url.startswith(f"/i18n/{language}.js?v=") for url in shell["imports"])
    assert '"/manifest.webmanifest"' in first_line
    assert "/static/vendor/jsQR" not in first_line
    # Modules imported by modules (without ?v=) are precached under that name too.
    assert '"/static/js/passkeys.js"' in first_line


def _copy_shell(tmp_path: Path) -> tuple[Path, Path]:
    static = shutil.copytree(PWA_DIR / "static", tmp_path / "static")
    templates = shutil.copytree(PWA_DIR / "templates", tmp_path / "templates")
    return static, templates


def _version(static: Path, templates: Path) -> str:
    worker = ServiceWorker(StaticAssets(static), templates)
    worker.script()
    return worker.version


def test_the_service_worker_version_follows_every_precached_file(tmp_path: Path) -> None:
    static, templates = _copy_shell(tmp_path)
    first = _version(static, templates)
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert _version(static, templates) == first  # the same files, the same version

    (static / "app.css").write_text((static / "app.css").read_text() + "\n/* changed */\n")
    second = _version(static, templates)
    assert second != first

    (static / "js" / "forms.js").write_text((static / "js" / "forms.js").read_text() + "\n// changed\n")
    third = _version(static, templates)
    assert third != second

    # The offline page is precached: so are the templates it is made of (base.html and what it includes).
    (templates / "partials" / "display_controls.html").write_text(
        (templates / "partials" / "display_controls.html").read_text() + "\n"
    )
    fourth = _version(static, templates)
    assert fourth != third

    # A page that is not part of the shell does not make a new version.
    (templates / "home.html").write_text((templates / "home.html").read_text() + "\n")
    assert _version(static, templates) == fourth


async def test_a_module_imported_without_a_version_is_revalidated_not_kept_for_a_year(
    client: httpx.AsyncClient,
) -> None:
    plain = await client.get("/static/js/forms.js")
    assert plain.status_code == 200
    assert plain.headers["cache-control"] == "no-cache"
    versioned = await client.get("/static/js/forms.js?v=abc")
    assert "max-age=31536000" in versioned.headers["cache-control"]


async def test_the_offline_page_is_one_shell_for_everyone(client: httpx.AsyncClient) -> None:
    response = await client.get("/offline")
    assert response.status_code == 200
    assert "当前没有网络" in response.text
    assert 'data-display="device"' in response.text
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    signed_in = await client.get("/offline")
    # Precached once and shown to whoever uses the device: nothing of the account in it.
    assert "data-local-key" not in signed_in.text
    assert "inbox-badge" not in signed_in.text
    assert ZHANG_WEI["name"] not in signed_in.text


async def test_the_scanner_page_offers_the_camera_and_a_case_number(client: httpx.AsyncClient) -> None:
    response = await client.get("/scan")
    assert response.status_code == 200
    assert "data-scanner" in response.text
    assert "/static/vendor/jsQR-1.4.0.js?v=" in response.text
    assert 'action="/scan/case"' in response.text
    decoder = await client.get(re.search(r'data-decoder="([^"]+)"', response.text).group(1))
    assert decoder.status_code == 200


async def test_a_typed_case_number_opens_the_residents_case_or_asks_again(client: httpx.AsyncClient) -> None:
    opened = await client.get("/scan/case", params={"no": f" {CASE_NO.lower()} "})
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/cases/{CASE_NO}"
    wrong = await client.get("/scan/case", params={"no": "12345"})
    assert wrong.status_code == 400
    assert "办件编号是CZ加14位数字" in wrong.text
    assert 'value="12345"' in wrong.text


async def test_staff_open_a_typed_case_number_in_the_console(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    await staff_client_sign_up(
        client, pool, settings.secret_key, name="窗口小王", role="clerk", region="320402", department="police"
    )
    opened = await client.get("/scan/case", params={"no": CASE_NO})
    assert opened.headers["location"] == f"/console/cases/{CASE_NO}"
    assert '<a href="/console" aria-current="page">' in (await client.get("/scan")).text  # 工作台, the staff's own


async def test_elder_mode_is_remembered_on_the_device_without_an_account(client: httpx.AsyncClient) -> None:
    assert 'class="elder' not in (await client.get("/")).text
    response = await client.put(
        "/api/v1/preferences", json={"elder_mode": True, "text_step": 2}, headers=await csrf(client)
    )
    assert response.status_code == 200
    assert response.json() == {"elder_mode": True, "text_step": 2, "language": "zh"}
    assert client.cookies["ywtb_elder"] == "1"
    assert client.cookies["ywtb_text"] == "2"
    page = (await client.get("/")).text
    assert '<html lang="zh-CN" class="elder text-2"' in page
    assert "退出长辈版" in page
    # Out-of-range sizes are clamped; the switch needs the CSRF header like every unsafe request.
    clamped = await client.put(
        "/api/v1/preferences", json={"elder_mode": True, "text_step": 9}, headers=await csrf(client)
    )
    assert clamped.json()["text_step"] == 4
    refused = await client.put("/api/v1/preferences", json={"elder_mode": False})
    assert refused.status_code == 403


async def test_the_switch_works_as_a_plain_form_and_comes_back_to_the_page(client: httpx.AsyncClient) -> None:
    token = (await csrf(client))["X-CSRFToken"]
    response = await client.post("/preferences", data={"_csrf_token": token, "elder_mode": "1", "next": "/items/x?y=1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/items/x?y=1"
    assert client.cookies["ywtb_elder"] == "1"
    bigger = await client.post("/preferences", data={"_csrf_token": token, "text_step": "1", "next": "//evil.example"})
    assert bigger.headers["location"] == "/"
    assert client.cookies["ywtb_text"] == "1"
    assert client.cookies["ywtb_elder"] == "1"  # the size buttons leave the mode as it is


async def test_elder_mode_follows_the_account_to_another_device(app: object, client: httpx.AsyncClient) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await client.put("/api/v1/preferences", json={"elder_mode": True}, headers=await csrf(client))
    await sign_out(client)

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as other_device:
        assert 'class="elder' not in (await other_device.get("/")).text
        await sign_in(other_device, authenticator)
        assert '<html lang="zh-CN" class="elder"' in (await other_device.get("/")).text
        # Turned off there, it is off for the account (a device's own cookie no longer decides).
        await other_device.put("/api/v1/preferences", json={"elder_mode": False}, headers=await csrf(other_device))
    await sign_in(client, authenticator)
    assert client.cookies["ywtb_elder"] == "1"
    assert 'class="elder' not in (await client.get("/")).text


async def test_me_names_the_accounts_data_on_the_device(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    me = (await client.get("/api/v1/me")).json()
    assert re.fullmatch(r"[0-9a-f]{20}", me["local_key"])
    assert f'data-local-key="{me["local_key"]}"' in (await client.get("/")).text
