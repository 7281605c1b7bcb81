"""`python -m app serve` in a process of its own on a free port, started, killed and started again as an
operator (or a crash) would: for the fault and two-host tests and the browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.database_fixtures import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthz_status(url: str) -> int | None:
    """What `/healthz` answers, or None when nothing answers (not listening yet, or gone)."""
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if healthz_status(url) == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the app did not become healthy in {timeout}s:\n{log.read_text()[-3000:]}")


def serve_env(
    data_dir: Path,
    *,
    port: int | None = None,
    database_url: str | None = None,
    public_url: str | None = None,
    secret_key: str | None = TEST_SECRET_KEY,
    **extra: str,
) -> dict[str, str]:
    """The environment of one host. Without `database_url` it finds (or starts) the embedded server in
    DATA_DIR; without `secret_key` it reads (or makes) DATA_DIR/secret_key."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PUBLIC_URL": public_url or f"http://localhost:{port}",
            "PUSH_ALLOWED_HOSTS": "127.0.0.1",
            "WEB_WORKERS": "1",
            **extra,
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if secret_key:
        env["SECRET_KEY"] = secret_key
    return env


class AppServer:
    """One `python -m app serve` (granian and its workers) in a process group of its own, so that a kill
    takes all of it at once, as when a machine or container dies."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.url = f"http://127.0.0.1:{env['PORT']}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> AppServer:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_healthy(self.url, self.process, self.log, timeout)
        return self

    def kill(self) -> None:
        """SIGKILL to the whole group: no clean-up, no last words."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signum)
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(15)
        except ProcessLookupError:
            pass
        # Granian's workers may outlive the main process by a moment: wait until the port is free again.
        deadline = time.monotonic() + 10
        while healthz_status(self.url) is not None and time.monotonic() < deadline:
            time.sleep(0.1)

    def cli(self, *args: str) -> str:
        """`python -m app …` with this host's settings; returns stdout."""
        result = subprocess.run(
            [sys.executable, "-m", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"python -m app {' '.join(args)} exited with {result.returncode}:\n{result.stderr}")
        return result.stdout

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")
