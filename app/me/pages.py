"""我的 (/me): one page over several features — the account and its passkeys (app.accounts), the delegations a
resident has given to village helpers (app.delegations), to see and revoke, and the family (app.family). It lives
apart so that neither feature imports the other for it."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.delegations import service as delegations
from app.delegations.service import OpenCasesOf
from app.family import service as family
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import caller, signed_in


class MePages(Controller):
    path = "/me"
    include_in_schema = False

    @get("", opt=signed_in())
    async def me_page(self, request: AnyRequest, db: Db, open_cases: OpenCasesOf) -> Template:
        user = caller(request)
        return Template(
            "me.html",
            context={
                "nav": "me",
                "me": await accounts.me(db, user.account_id),
                "passkeys": await accounts.passkeys_of(db, user.account_id),
                # The delegations this resident has given to village helpers, to see and revoke.
                "delegations": await delegations.listing(db, user, open_cases) if user.person_id is not None else [],
                # The household and the minor children this resident files for (为TA办理).
                "family": await family.family_of(db, user.person_id) if user.person_id is not None else None,
            },
        )

    @post("/delegations/{delegation_id:int}/revoke", opt=signed_in())
    async def revoke_delegation(self, request: AnyRequest, db: Db, delegation_id: FromPath[int]) -> Redirect:
        await delegations.revoke(db, request, caller(request), delegation_id)
        return Redirect("/me#delegations-heading", status_code=303)
