"""SQL for the catalogue (life events, service items, regions, departments): read paths for pages and forms,
upserts for loading its configuration."""

from __future__ import annotations

from typing import Any

import msgspec

from app.catalogue.models import (
    Department,
    Guide,
    ItemField,
    ItemSearchHit,
    LifeEvent,
    LifeEventItem,
    Material,
    OnlineAvailability,
    Pretick,
    Region,
    ResultCertificate,
    Retention,
    ServiceItem,
    ServiceItemRow,
    TimeLimit,
)
from db.pool import DB

_ITEM_COLUMNS = """
    i.code, i.name, i.item_type, i.department_code, d.name AS department_name, i.level, i.subject,
    i.legal_limit_value, i.legal_limit_unit, i.promised_limit_value, i.promised_limit_unit,
    i.kind, i.visits, i.guide, i.fields, i.materials, i.result_certificate, i.citywide, i.applies_when, i.pretick,
    i.retention_years, i.retention_source, i.appointment_group, i.corrects, i.for_organisation
"""


def _service_item(row: Any) -> ServiceItem:
    result = row["result_certificate"]
    return ServiceItem(
        code=row["code"],
        name=row["name"],
        item_type=row["item_type"],
        department_code=row["department_code"],
        department_name=row["department_name"],
        level=row["level"],
        subject=row["subject"],
        legal_limit=TimeLimit(row["legal_limit_value"], row["legal_limit_unit"]),
        promised_limit=TimeLimit(row["promised_limit_value"], row["promised_limit_unit"]),
        kind=row["kind"],
        visits=row["visits"],
        guide=msgspec.convert(row["guide"], Guide),
        fields=msgspec.convert(row["fields"], list[ItemField]),
        materials=msgspec.convert(row["materials"], list[Material]),
        result_certificate=msgspec.convert(result, ResultCertificate) if result else None,
        retention=Retention(row["retention_years"], row["retention_source"]) if row["retention_years"] else None,
        citywide=row["citywide"],
        applies_when=row["applies_when"],
        pretick=msgspec.convert(row["pretick"], Pretick) if row["pretick"] else None,
        appointment_group=row["appointment_group"],
        corrects=row["corrects"],
        for_organisation=row["for_organisation"],
    )


async def get_service_item(db: DB, code: str) -> ServiceItem | None:
    row = await db.fetchrow(
        f"SELECT {_ITEM_COLUMNS} FROM service_items i JOIN departments d ON d.code = i.department_code "
        "WHERE i.code = $1",
        code,
    )
    return _service_item(row) if row else None


async def correction_item_of(db: DB, item_code: str) -> ServiceItem | None:
    """The item that corrects the result certificate of `item_code` (更正), if the catalogue has one."""
    row = await db.fetchrow(
        f"SELECT {_ITEM_COLUMNS} FROM service_items i JOIN departments d ON d.code = i.department_code "
        "WHERE i.corrects = $1 ORDER BY i.code LIMIT 1",
        item_code,
    )
    return _service_item(row) if row else None


async def correctable_kinds(db: DB) -> set[str]:
    """The kinds of certificate some correction item corrects (the result of the item it names)."""
    rows = await db.fetch(
        "SELECT DISTINCT o.result_certificate ->> 'kind' AS kind FROM service_items c "
        "JOIN service_items o ON o.code = c.corrects WHERE o.result_certificate IS NOT NULL"
    )
    return {r["kind"] for r in rows}


async def items_of_life_event(db: DB, life_event_code: str) -> list[ServiceItem]:
    """Every item of the life event (required and optional), in its order."""
    rows = await db.fetch(
        f"SELECT {_ITEM_COLUMNS} FROM life_event_items le "
        "JOIN service_items i ON i.code = le.item_code JOIN departments d ON d.code = i.department_code "
        "WHERE le.life_event_code = $1 ORDER BY le.position",
        life_event_code,
    )
    return [_service_item(r) for r in rows]


async def life_events_listing(db: DB, item_code: str) -> list[str]:
    """The life events (not one-item bundles) that list the item."""
    rows = await db.fetch(
        "SELECT le.life_event_code FROM life_event_items le JOIN life_events e ON e.code = le.life_event_code "
        "WHERE le.item_code = $1 AND e.single_item IS NULL ORDER BY le.life_event_code",
        item_code,
    )
    return [r["life_event_code"] for r in rows]


