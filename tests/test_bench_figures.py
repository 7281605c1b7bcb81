"""The bench counts a latency target met only when wrk's connections were all answered throughout the run
(bench/harness.py served_throughout): the figures below are wrk's own from runs of 2026-12-01 on this machine."""

from __future__ import annotations

from typing import Any

from bench.__main__ import _page_row, _status_json_row
from bench.harness import served_throughout


def _run(rps: float, mean_ms: float, p99_ms: float, connections: int = 64) -> dict[str, Any]:
    seconds = 8
    return {
        "requests": int(rps * seconds),
        "duration_us": seconds * 1_000_000,
        "errors": 0,
        "status_errors": 0,
        "p50_ms": mean_ms * 0.9,
        "p95_ms": p99_ms * 0.7,
        "p99_ms": p99_ms,
        "mean_ms": mean_ms,
        "bytes": int(rps * seconds * 5000),
        "rps": rps,
        "connections": connections,
    }


# The baseline and the case page as granian serves them by default: 64 connections, each answered in turn.
BASELINE = _run(3127, 22.9, 94.0)
CASE_PAGE = _run(1049, 63.9, 208.5)
# The case page with granian's backpressure at 10 requests a worker: 20 connections answered, in 17 ms at the 99th
# percentile, while the other 44 waited — Little's law puts the mean wait at 64 ÷ 1,033 req/s = 62 ms, not 19.
CASE_PAGE_STARVED = _run(1033, 19.3, 58.7)


def test_a_run_whose_connections_were_each_answered_in_turn_is_served_throughout() -> None:
    assert served_throughout(BASELINE)
    assert served_throughout(CASE_PAGE)


def test_a_run_answering_a_third_of_its_connections_at_a_time_is_not() -> None:
    assert not served_throughout(CASE_PAGE_STARVED)


def test_a_results_file_from_before_wrk_reported_its_mean_is_taken_as_it_was() -> None:
    older = {key: value for key, value in CASE_PAGE.items() if key not in ("mean_ms", "connections")}
    assert served_throughout(older)


def test_a_page_whose_p99_looks_met_only_because_connections_waited_unanswered_is_missed() -> None:
    fair_baseline = _run(2800, 22.9, 94.0)  # 1,033 is 0.37× of it and 58.7 ms 0.62× its p99: both targets "met"
    name, _, _, verdict = _page_row("signed-in case page /cases/{no}", CASE_PAGE_STARVED, fair_baseline, "case_page")
    assert "MISSED" in verdict
    assert "about 20 of 64 connections answered at a time" in verdict
    assert "ok" in _page_row(name, _run(1033, 62.0, 150.0), fair_baseline, "case_page")[3]


def test_the_status_check_row_says_so_too() -> None:
    starved = _run(2302, 8.7, 20.7)
    verdict = _status_json_row(starved, BASELINE)[3]
    assert "MISSED" in verdict
    assert "about 20 of 64 connections answered at a time" in verdict
