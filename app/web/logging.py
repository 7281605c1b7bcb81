"""Logging that never writes an ID number in clear: Litestar's own handlers, each masking (config/logging.py)."""

from __future__ import annotations

from litestar.logging.config import LoggingConfig, default_handlers

from config.logging import MaskIdNumbers


def logging_config() -> LoggingConfig:
    """What Litestar configures logging with (dictConfig, when the app is built): its own handlers, each masking
    ID numbers. Records of every other logger (granian, asyncpg, ours) propagate to the root's handler."""
    handlers = {name: {**handler, "filters": ["mask_id_numbers"]} for name, handler in default_handlers.items()}
    return LoggingConfig(
        filters={"mask_id_numbers": {"()": MaskIdNumbers}},
        handlers=handlers,
        root={"level": "INFO", "handlers": ["queue_listener"]},
    )
