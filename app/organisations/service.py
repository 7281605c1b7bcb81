"""Rules about the legal-person register (法人基础库)."""

from __future__ import annotations

from app.calendar.service import today_in_china
from app.catalogue import service as catalogue
from app.organisations import store
from app.organisations.models import Organisation, OrganisationImportReport
from app.organisations.register import import_organisations
from app.people.identity import normalize_credit_code
from auth.pii import PiiCipher
from db.pool import DB


async def import_register(db: DB, cipher: PiiCipher, text: str) -> OrganisationImportReport:
    """Load an import file: every legal representative must already be in the population register."""
    return await import_organisations(db, cipher, text, await catalogue.district_codes(db), today_in_china())


async def by_credit_code(db: DB, credit_code: str) -> Organisation | None:
    return await store.by_credit_code(db, normalize_credit_code(credit_code))


async def represented_by(db: DB, person_id: int) -> list[Organisation]:
    """The organisations whose legal representative (by the register) this person is, by name."""
    return await store.represented_by(db, person_id)
