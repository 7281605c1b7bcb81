"""A small per-process cache for configuration that changes rarely (life-event forms, holiday schedules).

Loaded again after `ttl` seconds, so a re-seeded catalogue or a newly loaded holiday file is picked up
by every worker within that time without any signalling between processes. A cache whose keys come from a request
(the statistics' filters) is bounded: past `max_entries` the oldest entry goes. Callers asking for a key while it is
being loaded wait for that one load (no stampede of identical queries when an entry expires under load)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, max_entries: int | None = None) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Future[V]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        while True:
            now = time.monotonic()
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
            loading = self._loading.get(key)
            if loading is None:
                return await self._load(key, load, now)
            try:
                return await asyncio.shield(loading)
            except asyncio.CancelledError:
                if not loading.cancelled():
                    raise  # this caller was cancelled
                # The caller loading it went away: the next round loads it here.

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[V]], now: float) -> V:
        self._loading[key] = future = asyncio.get_running_loop().create_future()
        try:
            value = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody may be waiting for it
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        self._entries.pop(key, None)  # re-inserted last: the dict's order is the entries' age
        if self.max_entries is not None and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
