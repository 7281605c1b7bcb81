"""Logging that never writes an ID number in clear: every 18-character 公民身份号码 is masked."""

from __future__ import annotations

import logging
import re

# 6-digit area, 8-digit birth date, 3-digit sequence, check character; not part of a longer number.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_id_numbers(text: str) -> str:
    return _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2)[-4:], text)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_id_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_id_numbers(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_id_numbers(record.exc_text)
        return True


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskIdNumbers) for f in handler.filters):
            handler.addFilter(MaskIdNumbers())
