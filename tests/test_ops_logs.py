"""Request ids and structured logs: every answer carries an id (the caller's when it is sane), every log line of
the request carries it, the error page prints it; LOG_FORMAT=json gives one JSON object per line of the served
app's whole output, with ID numbers masked as in the text format."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from app.main import create_app
from app.ops.requests import new_request_id, sane_request_id
from tests.app_process import AppServer, serve_env
from tests.database_fixtures import settings_for

GENERATED = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


def test_a_callers_request_id_is_taken_only_when_it_is_sane() -> None:
    assert sane_request_id("7f3c9a1e-5b2d-4c8e-9f10-2a3b4c5d6e7f") == "7f3c9a1e-5b2d-4c8e-9f10-2a3b4c5d6e7f"
    assert sane_request_id("0123456789abcdef0123456789abcdef") == "0123456789abcdef0123456789abcdef"  # nginx
    for hostile in (
        "short",
        "x" * 65,
        "id 320402199403150119",
        "req-320402199403150119",  # an ID number would sit in every log line of the request
        "abc\r\nX-Admin: 1",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "",
        None,
    ):
        assert sane_request_id(hostile) is None, hostile
    assert GENERATED.fullmatch(new_request_id())
    assert len({new_request_id() for _ in range(1000)}) == 1000


async def test_every_answer_carries_its_request_id_and_the_error_page_prints_it(client: httpx.AsyncClient) -> None:
    mine = await client.get("/", headers={"X-Request-ID": "lb-0123456789abcdef"})
    assert mine.headers["x-request-id"] == "lb-0123456789abcdef"
    replaced = await client.get("/", headers={"X-Request-ID": "x-320402199403150119"})
    assert GENERATED.fullmatch(replaced.headers["x-request-id"])
    missing = await client.get("/no-such-page", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    request_id = missing.headers["x-request-id"]
    assert GENERATED.fullmatch(request_id)
    assert f'请求编号 <span class="request-id">{request_id}</span>' in missing.text
    api = await client.get("/api/v1/cases/CZ20990101000001")
    assert api.status_code in (401, 404) and GENERATED.fullmatch(api.headers["x-request-id"])


@pytest.fixture
def json_app(database_url: str, tmp_path: Path) -> Iterator[Litestar]:
    """An app configured for LOG_FORMAT=json (logging is process-wide: the text format is put back after)."""
    yield create_app(settings_for(database_url, tmp_path / "data", LOG_FORMAT="json"))
    create_app(settings_for(database_url, tmp_path / "data"))


def test_json_lines_mask_id_numbers_in_the_message_and_the_traceback(json_app: Litestar) -> None:
    handlers = [h for h in logging.getLogger().handlers if not type(h).__module__.startswith("_pytest")]
    assert handlers
    try:
        raise ValueError("no person 320402199403150119")
    except ValueError:
        record = logging.LogRecord(
            "app.probe", logging.ERROR, __file__, 1, "lookup of %s failed", ("320402199403150119",), True
        )
        record.exc_info = sys.exc_info()
    for handler in handlers:
        assert handler.filter(record)
        line = handler.format(record)
        assert "\n" not in line and "320402199403150119" not in line
        parsed = json.loads(line)
        assert parsed["message"] == "lookup of 320402********0119 failed"
        assert parsed["level"] == "ERROR" and parsed["logger"] == "app.probe"
        assert "320402********0119" in parsed["exception"] and parsed["time"].endswith("+08:00")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_a_served_app_logs_json_lines_with_request_ids_and_adds_up_its_workers_metrics(
    database_url: str, tmp_path: Path
) -> None:
    env = serve_env(tmp_path / "data", database_url=database_url, LOG_FORMAT="json", WEB_WORKERS="2")
    server = AppServer(env, tmp_path / "serve.log").start()
    try:
        # Both workers up before the requests: the server answers as soon as one of them does, and a busy machine
        # may still be starting the other (then it served none). Each samples its pool every few seconds after it
        # starts, and either one's /metrics adds both: both pools (10 each) counted means both are serving.
        deadline = time.monotonic() + 30
        while True:
            status, _, metrics = _get(server.url + "/metrics")
            assert status == 200
            if "ywtb_db_pool_max 20.0" in metrics or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        ids = []
        for n in range(24):  # fresh connections: the two workers share them
            status, headers, _ = _get(server.url + "/", {"X-Request-ID": f"test-request-{n:04d}"})
            assert status == 200 and headers["x-request-id"] == f"test-request-{n:04d}"
            ids.append(headers["x-request-id"])
        status, headers, page = _get(server.url + "/no-such-page?on_behalf_of=320402199403150119")
        assert status == 404 and headers["x-request-id"] in page
        # The request counts are written as the requests finish.
        status, _, metrics = _get(server.url + "/metrics")
        assert status == 200
    finally:
        server.stop()
    # Whichever worker answered the scrape counted both workers: every request, and both pools (10 each).
    assert 'ywtb_http_requests_total{method="GET",route="/",status="200"} 24.0' in metrics
    assert "ywtb_db_pool_max 20.0" in metrics
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line of the output is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
    access = {p["request_id"]: p for p in parsed if p["logger"] == "app.access"}
    for request_id in ids:
        line = access[request_id]
        assert line["route"] == "/" and line["status"] == 200 and line["method"] == "GET"
        assert isinstance(line["duration_ms"], float)
    assert len({p["pid"] for p in access.values()}) == 2, "both workers served and logged"
    assert any(p["message"].startswith("serving on") for p in parsed)
    assert "320402199403150119" not in server.log_text()
