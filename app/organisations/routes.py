"""法人办事 over HTTP: the organisations a person may act for, and the 经办人 their legal representative authorises."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.organisations import service
from app.organisations.models import AgentCreated, AgentRequest, AgentView, OrganisationRole
from app.web.params import Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, roles

RESIDENT = roles("resident")


class OrganisationsApi(Controller):
    path = "/api/v1/organisations"
    tags = ["organisations"]

    @get("/mine", opt=RESIDENT, summary="The organisations the signed-in person may act for (legal_rep | agent)")
    async def mine(self, request: AnyRequest, db: Db) -> list[OrganisationRole]:
        return await service.mine(db, caller(request))

    @get("/{uscc:str}/agents", opt=RESIDENT, summary="An organisation's 经办人 (to its legal representative)")
    async def agents(self, request: AnyRequest, db: Db, uscc: FromPath[str]) -> list[AgentView]:
        return await service.agents(db, request, caller(request), uscc)

    @post(
        "/{uscc:str}/agents",
        opt=RESIDENT,
        status_code=HTTP_201_CREATED,
        summary="Authorise a person as 经办人: scope (all or life-event codes) and expiry within a year",
    )
    async def add_agent(
        self, request: AnyRequest, db: Db, cipher: Cipher, uscc: FromPath[str], data: JSONBody[AgentRequest]
    ) -> AgentCreated:
        return AgentCreated(id=await service.add_agent(db, cipher, request, caller(request), uscc, data))

    @delete(
        "/{uscc:str}/agents/{agent_id:int}",
        opt=RESIDENT,
        status_code=HTTP_204_NO_CONTENT,
        summary="End a 经办人's authorisation (the legal representative, or the agent themself)",
    )
    async def revoke_agent(self, request: AnyRequest, db: Db, uscc: FromPath[str], agent_id: FromPath[int]) -> None:
        await service.revoke_agent(db, request, caller(request), uscc, agent_id)
