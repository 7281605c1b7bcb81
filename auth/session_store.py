"""The sessions table: its SQL, and Litestar's session Store interface over it, so all workers share sessions, plus
the two writes the session backend (auth/sessions.py) uses instead of a blind upsert: create only if absent, and
replace only if the row still holds what the request read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from litestar.stores.base import Store

from auth.models import SessionRead
from db.pool import DB

# Reads a live session by its key together with the account it names, in one statement (app.accounts' store, given at
# composition: auth/ does not import app/); None when there is no live session under the key.
SessionReader = Callable[[DB, str], Awaitable[SessionRead | None]]


def _delta(value: int | timedelta | None) -> timedelta | None:
    if value is None:
        return None
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class PostgresSessionStore(Store):
    def __init__(self, read_with_user: SessionReader) -> None:
        self._pool: asyncpg.Pool | None = None
        self._read_with_user = read_with_user

    def bind(self, pool: asyncpg.Pool) -> None:
        """The pool exists only once the app has started; the store is made before that."""
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("session store used before the database pool was bound")
        return self._pool

    def _on(self, db: DB | None) -> DB:
        return db if db is not None else self.pool

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        await session_set(self.pool, key, data, _delta(expires_in))

    # The session backend's reads and writes take `db`: the request's own view of the pool when it has one
    # (db/request_pool.py). A page view holds that connection until its answer starts, which is when the session is
    # written: a write taking a second connection from the pool would wait, with as many such views as the pool has
    # connections, for ever (tests/test_one_connection_http.py).

    async def create(self, key: str, value: bytes, expires_in: int | None, db: DB | None = None) -> bool:
        """Store a new session; False when a row under `key` exists already (nothing is changed then)."""
        return await session_create(self._on(db), key, value, _delta(expires_in))

    async def replace(
        self, key: str, expected: bytes, value: bytes, expires_in: int | None, db: DB | None = None
    ) -> bool:
        """Store `value` only if the row still holds `expected`; False when it changed or is gone."""
        return await session_replace(self._on(db), key, expected, value, _delta(expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None, db: DB | None = None) -> bytes | None:
        return await session_get(self._on(db), key, _delta(renew_for))

    async def get_with_user(self, key: str, db: DB | None = None) -> SessionRead | None:
        """The session under `key` and its account, as the session middleware reads them on every request."""
        return await self._read_with_user(self._on(db), key)

    async def delete(self, key: str, db: DB | None = None) -> None:
        await session_delete(self._on(db), key)

    async def delete_all(self) -> None:
        await session_delete_all(self.pool)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        return await session_expires_in(self.pool, key)


# --- SQL -----------------------------------------------------------------------------------------------------------


async def session_get(db: DB, key: str, renew_for: timedelta | None) -> bytes | None:
    if renew_for is not None:
        return await db.fetchval(
            "UPDATE sessions SET expires_at = now() + $2::interval "
            "WHERE key = $1 AND (expires_at IS NULL OR expires_at > now()) RETURNING value",
            key,
            renew_for,
        )
    return await db.fetchval(
        "SELECT value FROM sessions WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())", key
    )


async def session_set(db: DB, key: str, value: bytes, expires_in: timedelta | None) -> None:
    await db.execute(
        "INSERT INTO sessions (key, value, expires_at) VALUES ($1, $2, now() + $3::interval) "
        "ON CONFLICT (key) DO UPDATE SET value = $2, expires_at = now() + $3::interval",
        key,
        value,
        expires_in,
    )


async def session_create(db: DB, key: str, value: bytes, expires_in: timedelta | None) -> bool:
    status = await db.execute(
        "INSERT INTO sessions (key, value, expires_at) VALUES ($1, $2, now() + $3::interval) "
        # An expired row under the key is as good as none.
        "ON CONFLICT (key) DO UPDATE SET value = $2, expires_at = now() + $3::interval "
        "WHERE sessions.expires_at IS NOT NULL AND sessions.expires_at <= now()",
        key,
        value,
        expires_in,
    )
    return status == "INSERT 0 1"


async def session_replace(db: DB, key: str, expected: bytes, value: bytes, expires_in: timedelta | None) -> bool:
    status = await db.execute(
        "UPDATE sessions SET value = $3, expires_at = now() + $4::interval "
        "WHERE key = $1 AND value = $2 AND (expires_at IS NULL OR expires_at > now())",
        key,
        expected,
        value,
        expires_in,
    )
    return status == "UPDATE 1"


async def session_delete(db: DB, key: str) -> None:
    await db.execute("DELETE FROM sessions WHERE key = $1", key)


async def session_delete_all(db: DB) -> None:
    await db.execute("DELETE FROM sessions")


async def session_expires_in(db: DB, key: str) -> int | None:
    return await db.fetchval(
        "SELECT greatest(0, extract(epoch FROM expires_at - now()))::int FROM sessions WHERE key = $1", key
    )


async def purge_expired_sessions(db: DB) -> None:
    await db.execute("DELETE FROM sessions WHERE expires_at < now()")
