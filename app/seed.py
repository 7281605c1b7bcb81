"""Demo seed data (`python -m app seed`): idempotent, safe to run on every start.

The data lives in db/seed/ as JSON and CSV; this loader reads it and hands it to each feature's service.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from app.appointments import service as appointments
from app.cases import service as cases
from app.catalogue import service as catalogue
from app.certificates import service as certificate_service
from app.forms import service as forms
from app.organisations import service as organisations
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
    organisations: int
    halls: int


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


async def seed_halls(db: DB) -> int:
    """The halls, their opening hours and places per half-day (网上预约), after the catalogue they refer to."""
    return await appointments.save_halls(db, _load("halls.json"), _load("items.json"))


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


async def seed_organisations(db: DB, cipher: PiiCipher) -> int:
    """The demo legal-person register, and a 营业执照 in the library of each organisation still 存续."""
    report = await organisations.import_register(db, cipher, (SEED_DIR / "organisations.csv").read_text("utf-8"))
    if report.problems:
        raise ValueError(f"demo organisations.csv line {report.problems[0].line}: {report.problems[0].message}")
    districts = {region["code"]: region["name"] for region in _load("regions.json")}
    for credit_code in _credit_codes():
        organisation = await organisations.by_credit_code(db, credit_code)
        if organisation is None or organisation.status != "active":
            continue
        representative = await people.get_person(db, organisation.legal_rep_person_id)
        await certificate_service.issue_to_organisation(
            db,
            cipher,
            credit_code=organisation.credit_code,
            kind="business_license",
            title="营业执照",
            number=organisation.credit_code,
            issued_by=f"常州市{districts[organisation.region_code]}市场监督管理局",
            issued_on=organisation.established_on,
            data={
                "name": organisation.name,
                "type": organisation.org_type,
                "legal_representative": representative.name if representative else "",
                "address": organisation.address,
                "established_on": organisation.established_on.isoformat(),
            },
        )
    return report.added + report.updated


def _credit_codes() -> list[str]:
    lines = (SEED_DIR / "organisations.csv").read_text("utf-8").splitlines()[1:]
    return [line.split(",", 1)[0] for line in lines if line.strip()]


async def seed_demo_data(db: DB, cipher: PiiCipher) -> SeedReport:
    regions, departments, fields, items, events = await seed_catalogue(db)
    report = await import_register(db, cipher, (SEED_DIR / "population.csv").read_text(encoding="utf-8"))
    if report.problems:
        raise ValueError(f"demo population.csv line {report.problems[0].line}: {report.problems[0].message}")
    await cases.follow_register_moves(db)  # seeding again over cases: a moved applicant's, their new district's hall
    certificates = await seed_certificates(db, cipher)
    companies = await seed_organisations(db, cipher)
    halls = await seed_halls(db)
    return SeedReport(
        regions, departments, fields, items, events, report.added + report.updated, certificates, companies, halls
    )
