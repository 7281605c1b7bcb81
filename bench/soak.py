"""`make soak`: SOAK_SECONDS (600) of mixed traffic at half the measured peak, then whether the app held up.

On the embedded PostgreSQL with SOAK_CASES cases (20,000) across SOAK_RESIDENTS residents (5,000), the app as in
production (granian, a worker per core) and a push worker (`python -m push.worker`) sending to a local push service
(tests/push_service.py, which checks every VAPID token and decrypts every body as a browser vendor's would). The mix
(bench/wrk/mixed.lua): status checks as JSON (40 %), the tracking page (25 %), a signed-in resident's case page (15 %)
and inbox (10 %), and a window clerk's submissions for that resident (10 %), each pushed to the resident's
SOAK_DEVICES phones (3).

First the mix as fast as it goes for 10 s (the peak), then at half that rate for SOAK_SECONDS. It passes with no
failed request and no failed push, every push delivered by the end, and each web worker's resident memory at the end
within 10 % of what it was after the first minute. Prints the figures and exits 1 when it did not pass."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from app.database import migrate_database
from app.seed import seed_demo_data
from auth.pii import PiiCipher
from bench import store
from bench.harness import (
    ROOT,
    Server,
    cookie_header,
    core_data,
    free_port,
    log,
    signed_in,
    staff_code,
    submission_env,
    wrk,
)
from db.embedded import ensure_database, start_embedded_server
from db.pool import create_pool
from tests.push_service import LocalPushService

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
CASES = int(os.environ.get("SOAK_CASES", "20000"))
RESIDENTS = int(os.environ.get("SOAK_RESIDENTS", "5000"))
DEVICES = int(os.environ.get("SOAK_DEVICES", "3"))
CONNECTIONS = 16
PEAK_SECONDS = 10
SETTLE_SECONDS = 60  # the first minute: caches filled, pools opened, the allocator's arenas grown
RSS_GROWTH = 0.10
SECRET = "soak-secret-" + "s" * 40
RESIDENT = {"name": "张伟", "id_number": "320402199403150119"}


async def build(dsn: str) -> dict[str, Any]:
    cipher = PiiCipher(SECRET)
    pool = await create_pool(dsn, max_size=2)
    async with pool.acquire() as conn:
        await migrate_database(conn, cipher)
        await seed_demo_data(conn, cipher)
        found = await core_data(conn, cipher, CASES, RESIDENTS)
    await pool.close()
    return found


async def give_cases(dsn: str, how_many: int) -> list[str]:
    pool = await create_pool(dsn, max_size=1)
    try:
        person = await pool.fetchval(
            "SELECT id FROM people WHERE id_number_hash = $1", PiiCipher(SECRET).lookup_hash(RESIDENT["id_number"])
        )
        return await store.give_cases_to(pool, person, how_many)
    finally:
        await pool.close()


async def push_outcomes(dsn: str) -> dict[str, int]:
    pool = await create_pool(dsn, max_size=1)
    try:
        rows = await pool.fetch("SELECT status, count(*) AS n FROM notifications GROUP BY status")
        return {r["status"]: r["n"] for r in rows}
    finally:
        await pool.close()


class PushServiceThread:
    """The local push service, serving from a thread of its own while wrk and the sampling run in this one."""

    def __init__(self, public_key: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.service = LocalPushService(public_key)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.service.__aenter__(), self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.service.__aexit__(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def worker_rss_mb(server: Server) -> dict[int, float]:
    """Resident memory now of each of the server's worker processes, by pid."""
    found: dict[int, float] = {}
    for child in psutil.Process(server.process.pid).children(recursive=True):
        try:
            found[child.pid] = child.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return found


def soak(url: str, mix: dict[str, str], per_second: float, server: Server) -> tuple[dict[str, Any], list[dict]]:
    """wrk at `per_second` for SECONDS while every worker's memory is read every 5 s."""
    samples: list[dict] = []
    done = threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not done.wait(5):
            samples.append({"at_s": round(time.monotonic() - started), "rss_mb": worker_rss_mb(server)})

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        figures = wrk(url, "mixed.lua", {**mix, "PER_SECOND": f"{per_second:.1f}"}, CONNECTIONS, SECONDS)
    finally:
        done.set()
        sampler.join(10)
    return figures, samples