_LIFE_EVENTS = """
    SELECT e.code, e.name, e.summary, e.promise, e.icon, e.single_item,
           coalesce(json_agg(json_build_object(
               'code', i.code, 'name', i.name, 'department', d.code, 'department_name', d.short_name,
               'promised_limit', json_build_object('value', i.promised_limit_value, 'unit', i.promised_limit_unit),
               'required', le.required, 'applies_when', i.applies_when, 'for_organisation', i.for_organisation)
               ORDER BY le.position) FILTER (WHERE i.code IS NOT NULL), '[]') AS items
    FROM life_events e
    LEFT JOIN life_event_items le ON le.life_event_code = e.code
    LEFT JOIN service_items i ON i.code = le.item_code
    LEFT JOIN departments d ON d.code = i.department_code
"""


def _life_event(row: Any) -> LifeEvent:
    return LifeEvent(
        code=row["code"],
        name=row["name"],
        summary=row["summary"],
        promise=row["promise"],
        icon=row["icon"],
        items=msgspec.convert(row["items"], list[LifeEventItem]),
        single_item=row["single_item"],
    )


async def list_life_events(db: DB) -> list[LifeEvent]:
    """The life events people choose from: never a single item's one-item bundle."""
    rows = await db.fetch(_LIFE_EVENTS + " WHERE e.single_item IS NULL GROUP BY e.code ORDER BY e.position")
    return [_life_event(r) for r in rows]


async def get_life_event(db: DB, code: str) -> LifeEvent | None:
    row = await db.fetchrow(_LIFE_EVENTS + " WHERE e.code = $1 GROUP BY e.code", code)
    return _life_event(row) if row else None


def _abbreviation_pattern(query: str) -> str:
    """`社保` should find 社会保障卡: match the query's characters in order with anything between them."""
    escaped = [ch.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for ch in query if not ch.isspace()]
    return "%" + "%".join(escaped) + "%"


async def search_items(db: DB, query: str, limit: int = 20) -> list[ItemSearchHit]:
    # Twenty-odd items: a pattern match over names and departments is all the index this needs.
    rows = await db.fetch(
        "SELECT i.code, i.name, d.short_name AS department_name FROM service_items i "
        "JOIN departments d ON d.code = i.department_code "
        "WHERE i.name ILIKE $1 OR d.name ILIKE $1 OR d.short_name ILIKE $1 ORDER BY i.code LIMIT $2",
        _abbreviation_pattern(query),
        limit,
    )
    return [ItemSearchHit(r["code"], r["name"], r["department_name"]) for r in rows]


async def all_items(db: DB) -> list[ItemSearchHit]:
    """Every item with its department's short name, by code (twenty-odd: searched in another language in-process)."""
    rows = await db.fetch(
        "SELECT i.code, i.name, d.short_name AS department_name FROM service_items i "
        "JOIN departments d ON d.code = i.department_code ORDER BY i.code"
    )
    return [ItemSearchHit(r["code"], r["name"], r["department_name"]) for r in rows]


async def bookable_items(db: DB) -> list[ItemSearchHit]:
    """The items a visit to a hall may be booked for (an appointment group), by code."""
    rows = await db.fetch(
        "SELECT i.code, i.name, d.short_name AS department_name FROM service_items i "
        "JOIN departments d ON d.code = i.department_code WHERE i.appointment_group IS NOT NULL ORDER BY i.code"
    )
    return [ItemSearchHit(r["code"], r["name"], r["department_name"]) for r in rows]


async def child_regions(db: DB, parent_code: str | None) -> list[Region]:
    if parent_code is None:
        rows = await db.fetch("SELECT code, name, level FROM regions WHERE parent_code IS NULL ORDER BY code")
    else:
        rows = await db.fetch("SELECT code, name, level FROM regions WHERE parent_code = $1 ORDER BY code", parent_code)
    return [Region(r["code"], r["name"], r["level"]) for r in rows]


