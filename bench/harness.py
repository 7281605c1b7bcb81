"""What the benchmarks share: the servers they start, wrk and its summary, a resident or clerk signed in through the
real passkey ceremonies, and a sampling profile of a server under load (py-spy)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from app.cases import tracking
from app.people.identity import check_char, mask_id_number
from auth.pii import PiiCipher
from bench import store
from tests.auth_helpers import texted_codes
from tests.case_helpers import answers_for
from tests.softauthn import SoftAuthenticator

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = 64


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


START_SECONDS = 180


class Server:
    def __init__(self, argv: list[str], env: dict[str, str], port: int, log_path: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        # The app compiles its templates before its workers start: a minute or more on a loaded machine.
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code in (200, 404):
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()  # not left serving (granian and its workers) after the run gives up on it
        raise RuntimeError(f"server did not start: {log_path.read_text()[-2000:]}")

    def worker_peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM) of the busiest worker process."""
        peaks = []
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                status = Path(f"/proc/{child.pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                peaks.append(int(match.group(1)) / 1024)
        return max(peaks, default=0.0)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


# Seconds of a row's own traffic before it is measured (`wrk(warm_up=WARM_UP)`), not counted: the server's pool
# connections opened at the row's concurrency and their statements prepared, as they are in steady running (the
# first request on a new connection took two to four times as long, the tail of a 10-second row).
WARM_UP = int(os.environ.get("BENCH_WARM_UP_SECONDS", "2"))


def wrk(
    url: str,
    script: str,
    env: dict[str, str],
    connections: int = CONNECTIONS,
    seconds: int = SECONDS,
    warm_up: int = 0,
) -> dict:
    """wrk's figures for `seconds` of `script`'s requests at `connections`, after `warm_up` seconds of the same not
    counted (never for a script whose requests may be made once only: submissions)."""
    if warm_up:
        _run_wrk(url, script, env, connections, warm_up)
    return _run_wrk(url, script, env, connections, seconds)


def _run_wrk(url: str, script: str, env: dict[str, str], connections: int, seconds: int) -> dict:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA / script), url],
        env={**os.environ, "BENCH_LUA_DIR": str(LUA), **env},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(line)
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["connections"] = connections
    return figures


def served_throughout(figures: dict[str, Any]) -> bool:
    """Whether wrk's connections were answered throughout the run, so that its latencies are everyone's. wrk keeps
    each connection's next request in flight as soon as its answer comes (a closed loop), so by Little's law the mean
    latency times the rate is the number of connections. Far less means some waited unanswered — a server taking
    fewer requests at once than wrk keeps open: granian's `backpressure` set below the connections per worker kept
    44 of 64 waiting while the other 20 were answered in 8 ms, a p99 of 21 ms where the mean wait was 28 ms — and
    their waits are in no percentile. True for a results file from before wrk reported its mean."""
    answered = answered_at_a_time(figures)
    return answered is None or answered >= SERVED_SHARE * figures["connections"]


def answered_at_a_time(figures: dict[str, Any]) -> float | None:
    """How many of wrk's connections had a request being answered, on average (mean latency × rate); None for a
    results file from before wrk reported its mean."""
    if "mean_ms" not in figures or "connections" not in figures:
        return None
    return figures["mean_ms"] / 1000 * figures["rps"]


# The share of wrk's connections the mean latency times the rate must come to (a few requests in flight as the run
# ends are counted in neither).
SERVED_SHARE = 0.9


# --- the data ---------------------------------------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华玉兰桂英建国志"


def bench_people(count: int, villages: list[str]) -> list[tuple[str, str, str]]:
    rng, numbers, people = random.Random(2026), set(), []
    while len(people) < count:
        village = rng.choice(villages)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        first17 = f"{village[:6]}{born:%Y%m%d}{rng.randrange(1000):03d}"
        number = first17 + check_char(first17)
        if number in numbers:
            continue
        numbers.add(number)
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        people.append((number, name, village))
    return people


