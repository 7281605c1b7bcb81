"""GET /api/v1/certificates: the documents the government already holds for the caller (numbers masked)."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Request, get

from app.forms import store as form_store
from app.forms.service import mask_certificate_number
from app.web.params import Db
from auth.access import caller, roles


class HeldCertificate(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    title: str
    number_masked: str
    issued_by: str
    issued_on: date


@get("/api/v1/certificates", opt=roles("resident"), tags=["certificates"], summary="The caller's e-certificates")
async def my_certificates(request: Request[Any, Any, Any], db: Db) -> list[HeldCertificate]:
    user = caller(request)
    if user.person_id is None:
        return []
    return [
        HeldCertificate(
            kind=c.kind,
            title=c.title,
            number_masked=mask_certificate_number(c),
            issued_by=c.issued_by,
            issued_on=c.issued_on,
        )
        for c in await form_store.person_certificates(db, user.person_id)
    ]
