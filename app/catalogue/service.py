"""What other features ask of the catalogue: life events and their service items, regions and departments; and
loading the catalogue from its configuration (db/seed/*.json)."""

from __future__ import annotations

from typing import Any

import msgspec

from app.catalogue import store
from app.catalogue.models import (
    ONLINE,
    Department,
    Guide,
    ItemSearchHit,
    LifeEvent,
    LifeEventItem,
    Material,
    OnlineAvailability,
    Region,
    ServiceItem,
    ServiceItemRow,
)
from app.catalogue.translations import optional, text, texts, without_translations
from app.errors import NotFound
from app.web.cache import TtlCache
from db.pool import DB
from i18n import DEFAULT_LANGUAGE, N_, current_language

NO_SUCH_LIFE_EVENT = N_("没有找到这件事，请返回首页重新选择")
# Parents are saved before their children, whatever order the configuration lists them in.
_REGION_LEVELS = {"city": 0, "district": 1, "town": 2, "village": 3}


async def life_events(db: DB) -> list[LifeEvent]:
    return [in_language(event) for event in await store.list_life_events(db)]


async def life_event(db: DB, code: str) -> LifeEvent:
    """The life event, or NotFound for a code the catalogue does not have."""
    return in_language(await life_event_of_record(db, code))


async def life_event_of_record(db: DB, code: str) -> LifeEvent:
    """The life event in Chinese, as a case or a consent request records it (in_language draws it for a reader), or
    NotFound for a code the catalogue does not have."""
    event = await _life_event_cached(db, code)
    if event is None:
        raise NotFound(NO_SUCH_LIFE_EVENT)
    return event


# A life event with its items is configuration, as the merged form built from it is (app.forms.service): read once per
# process and code, again after as many seconds as the form (a re-seeded catalogue reaches both at once). Every
# submission and filing page asks for it several times. Bounded: the codes come from addresses, and an unknown one is
# kept too (as None), so that guessing codes costs the database nothing either.
LIFE_EVENT_TTL_SECONDS = 30.0
_life_events: TtlCache[LifeEvent | None] = TtlCache(LIFE_EVENT_TTL_SECONDS, max_entries=256)


async def _life_event_cached(db: DB, code: str) -> LifeEvent | None:
    async def load() -> LifeEvent | None:
        return await store.get_life_event(db, code)

    return await _life_events.get(code, load)


async def only_for_organisations(db: DB, code: str) -> bool:
    """Whether a life event (or a single item's bundle) is filed only for an organisation (企业变更登记, 企业注销): one
    of its items acts on an existing one. False for a code that is no life event (refused where it is looked up)."""
    event = await _life_event_cached(db, code)
    return event is not None and event.for_organisation


async def life_event_names(db: DB) -> dict[str, str]:
    """Each life event's name by its code (a delegation's scope is a list of codes)."""
    return {event.code: text(event.name) for event in await store.list_life_events(db)}


async def scope_codes_covering(db: DB, code: str) -> list[str]:
    """The codes a delegation's scope may name to cover this life event or single item: its own code and, for an item
    applied for on its own, every life event that lists it (a delegation for 公民身后 covers 社会保障卡注销 alone).
    A scope of 全部事项 covers everything."""
    return [code, *await store.life_events_listing(db, code)]


async def service_item(db: DB, code: str) -> ServiceItem | None:
    item = await store.get_service_item(db, code)
    return item_in_language(item) if item else None


async def bookable_items(db: DB) -> list[ItemSearchHit]:
    """The items whose visit to a hall may be booked (网上预约), for the pages that offer it."""
    return [_hit(hit) for hit in await store.bookable_items(db)]


async def items_of_life_event(db: DB, code: str) -> list[ServiceItem]:
    return [item_in_language(item) for item in await store.items_of_life_event(db, code)]


async def correction_item_of(db: DB, item_code: str) -> ServiceItem | None:
    """更正: the item that corrects the result certificate `item_code` issues; None when it cannot be corrected here."""
    item = await store.correction_item_of(db, item_code)
    return item_in_language(item) if item else None


