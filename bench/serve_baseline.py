"""Serve bench/baseline_app.py exactly as `python -m app serve` serves the app: granian, same workers."""

from __future__ import annotations

import os

from granian import Granian
from granian.constants import Interfaces


def main() -> None:
    Granian(
        "bench.baseline_app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        workers=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 1)),
    ).serve()


if __name__ == "__main__":
    main()
