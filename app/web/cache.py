"""A small per-process cache for configuration that changes rarely (life-event forms, holiday schedules).

Loaded again after `ttl` seconds, so a re-seeded catalogue or a newly loaded holiday file is picked up
by every worker within that time without any signalling between processes. A cache whose keys come from a request
(the statistics' filters) is bounded: past `max_entries` the oldest entry goes. Callers asking for a key while it is
being loaded wait for that one load (no stampede of identical queries when an entry expires under load). With
`stale_for`, an entry past its time is still answered for that long while one load replaces it in the background:
callers never wait for a reload (the public statistics, whose report takes a while to compute at city scale)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
log = logging.getLogger(__name__)


class TtlCache(Generic[V]):
    def __init__(self, ttl: float, max_entries: int | None = None, stale_for: float = 0.0) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.stale_for = stale_for
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Future[V]] = {}
        self._refreshing: set[asyncio.Task[None]] = set()

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        while True:
            now = time.monotonic()
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
            loading = self._loading.get(key)
            if entry is not None and now < entry[0] + self.stale_for:
                if loading is None:
                    self._refresh(key, load, now)
                return entry[1]
            if loading is None:
                return await self._load(key, load, now)
            try:
                return await asyncio.shield(loading)
            except asyncio.CancelledError:
                if not loading.cancelled():
                    raise  # this caller was cancelled
                # The caller loading it went away: the next round loads it here.

    async def _load(
        self, key: Hashable, load: Callable[[], Awaitable[V]], now: float, future: asyncio.Future[V] | None = None
    ) -> V:
        if future is None:
            future = asyncio.get_running_loop().create_future()
        self._loading[key] = future
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

    def _refresh(self, key: Hashable, load: Callable[[], Awaitable[V]], now: float) -> None:
        """Load the key again in the background; the stale entry stays until it succeeds (a failure is logged, and the
        next caller past the time tries again)."""

        # Marked as loading at once: the callers before the task first runs answer from the stale entry too.
        self._loading[key] = future = asyncio.get_running_loop().create_future()

        async def reload() -> None:
            try:
                await self._load(key, load, now, future)
            except Exception:
                log.warning("refreshing a cached entry failed; the previous one is kept", exc_info=True)

        task = asyncio.get_running_loop().create_task(reload())
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    def clear(self) -> None:
        self._entries.clear()