async def correctable_kinds(db: DB) -> set[str]:
    """The kinds of certificate a resident may ask to correct (我的证照 offers 申请更正 on them)."""
    return await store.correctable_kinds(db)


async def region_name(db: DB, code: str) -> str | None:
    """丽华新村社区 (Lihua Xincun Community); None for a code that is not a region."""
    return optional(await store.region_name(db, code))


async def region_level(db: DB, code: str) -> str | None:
    """city, district, town or village; None for a code that is not a region."""
    return await store.region_level(db, code)


async def region_codes(db: DB) -> set[str]:
    return await store.region_codes(db)


async def district_codes(db: DB) -> set[str]:
    """The districts (and county-level cities) of the city: where an organisation may be registered."""
    return await store.district_codes(db)


async def department_exists(db: DB, code: str) -> bool:
    return await store.department_exists(db, code)


async def retention_years_by_item(db: DB) -> dict[str, int | None]:
    """Each service item's declared retention in years (None: it declares none, and its cases are kept)."""
    return await store.retention_years_by_item(db)


DEPARTMENTS_TTL_SECONDS = 30.0
_departments: TtlCache[list[Department]] = TtlCache(DEPARTMENTS_TTL_SECONDS)


async def departments(db: DB) -> list[Department]:
    """Every department, by code (a dozen: who may be asked for an opinion, 征求意见). Named in Chinese whatever the
    reader's language, as the city and districts below: the statistics keep these names in figures cached across
    requests of both languages, so a page draws each with app.catalogue.translations.text where it shows it.
    Kept per process for DEPARTMENTS_TTL_SECONDS (the console's queue lists them on every page; a re-seeded
    catalogue is seen within that time, as the forms are)."""
    return await _departments.get("departments", lambda: store.departments(db))


async def city_and_districts(db: DB) -> list[Region]:
    """The city (its own offices: 市本级) and its districts and county-level cities, in code order; in Chinese, as
    `departments`."""
    return [*await store.regions_of_level(db, "city"), *await store.regions_of_level(db, "district")]


async def child_regions(db: DB, parent_code: str | None) -> list[Region]:
    """The regions directly under a region (the city's districts …); the top of the tree for None."""
    return [_region(region) for region in await store.child_regions(db, parent_code)]


async def region_exists(db: DB, code: str) -> bool:
    return await store.region_exists(db, code)


SEARCH_LIMIT = 20


async def search_items(db: DB, query: str) -> list[ItemSearchHit]:
    """Items whose name or department matches the query (社保 finds 社会保障卡), as the reader reads them. In another
    language its words are looked for in the translated names too (`birth`, `social security`), among the catalogue's
    few dozen items; the Chinese matches come first, as in Chinese."""
    found = [_hit(hit) for hit in await store.search_items(db, query, SEARCH_LIMIT)]
    if current_language() == DEFAULT_LANGUAGE or len(found) >= SEARCH_LIMIT:
        return found
    words = query.casefold().split()
    seen = {hit.code for hit in found}
    for hit in map(_hit, await store.all_items(db)):
        wording = f"{hit.name} {hit.department_name}".casefold()
        if hit.code not in seen and words and all(word in wording for word in words):
            found.append(hit)
    return found[:SEARCH_LIMIT]


async def online_availability(db: DB) -> list[OnlineAvailability]:
    """Per department: how many items the catalogue has, and how many it offers 网上办理 (网上可办率)."""
    return await store.online_availability(db, ONLINE)


def item_row(item: dict[str, Any]) -> ServiceItemRow:
    """An item of items.json as its service_items row: checked against the row's types (a wrong one stops loading,
    naming it). A key kept in a column of its own name passes as it is; only the keys stored otherwise are named here
    (`department`, the two time limits and `retention` over two columns each, the 办事指南's keys as one `guide`)."""
    retention: dict[str, Any] = item.get("retention") or {}
    row = {
        **item,
        "department_code": item["department"],
        "legal_limit_value": item["legal_limit"]["value"],
        "legal_limit_unit": item["legal_limit"]["unit"],
        "promised_limit_value": item["promised_limit"]["value"],
        "promised_limit_unit": item["promised_limit"]["unit"],
        "guide": {f.name: item[f.name] for f in msgspec.structs.fields(Guide)},
        "retention_years": retention.get("years"),
        "retention_source": retention.get("source"),
    }
    return msgspec.convert(row, ServiceItemRow)


