"""Rules about the people of the population register (人口基础库)."""

from __future__ import annotations

from app.people import store
from app.people.identity import normalize_id_number
from app.people.models import Person
from auth.pii import PiiCipher
from db.pool import DB


async def registered_person(db: DB, cipher: PiiCipher, id_number: str, name: str) -> Person | None:
    """The person the register holds under this number, if it holds them under this name too (as typed, spaces
    aside); None otherwise. One lookup by the number's keyed hash whether the pair is right or wrong, so a caller
    that must not let its timing tell them apart (sign-up) can rely on it."""
    person = await store.find_person_by_hash(db, cipher.lookup_hash(normalize_id_number(id_number)))
    return person if person is not None and person.name == " ".join(name.split()) else None
