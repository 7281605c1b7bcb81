"""The request types handlers and services are given, named once."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection

# A route handler's request, whatever its user, auth and state types.
AnyRequest: TypeAlias = Request[Any, Any, Any]
# What a service takes from a request (its session, its caller and address for the audit log): a request or a
# websocket alike.
Connection: TypeAlias = ASGIConnection[Any, Any, Any, Any]
