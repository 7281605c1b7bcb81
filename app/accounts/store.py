"""SQL for accounts (residents and staff; the only store of the accounts table) and the sign-up codes texted to
the register's phone."""

from __future__ import annotations

from datetime import timedelta

from app.accounts.models import Account, NoticeChoices, ResidentAccount, SignupCode
from auth.models import CurrentUser, SessionRead
from db.pool import DB


async def session_with_user(db: DB, key: str) -> SessionRead | None:
    """A live session (auth.session_store's rule: not past its expiry) and the account it names, unless that account
    is gone, closed or was signed out everywhere since the session signed in: the one read of the session middleware
    on every request (auth.sessions), so both come in one round trip. The session's value is the JSON auth.sessions
    writes; its "account_id" and "signed_in_at" (epoch seconds) are the keys read here."""
    row = await db.fetchrow(
        """SELECT s.value, a.id, a.kind, a.name, a.roles, a.person_id, a.department_code, a.region_code, a.elder_mode,
                  a.language,
                  ARRAY(SELECT w.department_code FROM staff_window_authorisations w WHERE w.account_id = a.id)
                      AS window_departments
           FROM sessions s
           CROSS JOIN LATERAL (SELECT convert_from(s.value, 'UTF8')::jsonb AS data) v
           LEFT JOIN accounts a ON a.id = (v.data ->> 'account_id')::bigint
                AND a.sessions_valid_after <= to_timestamp(coalesce((v.data ->> 'signed_in_at')::float8, 0))
                AND a.closed_at IS NULL
           WHERE s.key = $1 AND (s.expires_at IS NULL OR s.expires_at > now())""",
        key,
    )
    if row is None:
        return None
    user = None
    if row["id"] is not None:
        user = CurrentUser(
            account_id=row["id"],
            kind=row["kind"],
            name=row["name"],
            roles=frozenset(row["roles"]),
            person_id=row["person_id"],
            department_code=row["department_code"],
            region_code=row["region_code"],
            elder_mode=row["elder_mode"],
            language=row["language"],
            window_departments=frozenset(row["window_departments"]),
        )
    return SessionRead(value=row["value"], user=user)


async def void_all_sessions(db: DB, account_id: int) -> None:
    await db.execute("UPDATE accounts SET sessions_valid_after = now() WHERE id = $1", account_id)


async def close_resident_account(db: DB, person_id: int, reason: str) -> int | None:
    """The person's account closed: no session of it counts from now on, and it cannot sign in again. Its id, or
    None when the person has no open account."""
    return await db.fetchval(
        "UPDATE accounts SET closed_at = now(), closed_reason = $2, sessions_valid_after = now() "
        "WHERE person_id = $1 AND kind = 'resident' AND closed_at IS NULL RETURNING id",
        person_id,
        reason,
    )


async def is_closed(db: DB, account_id: int) -> bool:
    return bool(await db.fetchval("SELECT closed_at IS NOT NULL FROM accounts WHERE id = $1", account_id))


async def set_elder_mode(db: DB, account_id: int, elder_mode: bool) -> None:
    await db.execute("UPDATE accounts SET elder_mode = $2 WHERE id = $1", account_id, elder_mode)


async def set_language(db: DB, account_id: int, language: str) -> None:
    await db.execute("UPDATE accounts SET language = $2 WHERE id = $1", account_id, language)


async def sms_preference(db: DB, account_id: int) -> str:
    return await db.fetchval("SELECT sms_preference FROM accounts WHERE id = $1", account_id) or "fallback"


async def set_sms_preference(db: DB, account_id: int, preference: str) -> None:
    await db.execute("UPDATE accounts SET sms_preference = $2 WHERE id = $1", account_id, preference)


async def resident_account_of(db: DB, person_id: int) -> ResidentAccount | None:
    row = await db.fetchrow(
        "SELECT id, name, user_handle, language, sms_preference FROM accounts "
        "WHERE person_id = $1 AND kind = 'resident'",
        person_id,
    )
    return ResidentAccount(**dict(row)) if row else None


async def resident_accounts_of(db: DB, person_ids: list[int]) -> dict[int, ResidentAccount]:
    rows = await db.fetch(
        "SELECT person_id, id, name, user_handle, language, sms_preference FROM accounts "
        "WHERE person_id = ANY($1::bigint[]) AND kind = 'resident'",
        person_ids,
    )
    return {r["person_id"]: ResidentAccount(**{k: v for k, v in r.items() if k != "person_id"}) for r in rows}


async def languages_of(db: DB, account_ids: list[int]) -> dict[int, str | None]:
    rows = await db.fetch("SELECT id, language FROM accounts WHERE id = ANY($1::bigint[])", account_ids)
    return {r["id"]: r["language"] for r in rows}


async def notice_choices_of(db: DB, account_ids: list[int]) -> dict[int, NoticeChoices]:
    rows = await db.fetch("SELECT id, language, sms_preference FROM accounts WHERE id = ANY($1::bigint[])", account_ids)
    return {r["id"]: NoticeChoices(language=r["language"], sms_preference=r["sms_preference"]) for r in rows}


