"""SQL for the population register. Callers pass the ID number's hash and ciphertext, never clear text."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.people.models import EncryptedIdentity, Person
from db.pool import DB


def _person(row: Any) -> Person:
    return Person(
        id=row["id"],
        name=row["name"],
        id_number_masked=row["id_number_masked"],
        phone=row["phone"],
        region_code=row["region_code"],
        birth_date=row["birth_date"],
        sex=row["sex"],
        household_no=row["household_no"],
        mother_id=row["mother_id"],
        father_id=row["father_id"],
        status=row["status"],
        died_on=row["died_on"],
    )


async def upsert_person(
    db: DB,
    *,
    id_number_hash: bytes,
    id_number_enc: bytes,
    id_number_masked: str,
    name: str,
    phone: str | None,
    region_code: str | None,
    birth_date: date,
    sex: str,
    household_no: str | None,
) -> bool:
    """Insert or update by the number's hash; True when a new person was added. An import without a 户号 keeps
    the one the register has."""
    return await db.fetchval(
        """INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, phone, region_code,
                               birth_date, sex, household_no)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id_number_hash) DO UPDATE SET name = $4, phone = $5, region_code = $6,
               household_no = coalesce($9, people.household_no), updated_at = now()
           RETURNING (xmax = 0)""",
        id_number_hash,
        id_number_enc,
        id_number_masked,
        name,
        phone,
        region_code,
        birth_date,
        sex,
        household_no,
    )


async def find_person_by_hash(db: DB, id_number_hash: bytes) -> Person | None:
    row = await db.fetchrow("SELECT * FROM people WHERE id_number_hash = $1", id_number_hash)
    return _person(row) if row else None


async def get_person(db: DB, person_id: int) -> Person | None:
    row = await db.fetchrow("SELECT * FROM people WHERE id = $1", person_id)
    return _person(row) if row else None


async def find_people_by_hashes(db: DB, id_number_hashes: list[bytes]) -> list[tuple[bytes, Person]]:
    """(hash, person) for each of the hashes the register holds."""
    rows = await db.fetch("SELECT * FROM people WHERE id_number_hash = ANY($1::bytea[])", id_number_hashes)
    return [(bytes(r["id_number_hash"]), _person(r)) for r in rows]


async def get_person_with_identity(db: DB, person_id: int) -> tuple[Person, EncryptedIdentity] | None:
    row = await db.fetchrow("SELECT * FROM people WHERE id = $1", person_id)
    if row is None:
        return None
    return _person(row), EncryptedIdentity(name=row["name"], id_number_enc=row["id_number_enc"])


async def get_people(db: DB, person_ids: list[int]) -> list[Person]:
    rows = await db.fetch("SELECT * FROM people WHERE id = ANY($1::bigint[])", person_ids)
    return [_person(r) for r in rows]


async def household_members(db: DB, household_no: str) -> list[Person]:
    rows = await db.fetch("SELECT * FROM people WHERE household_no = $1 ORDER BY birth_date, id", household_no)
    return [_person(r) for r in rows]


async def children_of(db: DB, parent_id: int) -> list[Person]:
    rows = await db.fetch(
        "SELECT * FROM people WHERE mother_id = $1 OR father_id = $1 ORDER BY birth_date, id", parent_id
    )
    return [_person(r) for r in rows]


async def insert_person(
    db: DB,
    *,
    id_number_hash: bytes,
    id_number_enc: bytes,
    id_number_masked: str,
    name: str,
    region_code: str | None,
    birth_date: date,
    sex: str,
    household_no: str | None,
    mother_id: int | None,
    father_id: int | None,
) -> int | None:
    """A new person (a newborn registered at 户口登记); None when the number is already in the register."""
    return await db.fetchval(
        """INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, region_code, birth_date, sex,
                               household_no, mother_id, father_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id_number_hash) DO NOTHING
           RETURNING id""",
        id_number_hash,
        id_number_enc,
        id_number_masked,
        name,
        region_code,
        birth_date,
        sex,
        household_no,
        mother_id,
        father_id,
    )


async def mark_deceased(db: DB, person_id: int, died_on: date) -> bool:
    """已注销 with the date of death; False when the person was already 已注销 (or is not in the register)."""
    status = await db.execute(
        "UPDATE people SET status = 'deceased', died_on = $2, updated_at = now() WHERE id = $1 AND status = 'active'",
        person_id,
        died_on,
    )
    return status == "UPDATE 1"


async def encrypted_identity(db: DB, person_id: int) -> EncryptedIdentity | None:
    row = await db.fetchrow("SELECT name, id_number_enc FROM people WHERE id = $1", person_id)
    return EncryptedIdentity(name=row["name"], id_number_enc=row["id_number_enc"]) if row else None


async def update_phone(db: DB, person_id: int, phone: str) -> None:
    await db.execute("UPDATE people SET phone = $2, updated_at = now() WHERE id = $1", person_id, phone)


async def any_encrypted_id_number(db: DB) -> bytes | None:
    """One ciphertext, to tell whether a SECRET_KEY is the one the register was encrypted with."""
    return await db.fetchval("SELECT id_number_enc FROM people ORDER BY id LIMIT 1")
