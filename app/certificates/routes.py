"""GET /api/v1/certificates: the documents the government already holds for the caller (numbers masked); 亮证:
GET /api/v1/certificates/{id}/share (a five-minute token for one certificate) and the public
GET /api/v1/verify/{token}."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
from litestar import get
from litestar.params import FromPath

from app.certificates import service
from app.certificates.sharing import ShareToken, Verification
from app.filing.service import own_person_id
from app.web.params import AppSettings, Db
from app.web.types import AnyRequest
from auth.access import caller, public, roles


class HeldCertificate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: int
    kind: str
    title: str
    number_masked: str
    issued_by: str
    issued_on: date
    case_no: str | None = None  # the case that issued it


@get("/api/v1/certificates", opt=roles("resident"), tags=["certificates"], summary="The caller's e-certificates")
async def my_certificates(request: AnyRequest, db: Db) -> list[HeldCertificate]:
    user = caller(request)
    if user.person_id is None:
        return []
    return [
        HeldCertificate(
            id=c.id,
            kind=c.kind,
            title=c.title,
            number_masked=c.number_masked,
            issued_by=c.issued_by,
            issued_on=c.issued_on,
            case_no=c.case_no,
        )
        for c in await service.held_by(db, user.person_id)
    ]


@get(
    "/api/v1/certificates/{certificate_id:int}/share",
    opt=roles("resident"),
    tags=["certificates"],
    summary="亮证: a signed five-minute token (and its /verify URL) for one certificate the caller holds, or holds for "
    "a minor child",
)
async def share_certificate(
    request: AnyRequest, db: Db, settings: AppSettings, certificate_id: FromPath[int]
) -> ShareToken:
    return await service.share(
        db,
        request,
        settings.secret_key,
        settings.public_url,
        own_person_id(caller(request)),
        certificate_id,
        datetime.now(UTC),
    )


@get(
    "/api/v1/verify/{token:str}",
    opt=public(personal=True),  # no-store: it names a holder, masked, and is only true for five minutes
    tags=["certificates"],
    summary="A shown certificate checked: valid or not (reason), the holder's name and the number masked",
)
async def verify_certificate(db: Db, settings: AppSettings, token: FromPath[str]) -> Verification:
    return await service.verify(db, settings.secret_key, token, datetime.now(UTC))
