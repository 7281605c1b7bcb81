"""SQL for the legal-person register (organisations)."""

from __future__ import annotations

from datetime import date

from asyncpg import Record

from app.organisations.models import AgentRow, ChangeRow, Organisation
from db.pool import DB

_COLUMNS = (
    "id, credit_code, name, org_type, legal_rep_person_id, address, region_code, established_on, status, code_warning, "
    "business_scope"
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
        business_scope=row["business_scope"],
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


async def insert_new(
    db: DB,
    *,
    credit_code: str,
    name: str,
    org_type: str,
    legal_rep_person_id: int,
    address: str,
    region_code: str,
    established_on: date,
    business_scope: str | None,
) -> bool:
    """A newly registered organisation (企业设立登记); False when the code is already someone else's."""
    added = await db.fetchval(
        """INSERT INTO organisations (credit_code, name, org_type, legal_rep_person_id, address, region_code,
                                      established_on, business_scope)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (credit_code) DO NOTHING RETURNING id""",
        credit_code,
        name,
        org_type,
        legal_rep_person_id,
        address,
        region_code,
        established_on,
        business_scope,
    )
    return added is not None


async def by_credit_code(db: DB, credit_code: str) -> Organisation | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE credit_code = $1", credit_code)
    return _organisation(row) if row else None


async def represented_by(db: DB, person_id: int) -> list[Organisation]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM organisations WHERE legal_rep_person_id = $1 ORDER BY name", person_id
    )
    return [_organisation(r) for r in rows]


# --- 经办人 (organisation_agents) ---------------------------------------------------------------------------------

_AGENTS = """
    SELECT a.id, a.organisation_id, a.person_id, p.name, p.id_number_masked, a.scope, a.expires_on, a.created_at,
           a.revoked_at
    FROM organisation_agents a JOIN people p ON p.id = a.person_id
"""
# An authorisation in force: not revoked, not past its last day (Beijing time), of an organisation still active.
_LIVE = "a.revoked_at IS NULL AND a.expires_on >= (now() AT TIME ZONE 'Asia/Shanghai')::date"


def _agent(row: Record) -> AgentRow:
    return AgentRow(**dict(row))


async def by_id(db: DB, organisation_id: int) -> Organisation | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE id = $1", organisation_id)
    return _organisation(row) if row else None


async def insert_agent(
    db: DB, *, organisation_id: int, person_id: int, scope: list[str] | None, expires_on: date, granted_by: int
) -> int:
    return await db.fetchval(
        "INSERT INTO organisation_agents (organisation_id, person_id, scope, expires_on, granted_by_account_id) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        organisation_id,
        person_id,
        scope,
        expires_on,
        granted_by,
    )


async def agents_of(db: DB, organisation_id: int) -> list[AgentRow]:
    rows = await db.fetch(
        _AGENTS + " WHERE a.organisation_id = $1 ORDER BY a.revoked_at NULLS FIRST, a.created_at DESC",
        organisation_id,
    )
    return [_agent(r) for r in rows]


async def live_agent(db: DB, organisation_id: int, person_id: int, life_event_code: str | None) -> int | None:
    """The person's authorisation in force for the organisation covering the life event (any, when None)."""
    return await db.fetchval(
        f"SELECT a.id FROM organisation_agents a WHERE a.organisation_id = $1 AND a.person_id = $2 AND {_LIVE} "
        "AND ($3::text IS NULL OR a.scope IS NULL OR $3 = ANY(a.scope)) ORDER BY a.id DESC LIMIT 1",
        organisation_id,
        person_id,
        life_event_code,
    )


async def live_agent_people(db: DB, organisation_id: int, life_event_code: str) -> list[int]:
    """The people with an authorisation for the organisation in force covering the life event."""
    rows = await db.fetch(
        f"SELECT DISTINCT a.person_id FROM organisation_agents a WHERE a.organisation_id = $1 AND {_LIVE} "
        "AND (a.scope IS NULL OR $2 = ANY(a.scope)) ORDER BY a.person_id",
        organisation_id,
        life_event_code,
    )
    return [r["person_id"] for r in rows]


