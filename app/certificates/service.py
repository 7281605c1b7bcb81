"""Rules of the e-certificate library (电子证照): every number and every document's contents sealed at rest.

One rule for every kind, so no kind can slip through: the number (a 居民身份证's is the 公民身份号码) is kept
as AES-GCM ciphertext, a keyed hash (one row per holder, kind and number) and a masked copy to show; the
contents (names, addresses, a spouse's or a social security number) as one encrypted document. Pages and the
API show the masked number; only the server's prefill of a form decrypts the contents.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from app.certificates import sharing, store
from app.certificates.models import ECertificate, Holder, SealedCertificate, Wallet
from app.certificates.sharing import ShareToken, Verification
from app.errors import NotFound
from app.filing.service import files_for_as_parent
from app.people import service as people
from app.people.identity import mask_id_number
from app.people.models import Person
from app.web.types import Connection
from auth.audit import audit
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


async def results_in_library(db: DB, case_ids: list[int]) -> set[tuple[int, str]]:
    """(case, kind) for every certificate these cases put into a person's or an organisation's library (证照入库)."""
    return await store.result_kinds_of_cases(db, case_ids) if case_ids else set()


async def held_by_organisation(db: DB, credit_code: str) -> list[ECertificate]:
    """The organisation's certificates as they are shown: masked numbers, contents left sealed."""
    return await store.organisation_certificates(db, credit_code)


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


# --- 我的证照: what a resident may see, and 亮证 -------------------------------------------------------------------


def _holder(person: Person, own: bool) -> Holder:
    return Holder(person_id=person.id, name=person.name, id_number_masked=person.id_number_masked, own=own)


async def wallet_of(db: DB, person_id: int, today: date) -> list[Wallet]:
    """我的证照: the resident's own certificates, then each minor child's (a parent holds them for the child)."""
    me = await people.get_person(db, person_id)
    if me is None:
        return []
    children = [c for c in await people.children_of(db, person_id) if files_for_as_parent(person_id, c, today)]
    return [
        Wallet(holder=_holder(holder, holder.id == person_id), certificates=await held_by(db, holder.id))
        for holder in [me, *children]
    ]


async def viewable(db: DB, viewer_person_id: int, certificate_id: int, today: date) -> tuple[Holder, ECertificate]:
    """One certificate, to its holder or to a registered parent of a minor holder; NotFound to anyone else (someone
    else's certificate looks exactly like none)."""
    found = await held_certificate(db, certificate_id)
    if found is not None:
        holder_id, certificate = found
        holder = await people.get_person(db, holder_id)
        if holder is not None and (
            holder_id == viewer_person_id or files_for_as_parent(viewer_person_id, holder, today)
        ):
            return _holder(holder, holder_id == viewer_person_id), certificate
    raise NotFound("没有找到该证照")


async def share(
    db: DB,
    conn: Connection,
    secret_key: str,
    public_url: str,
    viewer_person_id: int,
    certificate_id: int,
    now: datetime,
) -> ShareToken:
    """亮证: a token for one certificate the caller may see, valid for five minutes; audited."""
    _holder_shown, certificate = await viewable(db, viewer_person_id, certificate_id, now.date())
    token, expires_at = sharing.sign(secret_key, certificate.id, now)
    await audit(db, conn, "certificate.share", "ok", subject=f"certificate:{certificate.id}")
    return ShareToken(token=token, url=f"{public_url}/verify/{token}", expires_at=expires_at)


async def verify(db: DB, secret_key: str, token: str, now: datetime) -> Verification:
    """A shown certificate checked: genuine (our signature), current (not expired, the certificate still in the
    library, its holder not 已注销); the holder's name and the number masked, nothing else."""
    claim = sharing.read(secret_key, token)
    if claim is None:
        return Verification(valid=False, reason=sharing.TAMPERED)
    if now >= claim.expires_at:
        return Verification(valid=False, reason=sharing.EXPIRED)
    found = await held_certificate(db, claim.certificate_id)
    holder = await people.get_person(db, found[0]) if found else None
    if found is None or holder is None:
        return Verification(valid=False, reason=sharing.WITHDRAWN)
    certificate = found[1]
    shown = Verification(
        valid=True,
        title=certificate.title,
        holder_masked=sharing.mask_name(holder.name),
        number_masked=certificate.number_masked,
        issued_by=certificate.issued_by,
        issued_on=certificate.issued_on,
    )
    if holder.deceased:
        return msgspec.structs.replace(shown, valid=False, reason=sharing.HOLDER_DEREGISTERED)
    return shown


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
