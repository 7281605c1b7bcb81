"""`make bench`: the app as in production (granian, workers = cores) on the embedded PostgreSQL with
≥ 100,000 cases across ≥ 20,000 residents, measured with wrk beside a minimal baseline app.

Prints one table (each row with its target and whether it was met, beside the baseline of the same run), the top
frames of each page under load (py-spy, bench/harness.py: profile) and the machine's load; writes
bench/results/latest.json and ends with one line of key ratios.

The back office's queue (/console, /api/v1/console/tasks) is measured for a district hall's window clerk on a database
of its own: BENCH_QUEUE_OPEN open tasks (100,000), BENCH_QUEUE_IN_OFFICE of them the office's (a tenth), beside
BENCH_QUEUE_CLOSED delivered ones (twice as many), the first 20 pages at 16 connections.

The public statistics (/stats, /api/v1/stats) are measured on a database of BENCH_STATS_CASES cases (1,000,000 by
default: the base set plus invented single-item cases over the last year, bench/store.py), recounted into their
rollups by the app's own recount.

BENCH_ONLY picks groups of rows: core (the status check, the pages, submissions), push (the fan-out), console, stats
— `BENCH_ONLY=stats` runs just those rows (and the baseline), on a database with nothing but them."""

from __future__ import annotations

import asyncio
import atexit
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.cases.states import OPEN_TASK_STATUSES
from app.certificates.service import seal
from app.database import migrate_database, rebuild_statistics
from app.seed import seed_demo_data
from app.stats import service as stats
from auth.pii import PiiCipher
from bench import store
from bench.harness import (
    ROOT,
    WARM_UP,
    Server,
    answered_at_a_time,
    cookie_header,
    core_data,
    free_port,
    log,
    profile,
    served_throughout,
    signed_in,
    staff_code,
    submission_env,
    wrk,
)
from db.embedded import ensure_database, start_embedded_server
from db.pool import create_pool

