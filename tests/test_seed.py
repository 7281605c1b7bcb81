import json

import asyncpg
import msgspec
import pytest

from app.catalogue import service as catalogue
from app.catalogue.models import Material, Retention, TimeLimit
from app.catalogue.service import item_row
from app.catalogue.translations import without_translations
from app.seed import SEED_DIR, seed_demo_data
from auth.pii import PiiCipher
from tests.database_fixtures import TEST_SECRET_KEY

COUNTED_TABLES = (
    "regions",
    "departments",
    "form_fields",
    "service_items",
    "life_events",
    "life_event_items",
    "people",
    "e_certificates",
)


async def _counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED_TABLES}


async def test_seeding_again_changes_nothing(pool: asyncpg.Pool) -> None:
    before = await _counts(pool)
    async with pool.acquire() as conn:
        await seed_demo_data(conn, PiiCipher(TEST_SECRET_KEY))
    assert await _counts(pool) == before


async def test_demo_catalogue_meets_the_plan(pool: asyncpg.Pool) -> None:
    districts = await pool.fetch("SELECT code, name FROM regions WHERE level = 'district' ORDER BY code")
    assert {(r["code"], r["name"]) for r in districts} == {
        ("320402", "天宁区"),
        ("320404", "钟楼区"),
        ("320411", "新北区"),
        ("320412", "武进区"),
        ("320413", "金坛区"),
        ("320481", "溧阳市"),
    }
    assert not await pool.fetchval("SELECT bool_or(is_demo) FROM regions WHERE level IN ('city', 'district')")
    assert await pool.fetchval("SELECT bool_and(is_demo) FROM regions WHERE level IN ('town', 'village')")
    assert await pool.fetchval("SELECT count(*) FROM service_items") >= 20
    bundles = await pool.fetch(
        "SELECT e.name, count(*) AS items, count(DISTINCT i.department_code) AS departments FROM life_events e "
        "JOIN life_event_items le ON le.life_event_code = e.code JOIN service_items i ON i.code = le.item_code "
        "WHERE e.single_item IS NULL GROUP BY e.name"
    )
    assert {r["name"] for r in bundles} >= {"新生儿出生", "企业开办", "退休", "公民身后"}
    assert all(r["items"] >= 3 and r["departments"] >= 2 for r in bundles)
    # Every item offered 网上办理 may be applied for on its own: a one-item bundle, its code the item's (but a
    # correction item, 更正, which is asked for from the certificate it corrects).
    single = await pool.fetch("SELECT code, single_item FROM life_events WHERE single_item IS NOT NULL")
    online = await pool.fetch(
        "SELECT code FROM service_items WHERE guide->'channels' ? '网上办理' AND corrects IS NULL"
    )
    assert {r["code"] for r in single} == {r["code"] for r in online} and all(
        r["code"] == r["single_item"] for r in single
    )


async def test_every_item_has_a_full_guide_with_units(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch("SELECT code, guide, legal_limit_unit, promised_limit_unit FROM service_items")
    for row in rows:
        assert row["legal_limit_unit"] in ("工作日", "日历日")
        for key in ("conditions", "process", "channels", "fee", "location", "hours", "contact", "complaint"):
            assert row["guide"][key], (row["code"], key)


async def test_register_holds_no_clear_id_numbers(pool: asyncpg.Pool) -> None:
    cipher = PiiCipher(TEST_SECRET_KEY)
    row = await pool.fetchrow("SELECT * FROM people ORDER BY id LIMIT 1")
    clear = cipher.decrypt(row["id_number_enc"])
    assert len(clear) == 18
    assert clear.encode() not in row["id_number_enc"]
    assert row["id_number_hash"] == cipher.lookup_hash(clear)
    assert row["id_number_masked"] == clear[:6] + "*" * 8 + clear[-4:]
    assert await pool.fetchval("SELECT count(*) FROM e_certificates WHERE person_id IS NOT NULL") > 0


async def test_every_configured_item_reads_back_as_items_json_says(pool: asyncpg.Pool) -> None:
    """Each key of items.json lands in its column: what the catalogue answers is the configuration, item by item (its
    Chinese: the English beside each text is read from the file, app/catalogue/translations.py)."""
    for item in without_translations(json.loads((SEED_DIR / "items.json").read_text(encoding="utf-8"))):
        held = await catalogue.service_item(pool, item["code"])
        assert held is not None
        retention = item["retention"]
        assert (held.department_code, held.legal_limit, held.promised_limit) == (
            item["department"],
            TimeLimit(**item["legal_limit"]),
            TimeLimit(**item["promised_limit"]),
        )
        assert held.retention == (Retention(retention["years"], retention["source"]) if retention else None)
        assert msgspec.to_builtins(held.guide) == {k: item[k] for k in msgspec.to_builtins(held.guide)}
        assert msgspec.to_builtins(held.materials) == msgspec.to_builtins(
            msgspec.convert(item["materials"], list[Material])
        )
        for key in ("applies_when", "appointment_group", "corrects"):
            assert getattr(held, key) == item.get(key), (item["code"], key)
        for key in ("citywide", "for_organisation"):
            assert getattr(held, key) is item.get(key, False), (item["code"], key)
        assert (held.pretick is None, held.result_certificate is None) == (
            "pretick" not in item,
            "result_certificate" not in item,
        )


def test_a_wrongly_typed_key_in_items_json_stops_loading_and_names_the_key() -> None:
    item = json.loads((SEED_DIR / "items.json").read_text(encoding="utf-8"))[0]
    with pytest.raises(msgspec.ValidationError, match="citywide"):
        item_row({**item, "citywide": "是"})
