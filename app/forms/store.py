"""SQL for the merged form: the canonical field catalogue (form_sections, form_fields)."""

from __future__ import annotations

from typing import Any

import msgspec

from app.forms.models import CatalogueSection, FieldCatalogue, FormField, Option
from db.pool import DB


async def load_catalogue(db: DB) -> FieldCatalogue:
    sections = await db.fetch("SELECT key, title FROM form_sections ORDER BY position, key")
    rows = await db.fetch(
        "SELECT f.key, f.label, f.type, f.section_key, f.options, f.prefill, f.help, f.max_length "
        "FROM form_fields f JOIN form_sections s ON s.key = f.section_key ORDER BY s.position, f.position, f.key"
    )
    return FieldCatalogue(
        sections=[CatalogueSection(key=r["key"], title=r["title"]) for r in sections],
        fields=[
            FormField(
                key=r["key"],
                label=r["label"],
                type=r["type"],
                section=r["section_key"],
                options=msgspec.convert(r["options"], list[Option]) if r["options"] is not None else None,
                prefill_source=r["prefill"],
                help=r["help"],
                max_length=r["max_length"],
            )
            for r in rows
        ],
    )


async def upsert_form_section(db: DB, key: str, title: str, position: int) -> None:
    await db.execute(
        "INSERT INTO form_sections (key, title, position) VALUES ($1, $2, $3) "
        "ON CONFLICT (key) DO UPDATE SET title = $2, position = $3",
        key,
        title,
        position,
    )


async def upsert_form_field(db: DB, field: dict[str, Any], position: int) -> None:
    await db.execute(
        "INSERT INTO form_fields (key, label, type, section_key, options, prefill, help, max_length, position) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO UPDATE SET label = $2, type = $3, "
        "section_key = $4, options = $5, prefill = $6, help = $7, max_length = $8, position = $9",
        field["key"],
        field["label"],
        field["type"],
        field["section"],
        field.get("options"),
        field.get("prefill"),
        field.get("help"),
        field.get("max_length"),
        position,
    )