def main() -> int:
    if shutil.which("wrk") is None:
        print("make soak needs wrk: run 'sudo apt-get install wrk'", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="ywtb-soak-"))
    # Removed at exit after the database server has stopped (atexit runs last-registered first: the server's own
    # clean-up, registered when it starts, stops it from its data folder; removed before, the server ran on).
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    dsn = asyncio.run(ensure_database(start_embedded_server(work, keep_running=False), "ywtb_soak"))
    log(f"building {CASES:,} cases across {RESIDENTS:,} residents")
    data = asyncio.run(build(dsn))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SECRET_KEY": SECRET,
        "DATA_DIR": str(work / "data"),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_URL": f"http://localhost:{port}",
        "WEB_WORKERS": str(os.cpu_count() or 1),
        "TRACK_SCANS_PER_MINUTE": "0",  # one load generator is one address
        "PUSH_ALLOWED_HOSTS": "127.0.0.1",
    }
    app = Server([sys.executable, "-m", "app", "serve"], env, port, work / "app.log")
    push_log = (work / "push-worker.log").open("wb")
    pusher = subprocess.Popen(
        [sys.executable, "-m", "push.worker"], cwd=ROOT, env=env, stdout=push_log, stderr=subprocess.STDOUT
    )
    service: PushServiceThread | None = None
    try:
        resident = signed_in(app.url, RESIDENT, work / "app.log")
        service = PushServiceThread(resident.get("/api/v1/push/key").json()["public_key"])
        for _ in range(DEVICES):
            device = service.service.device()
            resident.post(
                "/api/v1/push/subscriptions",
                json=device.subscription(),
                headers={"X-CSRFToken": resident.cookies["csrftoken"]},
            ).raise_for_status()
        cases_file, tokens_file = work / "cases.txt", work / "tokens.txt"
        cases_file.write_text("\n".join(asyncio.run(give_cases(dsn, 5))))
        tokens_file.write_text("\n".join(data["tokens"]))
        code = staff_code(env, "浸泡窗口", department="police", region="320400")
        clerk = signed_in(app.url, {"name": "浸泡窗口", "enrollment_code": code}, work / "app.log")
        # The clerk files for the signed-in resident (their ID card checked at the window): the pushes reach them.
        births = submission_env(clerk, RESIDENT, data["mothers"], work)
        mix = {
            **births,
            "TOKENS": str(tokens_file),
            "CASES": str(cases_file),
            "RESIDENT_COOKIE": cookie_header(resident),
            "CONNECTIONS": str(CONNECTIONS),
        }
        log(f"the peak: the mix as fast as it goes for {PEAK_SECONDS} s at {CONNECTIONS} connections")
        peak = wrk(app.url, "mixed.lua", mix, CONNECTIONS, PEAK_SECONDS)
        rate = peak["rps"] / 2
        log(f"peak {peak['rps']:.0f} req/s; soaking at {rate:.0f} req/s for {SECONDS} s")
        # The births go on from where the peak's stopped (each filing is a new birth; at most every request was one).
        figures, samples = soak(app.url, {**mix, "BIRTHS_FROM": str(peak["requests"] + 2)}, rate, app)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the last submissions' pushes
            outcomes = asyncio.run(push_outcomes(dsn))
            if not set(outcomes) - {"delivered", "permanent-failure", "technical-failure"}:
                break
            time.sleep(2)
    finally:
        pusher.terminate()
        pusher.wait(30)
        push_log.close()
        app.stop()
        if service is not None:
            service.stop()
    return report(peak, rate, figures, samples, outcomes, len(service.service.received) if service else 0)


def report(
    peak: dict[str, Any],
    rate: float,
    figures: dict[str, Any],
    samples: list[dict],
    outcomes: dict[str, int],
    received: int,
) -> int:
    settled = next((s for s in samples if s["at_s"] >= SETTLE_SECONDS), samples[0] if samples else None)
    last = samples[-1] if samples else None
    growth = {
        pid: (last["rss_mb"][pid] / mb - 1)
        for pid, mb in (settled["rss_mb"] if settled else {}).items()
        if last and pid in last["rss_mb"] and mb
    }
    pushed = sum(outcomes.values())
    failed_pushes = pushed - outcomes.get("delivered", 0)
    ok_requests = figures["errors"] == 0
    ok_memory = bool(growth) and all(g <= RSS_GROWTH for g in growth.values())
    ok_push = failed_pushes == 0 and pushed > 0
    print()
    print(f"peak of the mix           {peak['rps']:8.0f} req/s   p99 {peak['p99_ms']:.1f} ms")
    print(
        f"soak at half the peak     {figures['rps']:8.0f} req/s   p99 {figures['p99_ms']:.1f} ms over "
        f"{figures['duration_us'] / 1e6:.0f} s ({figures['requests']:,} requests, asked {rate:.0f}/s)"
    )
    print(f"failed requests           {figures['errors']:8d}   (of which non-2xx/3xx: {figures['status_errors']})")
    print(f"pushes                    {pushed:8d}   delivered {outcomes.get('delivered', 0)}, received {received}")
    for pid, g in sorted(growth.items()):
        assert settled is not None and last is not None
        print(
            f"worker {pid} RSS          {settled['rss_mb'][pid]:6.1f} MB after {settled['at_s']} s → "
            f"{last['rss_mb'][pid]:6.1f} MB at {last['at_s']} s ({g:+.1%})"
        )
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average now {load} (others' work included)")
    verdict = ok_requests and ok_memory and ok_push
    print(
        "soak: "
        + ("passed" if verdict else "FAILED")
        + f" (requests {'ok' if ok_requests else 'failed'}, memory {'ok' if ok_memory else 'grew'}, "
        + f"push {'ok' if ok_push else 'failed'})"
    )
    Path(ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "soak.json").write_text(
        json.dumps(
            {"peak": peak, "soak": figures, "rss_samples": samples, "push": outcomes, "passed": verdict},
            indent=2,
            default=str,
        )
        + "\n"
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
