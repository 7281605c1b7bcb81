"""A web worker's memory: it serves pages and enqueues jobs, but never runs a job nor sends a webhook, so it does not
import the job runner (pgqueuer) nor the HTTP client of the senders (aiohttp): about 15 MB of each worker's resident
memory (issue 20: peak RSS per web worker within 1.5× a bare Litestar app's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pgqueuer.adapters.persistence.qb import QueryQueueBuilder

from db.enqueue import ENQUEUE_JOBS

ROOT = Path(__file__).resolve().parent.parent
# What only the workers (python -m app worker: push, texts, webhooks) need. (pydantic stays: Litestar loads its own
# plugin for it whenever it is installed.)
WORKER_ONLY = ("pgqueuer", "aiohttp", "pywebpush")


def test_the_web_app_is_built_without_the_workers_libraries(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "from app.main import create_app\n"
        "create_app()\n"
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({WORKER_ONLY!r}))))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": "postgresql://127.0.0.1:9/none",
            "SECRET_KEY": "s" * 40,
            "DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert found.stdout.strip() == ""


def test_the_enqueue_statement_is_still_pgqueuers() -> None:
    # Written out in db/enqueue.py so that web workers need not import pgqueuer; an upgrade that changes it fails here.
    def words(sql: str) -> list[str]:
        return sql.split()

    assert words(ENQUEUE_JOBS) == words(QueryQueueBuilder().build_enqueue_query("raise"))