async def core_data(conn: Any, cipher: PiiCipher, cases: int, residents: int) -> dict[str, Any]:
    """The residents and the 新生儿出生 cases the status check, the pages and the submissions are measured on."""
    villages = [r["code"] for r in await conn.fetch("SELECT code FROM regions WHERE level = 'village'")]
    people = bench_people(residents, villages)
    log(f"encrypting and loading {len(people):,} residents")
    await store.copy_people(
        conn,
        [
            (
                cipher.lookup_hash(n),
                cipher.encrypt(n),
                mask_id_number(n),
                name,
                f"199{i:08d}",
                village,
                date(int(n[6:10]), int(n[10:12]), int(n[12:14])),
                "M" if int(n[16]) % 2 else "F",
            )
            for i, (n, name, village) in enumerate(people)
        ],
    )
    await store.create_accounts_for_bench_people(conn)
    log(f"creating {cases:,} cases with tasks and timelines")
    sample = {
        "child.name": "王小宝",
        "mother.id_number": people[0][0],
        "household.address": "常州市天宁区演示路1号",
    }
    await store.create_cases(conn, cases, cipher.encrypt_document(sample), "bench")
    tokens = await store.sample_tokens(conn, 5000)
    # Cases made by the app get their tracking snapshot with their first event; these bulk ones get
    # it on first scan. Build them now so the run measures steady state, not first scans.
    for case_id in await store.case_ids(conn, tokens):
        await tracking.refresh(conn, case_id)
    # The mothers the submitted births name, one per request in turn: a city files many births, not one birth many
    # times (一事不二办 would take each repeat for a duplicate, serialised on its subject and flagged to the clerk).
    mothers = [n for n, _, _ in people[1:2001]]
    return {"tokens": tokens, "walk_in": {"id_number": people[0][0], "name": people[0][1]}, "mothers": mothers}


# --- a signed-in resident and a clerk, through the real passkey ceremonies ----------------------------


