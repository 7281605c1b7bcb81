"""A per-process sliding-window limit, for cheap public reads such as scanning a receipt QR.

Per process on purpose: a worker protects itself without a database write per request; with N
workers the effective limit is at most N times the setting, which is fine for abuse control.
"""

from __future__ import annotations

import time
from collections import deque

from auth import metrics


class SlidingWindowLimiter:
    def __init__(self, per_minute: int, *, kind: str = "per-process", max_keys: int = 50_000) -> None:
        self.per_minute = per_minute
        self.kind = kind  # how its refusals are counted on /metrics
        self._hits: dict[str, deque[float]] = {}
        self._max_keys = max_keys

    def retry_after(self, key: str, now: float | None = None) -> int:
        """0 when the hit is allowed (and counted); else seconds until the next one would be."""
        if self.per_minute <= 0:
            return 0
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._hits.clear()  # bounded memory under a flood of distinct addresses
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            metrics.refused(self.kind)
            return max(1, int(60 - (now - hits[0])) + 1)
        hits.append(now)
        return 0
