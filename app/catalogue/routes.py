"""Public pages and API of the catalogue: home, life events, 办事指南, regions."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from app.catalogue import service
from app.catalogue.models import ItemSearchHit, LifeEvent, Region
from app.retention.rules import WITHOUT_RESULT_YEARS
from app.web.params import Db, SearchQuery
from app.web.types import AnyRequest
from auth.access import public
from i18n import N_


class CataloguePages(Controller):
    include_in_schema = False

    @get("/", opt=public())
    async def home(self, db: Db, request: AnyRequest, q: SearchQuery = "") -> Template:
        query = q.strip()
        hits = await service.search_items(db, query) if query else []
        if request.headers.get("hx-request") == "true":
            return Template("partials/search_results.html", context={"query": query, "hits": hits})
        events = await service.life_events(db)
        return Template("home.html", context={"events": events, "query": query, "hits": hits})

    @get("/life-events/{code:str}", opt=public())
    async def life_event_page(self, db: Db, code: FromPath[str]) -> Template:
        event = await service.life_event(db, code)
        if event.single_item is not None:  # an item applied for on its own has its own page: /items/{code}
            raise NotFoundException(service.NO_SUCH_LIFE_EVENT)
        items = await service.items_of_life_event(db, code)
        return Template("life_event.html", context={"event": event, "items": items})

    @get("/items/{code:str}", opt=public())
    async def item_guide_page(self, db: Db, code: FromPath[str]) -> Template:
        item = await service.service_item(db, code)
        if item is None:
            raise NotFoundException(N_("没有找到该事项的办事指南"))
        # PIPL 第十七条: the resident is told how long what they give is kept, before they give it.
        return Template("item.html", context={"item": item, "without_result_years": WITHOUT_RESULT_YEARS})


class CatalogueApi(Controller):
    path = "/api/v1"
    tags = ["catalogue"]

    @get("/life-events", opt=public(), summary="Life events with their service items")
    async def list_life_events(self, db: Db) -> list[LifeEvent]:
        return await service.life_events(db)

    @get("/regions", opt=public(), summary="Child regions of a region (city → district → town → village)")
    async def list_regions(
        self, db: Db, parent: Annotated[str | None, QueryParameter(max_length=12)] = None
    ) -> list[Region]:
        if parent is not None and not await service.region_exists(db, parent):
            raise NotFoundException(N_("区划代码不存在"))
        return await service.child_regions(db, parent)

    @get("/items/search", opt=public(), summary="Search service items by name or department")
    async def search(self, db: Db, q: SearchQuery = "") -> list[ItemSearchHit]:
        return await service.search_items(db, q.strip()) if q.strip() else []
