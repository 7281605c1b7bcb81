"""SQL for the e-certificate library (电子证照). Callers pass numbers and contents sealed, never in clear."""

from __future__ import annotations

import json
from datetime import date

from asyncpg import Record

from app.certificates.models import ClearRow, ECertificate, SealedCertificate, StoredCertificate
from db.pool import DB


async def upsert_person_certificate(
    db: DB,
    *,
    person_id: int,
    kind: str,
    title: str,
    sealed: SealedCertificate,
    issued_by: str,
    issued_on: date,
    case_id: int | None = None,
) -> None:
    """One row per holder, kind and number (found by the number's keyed hash): issued again, it is updated."""
    await db.execute(
        """INSERT INTO e_certificates (person_id, kind, title, number_hash, number_enc, number_masked, issued_by,
                                       issued_on, data_enc, case_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (person_id, kind, number_hash) WHERE person_id IS NOT NULL DO UPDATE SET title = $3,
               issued_by = $7, issued_on = $8, data_enc = $9, case_id = $10""",
        person_id,
        kind,
        title,
        sealed.number_hash,
        sealed.number_enc,
        sealed.number_masked,
        issued_by,
        issued_on,
        sealed.data_enc,
        case_id,
    )


_SELECT = (
    "SELECT e.id, e.person_id, e.kind, e.title, e.number_masked, e.issued_by, e.issued_on, e.data_enc, c.case_no "
    "FROM e_certificates e LEFT JOIN cases c ON c.id = e.case_id "
)


def _stored(r: Record) -> StoredCertificate:
    return StoredCertificate(
        certificate=ECertificate(
            id=r["id"],
            kind=r["kind"],
            title=r["title"],
            number_masked=r["number_masked"],
            issued_by=r["issued_by"],
            issued_on=r["issued_on"],
            case_no=r["case_no"],
        ),
        data_enc=r["data_enc"],
    )


async def upsert_organisation_certificate(
    db: DB,
    *,
    credit_code: str,
    kind: str,
    title: str,
    sealed: SealedCertificate,
    issued_by: str,
    issued_on: date,
    case_id: int | None = None,
) -> None:
    """One row per organisation, kind and number, as for a person."""
    await db.execute(
        """INSERT INTO e_certificates (org_credit_code, kind, title, number_hash, number_enc, number_masked,
                                       issued_by, issued_on, data_enc, case_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (org_credit_code, kind, number_hash) WHERE person_id IS NULL DO UPDATE SET title = $3,
               issued_by = $7, issued_on = $8, data_enc = $9, case_id = $10""",
        credit_code,
        kind,
        title,
        sealed.number_hash,
        sealed.number_enc,
        sealed.number_masked,
        issued_by,
        issued_on,
        sealed.data_enc,
        case_id,
    )


async def organisation_certificates(db: DB, credit_code: str) -> list[ECertificate]:
    rows = await db.fetch(
        _SELECT + "WHERE e.person_id IS NULL AND e.org_credit_code = $1 ORDER BY e.kind, e.issued_on DESC, e.id",
        credit_code,
    )
    return [_stored(r).certificate for r in rows]


async def person_certificates(db: DB, person_id: int) -> list[StoredCertificate]:
    rows = await db.fetch(_SELECT + "WHERE e.person_id = $1 ORDER BY e.kind, e.issued_on DESC, e.id", person_id)
    return [_stored(r) for r in rows]


async def person_certificate(db: DB, certificate_id: int) -> tuple[int, StoredCertificate] | None:
    """One certificate held by a person, with its holder's id; None for none (or an organisation's)."""
    row = await db.fetchrow(_SELECT + "WHERE e.id = $1 AND e.person_id IS NOT NULL", certificate_id)
    return (row["person_id"], _stored(row)) if row else None


async def move_case_certificates(db: DB, *, case_id: int, kind: str, from_person_id: int, to_person_id: int) -> int:
    """The certificates of this kind a case issued to one person, now held by another; how many."""
    moved = await db.execute(
        "UPDATE e_certificates SET person_id = $4 WHERE case_id = $1 AND kind = $2 AND person_id = $3",
        case_id,
        kind,
        from_person_id,
        to_person_id,
    )
    return int(moved.split()[-1])


# --- sealing the rows written in clear before migration 0012 ------------------------------------------------------


async def result_kinds_of_cases(db: DB, case_ids: list[int]) -> set[tuple[int, str]]:
    """(case, kind) for every certificate the cases put into a library."""
    rows = await db.fetch(
        "SELECT DISTINCT case_id, kind FROM e_certificates WHERE case_id = ANY($1::bigint[])", case_ids
    )
    return {(r["case_id"], r["kind"]) for r in rows}


async def lock_clear_rows(db: DB, limit: int) -> list[ClearRow]:
    """The next rows still in clear, locked until the caller's transaction ends."""
    # `data` read as text: the migration runner's connection may have no JSON codec.
    rows = await db.fetch(
        "SELECT id, kind, number, data::text AS data FROM e_certificates WHERE number_enc IS NULL "
        "ORDER BY id LIMIT $1 FOR UPDATE",
        limit,
    )
    return [ClearRow(id=r["id"], kind=r["kind"], number=r["number"], data=json.loads(r["data"])) for r in rows]


async def store_sealed(db: DB, rows: list[tuple[int, SealedCertificate]]) -> None:
    """The sealed columns written and the clear ones emptied, in one statement per row."""
    await db.executemany(
        """UPDATE e_certificates SET number_hash = $2, number_enc = $3, number_masked = $4, data_enc = $5,
               number = NULL, data = '{}'::jsonb
           WHERE id = $1""",
        [(row_id, s.number_hash, s.number_enc, s.number_masked, s.data_enc) for row_id, s in rows],
    )


async def validate_sealed(db: DB) -> None:
    """Every row, old ones included, is held to e_certificates_sealed (0012) from now on."""
    await db.execute("ALTER TABLE e_certificates VALIDATE CONSTRAINT e_certificates_sealed")


async def rewrite_table(db: DB) -> None:
    """Rewrite the table's files, so the old row versions with clear numbers are gone from disk too.
    VACUUM cannot run in a transaction: call it on a connection outside one."""
    await db.execute("VACUUM (FULL) e_certificates")
