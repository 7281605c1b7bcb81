"""The tests' own PostgreSQL leaves nothing behind: its folder goes when the test process ends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A process as a test run is: the run's server started in its throwaway folder, used, and the process ended.
_RUN = """
import asyncio, asyncpg
from tests.database_fixtures import throwaway_server_folder
from db.embedded import start_embedded_server
folder = throwaway_server_folder()
dsn = start_embedded_server(folder, keep_running=False)
async def ask():
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
assert asyncio.run(ask()) == 1
assert (folder / "pg").is_dir()
print(folder)
"""


def test_the_servers_folder_is_gone_when_the_process_ends() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", _RUN], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    folder = Path(ran.stdout.strip().splitlines()[-1])
    assert folder.name.startswith("ywtb-test-pg-")
    assert not folder.exists()