RESULTS = ROOT / "bench" / "results"
CASES = int(os.environ.get("BENCH_CASES", "100000"))
RESIDENTS = int(os.environ.get("BENCH_RESIDENTS", "20000"))
STATS_CASES = int(os.environ.get("BENCH_STATS_CASES", "1000000"))
STATS_CONNECTIONS = 16
# Which groups of rows run (core, push, console, stats: `runs`): `BENCH_ONLY=stats` for the statistics alone,
# `BENCH_ONLY=core,console` for two; unset, every row.
ONLY = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
WORKERS = os.cpu_count() or 1
SECRET = "bench-secret-" + "b" * 40
TARGETS = {
    "status_ratio": 0.5,
    "status_p99_ms": 50.0,
    "submit_per_s": 200.0,
    "home_kb": 60.0,
    "stats_p99_ms": 50.0,
    "console_p99_ms": 100.0,
}
# A page's targets beside the baseline of the same run: (at least this share of its requests per second, a p99 at
# most this multiple of its p99).
PAGE_TARGETS = {"status_page": (0.5, 1.5), "case_page": (0.35, 2.0)}
# What every browser sends with a page request (Chromium's words; Firefox and Safari name gzip too): the page rows
# send it, so a page is measured as it travels, compressed (the app answers gzip: its CompressionConfig), not as the
# 13 KB of HTML a client taking no compression gets. The JSON rows and the baseline send none, as API clients may.
BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"
# The back office's queue: a clerk of a district office (the 天宁 hall) with QUEUE_OPEN open tasks in the database,
# QUEUE_IN_OFFICE of them routed to that office, beside QUEUE_CLOSED delivered ones.
QUEUE_OFFICE = "320402"
QUEUE_OPEN = int(os.environ.get("BENCH_QUEUE_OPEN", "100000"))
QUEUE_IN_OFFICE = int(os.environ.get("BENCH_QUEUE_IN_OFFICE", str(QUEUE_OPEN // 10)))
QUEUE_CLOSED = int(os.environ.get("BENCH_QUEUE_CLOSED", str(QUEUE_OPEN * 2)))
QUEUE_PAGES = 20


def runs(group: str) -> bool:
    """Whether this run measures the group of rows: `core` (the status check, the pages, submissions), `push` (the
    fan-out, bench/push.py), `console` (the back office's queue, on a database of its own) or `stats` (the public
    statistics)."""
    return not ONLY or group in ONLY


# --- data ---------------------------------------------------------------------------------------


async def build_data(dsn: str) -> dict[str, Any]:
    cipher = PiiCipher(SECRET)
    pool = await create_pool(dsn, max_size=2)
    async with pool.acquire() as conn:
        await migrate_database(conn, cipher)
        await seed_demo_data(conn, cipher)
        found = await core_data(conn, cipher, CASES, RESIDENTS) if runs("core") else {"tokens": [], "walk_in": {}}
        if runs("stats"):
            found["stats"] = await _statistics_data(conn, cipher)
        cases, residents = await store.counts(conn)
    await pool.close()
    return {**found, "cases": cases, "residents": residents}


async def _statistics_data(conn: Any, cipher: PiiCipher) -> dict[str, Any]:
    """Invented single-item cases up to BENCH_STATS_CASES in all, then the app's own recount into the rollups (what
    migration 0035 does to a deployment's existing cases), each timed."""
    extra = max(0, STATS_CASES - await conn.fetchval("SELECT count(*) FROM cases"))
    log(f"creating {extra:,} cases for the statistics (a year of single items, rated, followed up)")
    started = time.monotonic()
    sealed = seal(cipher, "bench", "压测证照0001", {})
    added = await store.create_statistics_data(
        conn,
        extra,
        person_enc=cipher.encrypt("320400190001010000"),
        certificate_number_enc=sealed.number_enc,
        certificate_data_enc=sealed.data_enc,
    )
    await conn.execute("ANALYZE", timeout=store.LONG)
    seeded = time.monotonic() - started
    log(f"recounting the statistics of {await conn.fetchval('SELECT count(*) FROM cases'):,} cases")
    started = time.monotonic()
    rows = await rebuild_statistics(conn)
    recount = time.monotonic() - started
    monthly = await conn.fetchval("SELECT count(*) FROM stats_monthly")
    log(f"recounted in {recount:.0f} s: {rows:,} daily rows, {monthly:,} monthly rows")
    return {"added": added, "seed_s": seeded, "recount_s": recount, "daily_rows": rows, "monthly_rows": monthly}


# --- servers ------------------------------------------------------------------------------------


# --- page weight ----------------------------------------------------------------------------------


async def look_at_each(url: str, paths: list[str], connections: int = 16) -> None:
    """Every path asked for once, `connections` at a time, as a browser asks (its Accept-Encoding)."""
    queue = iter(paths)
    headers = {"Accept-Encoding": BROWSER_ACCEPT_ENCODING}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:

        async def look() -> None:
            for path in queue:
                (await client.get(path)).raise_for_status()

        await asyncio.gather(*(look() for _ in range(connections)))


def page_weight_kb(client: httpx.Client, path: str) -> float:
    """Compressed bytes of the page, its stylesheets and scripts (icons excluded), as a first visit."""
    page = client.get(path, headers={"Accept-Encoding": "gzip"})
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)\?v=[^"]+)"', page.text)
    total = len(gzip.compress(page.content)) if page.headers.get("content-encoding") != "gzip" else 0
    total = total or int(page.headers.get("content-length") or len(gzip.compress(page.content)))
    for asset in assets:
        response = client.get(asset, headers={"Accept-Encoding": "gzip"})
        encoded = response.headers.get("content-encoding") == "gzip"
        total += int(response.headers.get("content-length", 0)) if encoded else len(response.content)
    return total / 1024


# --- the run ----------------------------------------------------------------------------------------


def main() -> int:
    if shutil.which("wrk") is None:
        print("make bench needs wrk: run 'sudo apt-get install wrk'", file=sys.stderr)
        return 2
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ywtb-bench-"))
    # Removed at exit after the database server has stopped (atexit runs last-registered first: the server's own
    # clean-up, registered when it starts, stops it from its data folder, which must still be there).
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    server_dsn = start_embedded_server(work, keep_running=False)
    dsn = asyncio.run(ensure_database(server_dsn, "ywtb_bench"))
    log(
        "PostgreSQL ready; building the data"
        + (f": {CASES:,} cases across {RESIDENTS:,} residents" if runs("core") else "")
    )
    data = asyncio.run(build_data(dsn))
    log(f"data: {data['cases']:,} cases, {data['residents']:,} residents in cases")

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SECRET_KEY": SECRET,
        "DATA_DIR": str(work / "data"),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_URL": f"http://localhost:{port}",
        "WEB_WORKERS": str(WORKERS),
        "TRACK_SCANS_PER_MINUTE": "0",
    }  # one load generator is one address
    results: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_before": os.getloadavg(),  # the 1, 5 and 15 minute load averages: others' work on the machine
        },
        "data": {"cases": data["cases"], "residents": data["residents"]},
    }
    profiles: dict[str, Any] = {}

    if runs("core") or runs("stats"):
        _core_and_statistics_rows(results, profiles, data, env, work, dsn)
    base_dsn = dsn
    if runs("console"):
        results["console"], queue_dsn = _console_rows(server_dsn, work, env, profiles)
        base_dsn = dsn if runs("core") or runs("stats") else queue_dsn

    base_port = free_port()
    baseline = Server(
        [sys.executable, "-m", "bench.serve_baseline"],
        {**env, "DATABASE_URL": base_dsn, "PORT": str(base_port)},
        base_port,
        work / "baseline.log",
    )
    try:
        rows_file = work / "rows.txt"
        rows = data["tokens"] or asyncio.run(_any_tokens(base_dsn))
        rows_file.write_text("\n".join(f"/row/{t}" for t in rows))
        log("baseline: one indexed row as JSON, same server and workers")
        if runs("core"):
            results["baseline"] = wrk(baseline.url, "paths.lua", {"PATHS": str(rows_file)}, warm_up=WARM_UP)
        if runs("stats") or runs("console"):
            results["baseline_16"] = wrk(
                baseline.url, "paths.lua", {"PATHS": str(rows_file)}, connections=STATS_CONNECTIONS, warm_up=WARM_UP
            )
        results["baseline_memory_peak_rss_mb_per_worker"] = baseline.worker_peak_rss_mb()
    finally:
        baseline.stop()

    results["push"] = _push_figures() if runs("push") else None
    results["seconds"] = round(time.monotonic() - started, 1)
    results["machine"]["load_after"] = os.getloadavg()
    results["profiles"] = profiles
    report(results)
    return 0


