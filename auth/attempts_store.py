"""SQL for what the rate limits count (auth.ratelimit): every attempt at something limited whether or not it
succeeds (rate_limit_attempts), and failed sign-ins, proofs and codes (auth_failures)."""

from __future__ import annotations

from datetime import datetime, timedelta

from db.pool import DB

# --- attempts counted whether or not they fail (auth.ratelimit.count_attempt) ------------------------


async def lock_attempt_subjects(tx: DB, subjects: list[str]) -> None:
    """Serialise counting for these subjects until the transaction ends, across every app process (sorted, so
    two requests never wait on each other crosswise)."""
    for subject in sorted(subjects):
        await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", subject)


async def recent_attempts(db: DB, subject: str, window: timedelta) -> tuple[int, datetime | None]:
    """How many attempts in the window, and when the oldest of them was made."""
    row = await db.fetchrow(
        "SELECT count(*) AS n, min(at) AS oldest FROM rate_limit_attempts "
        "WHERE subject = $1 AND at > now() - $2::interval",
        subject,
        window,
    )
    assert row is not None  # an aggregate answers one row
    return row["n"], row["oldest"]


async def record_attempts(db: DB, subjects: list[str]) -> None:
    await db.execute("INSERT INTO rate_limit_attempts (subject) SELECT unnest($1::text[])", subjects)


async def purge_old_attempts(db: DB) -> None:
    await db.execute("DELETE FROM rate_limit_attempts WHERE at < now() - interval '1 day'")


# --- failed attempts ------------------------------------------------------------------------------


async def record_failure(db: DB, subjects: list[str]) -> None:
    await db.executemany("INSERT INTO auth_failures (subject) VALUES ($1)", [(s,) for s in subjects])


async def recent_failures(db: DB, subject: str, window: timedelta) -> tuple[int, datetime | None]:
    """How many failures in the window, and when the oldest of them happened."""
    row = await db.fetchrow(
        "SELECT count(*) AS n, min(at) AS oldest FROM auth_failures WHERE subject = $1 AND at > now() - $2::interval",
        subject,
        window,
    )
    assert row is not None  # an aggregate answers one row
    return row["n"], row["oldest"]


async def purge_old_failures(db: DB) -> None:
    await db.execute("DELETE FROM auth_failures WHERE at < now() - interval '1 day'")
