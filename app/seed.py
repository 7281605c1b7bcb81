"""Demo seed data (`python -m app seed`): idempotent, safe to run on every start.

The data lives in db/seed/ as JSON and CSV; this loader reads it and hands it to each feature's service.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from app.catalogue import service as catalogue
from app.certificates import service as certificate_service
from app.forms import service as forms
from app.people import service as people
from app.people.register import import_register
from auth.pii import PiiCipher
from db.pool import DB

SEED_DIR = Path(__file__).resolve().parent.parent / "db" / "seed"


class SeedReport(msgspec.Struct, frozen=True):
    regions: int
    departments: int
    fields: int
    items: int
    life_events: int
    people: int
    certificates: int


def _load(name: str) -> Any:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


async def seed_catalogue(db: DB) -> tuple[int, int, int, int, int]:
    regions, departments, items, events = (
        _load(name) for name in ("regions.json", "departments.json", "items.json", "life_events.json")
    )
    form = _load("form.json")
    await forms.save_field_catalogue(db, form)
    await catalogue.save_catalogue(db, regions=regions, departments=departments, items=items, life_events=events)
    return len(regions), len(departments), len(form["fields"]), len(items), len(events)


async def seed_certificates(db: DB, cipher: PiiCipher) -> int:
    certificates = _load("certificates.json")
    for cert in certificates:
        holder = await people.person_by_number(db, cipher, cert["holder_id_number"])
        if holder is None:
            raise ValueError(f"certificate {cert['kind']}/{cert['title']}: holder is not in the demo register")
        await certificate_service.issue_to_person(
            db,
            cipher,
            person_id=holder.id,
            kind=cert["kind"],
            title=cert["title"],
            number=cert["number"],
            issued_by=cert["issued_by"],
            issued_on=date.fromisoformat(cert["issued_on"]),
            data=cert.get("data", {}),
        )
    return len(certificates)


async def seed_demo_data(db: DB, cipher: PiiCipher) -> SeedReport:
    regions, departments, fields, items, events = await seed_catalogue(db)
    report = await import_register(db, cipher, (SEED_DIR / "population.csv").read_text(encoding="utf-8"))
    if report.problems:
        raise ValueError(f"demo population.csv line {report.problems[0].line}: {report.problems[0].message}")
    certificates = await seed_certificates(db, cipher)
    return SeedReport(regions, departments, fields, items, events, report.added + report.updated, certificates)
