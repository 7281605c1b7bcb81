"""`python -m bench.push`: push fan-out against the local push service (tests/push_service.py), which
verifies every VAPID token and decrypts every body as a browser vendor's service and the phone would.

Runs on its own embedded PostgreSQL in a temp folder, through the real paths: a resident subscribes
fake devices over the API, timeline events go through app.cases.timeline.record_event, and
`python -m push.worker` processes send. Prints, for the same run:

  baseline   pywebpush alone (PushSender, no queue, no database), as many in flight as a worker
  backlog    N queued notifications drained by 1 worker, then by 2: notifications/s per worker
  latency    events arriving at a steady rate while workers wait: event → delivered, p50 / p95

`--json` also prints the figures as one JSON line at the end (read by `python -m bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cases.timeline import record_event
from app.database import migrate_database
from app.main import create_app
from app.seed import seed_demo_data
from auth.pii import PiiCipher
from config.settings import load_settings
from db.embedded import ensure_database, start_embedded_server
from db.pool import create_pool, prepare_connection
from push.keys import load_or_create
from push.sender import PushSender, Target
from tests.auth_helpers import ZHANG_WEI, new_authenticator, sign_up
from tests.push_helpers import WorkerProcess, file_case, subscribe, worker_env
from tests.push_service import LocalPushService

SECRET = "bench-push-secret-" + "p" * 40
CONCURRENCY = 50
WORKER_ARGS: list[str] = ["--concurrency", str(CONCURRENCY)]


def log(message: str) -> None:
    print(f"[bench push {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


async def record_steps(pool: asyncpg.Pool, case_id: int, count: int, *, per_second: float | None = None) -> None:
    """`count` timeline events on the case, one transaction each, as fast as possible or at a steady rate."""
    started = time.monotonic()
    for step in range(count):
        if per_second:
            await asyncio.sleep(max(0.0, started + step / per_second - time.monotonic()))
        async with pool.acquire() as conn, conn.transaction():
            await record_event(conn, case_id=case_id, status="in_review", title=f"第{step + 1}步：审核中")


async def wait_delivered(pool: asyncpg.Pool, total: int, within: float = 240) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        done = await pool.fetchval("SELECT count(*) FROM notifications WHERE status = 'delivered'")
        if done >= total:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {done} of {total} notifications delivered in {within:.0f} s")


async def baseline(service: LocalPushService, settings: Any, targets: list[Target], sends: int) -> float:
    """pywebpush alone: the same sends, no queue, no database, CONCURRENCY in flight."""
    keys = load_or_create(settings.data_dir)
    payload = json.dumps({"title": "基线", "body": "x" * 60, "url": "/cases/X", "case_no": "X", "event_id": 0}).encode()
    before = len(service.received)
    async with PushSender(keys, settings.vapid_subject, settings.push_allowed_hosts) as sender:
        queue: asyncio.Queue[Target] = asyncio.Queue()
        for i in range(sends):
            queue.put_nowait(targets[i % len(targets)])

        async def run() -> None:
            while not queue.empty():
                target = queue.get_nowait()
                result = await sender.send(target, payload, urgency="normal", topic="bench")
                assert result.accepted, result

        started = time.perf_counter()
        await asyncio.gather(*(run() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    assert len(service.received) - before == sends
    return sends / elapsed


async def drain_backlog(
    pool: asyncpg.Pool, env: dict[str, str], case_id: int, devices: int, events: int, workers: int
) -> dict[str, Any]:
    """Queue devices × events notifications, then let `workers` processes drain them."""
    await pool.execute("TRUNCATE notifications CASCADE")
    await record_steps(pool, case_id, events)
    total = devices * events
    processes = await asyncio.gather(*(WorkerProcess.start(env, *WORKER_ARGS) for _ in range(workers)))
    try:
        await wait_delivered(pool, total)
        cpu = [cpu_seconds(p.process.pid) for p in processes]
    finally:
        for process in processes:
            await process.stop()
    span = await pool.fetchval(
        "SELECT extract(epoch FROM max(delivered_at) - min(sent_at)) FROM notifications WHERE status = 'delivered'"
    )
    shares = [p.delivered for p in processes]
    used = None if None in cpu else sum(c for c in cpu if c is not None)
    return {
        "workers": workers,
        "notifications": total,
        "seconds": float(span),
        "shares": shares,
        "per_worker_per_s": total / float(span) / workers,
        # Includes start-up (imports, connecting): an upper bound on the CPU one notification costs.
        "worker_cpu_ms_per_notification": None if used is None else used * 1000 / total,
    }


async def steady_latency(
    pool: asyncpg.Pool,
    env: dict[str, str],
    case_id: int,
    devices: int,
    events_per_second: float,
    seconds: float,
    workers: int,
) -> dict[str, Any]:
    """Events at a steady rate while the workers wait for them: event → delivered latency."""
    await pool.execute("TRUNCATE notifications CASCADE")
    processes = await asyncio.gather(*(WorkerProcess.start(env, *WORKER_ARGS) for _ in range(workers)))
    try:
        events = int(events_per_second * seconds)
        await record_steps(pool, case_id, events, per_second=events_per_second)
        await wait_delivered(pool, devices * events)
    finally:
        for process in processes:
            await process.stop()
    latencies = [r["latency_ms"] for r in await pool.fetch("SELECT latency_ms FROM notifications")]
    return {
        "workers": workers,
        "notifications": len(latencies),
        "rate_per_s": devices * events_per_second,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="ywtb-bench-push-"))
    log(f"starting PostgreSQL in {work}")
    database_url = await ensure_database(start_embedded_server(work / "pg", keep_running=False), "ywtb_bench_push")
    settings = load_settings(
        {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(work / "data"),
            "SECRET_KEY": SECRET,
            "PUSH_ALLOWED_HOSTS": "127.0.0.1",
        }
    )
    conn = await asyncpg.connect(database_url)
    try:
        await migrate_database(conn, PiiCipher(SECRET))
        await prepare_connection(conn)
        await seed_demo_data(conn, PiiCipher(SECRET))
    finally:
        await conn.close()
    pool = await create_pool(database_url, max_size=10)
    app = create_app(settings, pool=pool)
    results: dict[str, Any] = {"devices": args.devices}
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
            key = (await client.get("/api/v1/push/key")).json()["public_key"]
            async with LocalPushService(key) as service:
                await sign_up(client, new_authenticator(), ZHANG_WEI)
                devices = [service.device() for _ in range(args.devices)]
                for device in devices:
                    assert (await subscribe(client, device)).status_code == 201
                case = await file_case(client, "bench-push-case-1")
                case_id = await pool.fetchval("SELECT id FROM cases WHERE case_no = $1", case["case_no"])
                env = worker_env(database_url, settings.data_dir)
                # The submission's own notifications: a first, small drain that also warms everything up.
                first = await WorkerProcess.start(env)
                await wait_delivered(pool, args.devices)
                await first.stop()

                targets = [Target(endpoint=d.endpoint, **d.subscription()["keys"]) for d in devices]
                log(f"baseline: {args.events * args.devices} sends with pywebpush alone")
                results["baseline_per_s"] = await baseline(service, settings, targets, args.events * args.devices)
                results["backlog"] = []
                for workers in (1, 2):
                    log(f"backlog: {args.events * args.devices} notifications, {workers} worker(s)")
                    results["backlog"].append(
                        await drain_backlog(pool, env, case_id, args.devices, args.events, workers)
                    )
                log(f"latency: {args.rate} events/s × {args.devices} devices for {args.seconds} s, 2 workers")
                results["latency"] = await steady_latency(
                    pool, env, case_id, args.devices, args.rate, args.seconds, workers=2
                )
                results["rejected"] = len(service.rejected)
    finally:
        await pool.close()
    return results


def report(results: dict[str, Any]) -> None:
    devices = results["devices"]
    print(
        f"push fan-out: {devices} devices per event, local push service on 127.0.0.1 "
        f"(every VAPID token verified, every body decrypted; {results['rejected']} refused)"
    )
    print(f"  baseline  pywebpush alone, {CONCURRENCY} in flight, no queue:  {results['baseline_per_s']:7.0f} sends/s")
    for row in results["backlog"]:
        cpu = row["worker_cpu_ms_per_notification"]
        print(
            f"  backlog   {row['notifications']:,} queued, {row['workers']} worker(s): {row['seconds']:.2f} s → "
            f"{row['per_worker_per_s']:7.0f} notifications/s per worker (shares {row['shares']}"
            + (f"; worker CPU {cpu:.2f} ms per notification" if cpu is not None else "")
            + ")"
        )
    lat = results["latency"]
    print(
        f"  latency   {lat['rate_per_s']:.0f} notifications/s arriving, {lat['workers']} workers: "
        f"event → delivered p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms (n={lat['notifications']:,})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.push", description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20, help="devices subscribed by the resident")
    parser.add_argument("--events", type=int, default=150, help="events queued for the backlog runs")
    parser.add_argument("--rate", type=float, default=10.0, help="events per second in the latency run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--batch-size", type=int, default=10, help="the workers' --batch-size")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    WORKER_ARGS.extend(["--batch-size", str(args.batch_size)])
    results = asyncio.run(run(args))
    report(results)
    if args.json:
        one, two = results["backlog"]
        figures = {
            # One worker with the machine to itself; with two, they share its cores with PostgreSQL and
            # the local push service, so each one's figure is lower on a small machine.
            "per_worker_per_s": one["per_worker_per_s"],
            "per_worker_per_s_two_workers": two["per_worker_per_s"],
            "p50_ms": results["latency"]["p50_ms"],
            "p95_ms": results["latency"]["p95_ms"],
            "baseline_per_s": results["baseline_per_s"],
            "detail": results,
        }
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
