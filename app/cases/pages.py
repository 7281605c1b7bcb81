"""Pages of a resident's cases: 我的办件, one case, the receipt (受理回执)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Template

from app.cases import qr, service
from app.web.params import AppSettings, Db
from auth.access import roles
from auth.models import CurrentUser

AnyRequest = Request[Any, Any, Any]
RESIDENT = roles("resident")
# How a resident reads where a case came from; unknown codes are shown as they are.
CHANNEL_LABELS = {"online": "网上申请", "window": "窗口申请", "helper": "帮办代办"}
FILED_AS_LABELS = {"self": "本人申请", "helper": "帮办员代为申请", "clerk": "窗口代为申请"}


def _user(request: AnyRequest) -> CurrentUser:
    user = request.scope.get("user")
    assert isinstance(user, CurrentUser)  # the access guard let only residents through
    return user


class CasePages(Controller):
    include_in_schema = False

    @get("/cases", opt=RESIDENT)
    async def my_cases(self, request: AnyRequest, db: Db) -> Template:
        cases = await service.cases_for_resident(db, _user(request))
        return Template("cases.html", context={"nav": "cases", "tz": service.CHINA, "cases": cases})

    @get("/cases/{case_no:str}", opt=RESIDENT)
    async def case_page(self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]) -> Template:
        case = await service.case_for_resident(db, settings, _user(request), case_no)
        return Template(
            "case.html",
            context={
                "nav": "cases",
                "tz": service.CHINA,
                "case": case,
                "item_names": {task.id: task.item_name for task in case.tasks},
                "channel_label": CHANNEL_LABELS.get(case.channel, case.channel),
                "filed_as_label": FILED_AS_LABELS.get(case.filed_as, case.filed_as),
            },
        )

    @get("/cases/{case_no:str}/receipt", opt=RESIDENT)
    async def receipt_page(
        self, request: AnyRequest, db: Db, settings: AppSettings, case_no: FromPath[str]
    ) -> Template:
        case = await service.case_for_resident(db, settings, _user(request), case_no)
        return Template(
            "receipt.html",
            context={
                "nav": "cases",
                "tz": service.CHINA,
                "case": case,
                # segno's own SVG of our tracking URL: markup we generate, never user input.
                "qr_svg": qr.qr_svg_inline(case.tracking_url),
            },
        )