async def region_exists(db: DB, code: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM regions WHERE code = $1", code))


async def region_name(db: DB, code: str) -> str | None:
    return await db.fetchval("SELECT name FROM regions WHERE code = $1", code)


async def region_level(db: DB, code: str) -> str | None:
    return await db.fetchval("SELECT level FROM regions WHERE code = $1", code)


async def region_codes(db: DB) -> set[str]:
    return {r["code"] for r in await db.fetch("SELECT code FROM regions")}


async def district_codes(db: DB) -> set[str]:
    return {r["code"] for r in await db.fetch("SELECT code FROM regions WHERE level = 'district'")}


async def department_exists(db: DB, code: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM departments WHERE code = $1", code))


async def retention_years_by_item(db: DB) -> dict[str, int | None]:
    rows = await db.fetch("SELECT code, retention_years FROM service_items")
    return {r["code"]: r["retention_years"] for r in rows}


async def departments(db: DB) -> list[Department]:
    rows = await db.fetch("SELECT code, name, short_name FROM departments ORDER BY code")
    return [Department(code=r["code"], name=r["name"], short_name=r["short_name"]) for r in rows]


async def regions_of_level(db: DB, level: str) -> list[Region]:
    rows = await db.fetch("SELECT code, name, level FROM regions WHERE level = $1 ORDER BY code", level)
    return [Region(r["code"], r["name"], r["level"]) for r in rows]


async def online_availability(db: DB, online_channel: str) -> list[OnlineAvailability]:
    """Per department: its items, and those whose 办事指南 offers the channel."""
    rows = await db.fetch(
        "SELECT department_code, count(*) AS items, count(*) FILTER (WHERE guide->'channels' ? $1) AS online_items "
        "FROM service_items GROUP BY department_code ORDER BY department_code",
        online_channel,
    )
    return [OnlineAvailability(r["department_code"], r["items"], r["online_items"]) for r in rows]


# --- upserts that load the configuration -------------------------------------------------------------


async def upsert_region(db: DB, code: str, name: str, level: str, parent: str | None, demo: bool) -> None:
    await db.execute(
        "INSERT INTO regions (code, name, level, parent_code, is_demo) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (code) DO UPDATE SET name = $2, level = $3, parent_code = $4, is_demo = $5",
        code,
        name,
        level,
        parent,
        demo,
    )


async def upsert_department(db: DB, code: str, name: str, short_name: str) -> None:
    await db.execute(
        "INSERT INTO departments (code, name, short_name) VALUES ($1, $2, $3) "
        "ON CONFLICT (code) DO UPDATE SET name = $2, short_name = $3",
        code,
        name,
        short_name,
    )


_ITEM_ROW = [f.name for f in msgspec.structs.fields(ServiceItemRow)]
_UPSERT_ITEM = (
    f"INSERT INTO service_items ({', '.join(_ITEM_ROW)}) "
    f"VALUES ({', '.join(f'${n}' for n in range(1, len(_ITEM_ROW) + 1))}) "
    f"ON CONFLICT (code) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _ITEM_ROW if c != 'code')}"
)


async def upsert_service_item(db: DB, item: ServiceItemRow) -> None:
    """Every column ServiceItemRow names, written from its field of the same name (jsonb ones as plain JSON)."""
    values = msgspec.to_builtins(item)
    await db.execute(_UPSERT_ITEM, *(values[column] for column in _ITEM_ROW))


async def upsert_life_event(db: DB, event: dict[str, Any], position: int) -> None:
    await db.execute(
        "INSERT INTO life_events (code, name, summary, promise, icon, position) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (code) DO UPDATE SET name = $2, summary = $3, promise = $4, icon = $5, position = $6",
        event["code"],
        event["name"],
        event["summary"],
        event["promise"],
        event["icon"],
        position,
    )
    await _save_life_event_items(db, event["code"], event["items"], set(event.get("optional", [])))


async def upsert_single_item_bundle(db: DB, code: str, name: str, position: int) -> None:
    """The one-item bundle an item is applied for alone under (0023): its code and name are the item's."""
    await db.execute(
        "INSERT INTO life_events (code, name, summary, promise, icon, position, single_item) "
        "VALUES ($1, $2, '', '', '', $3, $1) ON CONFLICT (code) DO UPDATE SET name = $2, position = $3",
        code,
        name,
        position,
    )
    await _save_life_event_items(db, code, [code], set())


async def _save_life_event_items(db: DB, code: str, items: list[str], optional: set[str]) -> None:
    await db.execute("DELETE FROM life_event_items WHERE life_event_code = $1", code)
    await db.executemany(
        "INSERT INTO life_event_items (life_event_code, item_code, position, required) VALUES ($1, $2, $3, $4)",
        [(code, item, n, item not in optional) for n, item in enumerate(items)],
    )
