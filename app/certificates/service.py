"""Rules of the e-certificate library (电子证照): every number and every document's contents sealed at rest.

One rule for every kind, so no kind can slip through: the number (a 居民身份证's is the 公民身份号码) is kept
as AES-GCM ciphertext, a keyed hash (one row per holder, kind and number) and a masked copy to show; the
contents (names, addresses, a spouse's or a social security number) as one encrypted document. Pages and the
API show the masked number; only the server's prefill of a form decrypts the contents.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import msgspec

from app.calendar.service import CHINA
from app.certificates import sharing, store
from app.certificates.models import ECertificate, Holder, SealedCertificate, Wallet
from app.certificates.sharing import ShareToken, Verification
from app.errors import Conflict, NotFound
from app.filing.service import files_for_as_parent
from app.people import service as people
from app.people.identity import mask_id_number
from app.people.models import Person
from app.web.types import Connection
from auth.audit import audit
from auth.pii import PiiCipher
from db.pool import DB, Tx
from i18n import N_, _

# Each kind of certificate as its holder names it (a consent request lists these: 居民身份证、结婚证).
KIND_TITLES = {
    "id_card": N_("居民身份证"),
    "hukou": N_("居民户口簿"),
    "marriage": N_("结婚证"),
    "birth_medical": N_("出生医学证明"),
    "death_medical": N_("死亡医学证明（推断）书"),
    "cremation": N_("火化证明"),
    "social_security_card": N_("社会保障卡"),
    "retirement_approval": N_("职工退休审批表"),
    "business_license": N_("营业执照"),
    "tax_clearance": N_("清税证明"),
    "deregistration_notice": N_("准予注销登记通知书"),
    "vaccination": N_("预防接种证"),
}

# Why a certificate a corrected one replaced is void (更正), as its page and its 亮证 check say it.
CORRECTED = N_("更正并换发新证照")

# Rows sealed per transaction when converting a library written in clear: a crash loses at most one batch's work.
SEAL_BATCH = 500


# A corrected certificate's number: the first one's with -GZ and how many times it was corrected (更正).
_CORRECTED = re.compile(r"^(?P<base>.+)-GZ(?P<revision>[0-9]+)$")


def mask_certificate_number(kind: str, number: str) -> str:
    """A 居民身份证 keeps its region code and last 4 characters, like any 公民身份号码 we show; other numbers
    only their last 4 (and one of 4 characters or fewer nothing) — and a corrected one its -GZn as well, so that
    whoever compares it with the paper can tell the versions apart."""
    if kind == "id_card":
        return mask_id_number(number)
    corrected = _CORRECTED.fullmatch(number)
    if corrected:
        return mask_certificate_number(kind, corrected["base"]) + f"-GZ{corrected['revision']}"
    shown = 4 if len(number) > 4 else 0
    return "*" * (len(number) - shown) + number[len(number) - shown :]


def corrected_number(number: str, revision: int) -> str:
    """The number of a certificate's `revision`-th correction: O320402600123 → O320402600123-GZ1, then -GZ2 (the
    first number stays the root, so every version names the certificate it corrects)."""
    corrected = _CORRECTED.fullmatch(number)
    return f"{corrected['base'] if corrected else number}-GZ{revision}"


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


async def void_for_organisation(db: DB, credit_code: str, *, reason: str, keep_case_id: int) -> int:
    """An organisation's certificates no longer in force from now (企业注销: 营业执照 and the rest), but those the case
    `keep_case_id` issued; kept for the record, never held for a form again. How many."""
    return await store.void_organisation_certificates(db, credit_code, reason=reason, keep_case_id=keep_case_id)


async def held_by(db: DB, person_id: int) -> list[ECertificate]:
    """The person's certificates as they are shown: masked numbers, contents left sealed."""
    return [stored.certificate for stored in await store.person_certificates(db, person_id)]


