"""`make lighthouse`: Lighthouse's accessibility category on the home page, in Chinese, in English and in 长辈版.

The app is served as `make bench` serves it (the embedded PostgreSQL in a temporary folder, migrated and seeded with
the demo data, `python -m app serve` on a free port); the Lighthouse CLI (installed by the Makefile into .lighthouse/,
git-ignored) drives Debian's Chromium headless. The language and the display are chosen as a person's device
chooses them: `Accept-Language` and the `ywtb_lang` / `ywtb_elder` cookies, sent with every request
(`--extra-headers`). Prints each score and the audits that failed; exits 1 unless every score is 1.0."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from app.database import migrate_database
from app.seed import seed_demo_data
from auth.pii import PiiCipher
from bench.harness import ROOT, Server, free_port, log
from db.embedded import ensure_database, start_embedded_server
from db.pool import create_pool

SECRET = "lighthouse-secret-" + "l" * 40
LIGHTHOUSE = os.environ.get("LIGHTHOUSE") or str(ROOT / ".lighthouse" / "node_modules" / ".bin" / "lighthouse")
CHROME = os.environ.get("CHROME_PATH") or "/usr/bin/chromium"
# name → the headers every request of that run carries, and how the page's <html> must open with them (checked first,
# so a renamed cookie cannot leave two runs measuring the same page).
RUNS: dict[str, tuple[dict[str, str], str]] = {
    "中文": ({"Accept-Language": "zh-CN,zh;q=0.9"}, '<html lang="zh-CN">'),
    "English": ({"Accept-Language": "en-GB,en;q=0.9", "Cookie": "ywtb_lang=en"}, '<html lang="en">'),
    "长辈版": ({"Accept-Language": "zh-CN,zh;q=0.9", "Cookie": "ywtb_elder=1"}, '<html lang="zh-CN" class="elder">'),
}


async def _seed(dsn: str) -> None:
    pool = await create_pool(dsn, max_size=2)
    async with pool.acquire() as conn:
        cipher = PiiCipher(SECRET)
        await migrate_database(conn, cipher)
        await seed_demo_data(conn, cipher)
    await pool.close()


def accessibility(url: str, headers: dict[str, str], report: Path) -> dict[str, Any]:
    """Lighthouse's accessibility category for one page: its score (0–1) and the failed audits' titles."""
    command = [
        LIGHTHOUSE,
        url,
        "--only-categories=accessibility",
        "--output=json",
        f"--output-path={report}",
        f"--extra-headers={json.dumps(headers)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--quiet",
    ]
    done = subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROME}, capture_output=True, text=True)
    if done.returncode != 0 or not report.exists():
        raise RuntimeError(f"lighthouse failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(report.read_text())
    category = result["categories"]["accessibility"]
    failed = [
        f"{audit['id']}: {audit['title']}"
        for ref in category["auditRefs"]
        if ref["weight"] > 0
        for audit in [result["audits"][ref["id"]]]
        if audit["score"] is not None and audit["score"] < 1
    ]
    return {"score": category["score"], "failed": failed}


def main() -> int:
    if not Path(LIGHTHOUSE).exists():
        print(f"no Lighthouse at {LIGHTHOUSE}: run `make lighthouse`, which installs it", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="ywtb-lighthouse-"))
    server_dsn = start_embedded_server(work, keep_running=False)
    dsn = asyncio.run(ensure_database(server_dsn, "ywtb_lighthouse"))
    asyncio.run(_seed(dsn))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "SECRET_KEY": SECRET,
        "DATA_DIR": str(work / "data"),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WEB_WORKERS": "1",
    }
    server = Server([sys.executable, "-m", "app", "serve"], env, port, work / "server.log")
    scores: dict[str, float] = {}
    try:
        for name, (headers, opening) in RUNS.items():
            page = httpx.get(server.url + "/", headers=headers).text
            if opening not in page:
                raise RuntimeError(f"/ with {headers} does not open with {opening}")
            log(f"Lighthouse accessibility on / ({name})")
            found = accessibility(server.url + "/", headers, work / f"lighthouse-{len(scores)}.json")
            scores[name] = found["score"]
            print(f"  {name}: {found['score']:.2f}", flush=True)
            for audit in found["failed"]:
                print(f"    failed {audit}", flush=True)
    finally:
        server.stop()
    shutil.rmtree(work, ignore_errors=True)
    if all(score == 1 for score in scores.values()):
        print("Lighthouse accessibility on /: 1.0 in " + ", ".join(scores))
        return 0
    print("Lighthouse accessibility on / is below 1.0: " + ", ".join(f"{n} {s:.2f}" for n, s in scores.items()))
    return 1


if __name__ == "__main__":
    sys.exit(main())
