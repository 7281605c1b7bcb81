"""A handwritten signature (手写签名) as the delegation page sends it: a PNG drawn on the tablet's signature pad
(pwa/static/js/signature.js), checked to be one before it is kept as the elder's consent.

What the pad exports, measured in Chromium at the sizes the app supports: 636×204 pixels on the 1024×768 tablet
(1272×408 on a high-density one), 250×204 on a 320-pixel-wide phone, 1600×1009 on the tablet in 长辈版 with the
largest text (signature.js never lets a side pass 1600); a pad drawn while hidden keeps its 600×200. A short,
shaky two-character signature inks 0.27 % (the widest pad in 长辈版) to 1.3 % (the small phone) of the pixels;
a tap inks under 0.01 %, a 20-pixel dash under 0.09 %.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import TYPE_CHECKING

from i18n import N_, _

if TYPE_CHECKING:
    from PIL import Image

MAX_BYTES = 300 * 1024
# The smallest pad (a 320-pixel-wide phone) is 250×204; the largest, 1600 on a side: a margin either way.
MIN_WIDTH, MIN_HEIGHT = 200, 100
MAX_SIDE = 2048
# Ink: a pixel at least this far (of 255) from the background's grey level. The background is the commonest
# level, so a blank pad, a transparent image and a solid fill of any colour all have none.
INK_CONTRAST = 64
MIN_INK_SHARE = 0.001  # about a third of the least a real signature inked; a tap or a short dash inks less
MIN_INK_PIXELS = 50  # on the smallest image taken, 0.1 % would be 20 pixels: a dot
MAX_INK_SHARE = 0.25  # a pad nearly filled in, or noise, is not a signature

NOT_SIGNED = N_("请老人在平板上签名确认")
UNREADABLE = N_("签名图片无法识别，请点“清除”，再请老人在签名框内重新签名")
WRONG_SIZE = N_(
    "签名图片尺寸不对（应在 %(min_width)s×%(min_height)s 至 %(max_side)s×%(max_side)s 像素之间），"
    "请刷新本页，再请老人在签名框内重新签名"
)
SIZES = {"min_width": MIN_WIDTH, "min_height": MIN_HEIGHT, "max_side": MAX_SIDE}
TOO_LITTLE_INK = N_("签名笔画太少，看不出是签名，请点“清除”，再请老人在框内重新写下自己的名字")
TOO_MUCH_INK = N_("签名框几乎被涂满，看不出是签名，请点“清除”，再请老人重新签名")


class SignatureProblem(ValueError):
    """Why an image is not a signature, saying what to do: a marked text, drawn in the reader's language with
    `words`."""

    def words(self) -> str:
        return _(str(self)) % SIZES


def decode_data_url(text: str | None) -> bytes:
    """The PNG bytes of a canvas data URL (or bare base64)."""
    if not text:
        raise SignatureProblem(NOT_SIGNED)
    if len(text) > MAX_BYTES * 4 // 3 + 64:  # base64 of more than we keep, and a data URL's prefix
        raise SignatureProblem(UNREADABLE)
    try:
        png = base64.b64decode(text.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureProblem(UNREADABLE) from exc
    if not png:
        raise SignatureProblem(NOT_SIGNED)
    return png


def check_drawn(png: bytes) -> None:
    """Refuse (SignatureProblem) anything but a PNG of a pad's size with a signature's worth of ink on it.

    The size is read from the header before any pixel is decoded, so a small file declaring a huge image (a
    decompression bomb) costs nothing; every chunk's checksum is verified before the pixels are decoded."""
    if len(png) > MAX_BYTES or not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise SignatureProblem(UNREADABLE)
    width, height = _verified_size(png)
    if not (MIN_WIDTH <= width <= MAX_SIDE and MIN_HEIGHT <= height <= MAX_SIDE):
        raise SignatureProblem(WRONG_SIZE)
    ink = _ink_pixels(png)
    if ink < max(MIN_INK_PIXELS, MIN_INK_SHARE * width * height):
        raise SignatureProblem(TOO_LITTLE_INK)
    if ink > MAX_INK_SHARE * width * height:
        raise SignatureProblem(TOO_MUCH_INK)


def _verified_size(png: bytes) -> tuple[int, int]:
    # Pillow (about 2 MB of each web worker) is imported at a worker's first signature, some 50 ms once: the
    # delegation page is the only one that reads an image.
    from PIL import Image

    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
            size = image.size
            image.verify()  # every chunk's CRC, without decoding the pixels
    except Image.DecompressionBombError as exc:  # Pillow's own ceiling, far above ours
        raise SignatureProblem(WRONG_SIZE) from exc
    # A malformed file makes Pillow raise many kinds of error (SyntaxError, OSError, struct.error, EOFError,
    # ValueError …): each one means the same to the elder — sign again.
    except Exception as exc:
        raise SignatureProblem(UNREADABLE) from exc
    return size


def _ink_pixels(png: bytes) -> int:
    """How many of the image's pixels differ from its background."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
            image.load()
            levels = _on_white_paper(image).histogram()
    except Exception as exc:  # an image data stream that is cut off or does not decode
        raise SignatureProblem(UNREADABLE) from exc
    background = max(range(256), key=levels.__getitem__)
    return sum(count for level, count in enumerate(levels) if abs(level - background) >= INK_CONTRAST)


def _on_white_paper(image: Image.Image) -> Image.Image:
    """The image in grey levels as it would show on white paper: a transparent pixel shows the paper."""
    from PIL import Image

    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return image.convert("L")
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getextrema() == (255, 255):  # the pad's own export: opaque throughout
        return rgba.convert("L")
    return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("L")
