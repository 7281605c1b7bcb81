"""SQL for the merged form: the canonical field catalogue."""

from __future__ import annotations

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
