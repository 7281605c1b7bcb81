"""The helper's tablet pages (帮办代办): the roster, recording a delegation with the elder present, choosing the
client to work for (kept in the session, see app.delegations.current) and ending it.

Filing for the client happens on the ordinary apply page (app.cases.apply), which takes the client from the
session and checks it like any request on someone's behalf; the receipt is at /helper/cases/{case_no}/receipt
(app.cases.pages).
"""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.calendar.service import today_in_china
from app.catalogue import service as catalogue
from app.delegations import current, service
from app.delegations.likely import age_on, by_likelihood
from app.delegations.service import OpenCasesOf
from app.web.params import Db
from app.web.texts import translated
from app.web.types import AnyRequest
from auth.access import caller, roles
from i18n import N_, _

HELPER = roles("helper")
STATUS_LABELS = {"active": N_("有效"), "expired": N_("已过期"), "revoked": N_("已撤销")}
CONSENT_LABELS = {"signature": N_("手写签名"), "passkey": N_("本人通行密钥")}
NOTICES = {
    "created": N_("已记录代办授权。可以点“为TA办事”开始办理。"),
    "revoked": N_("已撤销该授权。"),
    "ended": N_("已结束本次代办，平板上不再保留该居民的填写内容。"),
    "choose": N_("请先在名单中选择为哪位居民办事。"),
    "switched": N_("办理对象已切换，之前那位居民的表单没有提交，请重新填写。"),
}


def one_year_after(day: date) -> date:
    """The longest expiry a delegation may have (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


class HelperPages(Controller):
    path = "/helper"
    include_in_schema = False

    @get("", opt=HELPER)
    async def roster(
        self, request: AnyRequest, db: Db, open_cases: OpenCasesOf, notice: FromQuery[str] = ""
    ) -> Template:
        """The residents of the helper's village who have authorised them, with each one's open cases."""
        events = await catalogue.life_event_names(db)
        chosen = current.peek(request)
        return Template(
            "helper.html",
            context={
                "nav": "helper",
                "delegations": await service.listing(db, caller(request), open_cases),
                "event_names": events,
                "status_labels": translated(STATUS_LABELS),
                "consent_labels": translated(CONSENT_LABELS),
                "current_id": chosen.delegation_id if chosen else None,
                "notice": _(NOTICES[notice]) if notice in NOTICES else None,
            },
        )

    @get("/delegations/new", opt=HELPER)
    async def new_delegation(self, request: AnyRequest, db: Db) -> Template:
        today = today_in_china()
        helper = caller(request)
        return Template(
            "helper_delegation.html",
            context={
                "nav": "helper",
                "helper_name": helper.name,
                "village": await catalogue.region_name(db, helper.region_code) if helper.region_code else None,
                # A helper files for a person, never for an organisation (企业变更登记, 企业注销).
                "events": [e for e in await catalogue.life_events(db) if not e.for_organisation],
                "identity_checks": translated(service.IDENTITY_CHECKS),
                "min_expiry": today + timedelta(days=1),
                "max_expiry": one_year_after(today),
            },
        )

    @post("/delegations/{delegation_id:int}/revoke", opt=HELPER)
    async def revoke(self, request: AnyRequest, db: Db, delegation_id: FromPath[int]) -> Redirect:
        await service.revoke(db, request, caller(request), delegation_id)
        chosen = current.peek(request)
        if chosen and chosen.delegation_id == delegation_id:
            current.forget(request)
        return Redirect("/helper?notice=revoked", status_code=303)

    @post("/clients/{delegation_id:int}/select", opt=HELPER)
    async def select(
        self, request: AnyRequest, db: Db, open_cases: OpenCasesOf, delegation_id: FromPath[int]
    ) -> Redirect:
        """为TA办事: from now on the tablet works for this client, and for no one else."""
        await current.choose(db, request, caller(request), delegation_id, open_cases)
        return Redirect("/helper/client", status_code=303)

    @get("/client", opt=HELPER)
    async def client(self, request: AnyRequest, db: Db, open_cases: OpenCasesOf) -> Template | Redirect:
        """The current client: the life events their delegation covers, and their open cases."""
        chosen = await current.live(db, request, caller(request), open_cases)
        if chosen is None:
            return Redirect("/helper?notice=choose", status_code=303)
        client, delegation = chosen
        events = [e for e in await catalogue.life_events(db) if not e.for_organisation]  # for people only
        covered = [e for e in events if delegation.scope is None or e.code in delegation.scope]
        born = await service.client_birth_date(db, caller(request), delegation.id)
        age = age_on(born, today_in_china()) if born else None
        likely, unlikely = by_likelihood(covered, age)
        bookable = [
            i for i in await catalogue.bookable_items(db) if delegation.scope is None or i.code in delegation.scope
        ]
        return Template(
            "helper_client.html",
            context={
                "nav": "helper",
                "client": client,
                "delegation": delegation,
                "age": age,
                "events": likely,
                "unlikely_events": unlikely,
                "bookable": bookable,
            },
        )

    @post("/client/end", opt=HELPER)
    async def end(self, request: AnyRequest) -> Redirect:
        current.forget(request)
        return Redirect("/helper?notice=ended", status_code=303)