def _core_and_statistics_rows(
    results: dict[str, Any], profiles: dict[str, Any], data: dict[str, Any], env: dict[str, str], work: Path, dsn: str
) -> None:
    """The status check, the pages, submissions and page weights, and the statistics, on the app over the main
    database (the one data set of both groups)."""
    tokens_file = work / "tokens.txt"
    tokens_file.write_text("\n".join(f"/api/v1/track/{t}" for t in data["tokens"]))
    pages_file = work / "pages.txt"
    pages_file.write_text("\n".join(f"/t/{t}" for t in data["tokens"]))
    app = Server([sys.executable, "-m", "app", "serve"], env, int(env["PORT"]), work / "app.log")
    try:
        if runs("core"):
            resident = signed_in(app.url, {"name": "张伟", "id_number": "320402199403150119"}, work / "app.log")
            person = asyncio.run(_person_id(dsn, "320402199403150119"))
            case_nos = asyncio.run(_give_cases(dsn, person, 5))
            case_file = work / "case.txt"
            case_file.write_text("\n".join(f"/cases/{n}" for n in case_nos))
            log("status check (JSON, page, signed-in case page)")
            results["status_json"] = wrk(app.url, "paths.lua", {"PATHS": str(tokens_file)}, warm_up=WARM_UP)
            pages = {"PATHS": str(pages_file), "ACCEPT_ENCODING": BROWSER_ACCEPT_ENCODING}
            # A receipt's first look since its case's last event draws its page and stores it; the looks after it (the
            # resident opening each push, a family member, the scanner at the hall) are sent as stored. The first run
            # meets the 5,000 pages at random, mostly for the first time; then every page not met yet is looked at
            # once, unmeasured, so that the second run is the page as it is mostly seen: looked at again (its random
            # draws left about two in five pages unmet on a slow machine, whose first looks it counted as looks again).
            results["status_page_first"] = wrk(app.url, "paths.lua", pages)
            asyncio.run(look_at_each(app.url, pages_file.read_text().splitlines()))
            results["status_page"] = wrk(app.url, "paths.lua", pages)
            profiles["status_page"] = profile(app, lambda s: wrk(app.url, "paths.lua", pages, seconds=s))
            case_pages = {
                "PATHS": str(case_file),
                "COOKIE": cookie_header(resident),
                "ACCEPT_ENCODING": BROWSER_ACCEPT_ENCODING,
            }
            results["case_page"] = wrk(app.url, "paths.lua", case_pages, warm_up=WARM_UP)
            profiles["case_page"] = profile(app, lambda s: wrk(app.url, "paths.lua", case_pages, seconds=s))
            log("submission (window clerk filing 新生儿出生 walk-in cases)")
            code = staff_code(env, "压测窗口", department="police", region="320400")
            clerk = signed_in(app.url, {"name": "压测窗口", "enrollment_code": code}, work / "app.log")
            births = submission_env(clerk, data["walk_in"], data["mothers"], work)
            results["submit"] = wrk(app.url, "submit.lua", births, connections=16)
            results["memory_peak_rss_mb_per_worker"] = app.worker_peak_rss_mb()
            log("page weight")
            anonymous = httpx.Client(base_url=app.url)
            results["page_weight_kb"] = {
                "home": page_weight_kb(anonymous, "/"),
                "birth_form": page_weight_kb(resident, "/life-events/birth/apply"),
            }
        if runs("stats"):
            results["stats"] = {**data["stats"], **_statistics_rows(app, work, dsn, profiles)}
    finally:
        app.stop()


