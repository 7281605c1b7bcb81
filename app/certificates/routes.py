"""GET /api/v1/certificates: the documents the government already holds for the caller (numbers masked)."""

from __future__ import annotations

from datetime import date

import msgspec
from litestar import get

from app.certificates import service
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import caller, roles


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
