"""What every request pays after its answer (app/ops/requests.py `_finish`): its two HTTP series and its access line.
Paid by every page, so pinned: the same series as `.labels()` gives, the same line, and a bound on the Python calls it
takes (a profile of the tracking page put logs and metrics at a fifth of its time)."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, SimpleNamespace

import pytest
from prometheus_client import REGISTRY

import config.logging
from app.main import create_app
from app.ops import requests
from app.ops.context import UNMATCHED, RequestContext, enter, leave
from app.ops.logs import ACCESS_LOGGER, logging_config
from app.ops.metrics import HTTP_DURATION, HTTP_REQUESTS
from config.settings import load_settings

ROUTE = "/t/{token}"


def context(account_id: int = 7) -> RequestContext:
    scope = {"type": "http", "method": "GET", "path_template": ROUTE, "user": SimpleNamespace(account_id=account_id)}
    return RequestContext("7KQ2-M9XD-4HTA", scope)  # type: ignore[arg-type]


@pytest.fixture
def access_lines(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the access logger writes, with the app's own logging (LOG_FORMAT as the test's parameter); the text
    format put back after, as every app the tests build has it."""
    logging_config(request.param).configure()
    written = io.StringIO()
    for handler in logging.getLogger(ACCESS_LOGGER).handlers:
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(written)  # pyright: ignore[reportUnknownMemberType]
    yield written
    logging_config("text").configure()


def calls_made(function: object, *args: object) -> int:
    """Python and C calls made by function(*args), itself excluded."""
    count = -1

    def profile(_frame: FrameType, event: str, _arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        function(*args)  # type: ignore[operator]
    finally:
        sys.setprofile(None)
    return count - 1  # sys.setprofile(None) itself


def test_a_request_counts_in_the_series_labels_gives() -> None:
    def count() -> float:
        return (
            REGISTRY.get_sample_value("ywtb_http_requests_total", {"method": "GET", "route": ROUTE, "status": "418"})
            or 0.0
        )

    def observed() -> float:
        return (
            REGISTRY.get_sample_value(
                "ywtb_http_request_duration_seconds_bucket", {"method": "GET", "route": ROUTE, "le": "0.025"}
            )
            or 0.0
        )

    before, before_observed = count(), observed()
    for _ in range(3):
        requests._count("GET", ROUTE, 418, 0.012)  # pyright: ignore[reportPrivateUsage]
    HTTP_REQUESTS.labels("GET", ROUTE, "418").inc()
    HTTP_DURATION.labels("GET", ROUTE).observe(0.02)
    assert count() == before + 4
    assert observed() == before_observed + 4


@pytest.mark.parametrize("access_lines", ["json"], indirect=True)
def test_the_access_line_keeps_every_field(access_lines: io.StringIO) -> None:
    request = context()
    token = enter(request)
    try:
        requests._finish(request, 200, 0.01234)  # pyright: ignore[reportPrivateUsage]
    finally:
        leave(token)
    line = json.loads(access_lines.getvalue())
    assert line["logger"] == "app.access" and line["level"] == "INFO"
    assert line["message"] == "GET /t/{token} 200 12.3 ms"
    assert (line["request_id"], line["method"], line["route"], line["account_id"]) == (
        "7KQ2-M9XD-4HTA",
        "GET",
        ROUTE,
        7,
    )
    assert (line["status"], line["duration_ms"]) == (200, 12.3)
    assert line["time"].endswith("+08:00") and isinstance(line["pid"], int)


@pytest.mark.parametrize("access_lines", ["text"], indirect=True)
def test_the_series_and_the_access_line_of_a_request_take_few_calls(access_lines: io.StringIO) -> None:
    request = context()
    logger = logging.getLogger(ACCESS_LOGGER)
    handlers = logger.handlers
    # pytest's capture handlers may sit on the logger during a test: count with the app's own only.
    logger.handlers = [h for h in handlers if not type(h).__module__.startswith("_pytest")]
    token = enter(request)
    try:
        requests._finish(request, 200, 0.01234)  # pyright: ignore[reportPrivateUsage]: the series made once
        made = calls_made(requests._finish, request, 200, 0.01234)  # pyright: ignore[reportPrivateUsage]
    finally:
        leave(token)
        logger.handlers = handlers
    assert access_lines.getvalue().count(" - app.access - requests - GET /t/{token} 200 12.3 ms\n") == 2
    # 128 when each request asked .labels() for its series and log.info() for its line (Python 3.11).
    assert made <= 105, made


class CountedPattern:
    """The ID number pattern of config/logging.py, counting the texts it is run over."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.texts: list[str] = []

    def sub(self, replace: object, text: str) -> str:
        self.texts.append(text)
        return self.pattern.sub(replace, text)  # type: ignore[call-overload]


@pytest.mark.parametrize("access_lines", ["json", "text"], indirect=True)
def test_the_access_line_skips_masking_and_every_other_record_is_masked(
    access_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    pattern = CountedPattern(config.logging._ID_NUMBER)  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(config.logging, "_ID_NUMBER", pattern)
    request = context()
    token = enter(request)
    try:
        requests._finish(request, 200, 0.01234)  # pyright: ignore[reportPrivateUsage]
        assert pattern.texts == []  # its fields cannot hold an ID number (requests._holds_no_id_number)
        # An account id of 18 digits could be read as one: that line is masked, as every other record is.
        huge = context(account_id=320402199403150119)
        requests._finish(huge, 200, 0.01234)  # pyright: ignore[reportPrivateUsage]
    finally:
        leave(token)
    assert pattern.texts and "320402199403150119" not in access_lines.getvalue()
    handler = logging.getLogger(ACCESS_LOGGER).handlers[0]
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "GET /x?id=%s", ("320402199403150119",), None)
    assert handler.filter(record) and "320402********0119" in handler.format(record)


def test_no_route_template_holds_an_id_number(tmp_path: Path) -> None:
    """The access line's route is a template of our routes (or "unmatched"): why it need not be masked."""
    app = create_app(load_settings({"DATA_DIR": str(tmp_path)}))
    templates = [route.path_format for route in app.routes] + [UNMATCHED]
    assert "/t/{token}" in templates
    assert [t for t in templates if config.logging.mask_id_numbers(t) != t] == []


def test_a_new_request_id_takes_few_calls() -> None:
    # 12 with base64.b32encode (Python 3.11), a few µs of every request that comes without one.
    assert calls_made(requests.new_request_id) <= 3
    ids = [requests.new_request_id() for _ in range(3000)]
    # Every one of the 12 characters random: each takes nearly every letter of the 32 over 3000 ids.
    letters = [c for c in ids[0] if c != "-"]
    assert len(letters) == 12
    for position in range(14):
        if ids[0][position] != "-":
            assert len({i[position] for i in ids}) >= 30, position