# --- the back office's queue ------------------------------------------------------------------------------------------


def _console_rows(
    server_dsn: str, work: Path, base_env: dict[str, str], profiles: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """A district hall's window clerk opens pages of the queue (the first and the next QUEUE_PAGES - 1, as
    加载更多 would reach them) and a department system reads the same pages through the API, at 16 connections, on a
    database of its own: QUEUE_OPEN open tasks, QUEUE_IN_OFFICE of them the office's, and QUEUE_CLOSED delivered."""
    dsn = asyncio.run(ensure_database(server_dsn, "ywtb_bench_queue"))
    log(f"console: {QUEUE_OPEN:,} open tasks ({QUEUE_IN_OFFICE:,} in {QUEUE_OFFICE}), {QUEUE_CLOSED:,} delivered")
    figures = asyncio.run(_queue_data(dsn))
    port = free_port()
    env = {**base_env, "DATABASE_URL": dsn, "PORT": str(port), "PUBLIC_URL": f"http://localhost:{port}"}
    env["DATA_DIR"] = str(work / "queue-data")
    app = Server([sys.executable, "-m", "app", "serve"], env, port, work / "queue-app.log")
    try:
        clerk = signed_in(
            app.url,
            {
                "name": "压测综合窗口",
                "enrollment_code": staff_code(env, "压测综合窗口", department="police", region=QUEUE_OFFICE),
            },
            work / "queue-app.log",
        )
        cursors = [""]
        for _ in range(QUEUE_PAGES - 1):
            answer = clerk.get("/api/v1/console/tasks", params={"cursor": cursors[-1]} if cursors[-1] else None)
            answer.raise_for_status()
            if "x-next-cursor" not in answer.headers:
                break
            cursors.append(answer.headers["x-next-cursor"])
        pages, api = work / "queue_pages.txt", work / "queue_api.txt"
        pages.write_text("\n".join(f"/console?cursor={c}" if c else "/console" for c in cursors))
        api.write_text(
            "\n".join(f"/api/v1/console/tasks?cursor={c}" if c else "/api/v1/console/tasks" for c in cursors)
        )
        for path in ("/console", "/api/v1/console/tasks"):  # each worker's caches (calendar, catalogue) filled
            for _ in range(WORKERS * 4):
                httpx.get(app.url + path, cookies=clerk.cookies, timeout=30).raise_for_status()
        cookie = cookie_header(clerk)
        log(f"console: /console and /api/v1/console/tasks, {len(cursors)} pages, {STATS_CONNECTIONS} connections")
        on_pages = {"PATHS": str(pages), "COOKIE": cookie, "ACCEPT_ENCODING": BROWSER_ACCEPT_ENCODING}
        figures["page"] = wrk(app.url, "paths.lua", on_pages, connections=STATS_CONNECTIONS, warm_up=WARM_UP)
        figures["api"] = wrk(
            app.url, "paths.lua", {"PATHS": str(api), "COOKIE": cookie}, connections=STATS_CONNECTIONS, warm_up=WARM_UP
        )
        profiles["console_page"] = profile(
            app, lambda s: wrk(app.url, "paths.lua", on_pages, connections=STATS_CONNECTIONS, seconds=s)
        )
        figures["pages"] = len(cursors)
    finally:
        app.stop()
    return figures, dsn


async def _queue_data(dsn: str) -> dict[str, Any]:
    cipher = PiiCipher(SECRET)
    pool = await create_pool(dsn, max_size=2)
    async with pool.acquire() as conn:
        await migrate_database(conn, cipher)
        await seed_demo_data(conn, cipher)
        started = time.monotonic()
        await store.create_queue_data(
            conn,
            open_tasks=QUEUE_OPEN,
            office=QUEUE_OFFICE,
            in_office=QUEUE_IN_OFFICE,
            closed_tasks=QUEUE_CLOSED,
            person_enc=cipher.encrypt("320400190001010000"),
            data_enc=cipher.encrypt_document({"queue.note": "压测"}),
        )
        seeded = time.monotonic() - started
        open_tasks, office_tasks = await store.queue_counts(conn, sorted(OPEN_TASK_STATUSES), QUEUE_OFFICE)
    await pool.close()
    log(f"console: seeded in {seeded:.0f} s: {open_tasks:,} open tasks, {office_tasks:,} in the office")
    return {"open_tasks": open_tasks, "office_tasks": office_tasks, "office": QUEUE_OFFICE, "seed_s": seeded}


async def _person_id(dsn: str, id_number: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(
            "SELECT id FROM people WHERE id_number_hash = $1", PiiCipher(SECRET).lookup_hash(id_number)
        )
    finally:
        await conn.close()


async def _give_cases(dsn: str, person_id: int, how_many: int) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await store.give_cases_to(conn, person_id, how_many)
    finally:
        await conn.close()


def _push_figures() -> dict[str, Any] | None:
    """The push fan-out figures from bench/push.py, run in its own process (it starts its own workers)."""
    script = ROOT / "bench" / "push.py"
    if not script.exists():
        return None
    result = subprocess.run(
        [sys.executable, "-m", "bench.push", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    line = next((ln for ln in reversed(result.stdout.splitlines()) if ln.startswith("{")), None)
    return json.loads(line) if line else {"error": (result.stderr or result.stdout)[-500:]}


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(results: dict[str, Any]) -> None:
    rows = _core_report_rows(results) if runs("core") else []
    if runs("stats"):
        rows += _statistics_report_rows(results)
    if runs("console"):
        rows += _console_report_rows(results)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure':<{width}}  {'figure':>14}  {'detail':>18}  target")
    for name, figure, detail, target in rows:
        print(f"{name:<{width}}  {figure:>14}  {detail:>18}  {target}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    # A run of some rows only (BENCH_ONLY) keeps the whole run's latest.json.
    name = f"latest-{'-'.join(sorted(ONLY))}.json" if ONLY else "latest.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    _print_profiles(results["profiles"])
    print()
    machine = results["machine"]
    print(
        "machine: {cores} cores, load average {before} before the run, {after} after (others' work included)".format(
            cores=machine["cores"],
            before=" / ".join(f"{x:.1f}" for x in machine["load_before"]),
            after=" / ".join(f"{x:.1f}" for x in machine["load_after"]),
        )
    )
    if runs("core"):
        status, base = results["status_json"], results["baseline"]
        ratio = status["rps"] / base["rps"] if base["rps"] else 0.0
        print(
            f"ratios: status/baseline {ratio:.2f}x · status p99 {status['p99_ms']:.1f} ms · "
            f"submissions {results['submit']['rps']:.0f}/s · home {results['page_weight_kb']['home']:.1f} KB · "
            f"run {results['seconds']:.0f} s on {results['machine']['cores']} cores"
        )
    if runs("stats"):
        figures, base = results["stats"], results["baseline_16"]
        print(
            f"statistics on {results['data']['cases']:,} cases: /stats p99 {figures['page']['p99_ms']:.1f} ms, "
            f"/api/v1/stats p99 {figures['api']['p99_ms']:.1f} ms at {STATS_CONNECTIONS} connections (baseline p99 "
            f"{base['p99_ms']:.1f} ms) · run {results['seconds']:.0f} s on {results['machine']['cores']} cores"
        )


def _core_report_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    base = results["baseline"]
    rows = [
        _status_json_row(results["status_json"], base),
        ("baseline: one row as JSON", f"{base['rps']:.0f} req/s", f"p99 {base['p99_ms']:.1f} ms", ""),
        _page_row("status page /t/{token}, looked at again", results["status_page"], base, "status_page"),
        _first_looks_row(results.get("status_page_first"), base),
        _page_row("signed-in case page /cases/{no}", results["case_page"], base, "case_page"),
        (
            "submission POST /api/v1/cases",
            f"{results['submit']['rps']:.0f} cases/s",
            f"errors {results['submit']['errors']}",
            f"≥200/s, 0 errors: {_verdict(results['submit']['rps'] >= 200 and results['submit']['errors'] == 0)}",
        ),
        (
            "page weight: home (gzip, no icons)",
            f"{results['page_weight_kb']['home']:.1f} KB",
            "",
            f"≤60 KB: {_verdict(results['page_weight_kb']['home'] <= 60)}",
        ),
        ("page weight: 新生儿出生 form", f"{results['page_weight_kb']['birth_form']:.1f} KB", "", ""),
        (
            "peak RSS per web worker",
            f"{results['memory_peak_rss_mb_per_worker']:.0f} MB",
            f"baseline {results['baseline_memory_peak_rss_mb_per_worker']:.0f} MB",
            "",
        ),
    ]
    push = results.get("push")
    if push and "error" not in push:
        rows.append(
            (
                "push fan-out per worker",
                f"{push.get('per_worker_per_s', 0):.0f} notif/s",
                f"p95 {push.get('p95_ms', 0):.0f} ms",
                "≥500/s, p95 ≤1 s: "
                + _verdict(push.get("per_worker_per_s", 0) >= 500 and push.get("p95_ms", 1e9) <= 1000),
            )
        )
    elif push:
        rows.append(("push fan-out", "failed", push["error"][:60], "MISSED"))
    return rows


def _status_json_row(status: dict[str, Any], base: dict[str, Any]) -> tuple[str, str, str, str]:
    ratio = status["rps"] / base["rps"] if base["rps"] else 0.0
    ok = ratio >= TARGETS["status_ratio"] and status["p99_ms"] <= TARGETS["status_p99_ms"] and _answered(status)
    return (
        "status check JSON /api/v1/track",
        f"{status['rps']:.0f} req/s",
        f"p99 {status['p99_ms']:.1f} ms",
        f"≥0.5× baseline, p99 ≤50 ms: {_verdict(ok)}" + _unanswered(status),
    )


def _first_looks_row(run: dict[str, Any] | None, base: dict[str, Any]) -> tuple[str, str, str, str]:
    """The tracking page while each page is drawn and stored for the first time (no target of its own)."""
    if run is None:  # a results file from before the two runs
        return ("status page /t/{token}, first looks", "", "", "not measured")
    ratio = run["rps"] / base["rps"] if base["rps"] else 0.0
    return (
        "status page /t/{token}, first looks",
        f"{run['rps']:.0f} req/s",
        f"p99 {run['p99_ms']:.1f} ms{_answer_kb(run)}",
        f"{ratio:.2f}× baseline: each page drawn and stored once",
    )


def _page_row(name: str, run: dict[str, Any], base: dict[str, Any], target: str) -> tuple[str, str, str, str]:
    """A page beside the baseline of the same run: its share of the baseline's requests per second and its p99 as a
    multiple of the baseline's, against the issue's targets."""
    least_ratio, most_p99 = PAGE_TARGETS[target]
    ratio = run["rps"] / base["rps"] if base["rps"] else 0.0
    p99 = run["p99_ms"] / base["p99_ms"] if base["p99_ms"] else float("inf")
    ok = ratio >= least_ratio and p99 <= most_p99 and _answered(run)
    return (
        name,
        f"{run['rps']:.0f} req/s",
        f"p99 {run['p99_ms']:.1f} ms{_answer_kb(run)}",
        f"≥{least_ratio}× baseline, p99 ≤{most_p99}× baseline's: {_verdict(ok)} ({ratio:.2f}×, p99 {p99:.2f}×)"
        + _unanswered(run),
    )


def _answered(run: dict[str, Any]) -> bool:
    """Every request of the run answered, and every connection throughout: a latency target is met only then."""
    return run["errors"] == 0 and served_throughout(run)


def _unanswered(run: dict[str, Any]) -> str:
    """Why a run's latencies do not count, when they do not: how many of wrk's connections were answered at a time."""
    if served_throughout(run):
        return ""
    return f" — about {answered_at_a_time(run):.0f} of {run['connections']} connections answered at a time"


def _answer_kb(run: dict[str, Any]) -> str:
    """What one answer weighed as it travelled (headers and body, compressed as the browser's Accept-Encoding
    allowed): a page row's proof that it was measured compressed."""
    if not run.get("bytes") or not run["requests"]:  # a results file from before wrk reported bytes
        return ""
    return f" · {run['bytes'] / run['requests'] / 1024:.1f} KB an answer"


def _console_report_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    figures, base = results["console"], results["baseline_16"]
    target = TARGETS["console_p99_ms"]
    rows = []
    for key, name in (("page", "console queue /console"), ("api", "console queue API /api/v1/console/tasks")):
        run = figures[key]
        rows.append(
            (
                f"{name} ({STATS_CONNECTIONS} conn.)",
                f"{run['rps']:.0f} req/s",
                f"p99 {run['p99_ms']:.1f} ms{_answer_kb(run)}",
                f"p99 ≤{target:.0f} ms: {_verdict(run['p99_ms'] <= target and _answered(run))} "
                f"({run['rps'] / base['rps']:.2f}× baseline)" + _unanswered(run),
            )
        )
    rows.append(
        (
            "console queue: the data",
            f"{figures['open_tasks']:,} open",
            f"{figures['office_tasks']:,} in office",
            f"a {figures['office']} clerk, pages 1–{figures['pages']} at random; seeded in {figures['seed_s']:.0f} s",
        )
    )
    if not runs("stats"):
        rows.append(
            (
                f"baseline at {STATS_CONNECTIONS} connections",
                f"{base['rps']:.0f} req/s",
                f"p99 {base['p99_ms']:.1f} ms",
                "",
            )
        )
    return rows


def _print_profiles(profiles: dict[str, Any]) -> None:
    """Each measured page's top frames: where the samples were, and in which of our own functions."""
    for page, found in profiles.items():
        print()
        if "error" in found:
            print(f"profile of {page}: {found['error']}")
            continue
        print(f"profile of {page} ({found['samples']:,} samples across the workers, py-spy):")
        print("  where the time went: " + ", ".join(f"{name} {share:.0f}%" for name, share in found.get("where", [])))
        for title, key in (("  innermost frames", "self"), ("  innermost of our functions", "ours")):
            print(title)
            for frame, share in found[key]:
                print(f"    {share:5.1f}%  {frame}")


def _statistics_report_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    figures, base = results["stats"], results["baseline_16"]
    target = TARGETS["stats_p99_ms"]
    rows = []
    for key, name in (("page", "statistics page /stats"), ("api", "statistics JSON /api/v1/stats")):
        run = figures[key]
        rows.append(
            (
                f"{name} ({STATS_CONNECTIONS} conn.)",
                f"{run['rps']:.0f} req/s",
                f"p99 {run['p99_ms']:.1f} ms{_answer_kb(run)}",
                f"p99 ≤{target:.0f} ms: {_verdict(run['p99_ms'] <= target and _answered(run))} "
                f"({run['rps'] / base['rps']:.2f}× baseline)" + _unanswered(run),
            )
        )
    uncached = figures["uncached_ms"]
    rows += [
        (
            f"baseline at {STATS_CONNECTIONS} connections",
            f"{base['rps']:.0f} req/s",
            f"p99 {base['p99_ms']:.1f} ms",
            "",
        ),
        (
            "statistics: one report, uncached",
            f"{uncached['median']:.1f} ms",
            f"max {uncached['max']:.1f} ms",
            "in process, the year of the whole city",
        ),
        (
            "statistics: a worker's first view of a query",
            f"{figures['first_view_ms']:.0f} ms",
            "the slowest",
            "its report read and its page drawn, then kept 30 s",
        ),
        (
            "statistics: recount (migration 0030)",
            f"{figures['recount_s']:.0f} s",
            f"{results['data']['cases']:,} cases",
            f"{figures['daily_rows']:,} daily, {figures['monthly_rows']:,} monthly rows",
        ),
        ("page weight: /stats (gzip, no icons)", f"{figures['page_kb']:.1f} KB", "", ""),
    ]
    return rows


def _statistics_rows(app: Server, work: Path, dsn: str, profiles: dict[str, Any]) -> dict[str, Any]:
    """/stats and /api/v1/stats at 16 connections over the queries people make (the year of the city, each
    department, each district), the cost of one report computed afresh, and the page's weight."""
    url = app.url
    departments = [d["code"] for d in json.loads((ROOT / "db" / "seed" / "departments.json").read_text())]
    districts = [
        r["code"]
        for r in json.loads((ROOT / "db" / "seed" / "regions.json").read_text())
        if r["level"] != "village" and r["level"] != "town"
    ]
    queries = ["", *(f"?department={d}" for d in departments), *(f"?district={c}" for c in districts)]
    pages, api = work / "stats_pages.txt", work / "stats_api.txt"
    pages.write_text("\n".join(f"/stats{q}" for q in queries))
    api.write_text("\n".join(f"/api/v1/stats{q}" for q in queries))
    # Each worker keeps each query's report and page for 30 s: the run measures that steady state, after a few passes
    # over the queries (the slowest of those, a worker's first look at a query, is reported too).
    first_ms = 0.0
    for _ in range(WORKERS * 4):
        for path in [*(f"/stats{q}" for q in queries), *(f"/api/v1/stats{q}" for q in queries)]:
            started = time.perf_counter()
            httpx.get(url + path, timeout=30).raise_for_status()  # a connection of its own: any worker may take it
            first_ms = max(first_ms, (time.perf_counter() - started) * 1000)
    log(f"statistics: /stats and /api/v1/stats, {len(queries)} queries, {STATS_CONNECTIONS} connections")
    figures: dict[str, Any] = {
        "first_view_ms": first_ms,
        "page": wrk(url, "paths.lua", {"PATHS": str(pages)}, connections=STATS_CONNECTIONS, warm_up=WARM_UP),
        "api": wrk(url, "paths.lua", {"PATHS": str(api)}, connections=STATS_CONNECTIONS, warm_up=WARM_UP),
    }
    profiles["stats_page"] = profile(
        app, lambda s: wrk(url, "paths.lua", {"PATHS": str(pages)}, connections=STATS_CONNECTIONS, seconds=s)
    )
    figures["uncached_ms"] = asyncio.run(_uncached_report_ms(dsn))
    figures["page_kb"] = page_weight_kb(httpx.Client(base_url=url), "/stats")
    return figures


async def _uncached_report_ms(dsn: str, times: int = 20) -> dict[str, float]:
    """One report of the city's last 12 months read and computed afresh (each worker does this once per query every
    30 s; the requests between are served from its copy)."""
    pool = await create_pool(dsn, max_size=2)
    try:
        query = await stats.checked_query(pool, from_month=None, to_month=None, department=None, district=None)
        spent = []
        for _ in range(times):
            stats.forget_cached_figures()
            started = time.perf_counter()
            await stats.report(pool, query)
            spent.append((time.perf_counter() - started) * 1000)
    finally:
        await pool.close()
    spent.sort()
    return {"median": spent[len(spent) // 2], "max": spent[-1]}


async def _any_tokens(dsn: str, limit: int = 5000) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return await store.sample_tokens(conn, limit)
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(main())
