"""The bench's account of where a page's time went (bench/harness.py top_frames, from py-spy's collapsed stacks)."""

from __future__ import annotations

from bench.harness import ROOT, top_frames

OURS = f"{ROOT}/app"
SENDING = f"request_context.<locals>.handle.<locals>.send_with_id ({OURS}/ops/requests.py:100)"


def _stack(*frames: str, samples: int) -> str:
    return ";".join(frames) + f" {samples}"


def test_each_sample_goes_to_the_work_its_innermost_telling_frame_names() -> None:
    raw = "\n".join(
        [
            _stack(
                f"handle ({OURS}/ops/requests.py:110)",
                f"case_page ({OURS}/cases/pages.py:80)",
                "fetchrow (/v/lib/python3.11/site-packages/asyncpg/connection.py:775)",
                samples=60,
            ),
            _stack(
                f"handle ({OURS}/ops/requests.py:110)",
                f"_write_access_line ({OURS}/ops/requests.py:155)",
                "Logger.handle (/usr/lib/python3.11/logging/__init__.py:1636)",
                samples=10,
            ),
            # granian's send has no Python frame: the sample stops in our outermost wrapper, which hands it the message.
            _stack(f"handle ({OURS}/ops/requests.py:110)", SENDING, samples=30),
        ]
    )
    where = dict(top_frames(raw)["where"])
    assert where == {"database (asyncpg)": 60.0, "framework and server": 30.0, "logs and metrics": 10.0}