async def names_of(db: DB, account_ids: list[int]) -> dict[int, str]:
    rows = await db.fetch("SELECT id, name FROM accounts WHERE id = ANY($1::bigint[])", account_ids)
    return {r["id"]: r["name"] for r in rows}


async def staff_of_department(db: DB, *, department_code: str, roles: list[str]) -> list[tuple[int, str]]:
    """(id, region code) of a department's staff accounts in one of `roles`."""
    rows = await db.fetch(
        "SELECT id, region_code FROM accounts WHERE kind = 'staff' AND department_code = $1 AND roles && $2::text[] "
        "AND region_code IS NOT NULL ORDER BY id",
        department_code,
        roles,
    )
    return [(r["id"], r["region_code"]) for r in rows]


async def user_handle_of(db: DB, account_id: int) -> bytes | None:
    return await db.fetchval("SELECT user_handle FROM accounts WHERE id = $1", account_id)


async def get_account(db: DB, account_id: int) -> Account | None:
    row = await db.fetchrow(
        "SELECT a.id, a.kind, a.name, a.roles, a.person_id, a.department_code, a.region_code, a.user_handle, "
        "r.name AS region_name, d.short_name AS department_name, p.id_number_masked "
        "FROM accounts a LEFT JOIN regions r ON r.code = a.region_code "
        "LEFT JOIN departments d ON d.code = a.department_code LEFT JOIN people p ON p.id = a.person_id "
        "WHERE a.id = $1",
        account_id,
    )
    return Account(**dict(row)) if row else None


async def create_resident_account(
    db: DB, *, person_id: int, name: str, region_code: str | None, user_handle: bytes
) -> int:
    return await db.fetchval(
        "INSERT INTO accounts (kind, person_id, name, roles, region_code, user_handle) "
        "VALUES ('resident', $1, $2, ARRAY['resident'], $3, $4) RETURNING id",
        person_id,
        name,
        region_code,
        user_handle,
    )


async def create_staff_account(
    db: DB, *, name: str, role: str, department_code: str | None, region_code: str, user_handle: bytes
) -> int:
    return await db.fetchval(
        "INSERT INTO accounts (kind, name, roles, department_code, region_code, user_handle) "
        "VALUES ('staff', $1, ARRAY[$2], $3, $4, $5) RETURNING id",
        name,
        role,
        department_code,
        region_code,
        user_handle,
    )


# --- window authorisations (the departments whose 即办件 a clerk may complete on the spot) ----------------------


async def authorise_window(db: DB, account_id: int, department_codes: list[str]) -> None:
    await db.execute(
        "INSERT INTO staff_window_authorisations (account_id, department_code) "
        "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
        account_id,
        department_codes,
    )


async def revoke_window(db: DB, account_id: int, department_codes: list[str]) -> None:
    await db.execute(
        "DELETE FROM staff_window_authorisations WHERE account_id = $1 AND department_code = ANY($2::text[])",
        account_id,
        department_codes,
    )


async def window_departments(db: DB, account_id: int) -> list[str]:
    rows = await db.fetch(
        "SELECT department_code FROM staff_window_authorisations WHERE account_id = $1 ORDER BY department_code",
        account_id,
    )
    return [r["department_code"] for r in rows]


# --- sign-up codes (texted to the register's phone) ------------------------------------------------


async def insert_signup_code(
    db: DB, *, pair_hash: bytes, person_id: int | None, code_hash: bytes, ttl: timedelta
) -> int:
    return await db.fetchval(
        "INSERT INTO signup_codes (pair_hash, person_id, code_hash, expires_at) "
        "VALUES ($1, $2, $3, now() + $4::interval) RETURNING id",
        pair_hash,
        person_id,
        code_hash,
        ttl,
    )


async def latest_signup_code(db: DB, pair_hash: bytes) -> SignupCode | None:
    """The newest code asked for this (number, name): asking again replaces the code before it."""
    row = await db.fetchrow(
        "SELECT id, person_id, code_hash, expires_at > now() AND used_at IS NULL AS live "
        "FROM signup_codes WHERE pair_hash = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        pair_hash,
    )
    return SignupCode(**dict(row)) if row else None


async def take_try(db: DB, code_id: int, tries: int) -> bool:
    """Count one try at this code; False once `tries` have been spent (counted before comparing, so that
    guesses sent all at once cannot outnumber the tries)."""
    status = await db.execute("UPDATE signup_codes SET tries = tries + 1 WHERE id = $1 AND tries < $2", code_id, tries)
    return status == "UPDATE 1"


async def use_signup_code(db: DB, code_id: int) -> bool:
    status = await db.execute(
        "UPDATE signup_codes SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()", code_id
    )
    return status == "UPDATE 1"


async def purge_old_signup_codes(db: DB) -> None:
    await db.execute("DELETE FROM signup_codes WHERE expires_at < now() - interval '1 day'")
