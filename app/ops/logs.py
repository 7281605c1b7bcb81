"""Log lines of the web app: every line of a request carries its id, method, route template and signed-in account
(RequestFields), in the format LOG_FORMAT chooses; the masking and the JSON lines themselves are config/logging.py's,
shared with the push worker.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from litestar.logging.config import LoggingConfig

from app.ops.context import current
from app.web.logging import logging_config as masked_logging_config
from config.logging import JsonLines, masking

ACCESS_LOGGER = "app.access"  # app/ops/requests.py: one line per answer


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


def logging_config(log_format: str) -> LoggingConfig:
    """What Litestar configures logging with: app/web/logging.py's masked handlers, each stamping the request's
    fields, with the chosen format (the formatter named `standard`, which every Litestar handler uses)."""
    config = masked_logging_config()
    config.filters = {**(config.filters or {}), "request_fields": {"()": RequestFields}}
    for handler in config.handlers.values():
        handler["filters"] = ["request_fields", *handler.get("filters", [])]
    if log_format == "json":
        config.formatters = {**config.formatters, "standard": {"()": JsonLines}}
    # A request's access line is written by the request's own thread, straight to standard error: through the queue
    # every line woke the listener thread, and its turn at the GIL cost each request more than the write itself
    # (py-spy under load: the access line and the queue's Condition were a fifth to a third of a page's samples; in
    # one process, 0.2 ms of CPU per request). Every other record still goes through the queue.
    config.loggers = {**config.loggers, ACCESS_LOGGER: {"level": "INFO", "handlers": ["console"], "propagate": False}}
    return config


def granian_logging(log_format: str) -> dict[str, Any]:
    """granian's own logging (its server lines; its access log when turned on), masked, in the chosen format."""
    # An unannotated dict literal there: its nested values' types are unknown to pyright.
    from granian.log import LOGGING_CONFIG  # pyright: ignore[reportUnknownVariableType]

    config = masking(cast("dict[str, Any]", LOGGING_CONFIG))
    if log_format == "json":
        config["formatters"] = {name: {"()": JsonLines} for name in config["formatters"]}
    return config
