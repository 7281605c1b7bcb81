"""Rules of the e-certificate library (电子证照): every number and every document's contents sealed at rest.

One rule for every kind, so no kind can slip through: the number (a 居民身份证's is the 公民身份号码) is kept
as AES-GCM ciphertext, a keyed hash (one row per holder, kind and number) and a masked copy to show; the
contents (names, addresses, a spouse's or a social security number) as one encrypted document. Pages and the
API show the masked number; only the server's prefill of a form decrypts the contents.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from app.certificates import store
from app.certificates.models import ECertificate, SealedCertificate
from app.people.identity import mask_id_number
from auth.pii import PiiCipher
from db.pool import DB, Tx

# Rows sealed per transaction when converting a library written in clear: a crash loses at most one batch's work.
SEAL_BATCH = 500


def mask_certificate_number(kind: str, number: str) -> str:
    """A 居民身份证 keeps its region code and last 4 characters, like any 公民身份号码 we show; other numbers
    only their last 4 (and one of 4 characters or fewer nothing)."""
    if kind == "id_card":
        return mask_id_number(number)
    shown = 4 if len(number) > 4 else 0
    return "*" * (len(number) - shown) + number[len(number) - shown :]


def seal(cipher: PiiCipher, kind: str, number: str, data: dict[str, Any]) -> SealedCertificate:
    return SealedCertificate(
        number_hash=cipher.lookup_hash(number),
        number_enc=cipher.encrypt(number),
        number_masked=mask_certificate_number(kind, number),
        data_enc=cipher.encrypt_document(data),
    )


async def issue_to_person(
    db: DB,
    cipher: PiiCipher,
    *,
    person_id: int,
    kind: str,
    title: str,
    number: str,
    issued_by: str,
    issued_on: date,
    data: dict[str, Any] | None = None,
    case_id: int | None = None,
) -> None:
    """Put a certificate into the person's library (the same number again updates it)."""
    await store.upsert_person_certificate(
        db,
        person_id=person_id,
        kind=kind,
        title=title,
        sealed=seal(cipher, kind, number, data or {}),
        issued_by=issued_by,
        issued_on=issued_on,
        case_id=case_id,
    )


async def held_by(db: DB, person_id: int) -> list[ECertificate]:
    """The person's certificates as they are shown: masked numbers, contents left sealed."""
    return [stored.certificate for stored in await store.person_certificates(db, person_id)]


async def held_certificate(db: DB, certificate_id: int) -> tuple[int, ECertificate] | None:
    """One certificate a person holds (masked, contents sealed) and its holder's person id; None for none."""
    found = await store.person_certificate(db, certificate_id)
    return (found[0], found[1].certificate) if found else None


async def give_to(db: DB, *, case_id: int, kind: str, from_person_id: int, to_person_id: int) -> int:
    """The certificates of `kind` a case issued to one person are held by another from now on (an 出生医学证明
    issued while the newborn had no number, given to the child once registered); how many."""
    return await store.move_case_certificates(
        db, case_id=case_id, kind=kind, from_person_id=from_person_id, to_person_id=to_person_id
    )


async def held_with_contents(db: DB, cipher: PiiCipher, person_id: int) -> list[ECertificate]:
    """The same with their contents decrypted, for the server to prefill the person's own form; never to show."""
    return [
        msgspec.structs.replace(stored.certificate, data=cipher.decrypt_document(stored.data_enc))
        for stored in await store.person_certificates(db, person_id)
    ]


async def seal_clear_rows(conn: Tx, cipher: PiiCipher, *, batch_size: int = SEAL_BATCH) -> int:
    """Migration 0012's data step: seal every row still in clear; return how many.

    Each batch is sealed and emptied in its own transaction, so a crash half-way leaves whole rows either
    sealed or untouched, and running again carries on with those still in clear."""
    sealed = 0
    while True:
        async with conn.transaction():
            rows = await store.lock_clear_rows(conn, batch_size)
            if rows:
                await store.store_sealed(conn, [(r.id, seal(cipher, r.kind, r.number, r.data)) for r in rows])
        if not rows:
            break
        sealed += len(rows)
    await store.validate_sealed(conn)
    if sealed:
        await store.rewrite_table(conn)
    return sealed
