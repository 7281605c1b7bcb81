"""GET /api/v1/family and /family/{id}: the household and the minor children a resident files for."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import Template

from app.catalogue import service as catalogue
from app.family import service
from app.family.models import Family
from app.filing.service import own_person_id
from app.web.params import Db
from app.web.types import AnyRequest
from auth.access import caller, roles

RESIDENT = roles("resident")


@get(
    "/api/v1/family",
    opt=RESIDENT,
    tags=["family"],
    summary="The caller's household (same 户口簿) and the minor children they may file for; numbers masked",
)
async def my_family(request: AnyRequest, db: Db) -> Family:
    return await service.family_of(db, own_person_id(caller(request)))


class FamilyPages(Controller):
    path = "/family"
    include_in_schema = False

    @get("/{child_id:int}", opt=RESIDENT)
    async def child_page(self, request: AnyRequest, db: Db, child_id: FromPath[int]) -> Template:
        """为TA办理: the life events a parent may file for their minor child (404 for anyone else's)."""
        child = await service.minor_child(db, own_person_id(caller(request)), child_id)
        return Template(
            "family_child.html",
            context={
                "nav": "me",
                "child": child,
                "events": [e for e in await catalogue.life_events(db) if not e.for_organisation],
            },
        )
