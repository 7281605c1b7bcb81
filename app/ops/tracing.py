"""Traces with OpenTelemetry, only when OTEL_EXPORTER_OTLP_ENDPOINT names a collector (OTLP over HTTP): a span per
request through Litestar's OpenTelemetry plugin, a child span per SQL statement through the asyncpg
instrumentation. Off by default, and its packages are the optional `otel` extra (pyproject.toml): nothing of them
is imported unless it is on.

What leaves for the collector is held to the same rule as the logs and the metrics: spans are named by route
template (`GET /t/{token}`), never by path; the URL, its query (`?on_behalf_of=` can carry an ID number) and
the client's address are replaced before the span is exported; SQL is sent as its text with $n placeholders,
never with its parameters.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.plugins import PluginProtocol
from litestar.types import ASGIApp, Receive, Scope, Send

from config.settings import Settings

SERVICE_NAME = "ywtb-web"
REDACTED = "[redacted]"
# Attributes the ASGI instrumentation fills from the request line and the peer (old and new semantic conventions).
_REDACT = (
    "http.target",
    "http.url",
    "url.full",
    "url.path",
    "url.query",
    "net.peer.ip",
    "client.address",
    "http.client_ip",
)
_NOT_TRACED = ["^/healthz", "^/metrics$", "^/static/"]

Lifespan = Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]


class Tracing(msgspec.Struct, frozen=True):
    """What create_app registers: nothing at all when tracing is off."""

    plugins: tuple[PluginProtocol, ...] = ()
    middleware: tuple[Callable[[ASGIApp], ASGIApp], ...] = ()
    lifespan: tuple[Lifespan, ...] = ()


def _scope_value(scope: Scope, key: str) -> object:
    # Litestar types the scope as its own keys per kind of connection; here any key is read the same way.
    return cast("Mapping[str, object]", scope).get(key)


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    # Before routing only the method is safe to name a span by; name_span_by_route adds the template.
    return str(_scope_value(scope, "method") or scope["type"]), {}


def _redact(span: Any, _: dict[str, Any]) -> None:
    attributes: Mapping[str, object] = getattr(span, "attributes", None) or {}
    for key in _REDACT:
        if key in attributes:
            span.set_attribute(key, REDACTED)


def name_span_by_route(app: ASGIApp) -> ASGIApp:
    """A route middleware: once routing has found the template, the request's span is named by it."""
    from opentelemetry import trace

    async def handle(scope: Scope, receive: Receive, send: Send) -> None:
        span = trace.get_current_span()
        template = _scope_value(scope, "path_template")
        if isinstance(template, str) and template and span.is_recording():
            span.update_name(f"{_scope_value(scope, 'method') or scope['type']} {template}")
            span.set_attribute("http.route", template)
        await app(scope, receive, send)

    return handle


def tracing(settings: Settings) -> Tracing:
    if not settings.otel_endpoint:
        return Tracing()
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor  # pyright: ignore[reportMissingTypeStubs]
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    # OTLP/HTTP: the variable names the collector's base URL, traces go to its /v1/traces.
    exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    config = OpenTelemetryConfig(
        tracer_provider=provider,
        scope_span_details_extractor=_method_only,
        server_request_hook_handler=_redact,
        exclude=_NOT_TRACED,
        exclude_spans=["receive", "send"],
    )

    @asynccontextmanager
    async def instrument_asyncpg(_: Litestar) -> AsyncGenerator[None, None]:
        instrumentor = AsyncPGInstrumentor()
        instrumentor.instrument(tracer_provider=provider)  # statements only: capture_parameters stays off
        try:
            yield
        finally:
            instrumentor.uninstrument()
            provider.shutdown()  # sends what is still batched

    return Tracing(
        plugins=(OpenTelemetryPlugin(config),), middleware=(name_span_by_route,), lifespan=(instrument_asyncpg,)
    )
