"""授权请求 over HTTP: the signed-in person's requests to use their e-certificates in someone else's case, and their
answer (JSON and the /consents page linked from the inbox). Only the person a request is addressed to sees or decides
it: anyone else's is a 404, as if there were none. The rules are app.consents'; what an answer does to the case,
app.cases.consent_flow's."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from app.cases import consent_flow
from app.consents import service as consents
from app.consents.models import ConsentDecision, ConsentView
from app.errors import Conflict, FieldErrors
from app.web.params import Cipher, Db
from app.web.types import AnyRequest
from auth.access import caller, roles
from i18n import N_, _

RESIDENTS = roles("resident")


class ConsentsApi(Controller):
    path = "/api/v1/consents"
    tags = ["consents"]

    @get("", opt=RESIDENTS, summary="Requests to use the caller's e-certificates in someone else's case, newest first")
    async def requests(self, request: AnyRequest, db: Db, cipher: Cipher) -> list[ConsentView]:
        user = caller(request)
        # A request past its deadline reads as expired (app.consents.view); the sweeper settles it (no write here).
        return await consents.requests_for(db, cipher, user.person_id) if user.person_id is not None else []

    @post(
        "/{consent_id:int}",
        opt=RESIDENTS,
        status_code=HTTP_200_OK,
        summary="Grant or refuse a request addressed to the caller (404 for anyone else's; 409 once decided or late)",
    )
    async def decide(
        self, request: AnyRequest, db: Db, cipher: Cipher, consent_id: FromPath[int], data: JSONBody[ConsentDecision]
    ) -> ConsentView:
        return await consent_flow.decide(db, cipher, caller(request), consent_id, data.decision)


class ConsentPages(Controller):
    path = "/consents"
    include_in_schema = False

    @get("", opt=RESIDENTS)
    async def consents_page(
        self, request: AnyRequest, db: Db, cipher: Cipher, notice: FromQuery[str | None] = None
    ) -> Template:
        return await _page(request, db, cipher, notice=_NOTICES.get(notice or ""))

    @post("/{consent_id:int}", opt=RESIDENTS, status_code=HTTP_200_OK)
    async def decide(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        consent_id: FromPath[int],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template | Redirect:
        decision = data.get("decision")
        try:
            decided = await consent_flow.decide(
                db, cipher, caller(request), consent_id, decision if isinstance(decision, str) else ""
            )
        except (Conflict, FieldErrors) as problem:
            message = problem.errors.get("decision") if isinstance(problem, FieldErrors) else problem.message
            return await _page(request, db, cipher, error=message, status_code=409)
        return Redirect(f"/consents?notice={decided.state}#consent-{decided.id}", status_code=303)


_NOTICES = {"granted": N_("已同意，申请人的办件将使用您的证照"), "refused": N_("已拒绝，申请人需自行上传相应材料")}


async def _page(
    request: AnyRequest,
    db: Db,
    cipher: Cipher,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = HTTP_200_OK,
) -> Template:
    user = caller(request)
    listed = await consents.requests_for(db, cipher, user.person_id) if user.person_id is not None else []
    return Template(
        "consents.html",
        context={
            "nav": "me",
            "consents": listed,
            # Marked texts (ours, the services' errors), read in the visitor's language.
            "notice": _(notice) if notice else None,
            "error": _(error) if error else None,
            "days": consents.CONSENT_DAYS,
        },
        status_code=status_code,
    )
