"""The receipt QR code (segno): it encodes the absolute public tracking URL and nothing else. 亮证 (app.wallet) draws
its verify link with the same code, and a booking (app.appointments) the clerk's link to it."""

from __future__ import annotations

import io

import segno

from i18n import N_, _

# What a screen reader says for the receipt's code, in the reader's language (translated where it is drawn).
TRACKING_QR_TITLE = N_("办件进度查询二维码")


def _code(url: str) -> segno.QRCode:
    # Level M survives a creased or smudged paper receipt without growing the code much.
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str, title: str | None = None) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="svg", scale=6, border=4, title=title or _(TRACKING_QR_TITLE))
    return buffer.getvalue()


def qr_svg_inline(url: str, title: str | None = None) -> str:
    return _code(url).svg_inline(scale=5, border=4, title=title or _(TRACKING_QR_TITLE))


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()
