"""代办授权 over HTTP: helpers record them, elders and staff see and revoke them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.delegations import service
from app.delegations.models import ConsentOptionsRequest, DelegationCreated, DelegationRequest, DelegationView
from app.delegations.service import OpenCasesOf
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, roles, signed_in
from auth.sessions import ceremony_owner

HELPER = roles("helper")


class DelegationsApi(Controller):
    path = "/api/v1/delegations"
    tags = ["delegations"]

    @get("", opt=signed_in(), summary="A helper's roster, or the delegations a resident has given")
    async def listing(self, request: AnyRequest, db: Db, open_cases: OpenCasesOf) -> list[DelegationView]:
        return await service.listing(db, caller(request), open_cases)

    @post(
        "",
        opt=HELPER,
        status_code=HTTP_201_CREATED,
        summary="Record an elder's delegation (identity checked in person)",
    )
    async def create(
        self, request: AnyRequest, db: Db, cipher: Cipher, settings: AppSettings, data: JSONBody[DelegationRequest]
    ) -> DelegationCreated:
        delegation_id = await service.create(
            db, cipher, settings, request, ceremony_owner(request), caller(request), data
        )
        return DelegationCreated(id=delegation_id)

    @post("/consent-options", opt=HELPER, status_code=HTTP_200_OK, summary="Ask the elder's own passkey to consent")
    async def consent_options(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        settings: AppSettings,
        data: JSONBody[ConsentOptionsRequest],
    ) -> dict[str, Any]:
        return await service.consent_options(
            db, cipher, settings, request, ceremony_owner(request), caller(request), data
        )

    @delete("/{delegation_id:int}", opt=signed_in(), status_code=HTTP_204_NO_CONTENT, summary="Revoke a delegation")
    async def revoke(self, request: AnyRequest, db: Db, delegation_id: FromPath[int]) -> None:
        await service.revoke(db, request, caller(request), delegation_id)
