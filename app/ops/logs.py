"""Log lines for a log collector (LOG_FORMAT=json): one JSON object per line, every line of a request carrying its
id, method, route template and signed-in account.

It goes through the same handlers as the text format (app/web/logging.py) and so through the same ID-number
masking: the message and the traceback are masked before they are formatted, and the finished line is masked once
more, whatever field a number came in by. Fields: time (Beijing, ISO 8601 with offset), level, logger, message,
and when known request_id, method, route, status, duration_ms, account_id, pid, exception.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from litestar.logging.config import LoggingConfig

from app.ops.context import current
from app.web.logging import MaskIdNumbers, mask_id_numbers, masking
from app.web.logging import logging_config as masked_logging_config

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
TEXT_FORMAT = "%(levelname)s - %(asctime)s - %(name)s - %(module)s - %(message)s"


class RequestFields(logging.Filter):
    """Stamps a record with the request it was written for. Runs in the request's own task (a filter of the
    handler the logger calls, before the queue hands the record to another thread)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current()
        if context is not None and not hasattr(record, "request_id"):
            record.request_id = context.request_id
            record.method = context.method
            record.route = context.route
            record.account_id = context.account_id
        return True


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

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).astimezone(CHINA).isoformat(timespec="milliseconds"),
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
        return mask_id_numbers(json.dumps(line, ensure_ascii=False, default=str))


def logging_config(log_format: str) -> LoggingConfig:
    """What Litestar configures logging with: app/web/logging.py's masked handlers, each stamping the request's
    fields, with the chosen format (the formatter named `standard`, which every Litestar handler uses)."""
    config = masked_logging_config()
    config.filters = {**(config.filters or {}), "request_fields": {"()": RequestFields}}
    for handler in config.handlers.values():
        handler["filters"] = ["request_fields", *handler.get("filters", [])]
    if log_format == "json":
        config.formatters = {**config.formatters, "standard": {"()": JsonLines}}
    return config


def granian_logging(log_format: str) -> dict[str, Any]:
    """granian's own logging (its server lines; its access log when turned on), masked, in the chosen format."""
    from granian.log import LOGGING_CONFIG

    config = masking(LOGGING_CONFIG)
    if log_format == "json":
        config["formatters"] = {name: {"()": JsonLines} for name in config["formatters"]}
    return config


def configure_process(log_format: str, text_format: str = TEXT_FORMAT) -> None:
    """The logging of a process that is not the web app itself (`serve` before granian starts, the push worker):
    INFO and up to standard error, masked, in the chosen format."""
    handler = logging.StreamHandler()
    handler.addFilter(MaskIdNumbers())
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(text_format))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # Python's warnings become log lines too, so that a JSON log stays JSON.
    logging.captureWarnings(True)
