"""The QR scanner (/scan) in Chromium with a fake camera: the camera shows a real receipt's QR code (a Y4M video
made here from the case's tracking URL), the scanner reads it and opens the tracking page; a code that is not
ours is shown as text and never opened."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import segno
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import PHONE, LiveServer
from e2e.helpers import file_retirement, register_resident

RESIDENT = ("马丽", "320402198707072768")
WIDTH, HEIGHT = 640, 480


def write_y4m(text: str, path: Path, frames: int = 10) -> Path:
    """A grey-scale 640×480 video (YUV 4:2:0, C420jpeg) of `text` as a QR code, as a phone camera would see it."""
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=8, border=4)
    code = Image.open(png).convert("L")
    side = min(code.width, HEIGHT - 40)
    code = code.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 235)
    frame.paste(code, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)
    return path


def _scanner(browser: Browser, live_server: LiveServer) -> Page:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, locale="zh-CN", is_mobile=True)
    errors: list[str] = []
    context.on("page", lambda p: p.on("pageerror", lambda exc: errors.append(str(exc))))
    page = context.new_page()
    page.goto("/scan")
    assert errors == []
    return page


def test_the_scanner_reads_a_receipt_from_the_camera_and_opens_its_tracking_page(
    phone: Page, live_server: LiveServer, camera_browser: Callable[[Path], Browser], tmp_path: Path
) -> None:
    register_resident(phone, *RESIDENT)
    created = file_retirement(phone, "scan-test-key-1")
    assert created["tracking_url"].startswith(live_server.url + "/t/")
    video = write_y4m(created["tracking_url"], tmp_path / "receipt.y4m")

    page = _scanner(camera_browser(video), live_server)
    assert page.evaluate("() => 'BarcodeDetector' in window") is False  # desktop Linux: the vendored decoder
    page.get_by_role("button", name="打开摄像头").click()
    expect(page).to_have_url(re.compile(r"/t/[A-Za-z0-9_-]{22,}$"), timeout=15_000)
    assert page.url == created["tracking_url"]
    expect(page.get_by_role("heading", level=1)).to_have_text("办件进度")
    expect(page.get_by_text(created["case_no"]).first).to_be_visible()
    # The decoder was loaded by the scanner page, on demand.
    assert page.evaluate("() => typeof window.jsQR") == "undefined"


def test_a_code_that_is_not_ours_is_shown_as_text_never_opened(
    live_server: LiveServer, camera_browser: Callable[[Path], Browser], tmp_path: Path
) -> None:
    foreign = "https://example.com/t/AAAAAAAAAAAAAAAAAAAAAAAA"
    page = _scanner(camera_browser(write_y4m(foreign, tmp_path / "foreign.y4m")), live_server)
    page.get_by_role("button", name="打开摄像头").click()
    expect(page.locator("[data-scanner-text]")).to_have_text(foreign, timeout=15_000)
    expect(page.locator("[data-scanner-status]")).to_contain_text("不是本站的办件进度链接")
    expect(page).to_have_url(re.compile(r"/scan$"))
    expect(page.get_by_role("link", name=foreign)).to_have_count(0)
