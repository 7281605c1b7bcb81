"""SQL for the legal-person register (organisations)."""

from __future__ import annotations

from datetime import date

from asyncpg import Record

from app.organisations.models import Organisation
from db.pool import DB

_COLUMNS = (
    "id, credit_code, name, org_type, legal_rep_person_id, address, region_code, established_on, status, code_warning"
)


def _organisation(row: Record) -> Organisation:
    return Organisation(
        id=row["id"],
        credit_code=row["credit_code"],
        name=row["name"],
        org_type=row["org_type"],
        legal_rep_person_id=row["legal_rep_person_id"],
        address=row["address"],
        region_code=row["region_code"],
        established_on=row["established_on"],
        status=row["status"],
        code_warning=row["code_warning"],
    )


async def upsert_organisation(
    db: DB,
    *,
    credit_code: str,
    name: str,
    org_type: str,
    legal_rep_person_id: int,
    address: str,
    region_code: str,
    established_on: date,
    status: str,
    code_warning: str | None,
) -> bool:
    """Insert or update by the credit code; True when a new organisation was added."""
    added: bool = await db.fetchval(
        """INSERT INTO organisations (credit_code, name, org_type, legal_rep_person_id, address, region_code,
                                      established_on, status, code_warning)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (credit_code) DO UPDATE SET name = $2, org_type = $3, legal_rep_person_id = $4,
               address = $5, region_code = $6, established_on = $7, status = $8, code_warning = $9,
               updated_at = now()
           RETURNING (xmax = 0)""",
        credit_code,
        name,
        org_type,
        legal_rep_person_id,
        address,
        region_code,
        established_on,
        status,
        code_warning,
    )
    return added


async def by_credit_code(db: DB, credit_code: str) -> Organisation | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE credit_code = $1", credit_code)
    return _organisation(row) if row else None


async def represented_by(db: DB, person_id: int) -> list[Organisation]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM organisations WHERE legal_rep_person_id = $1 ORDER BY name", person_id
    )
    return [_organisation(r) for r in rows]