async def held_certificate(db: DB, certificate_id: int) -> tuple[int, ECertificate] | None:
    """One certificate a person holds (masked, contents sealed; void too) and its holder's person id; None for
    none."""
    found = await store.person_certificate(db, certificate_id)
    return (found[0], found[1].certificate) if found else None


async def contents_of(db: DB, cipher: PiiCipher, certificate_id: int) -> dict[str, Any]:
    """One person's certificate's contents, decrypted: for the server to compare a correction with (never shown as
    a whole); empty for none."""
    found = await store.person_certificate(db, certificate_id)
    return cipher.decrypt_document(found[1].data_enc) if found else {}


async def replaced_by_correction(db: DB, certificate_id: int) -> ECertificate | None:
    """The (now void) certificate this one replaced when it was issued corrected; None for a first issue."""
    return await store.replaced_certificate(db, certificate_id)


async def replace_with_corrected(
    tx: Tx,
    cipher: PiiCipher,
    *,
    certificate_id: int,
    changes: dict[str, Any],
    issued_by: str,
    issued_on: date,
    number: str | None = None,
) -> tuple[ECertificate, ECertificate]:
    """更正: a corrected certificate replaces a person's certificate, in the caller's transaction: the same holder,
    kind, title and case; the old contents with `changes`; numbered `number` (a department's own) or after the old
    one (-GZn). The old one is void (已作废) from now. (The old one, the new one); NotFound for no such certificate,
    Conflict when it was replaced already or the number is taken."""
    old = await store.lock_person_certificate(tx, certificate_id)
    if old is None:
        raise NotFound(N_("没有找到要更正的证照"))
    if old.certificate.superseded_by is not None:
        raise Conflict(N_("该证照已更正并作废，请对更正后的新证照办理"))
    if old.certificate.void:
        raise Conflict(N_("该证照已作废，不能更正"))
    revision = old.certificate.revision + 1
    new_number = number or corrected_number(cipher.decrypt(old.number_enc), revision)
    contents = {**cipher.decrypt_document(old.data_enc), **changes}
    new_id = await store.insert_corrected(
        tx,
        replaces=old,
        sealed=seal(cipher, old.certificate.kind, new_number, contents),
        issued_by=issued_by,
        issued_on=issued_on,
    )
    if new_id is None:
        raise Conflict(N_("持证人已有相同编号的同类证照，请换一个编号"))
    await store.void_replaced(tx, certificate_id, superseded_by=new_id, reason=CORRECTED)
    found = await store.person_certificate(tx, new_id)
    assert found is not None  # inserted in this transaction
    return old.certificate, found[1].certificate


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
    wallets: list[Wallet] = []
    for holder in [me, *children]:
        every = [stored.certificate for stored in await store.person_certificates(db, holder.id, void_too=True)]
        wallets.append(
            Wallet(
                holder=_holder(holder, holder.id == person_id),
                certificates=[c for c in every if not c.void],
                voided=[c for c in every if c.void],
            )
        )
    return wallets


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
    raise NotFound(N_("没有找到该证照"))


async def share(
    db: DB,
    conn: Connection,
    secret_key: str,
    public_url: str,
    viewer_person_id: int,
    certificate_id: int,
    now: datetime,
) -> ShareToken:
    """亮证: a token for one certificate the caller may see, valid for five minutes; audited. A void one is not shown
    any more: Conflict."""
    _holder_shown, certificate = await viewable(db, viewer_person_id, certificate_id, now.date())
    if certificate.superseded_by is not None:
        raise Conflict(N_("该证照已作废（已更正并换发新证照），请出示更正后的新证照"))
    if certificate.void:
        raise Conflict(_("该证照已作废（%(void_reason)s），不能再出示") % {"void_reason": certificate.void_reason})
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
    if certificate.voided_at is not None:
        voided_on = certificate.voided_at.astimezone(CHINA).date()
        why = sharing.voided(voided_on, certificate.void_reason or "", replaced=certificate.superseded_by is not None)
        return msgspec.structs.replace(shown, valid=False, reason=why)
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
