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

# Each kind of certificate as its holder names it (a consent request lists these: 居民身份证、结婚证).
KIND_TITLES = {
    "id_card": "居民身份证",
    "hukou": "居民户口簿",
    "marriage": "结婚证",
    "birth_medical": "出生医学证明",
    "death_medical": "死亡医学证明（推断）书",
    "cremation": "火化证明",
    "social_security_card": "社会保障卡",
    "retirement_approval": "职工退休审批表",
    "business_license": "营业执照",
    "vaccination": "预防接种证",
}

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


async def issue_to_organisation(
    db: DB,
    cipher: PiiCipher,
    *,
    credit_code: str,
    kind: str,
    title: str,
    number: str,
    issued_by: str,
    issued_on: date,
    data: dict[str, Any] | None = None,
    case_id: int | None = None,
) -> None:
    """Put a certificate into an organisation's library (营业执照, 印章备案 …), sealed like a person's."""
    await store.upsert_organisation_certificate(
        db,
        credit_code=credit_code,
        kind=kind,
        title=title,
        sealed=seal(cipher, kind, number, data or {}),
        issued_by=issued_by,
        issued_on=issued_on,
        case_id=case_id,
    )


async def held_by_organisation(db: DB, credit_code: str) -> list[ECertificate]:
    """The organisation's certificates as they are shown: masked numbers, contents left sealed."""
    return await store.organisation_certificates(db, credit_code)


async def held_by(db: DB, person_id: int) -> list[ECertificate]:
    """The person's certificates as they are shown: masked numbers, contents left sealed."""
    return [stored.certificate for stored in await store.person_certificates(db, person_id)]


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
