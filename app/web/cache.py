"""A small per-process cache for configuration that changes rarely (life-event forms, holiday schedules).

Loaded again after `ttl` seconds, so a re-seeded catalogue or a newly loaded holiday file is picked up
by every worker within that time without any signalling between processes. A cache whose keys come from a request
(the statistics' filters) is bounded: past `max_entries` the oldest entry goes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, max_entries: int | None = None) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = await load()
        self._entries.pop(key, None)  # re-inserted last: the dict's order is the entries' age
        if self.max_entries is not None and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