async def save_catalogue(
    db: DB,
    *,
    regions: list[dict[str, Any]],
    departments: list[dict[str, Any]],
    items: list[dict[str, Any]],
    life_events: list[dict[str, Any]],
) -> None:
    """Insert or update the catalogue as configured: regions, departments, service items, then the life events that
    list them (in the configuration's order)."""
    regions, departments, items, life_events = (
        without_translations(regions),
        without_translations(departments),
        without_translations(items),
        without_translations(life_events),
    )
    for region in sorted(regions, key=lambda r: _REGION_LEVELS[r["level"]]):
        await store.upsert_region(db, region["code"], region["name"], region["level"], region["parent"], region["demo"])
    for department in departments:
        await store.upsert_department(db, department["code"], department["name"], department["short_name"])
    for item in items:
        await store.upsert_service_item(db, item_row(item))
    for position, event in enumerate(life_events):
        await store.upsert_life_event(db, event, position)
    # Every item offered 网上办理 may be applied for on its own, as a one-item bundle listed after the life events; a
    # correction item (更正) is asked for from the certificate it corrects instead.
    online = [item for item in items if ONLINE in item["channels"] and not item.get("corrects")]
    for position, item in enumerate(online, start=len(life_events)):
        await store.upsert_single_item_bundle(db, item["code"], item["name"], position)


# --- in the reader's language (app/catalogue/translations.py) ---------------------------------------------------
# The store answers the catalogue as the database keeps it, in Chinese; what this service answers is in the current
# language, the same structs with their texts drawn through `text`. In Chinese nothing is rebuilt. Coded values the
# app decides by (channels, units, level, kind) stay Chinese: pages translate them where they show them.


def in_language(event: LifeEvent) -> LifeEvent:
    if current_language() == DEFAULT_LANGUAGE:
        return event
    return msgspec.structs.replace(
        event,
        name=text(event.name),
        summary=text(event.summary),
        promise=text(event.promise),
        items=[_event_item(item) for item in event.items],
    )


def item_in_language(item: ServiceItem) -> ServiceItem:
    """A service item with its 办事指南 in the current language (what app.forms draws its form's texts from)."""
    if current_language() == DEFAULT_LANGUAGE:
        return item
    guide = item.guide
    return msgspec.structs.replace(
        item,
        name=text(item.name),
        department_name=text(item.department_name),
        guide=msgspec.structs.replace(
            guide,
            conditions=text(guide.conditions),
            process=texts(guide.process),
            fee=msgspec.structs.replace(guide.fee, basis=text(guide.fee.basis)),
            location=text(guide.location),
            hours=text(guide.hours),
            complaint=text(guide.complaint),
        ),
        materials=[material_in_language(material) for material in item.materials],
        result_certificate=msgspec.structs.replace(item.result_certificate, title=text(item.result_certificate.title))
        if item.result_certificate
        else None,
        applies_when=optional(item.applies_when),
        pretick=msgspec.structs.replace(item.pretick, reason=text(item.pretick.reason)) if item.pretick else None,
        retention=msgspec.structs.replace(item.retention, source=text(item.retention.source))
        if item.retention
        else None,
    )


def material_in_language(material: Material) -> Material:
    return msgspec.structs.replace(material, name=text(material.name), note=optional(material.note))


def _event_item(item: LifeEventItem) -> LifeEventItem:
    return msgspec.structs.replace(
        item,
        name=text(item.name),
        department_name=text(item.department_name),
        applies_when=optional(item.applies_when),
    )


def _hit(hit: ItemSearchHit) -> ItemSearchHit:
    if current_language() == DEFAULT_LANGUAGE:
        return hit
    return ItemSearchHit(hit.code, text(hit.name), text(hit.department_name))


def _region(region: Region) -> Region:
    if current_language() == DEFAULT_LANGUAGE:
        return region
    return Region(region.code, text(region.name), region.level)
