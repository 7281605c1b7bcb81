"""GET /api/v1/life-events/{code}/form: the merged form, prefilled for the signed-in resident."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath, FromQuery

from app.filing import service as filing
from app.forms import parties, presenter, service
from app.forms.answers import FormAnswer
from app.web.params import Cipher, Db, OnBehalfOfHeader, OnBehalfOfOrgHeader, behalf_of
from app.web.types import AnyRequest
from auth.access import public, user_of


class FormApi(Controller):
    path = "/api/v1/life-events"
    tags = ["forms"]

    @get(
        "/{code:str}/form",
        opt=public(personal=True),
        summary="The merged form of a life event (prefilled when signed in)",
    )
    async def merged_form(
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
        form, _ = await service.merged_form_of(db, code)
        user = user_of(request)
        person_id, company = None, None
        on_behalf_of = behalf_of(on_behalf_of, on_behalf_of_header)
        org = behalf_of(on_behalf_of_org, on_behalf_of_org_header)
        if user is not None and (on_behalf_of or org or user.person_id):
            # A helper's client, or an organisation: the same server-side check as every other use.
            filed = await filing.resolve_filing(db, cipher, user, on_behalf_of, code, request, on_behalf_of_org=org)
            person_id = filed.person_id
            company = await parties.company_of(db, cipher, filed.org_credit_code)
        values, resolved = await presenter.personal_sources(db, cipher, person_id, form, company=company)
        return presenter.form_answer(form, values, resolved)
