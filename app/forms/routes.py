"""GET /api/v1/life-events/{code}/form and /api/v1/items/{code}/form: the merged form, prefilled for the signed-in
resident; a life event's for the items chosen (?items=…, repeated; none: the required ones and those the registers
pre-tick), an item's for that item alone."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.params import FromPath, FromQuery

from app.errors import NotFound
from app.filing import service as filing
from app.forms import choice, parties, presenter
from app.forms.answers import FormAnswer
from app.web.params import Cipher, Db, OnBehalfOfHeader, OnBehalfOfOrgHeader, behalf_of
from app.web.types import AnyRequest
from auth.access import public, user_of
from auth.pii import PiiCipher
from i18n import N_


async def _form(
    request: AnyRequest,
    db: asyncpg.Pool,
    cipher: PiiCipher,
    code: str,
    asked: list[str] | None,
    on_behalf_of: str | None,
    on_behalf_of_org: str | None,
    single: bool,
) -> FormAnswer:
    event = await choice.life_event_or_item(db, code, single)
    user = user_of(request)
    person_id, company = None, None
    if user is not None and (on_behalf_of or on_behalf_of_org or user.person_id):
        # A helper's client, or an organisation: the same server-side check as every other use.
        filed = await filing.resolve_filing(
            db, cipher, user, on_behalf_of, event.code, request, on_behalf_of_org=on_behalf_of_org
        )
        person_id = filed.person_id
        company = await parties.company_of(db, cipher, filed.org_credit_code)
    chosen = await choice.chosen_form(db, cipher, event.code, None if single else asked, person_id)
    values, resolved = await presenter.personal_sources(db, cipher, person_id, chosen.form, company=company)
    answer = presenter.form_answer(chosen.form, values, resolved)
    return msgspec.structs.replace(answer, items=chosen.choices, item=code if single else None)


class FormApi(Controller):
    path = "/api/v1"
    tags = ["forms"]

    @get(
        "/life-events/{code:str}/form",
        opt=public(personal=True),
        summary="The merged form of a life event for the items chosen (prefilled when signed in)",
    )
    async def merged_form(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        code: FromPath[str],
        items: FromQuery[list[str] | None] = None,
        on_behalf_of: FromQuery[str | None] = None,
        on_behalf_of_header: OnBehalfOfHeader = None,
        on_behalf_of_org: FromQuery[str | None] = None,
        on_behalf_of_org_header: OnBehalfOfOrgHeader = None,
    ) -> FormAnswer:
        behalf = behalf_of(on_behalf_of, on_behalf_of_header)
        org = behalf_of(on_behalf_of_org, on_behalf_of_org_header)
        return await _form(request, db, cipher, code, items or None, behalf, org, single=False)

    @get(
        "/items/{code:str}/form",
        opt=public(personal=True),
        summary="The form of one service item offered 网上办理, applied for on its own (prefilled when signed in)",
    )
    async def item_form(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        code: FromPath[str],
        on_behalf_of: FromQuery[str | None] = None,
        on_behalf_of_header: OnBehalfOfHeader = None,
        on_behalf_of_org: FromQuery[str | None] = None,
        on_behalf_of_org_header: OnBehalfOfOrgHeader = None,
    ) -> FormAnswer:
        behalf = behalf_of(on_behalf_of, on_behalf_of_header)
        org = behalf_of(on_behalf_of_org, on_behalf_of_org_header)
        try:
            return await _form(request, db, cipher, code, None, behalf, org, single=True)
        except NotFound:
            raise NotFound(N_("该事项不能单独在网上办理，请在办事指南中查看办理方式")) from None
