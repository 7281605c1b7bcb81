"""Litestar's session Store interface over our `sessions` table, so all workers share sessions, plus the two
writes the session backend (auth/sessions.py) uses instead of a blind upsert: create only if absent, and
replace only if the row still holds what the request read."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from litestar.stores.base import Store

from auth import store


def _delta(value: int | timedelta | None) -> timedelta | None:
    if value is None:
        return None
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class PostgresSessionStore(Store):
    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None

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
        await store.session_set(self.pool, key, data, _delta(expires_in))

    async def create(self, key: str, value: bytes, expires_in: int | None) -> bool:
        """Store a new session; False when a row under `key` exists already (nothing is changed then)."""
        return await store.session_create(self.pool, key, value, _delta(expires_in))

    async def replace(self, key: str, expected: bytes, value: bytes, expires_in: int | None) -> bool:
        """Store `value` only if the row still holds `expected`; False when it changed or is gone."""
        return await store.session_replace(self.pool, key, expected, value, _delta(expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await store.session_get(self.pool, key, _delta(renew_for))

    async def delete(self, key: str) -> None:
        await store.session_delete(self.pool, key)

    async def delete_all(self) -> None:
        await store.session_delete_all(self.pool)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        return await store.session_expires_in(self.pool, key)
