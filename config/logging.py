"""How every process of ours logs (the web app, `serve` before granian starts, the push worker, the CLI): never
an ID number in clear — every 18-character 公民身份号码 is masked — as text or, with LOG_FORMAT=json, as one JSON
object per line for a log collector. The web app adds the request's fields (app/ops/logs.py); this module knows no
request and imports nothing of ours, so the push worker uses it without importing app/.

JSON fields: time (Beijing, ISO 8601 with offset), level, logger, message, and when known request_id, method,
route, status, duration_ms, account_id, pid, exception. The message and the traceback are masked before they are
formatted, and the finished line is masked once more, whatever field a number came in by; only a record whose
writer shows that none of its fields can hold one (NoIdNumberRecord: the access line) is left as it is.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
TEXT_FORMAT = "%(levelname)s - %(asctime)s - %(name)s - %(module)s - %(message)s"

# 6-digit area, 8-digit birth date, 3-digit sequence, check character; not part of a longer number.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_id_numbers(text: str) -> str:
    return _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2)[-4:], text)


class NoIdNumberRecord(logging.LogRecord):
    """A record made only of fields its writer shows cannot hold an ID number (the access line of every request:
    app/ops/requests.py), without a traceback: not masked. Masking it cost each request two passes of the pattern,
    over its message and over its JSON line, for nothing."""


def _unmasked(record: logging.LogRecord) -> bool:
    return isinstance(record, NoIdNumberRecord) and not (record.exc_info or record.exc_text or record.stack_info)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _unmasked(record):
            return True
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


def masking(config: dict[str, Any]) -> dict[str, Any]:
    """A logging dictConfig (granian's, for its server and access logs) with every handler masking ID numbers."""
    masked = copy.deepcopy(config)
    masked.setdefault("filters", {})["mask_id_numbers"] = {"()": MaskIdNumbers}
    for handler in masked.get("handlers", {}).values():
        handler["filters"] = [*handler.get("filters", []), "mask_id_numbers"]
    return masked


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line (newlines inside a message or traceback are escaped)."""

    _OPTIONAL = (
        ("request_id", "request_id"),
        ("method", "method"),
        ("route", "route"),
        ("http_status", "status"),
        ("duration_ms", "duration_ms"),
        ("account_id", "account_id"),
    )

    # What json.dumps(line, ensure_ascii=False, default=str) would make a new encoder for at every line.
    _encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, CHINA).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for attribute, key in self._OPTIONAL:
            value = getattr(record, attribute, None)
            if value is not None:
                line[key] = value
        line["pid"] = record.process or os.getpid()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        encoded = self._encode(line)
        return encoded if _unmasked(record) else mask_id_numbers(encoded)


def configure_process(log_format: str, text_format: str = TEXT_FORMAT) -> None:
    """The logging of a process that is not the web app itself (`serve` before granian starts, the push worker):
    INFO and up to standard error, masked, in the chosen format."""
    handler = logging.StreamHandler()
    handler.addFilter(MaskIdNumbers())
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(text_format))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # Python's warnings become log lines too, so that a JSON log stays JSON.
    logging.captureWarnings(True)
