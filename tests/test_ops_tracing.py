"""Tracing (OTEL_EXPORTER_OTLP_ENDPOINT): spans reach an OTLP/HTTP collector named by route template, with the SQL
statements under them, and nothing sent holds a tracking token or an ID number."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.main import create_app
from tests.database_fixtures import settings_for

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

pytestmark = pytest.mark.anyio

ID_NUMBER = "320402199403150119"
TOKEN = "Qm9ndXNUcmFja2luZ1Rva2VuRm9yVGVzdA"


class Collector:
    def __init__(self, url: str) -> None:
        self.url = url
        self.exports: list[ExportTraceServiceRequest] = []

    def spans(self) -> list[tuple[str, dict[str, str]]]:
        found = []
        for export in self.exports:
            for resource in export.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        attributes = {a.key: str(a.value).strip() for a in span.attributes}
                        found.append((span.name, attributes))
        return found


@contextmanager
def collector() -> Iterator[Collector]:
    """A collector on a free local port that keeps every export it receives at /v1/traces."""
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path == "/v1/traces":
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                received.append(export)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found = Collector(f"http://127.0.0.1:{server.server_address[1]}")
    found.exports = received
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


async def test_spans_are_named_by_route_and_carry_no_token_or_id_number(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    with collector() as otlp:
        settings = settings_for(database_url, tmp_path / "data", OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url)
        app = create_app(settings, pool=pool)
        async with app.lifespan():  # instruments asyncpg; at the end sends what is batched
            transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
                assert (await client.get(f"/t/{TOKEN}")).status_code == 404
                assert (await client.get(f"/api/v1/track/{TOKEN}?on_behalf_of={ID_NUMBER}")).status_code == 404
                assert (await client.get("/api/v1/life-events")).status_code == 200
        spans = otlp.spans()
    names = [name for name, _ in spans]
    assert "GET /t/{token}" in names and "GET /api/v1/track/{token}" in names and "GET /api/v1/life-events" in names
    statements = [a.get("db.statement", "") for _, a in spans if "db.system" in a]
    assert any("$1" in s for s in statements), statements
    sent = repr(spans)
    for secret in (TOKEN, ID_NUMBER, "198.51.100.7"):
        assert secret not in sent