async def live_agencies_of(db: DB, person_id: int) -> list[tuple[Organisation, AgentRow]]:
    """The active organisations the person is an agent of now, each with its newest authorisation in force."""
    columns = ", ".join(f"o.{c.strip()}" for c in _COLUMNS.split(","))
    rows = await db.fetch(
        f"SELECT DISTINCT ON (o.id) {columns}, a.id AS agent_id, p.name AS agent_name, p.id_number_masked, a.scope, "
        "a.expires_on, a.created_at AS agent_created_at, a.revoked_at FROM organisation_agents a "
        "JOIN organisations o ON o.id = a.organisation_id JOIN people p ON p.id = a.person_id "
        f"WHERE a.person_id = $1 AND {_LIVE} AND o.status = 'active' ORDER BY o.id, a.id DESC",
        person_id,
    )
    found = [
        (
            _organisation(row),
            AgentRow(
                id=row["agent_id"],
                organisation_id=row["id"],
                person_id=person_id,
                name=row["agent_name"],
                id_number_masked=row["id_number_masked"],
                scope=row["scope"],
                expires_on=row["expires_on"],
                created_at=row["agent_created_at"],
                revoked_at=row["revoked_at"],
            ),
        )
        for row in rows
    ]
    return sorted(found, key=lambda pair: pair[0].name)


async def agent(db: DB, agent_id: int) -> AgentRow | None:
    row = await db.fetchrow(_AGENTS + " WHERE a.id = $1", agent_id)
    return _agent(row) if row else None


async def revoke_agent(db: DB, agent_id: int, by: str, reason: str | None = None) -> bool:
    status = await db.execute(
        "UPDATE organisation_agents SET revoked_at = now(), revoked_by = $2, revoked_reason = $3 "
        "WHERE id = $1 AND revoked_at IS NULL",
        agent_id,
        by,
        reason,
    )
    return status == "UPDATE 1"


# --- the register's history (organisation_changes): 企业变更登记, 企业注销 ----------------------------------------


async def lock(db: DB, organisation_id: int) -> Organisation | None:
    """The organisation, locked until the caller's transaction ends (two completions never change it at once)."""
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM organisations WHERE id = $1 FOR UPDATE", organisation_id)
    return _organisation(row) if row else None


async def update_registration(
    db: DB,
    organisation_id: int,
    *,
    name: str,
    address: str,
    legal_rep_person_id: int,
    status: str,
    business_scope: str | None,
) -> None:
    await db.execute(
        "UPDATE organisations SET name = $2, address = $3, legal_rep_person_id = $4, status = $5, business_scope = $6, "
        "updated_at = now() WHERE id = $1",
        organisation_id,
        name,
        address,
        legal_rep_person_id,
        status,
        business_scope,
    )


async def insert_changes(
    db: DB, organisation_id: int, changes: list[tuple[str, str, str]], *, case_id: int | None, changed_on: date
) -> None:
    """(field, old value, new value) rows of the register's history."""
    await db.executemany(
        "INSERT INTO organisation_changes (organisation_id, field, old_value, new_value, case_id, changed_on) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(organisation_id, field, old, new, case_id, changed_on) for field, old, new in changes],
    )


async def changes_of(db: DB, organisation_id: int) -> list[ChangeRow]:
    """The organisation's history, newest first (a case's several changes in the order it made them)."""
    rows = await db.fetch(
        "SELECT field, old_value, new_value, case_id, changed_on FROM organisation_changes "
        "WHERE organisation_id = $1 ORDER BY changed_on DESC, case_id DESC NULLS LAST, id",
        organisation_id,
    )
    return [ChangeRow(**dict(r)) for r in rows]


async def end_agents(db: DB, organisation_id: int, by: str, reason: str) -> int:
    """Every authorisation of the organisation still in force ends now; how many."""
    status = await db.execute(
        "UPDATE organisation_agents SET revoked_at = now(), revoked_by = $2, revoked_reason = $3 "
        "WHERE organisation_id = $1 AND revoked_at IS NULL",
        organisation_id,
        by,
        reason,
    )
    return int(status.split()[-1])
