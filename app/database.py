"""Bringing the database's schema up to date: the SQL migrations (db/migrate.py) with the data steps some of them
name, which need the app's code and keys (sealing e-certificate numbers and keying cases' subjects need SECRET_KEY).

Every process that migrates goes through here: `python -m app migrate|serve|seed`, the tests and the bench. The
push worker does not migrate: it waits until one of these has (push/worker.py).
"""

from __future__ import annotations

from app.cases import service as cases
from app.certificates.service import seal_clear_rows
from app.reviews import service as reviews
from app.stats import service as stats
from app.stats.models import Sources
from auth.pii import PiiCipher
from db.migrate import DataStep, apply_migrations
from db.pool import Tx


def data_steps(cipher: PiiCipher) -> dict[str, DataStep]:
    """By the name a migration file gives on its `-- data step:` line."""

    async def seal_certificate_numbers(conn: Tx) -> None:
        await seal_clear_rows(conn, cipher)

    async def key_case_subjects(conn: Tx) -> None:
        await cases.key_existing_cases(conn, cipher)

    return {
        "seal_certificate_numbers": seal_certificate_numbers,
        "key_case_subjects": key_case_subjects,
        "rebuild_statistics": rebuild_statistics,
    }


async def rebuild_statistics(conn: Tx) -> int:
    """Recount the public statistics from the records (migration 0035's data step, `python -m app stats-rebuild`): the
    units that keep the records read them out through their services; how many daily rows were written."""
    sources = Sources(tasks=cases.counted_tasks, ratings=reviews.counted_ratings, follow_ups=reviews.counted_follow_ups)
    return await stats.rebuild(conn, sources)


async def migrate_database(conn: Tx, cipher: PiiCipher) -> list[str]:
    """Apply every pending migration and its data step, so no pending data step is ever left behind."""
    return await apply_migrations(conn, data_steps=data_steps(cipher))