def texted_code(server_log: Path, since: int) -> str:
    """The sign-up code the SMS `log` backend wrote to the server's log after `since`."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with server_log.open("rb") as text:
            text.seek(since)
            if codes := texted_codes(text.read().decode("utf-8", "replace")):
                return codes[0]
        time.sleep(0.1)
    raise RuntimeError(f"no sign-up code texted in {server_log}")


def signed_in(url: str, body: dict[str, str], server_log: Path) -> httpx.Client:
    """Sign up through the real ceremonies: the code texted to the register's phone (read from the server's log),
    or an enrollment code, then the passkey."""
    client = httpx.Client(base_url=url, timeout=30)
    client.get("/")
    headers = {"X-CSRFToken": client.cookies["csrftoken"]}
    if "enrollment_code" not in body:
        since = server_log.stat().st_size
        client.post("/api/v1/auth/register/options", json=body, headers=headers).raise_for_status()
        body = {**body, "sms_code": texted_code(server_log, since)}
    options = client.post("/api/v1/auth/register/options", json=body, headers=headers)
    options.raise_for_status()
    authenticator = SoftAuthenticator("localhost", url.replace("127.0.0.1", "localhost"))
    credential = authenticator.create(options.json())
    client.post("/api/v1/auth/register/verify", json={"credential": credential}, headers=headers).raise_for_status()
    return client


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def staff_code(env: dict[str, str], name: str, *, department: str, region: str) -> str:
    """A window clerk's enrollment code, from `python -m app staff-add` as an administrator makes one."""
    command = ["staff-add", "--name", name, "--role", "clerk", "--department", department, "--region", region]
    made = subprocess.run(
        [sys.executable, "-m", "app", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def submission_env(clerk: httpx.Client, walk_in: dict[str, str], mothers: list[str], work: Path) -> dict[str, str]:
    """What bench/wrk/births.lua needs for a window clerk filing births: the clerk has checked the ID card of the
    resident `walk_in` at the window (窗口收件) and files 新生儿出生 for them, each naming another of `mothers`."""
    clerk.post(
        "/api/v1/console/walk-ins",
        json={**walk_in, "identity_checked": True},
        headers={"X-CSRFToken": clerk.cookies["csrftoken"]},
    ).raise_for_status()
    form = clerk.get("/api/v1/life-events/birth/form").json()
    answers = {**answers_for(form), "mother.id_number": "__MOTHER__", "child.birth_date": "__BORN__"}
    body = {"life_event": "birth", "data": answers, "idempotency_key": "__KEY__", "on_behalf_of": "__ID__"}
    files = {"BODY": work / "body.json", "IDS": work / "ids.txt", "MOTHERS": work / "mothers.txt"}
    files["BODY"].write_text(json.dumps(body, ensure_ascii=False))
    files["IDS"].write_text(walk_in["id_number"])
    files["MOTHERS"].write_text("\n".join(mothers))
    return {**{k: str(v) for k, v in files.items()}, "COOKIE": cookie_header(clerk), "CSRF": clerk.cookies["csrftoken"]}


# --- where a server spends its time under load ---------------------------------------------------------------------

PROFILE_SECONDS = int(os.environ.get("BENCH_PROFILE_SECONDS", "5"))
_FRAME = re.compile(r"^(?P<function>.+) \((?P<file>.+):(?P<line>\d+)\)$")
_OWN = ("app/", "auth/", "push/", "db/", "config/", "sms/", "pwa/templates/")
# Threads that wait, though py-spy counts them busy: granian's worker thread parked in its Rust runtime, the logging
# queue's listener and the server's supervisor polling its workers. Their samples are left out.
_WAITING = ("_spawn_asgi_lifespan_worker (granian/", "Condition.wait (threading.py", "Popen.poll (multiprocessing/")


def py_spy() -> str | None:
    """The py-spy executable beside this Python (the dev extra installs it), else on PATH; None when absent."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def profile(server: Server, load: Callable[[int], object], seconds: int = PROFILE_SECONDS) -> dict[str, Any]:
    """The top frames of a server's workers while `load(seconds)` runs: py-spy samples every worker (its
    --subprocesses) without pausing them (--nonblocking), idle time left out. `self`: where the samples were (the
    innermost frame); `ours`: the innermost of our own functions on the stack (what of ours the time was spent in,
    libraries' time included). Without py-spy, or
    where the kernel refuses it (ptrace), says why instead."""
    spy = py_spy()
    if spy is None:
        return {"error": "py-spy not installed (pip install py-spy)"}
    out = Path(tempfile.mkdtemp(prefix="ywtb-profile-")) / "raw.txt"
    command = [spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--rate", "250"]
    command += ["--duration", str(seconds), "--format", "raw", "-o", str(out)]
    recorder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        load(seconds)
    finally:
        output = recorder.communicate(timeout=seconds + 60)[0]
    if recorder.returncode != 0 or not out.exists():
        return {"error": f"py-spy could not sample (ptrace refused?): {output.strip()[-300:]}"}
    return top_frames(out.read_text(errors="replace"))


# Where a sample's time went, by the innermost frame that says so (the standard library's frames say nothing: the
# frame that called them does): drawing the page, the database, logs and metrics, the framework and server (routing,
# middleware, sessions, CSRF, sending), or our own code (handlers, services, stores, middleware of ours).
_WHERE = (
    ("drawing (Jinja)", ("jinja2/", "markupsafe/", "pwa/templates/")),
    ("database (asyncpg)", ("asyncpg/",)),
    ("logs and metrics", ("logging/", "prometheus_client/", "app/ops/")),
    ("framework and server", ("litestar/", "granian/", "msgspec/", "multipart/")),
)


# The outermost of our ASGI wrappers hands each message to the server: a sample whose innermost Python frame is it is
# granian sending (its Rust has no Python frame of its own), not our request bookkeeping.
_HANDING_TO_THE_SERVER = ("request_context.<locals>.handle.<locals>.send_with_id (app/ops/requests.py:",)


def _where(frames: list[str]) -> str:
    if frames and frames[-1].startswith(_HANDING_TO_THE_SERVER):
        return "framework and server"
    for frame in reversed(frames):
        place = frame.split(" (", 1)[1]
        for name, marks in _WHERE:
            if place.startswith(marks) or (name.startswith("drawing") and ".html:" in place):
                return name
        if place.startswith(_OWN):
            return "our code"
    return "framework and server"


def top_frames(raw: str, count: int = 8) -> dict[str, Any]:
    """The collapsed stacks py-spy wrote (`frame;frame;… samples` a line) as the top frames by share of samples, and the
    share of each kind of work (`where`)."""
    inner: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    where: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";") if _FRAME.match(f)]
        if not frames or frames[-1].startswith(_WAITING):
            continue
        weight = int(samples)
        total += weight
        inner[frames[-1]] += weight
        where[_where(frames)] += weight
        own = [frame for frame in frames if frame.split(" (", 1)[1].startswith(_OWN)]
        if own:
            ours[own[-1]] += weight
    share = lambda counter: [[frame, round(100 * n / total, 1)] for frame, n in counter.most_common(count)]  # noqa: E731
    if not total:
        return {"error": "no samples"}
    return {"samples": total, "where": share(where), "self": share(inner), "ours": share(ours)}


def _short(frame: str) -> str:
    """`function (file:line)` with the file from the repository or the installed package, not the whole path."""
    found = _FRAME.match(frame)
    assert found is not None
    path = found["file"]
    for marker in ("site-packages/", "lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            path = path.split("/", 1)[1] if marker == "lib/python3." else path
            break
    else:
        path = path.removeprefix(str(ROOT) + "/")
    return f"{found['function']} ({path}:{found['line']})"
