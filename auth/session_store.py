"""Litestar's session Store interface over our `sessions` table, so all workers share sessions."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import timedelta

import asyncpg
from litestar.stores.base import Store

from auth import store

EMPTY_SESSION = b"{}"


def _delta(value: int | timedelta | None) -> timedelta | None:
    if value is None:
        return None
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class PostgresSessionStore(Store):
    """Litestar writes the session back after every response; most are unchanged, and a write per page
    view would put an fsync on every signed-in request. So an unchanged session is not written again."""

    _REMEMBERED = 10_000

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._last_seen: OrderedDict[str, bytes] = OrderedDict()  # key → digest of the stored value

    def _remember(self, key: str, value: bytes) -> None:
        self._last_seen[key] = hashlib.blake2b(value, digest_size=16).digest()
        self._last_seen.move_to_end(key)
        if len(self._last_seen) > self._REMEMBERED:
            self._last_seen.popitem(last=False)

    def bind(self, pool: asyncpg.Pool) -> None:
        """The pool exists only once the app has started; the store is made before that."""
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("session store used before the database pool was bound")
        return self._pool

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        if data == EMPTY_SESSION:
            # Litestar stores every visitor's empty session under a fresh id: a write per anonymous
            # page view. Nothing to keep; an emptied session we had read is removed instead.
            if key in self._last_seen:
                await self.delete(key)
            return
        if self._last_seen.get(key) == hashlib.blake2b(data, digest_size=16).digest():
            return
        await store.session_set(self.pool, key, data, _delta(expires_in))
        self._remember(key, data)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        value = await store.session_get(self.pool, key, _delta(renew_for))
        if value is not None:
            self._remember(key, value)
        return value

    async def delete(self, key: str) -> None:
        self._last_seen.pop(key, None)
        await store.session_delete(self.pool, key)

    async def delete_all(self) -> None:
        self._last_seen.clear()
        await store.session_delete_all(self.pool)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        return await store.session_expires_in(self.pool, key)
