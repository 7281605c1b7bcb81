"""法人办事 over HTTP, where it reads cases as well as the register: an organisation's register entry and history."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath

from app.cases import service as cases
from app.organisations import service as organisations
from app.organisations.models import OrganisationRegister
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import caller, roles

RESIDENT = roles("resident")


class EnterpriseApi(Controller):
    path = "/api/v1/organisations"
    tags = ["organisations"]

    @get(
        "/{uscc:str}/register",
        opt=RESIDENT,
        summary="登记信息 and 变更记录: the register's entry and each change with the case that made it, to the "
        "organisation's legal representative and 经办人",
    )
    async def register(self, request: AnyRequest, db: Db, uscc: FromPath[str]) -> OrganisationRegister:
        return await organisations.register_for(db, request, caller(request), uscc, cases.case_numbers)
