"""企业办事 pages: switching between 个人办事 and 企业办事 (the organisation kept in the session, checked on every
request); /org/cases, an organisation's cases and e-certificates for its legal representative and 经办人, where the
legal representative also authorises and revokes 经办人; and /org/register, what the legal-person register holds of it
and every change a case made (登记信息, 变更记录). A package of its own because it reads cases (app.cases) and
certificates, and app.cases imports app.organisations."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST

from app.cases import service as cases
from app.catalogue import service as catalogue
from app.certificates import service as certificates
from app.errors import FieldErrors, Forbidden
from app.organisations import current
from app.organisations import service as organisations
from app.organisations.models import LEGAL_REP, AgentRequest
from app.web.params import Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, roles

RESIDENT = roles("resident")
_ORG_HOME = "/me?notice=choose-org#identity-heading"


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


async def _org_page(
    request: AnyRequest,
    db: Db,
    uscc: str,
    *,
    errors: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    status_code: int = HTTP_200_OK,
) -> Template:
    user = caller(request)
    try:
        organisation, listed = await cases.cases_for_organisation(db, request, user, uscc)
    except Forbidden:
        current.forget(request)  # the authorisation ended since the switch: back to 个人办事
        raise
    acting = await organisations.acting_for(db, None, user, organisation.credit_code, None)
    legal_rep = acting.role == LEGAL_REP
    return Template(
        "org_cases.html",
        context={
            "nav": "cases",
            "organisation": organisation,
            "cases": listed,
            "certificates": await certificates.held_by_organisation(db, organisation.credit_code),
            "legal_rep": legal_rep,
            "agents": await organisations.agents(db, request, user, organisation.credit_code) if legal_rep else [],
            "life_events": await catalogue.life_events(db) if legal_rep else [],
            "errors": errors or {},
            "posted": posted or {},
        },
        status_code=status_code,
    )


class EnterprisePages(Controller):
    include_in_schema = False

    @post("/org/switch", opt=RESIDENT)
    async def switch(self, request: AnyRequest, db: Db, data: URLEncodedBody[dict[str, Any]]) -> Redirect:
        """个人办事 (no code) or 企业办事 for an organisation the resident may act for (checked, audited if not)."""
        code = _text(data, "uscc")
        if not code:
            current.forget(request)
            return Redirect("/me?switched=person#identity-heading", status_code=303)
        await current.choose(db, request, caller(request), code)
        return Redirect("/org/cases", status_code=303)

    @get("/org/cases", opt=RESIDENT)
    async def org_cases(self, request: AnyRequest, db: Db) -> Template | Redirect:
        """The organisation acted for now: its cases (an agent: within their scope) and its e-certificates."""
        chosen = current.peek(request)
        if chosen is None:
            return Redirect(_ORG_HOME, status_code=303)
        return await _org_page(request, db, chosen.uscc)

    @get("/org/register", opt=RESIDENT)
    async def org_register(self, request: AnyRequest, db: Db) -> Template | Redirect:
        """The organisation acted for now: its register entry and history, each change linked to its case when the
        reader may open it (an agent: within their scope)."""
        chosen = current.peek(request)
        if chosen is None:
            return Redirect(_ORG_HOME, status_code=303)
        try:
            organisation, listed = await cases.cases_for_organisation(db, request, caller(request), chosen.uscc)
        except Forbidden:
            current.forget(request)  # the authorisation ended since the switch: back to 个人办事
            raise
        return Template(
            "org_register.html",
            context={
                "nav": "cases",
                "register": await organisations.register_of(db, organisation, cases.case_numbers),
                "readable_cases": {c.case_no for c in listed},
            },
        )

    @post("/org/agents", opt=RESIDENT)
    async def add_agent(
        self, request: AnyRequest, db: Db, cipher: Cipher, data: URLEncodedBody[dict[str, Any]]
    ) -> Template | Redirect:
        chosen = current.peek(request)
        if chosen is None:
            return Redirect(_ORG_HOME, status_code=303)
        scope = _text(data, "scope") or "all"
        try:
            expires_on = date.fromisoformat(_text(data, "expires_on"))
        except ValueError:
            expires_on = None
        body = AgentRequest(
            id_number=_text(data, "id_number"),
            name=_text(data, "name"),
            scope="all" if scope == "all" else [scope],
            expires_on=expires_on,
        )
        try:
            await organisations.add_agent(db, cipher, request, caller(request), chosen.uscc, body)
        except FieldErrors as problem:
            posted = {"name": body.name, "expires_on": _text(data, "expires_on")}
            return await _org_page(
                request, db, chosen.uscc, errors=problem.errors, posted=posted, status_code=HTTP_400_BAD_REQUEST
            )
        return Redirect("/org/cases#org-agents-heading", status_code=303)

    @post("/org/agents/{agent_id:int}/revoke", opt=RESIDENT)
    async def revoke_agent(self, request: AnyRequest, db: Db, agent_id: FromPath[int]) -> Redirect:
        chosen = current.peek(request)
        if chosen is None:
            return Redirect(_ORG_HOME, status_code=303)
        await organisations.revoke_agent(db, request, caller(request), chosen.uscc, agent_id)
        return Redirect("/org/cases#org-agents-heading", status_code=303)
