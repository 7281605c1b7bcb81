"""我的 (/me): one page over several features — the account and its passkeys (app.accounts), the delegations a
resident has given to village helpers (app.delegations), to see and revoke, and the family (app.family). It lives
apart so that neither feature imports the other for it."""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.catalogue import service as catalogue
from app.consents import service as consents
from app.delegations import service as delegations
from app.delegations.service import OpenCasesOf
from app.family import service as family
from app.organisations import current as acting_org
from app.organisations import service as organisations
from app.sms import service as sms
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import caller, roles, signed_in
from i18n import N_, _

# Why a page sent the resident here (?notice=): said beside 办事身份.
NOTICES = {
    "choose-org": N_("请先选择以哪家企业的身份办事。"),
    "org-only": N_(
        "这件事须以企业身份办理：企业的法定代表人或经办人请在下方“办事身份”中切换为企业办事；"
        "企业的法定代表人可在“企业办件”中授权您为经办人，也可到综合窗口凭授权委托书办理。"
    ),
}


class MePages(Controller):
    path = "/me"
    include_in_schema = False

    @get("", opt=signed_in())
    async def me_page(
        self, request: AnyRequest, db: Db, open_cases: OpenCasesOf, notice: FromQuery[str] = ""
    ) -> Template:
        user = caller(request)
        return Template(
            "me.html",
            context={
                "nav": "me",
                "identity_notice": _(NOTICES[notice]) if notice in NOTICES else None,
                "me": await accounts.me(db, user.account_id),
                "passkeys": await accounts.passkeys_of(db, user.account_id),
                # The delegations this resident has given to village helpers, to see and revoke.
                "delegations": await delegations.listing(db, user, open_cases) if user.person_id is not None else [],
                # 允许配偶在以下事项中使用我的证照: the life events chosen, and all of them to choose from.
                "spouse_events": (
                    await consents.preauthorised_events(db, user.person_id) if user.person_id is not None else None
                ),
                "life_events": (
                    [e for e in await catalogue.life_events(db) if not e.for_organisation]
                    if user.person_id is not None
                    else []
                ),
                # The household and the minor children this resident files for (为TA办理).
                "family": await family.family_of(db, user.person_id) if user.person_id is not None else None,
                # 短信提醒: when this resident's case steps are texted (app.sms).
                "sms_preference": (
                    await accounts.sms_preference(db, user.account_id) if user.person_id is not None else None
                ),
                "sms_preferences": sms.PREFERENCES,
                # 个人办事 / 企业办事: the organisations this resident may act for now, and the one chosen.
                "organisations": await organisations.mine(db, user),
                "acting_org": acting_org.peek(request),
            },
        )

    @post("/spouse-consent", opt=roles("resident"))
    async def spouse_consent(self, request: AnyRequest, db: Db, data: URLEncodedBody[dict[str, Any]]) -> Redirect:
        """Which life events the spouse named on this person's 结婚证 may use their documents for without asking."""
        user = caller(request)
        chosen: object = data.get("life_events", [])
        values = cast("list[object]", chosen) if isinstance(chosen, list) else [chosen]
        codes = [c for c in values if isinstance(c, str)]
        if user.person_id is not None:
            await consents.set_preauthorised(db, user.person_id, codes)
        return Redirect("/me?saved=spouse#spouse-consent-heading", status_code=303)

    @post("/sms", opt=roles("resident"))
    async def sms_preference(self, request: AnyRequest, db: Db, data: URLEncodedBody[dict[str, Any]]) -> Redirect:
        """短信提醒: texted at every step, or only when no device of theirs receives push."""
        chosen = data.get("sms_preference")
        await sms.set_preference(caller(request).account_id, chosen if isinstance(chosen, str) else "", db=db)
        return Redirect("/me?saved=sms#sms-heading", status_code=303)

    @post("/delegations/{delegation_id:int}/revoke", opt=signed_in())
    async def revoke_delegation(self, request: AnyRequest, db: Db, delegation_id: FromPath[int]) -> Redirect:
        await delegations.revoke(db, request, caller(request), delegation_id)
        return Redirect("/me#delegations-heading", status_code=303)
