"""Rules about the people of the population register (人口基础库)."""

from __future__ import annotations

from app.people import store
from app.people.identity import normalize_id_number
from app.people.models import Identity, Person
from auth.pii import PiiCipher
from db.pool import DB


async def registered_person(db: DB, cipher: PiiCipher, id_number: str, name: str) -> Person | None:
    """The person the register holds under this number, if it holds them under this name too (as typed, spaces
    aside); None otherwise. One lookup by the number's keyed hash whether the pair is right or wrong, so a caller
    that must not let its timing tell them apart (sign-up) can rely on it."""
    person = await person_by_number(db, cipher, id_number)
    return person if person is not None and person.name == " ".join(name.split()) else None


async def person_by_number(db: DB, cipher: PiiCipher, id_number: str) -> Person | None:
    """The person the register holds under this (well-formed) number, found by its keyed hash."""
    return await store.find_person_by_hash(db, cipher.lookup_hash(normalize_id_number(id_number)))


async def get_person(db: DB, person_id: int) -> Person | None:
    return await store.get_person(db, person_id)


async def household_of(db: DB, person: Person) -> list[Person]:
    """Everyone on the person's 户口簿 (the person included), oldest first; just the person when the register
    has no 户号 for them."""
    if person.household_no is None:
        return [person]
    return await store.household_members(db, person.household_no)


async def children_of(db: DB, parent_id: int) -> list[Person]:
    """The people the register names this person as mother or father of, oldest first."""
    return await store.children_of(db, parent_id)


async def identity_of(db: DB, cipher: PiiCipher, person_id: int) -> Identity | None:
    """The person's name and full ID number, decrypted here for the server's own use."""
    found = await store.encrypted_identity(db, person_id)
    return Identity(name=found.name, id_number=cipher.decrypt(found.id_number_enc)) if found else None


async def set_phone(db: DB, person_id: int, phone: str) -> None:
    """The mobile a resident gave on signing up replaces the one on the register."""
    await store.update_phone(db, person_id, phone)


async def ciphertext_sample(db: DB) -> bytes | None:
    """One encrypted ID number, to tell whether a SECRET_KEY is the one the register was encrypted with."""
    return await store.any_encrypted_id_number(db)
