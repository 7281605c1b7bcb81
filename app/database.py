"""Which PostgreSQL the app talks to (DATABASE_URL, or the embedded server under DATA_DIR/pg), and bringing its
schema up to date: the SQL migrations with the data steps that need the app's keys."""

from __future__ import annotations

import asyncpg

from app.certificates.service import seal_clear_rows
from app.settings import Settings
from auth.pii import PiiCipher
from db.embedded import embedded_database_url
from db.migrate import DataStep, apply_migrations


async def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await embedded_database_url(settings.data_dir)


def data_steps(cipher: PiiCipher) -> dict[str, DataStep]:
    """By the name a migration file gives on its `-- data step:` line."""

    async def seal_certificate_numbers(conn: asyncpg.Connection) -> None:
        await seal_clear_rows(conn, cipher)

    return {"seal_certificate_numbers": seal_certificate_numbers}


async def migrate_database(conn: asyncpg.Connection, cipher: PiiCipher) -> list[str]:
    """Every way the app starts migrates through here (`python -m app migrate|serve|seed`, the push worker,
    the tests and the bench), so no pending data step is ever left behind."""
    return await apply_migrations(conn, data_steps=data_steps(cipher))
