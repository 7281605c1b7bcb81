"""Requests htmx makes: they want the fragment it swaps in, not the whole page."""

from __future__ import annotations

from typing import Any

from litestar import Request


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"
