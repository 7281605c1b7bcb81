"""Versioned static URLs: `/static/app.css?v=<content hash>`, so files can be cached as immutable."""

from __future__ import annotations

import hashlib
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parents[2] / "pwa" / "static"


class StaticAssets:
    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._directory = directory
        self._versions: dict[str, str] = {}

    def url(self, name: str) -> str:
        version = self._versions.get(name)
        if version is None:
            # Hashed once per process: the files do not change while it runs.
            version = hashlib.sha256((self._directory / name).read_bytes()).hexdigest()[:12]
            self._versions[name] = version
        return f"/static/{name}?v={version}"
