"""Logging that never writes an ID number in clear: every 18-character 公民身份号码 is masked."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from litestar.logging.config import LoggingConfig, default_handlers

# 6-digit area, 8-digit birth date, 3-digit sequence, check character; not part of a longer number.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_id_numbers(text: str) -> str:
    return _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2)[-4:], text)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: the handler reports it as logging does, never the caller
            return True
        masked = mask_id_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_id_numbers(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask_id_numbers(record.exc_text)
        return True


def logging_config() -> LoggingConfig:
    """What Litestar configures logging with (dictConfig, when the app is built): its own handlers, each masking
    ID numbers. Records of every other logger (granian, asyncpg, ours) propagate to the root's handler."""
    handlers = {name: {**handler, "filters": ["mask_id_numbers"]} for name, handler in default_handlers.items()}
    return LoggingConfig(
        filters={"mask_id_numbers": {"()": MaskIdNumbers}},
        handlers=handlers,
        root={"level": "INFO", "handlers": ["queue_listener"]},
    )


def masking(config: dict[str, Any]) -> dict[str, Any]:
    """A logging dictConfig (granian's, for its server and access logs) with every handler masking ID numbers."""
    masked = copy.deepcopy(config)
    masked.setdefault("filters", {})["mask_id_numbers"] = {"()": MaskIdNumbers}
    for handler in masked.get("handlers", {}).values():
        handler["filters"] = [*handler.get("filters", []), "mask_id_numbers"]
    return masked
