"""SQL for the e-certificate library (电子证照). Callers pass numbers and contents sealed, never in clear."""

from __future__ import annotations

import json
from datetime import date

from asyncpg import Record

from app.certificates.models import ClearRow, ECertificate, LockedCertificate, SealedCertificate, StoredCertificate
from db.pool import DB

# Issued again under the same number, a certificate is in force again (an organisation re-registered), unless a
# corrected one replaced it: that one stays void, its successor named.
_IN_FORCE_AGAIN = """
               voided_at = CASE WHEN e_certificates.superseded_by IS NULL THEN NULL ELSE e_certificates.voided_at END,
               void_reason = CASE WHEN e_certificates.superseded_by IS NULL THEN NULL
                                  ELSE e_certificates.void_reason END"""


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
               issued_by = $7, issued_on = $8, data_enc = $9, case_id = $10, """
        + _IN_FORCE_AGAIN,
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


_COLUMNS = (
    "e.id, e.person_id, e.kind, e.title, e.number_masked, e.issued_by, e.issued_on, e.data_enc, c.case_no, "
    "e.revision, e.voided_at, e.void_reason, e.superseded_by"
)
_FROM = " FROM e_certificates e LEFT JOIN cases c ON c.id = e.case_id "
_SELECT = f"SELECT {_COLUMNS}{_FROM}"
# In force: not void (已作废), whether a corrected certificate replaced it (更正) or its organisation's 注销 ended it.
# What a form may use (免提交) and a library lists as held; the one test of "current" every read of held certificates
# uses.
_CURRENT = "e.voided_at IS NULL"


def _certificate(r: Record) -> ECertificate:
    return ECertificate(
        id=r["id"],
        kind=r["kind"],
        title=r["title"],
        number_masked=r["number_masked"],
        issued_by=r["issued_by"],
        issued_on=r["issued_on"],
        case_no=r["case_no"],
        revision=r["revision"],
        voided_at=r["voided_at"],
        void_reason=r["void_reason"],
        superseded_by=r["superseded_by"],
    )


def _stored(r: Record) -> StoredCertificate:
    return StoredCertificate(certificate=_certificate(r), data_enc=r["data_enc"])


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
               issued_by = $7, issued_on = $8, data_enc = $9, case_id = $10, """
        + _IN_FORCE_AGAIN,
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
    """The organisation's certificates in force (a void one is kept for the record, never held)."""
    rows = await db.fetch(
        _SELECT + f"WHERE e.person_id IS NULL AND e.org_credit_code = $1 AND {_CURRENT} "
        "ORDER BY e.kind, e.issued_on DESC, e.id",
        credit_code,
    )
    return [_stored(r).certificate for r in rows]


async def void_organisation_certificates(db: DB, credit_code: str, *, reason: str, keep_case_id: int) -> int:
    """Every certificate of the organisation in force becomes void (作废) from now, but those the case `keep_case_id`
    issued (企业注销's own 清税证明 and 准予注销登记通知书); how many."""
    status = await db.execute(
        "UPDATE e_certificates SET voided_at = now(), void_reason = $2 WHERE person_id IS NULL "
        "AND org_credit_code = $1 AND voided_at IS NULL AND case_id IS DISTINCT FROM $3",
        credit_code,
        reason,
        keep_case_id,
    )
    return int(status.split()[-1])


async def person_certificates(db: DB, person_id: int, *, void_too: bool = False) -> list[StoredCertificate]:
    """The person's current certificates (and, `void_too`, the void ones), by kind, newest first."""
    current = "" if void_too else f"AND {_CURRENT} "
    rows = await db.fetch(
        _SELECT + f"WHERE e.person_id = $1 {current}ORDER BY e.kind, e.issued_on DESC, e.id", person_id
    )
    return [_stored(r) for r in rows]


async def person_certificate(db: DB, certificate_id: int) -> tuple[int, StoredCertificate] | None:
    """One certificate held by a person (void or not), with its holder's id; None for none (or an organisation's)."""
    row = await db.fetchrow(_SELECT + "WHERE e.id = $1 AND e.person_id IS NOT NULL", certificate_id)
    return (row["person_id"], _stored(row)) if row else None


async def replaced_certificate(db: DB, certificate_id: int) -> ECertificate | None:
    """The certificate this one replaced when it was issued corrected (更正), if any."""
    row = await db.fetchrow(_SELECT + "WHERE e.superseded_by = $1", certificate_id)
    return _certificate(row) if row else None


async def lock_person_certificate(db: DB, certificate_id: int) -> LockedCertificate | None:
    """A person's certificate locked until the caller's transaction ends (a correction replaces it)."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, e.number_enc, e.case_id AS row_case_id{_FROM}"
        "WHERE e.id = $1 AND e.person_id IS NOT NULL FOR UPDATE OF e",
        certificate_id,
    )
    if row is None:
        return None
    return LockedCertificate(
        person_id=row["person_id"],
        certificate=_certificate(row),
        number_enc=row["number_enc"],
        data_enc=row["data_enc"],
        case_id=row["row_case_id"],
    )


async def insert_corrected(
    db: DB,
    *,
    replaces: LockedCertificate,
    sealed: SealedCertificate,
    issued_by: str,
    issued_on: date,
) -> int | None:
    """The corrected certificate beside the one it replaces (same holder, kind, title and case; one revision more);
    its id, or None when the holder already has this number for this kind."""
    old = replaces.certificate
    return await db.fetchval(
        """INSERT INTO e_certificates (person_id, kind, title, number_hash, number_enc, number_masked, issued_by,
                                       issued_on, data_enc, case_id, revision)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (person_id, kind, number_hash) WHERE person_id IS NOT NULL DO NOTHING RETURNING id""",
        replaces.person_id,
        old.kind,
        old.title,
        sealed.number_hash,
        sealed.number_enc,
        sealed.number_masked,
        issued_by,
        issued_on,
        sealed.data_enc,
        replaces.case_id,
        old.revision + 1,
    )


async def void_replaced(db: DB, certificate_id: int, *, superseded_by: int, reason: str) -> None:
    """已作废 from now: replaced by a corrected certificate."""
    await db.execute(
        "UPDATE e_certificates SET voided_at = now(), void_reason = $3, superseded_by = $2 "
        "WHERE id = $1 AND voided_at IS NULL",
        certificate_id,
        superseded_by,
        reason,
    )


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
