"""Rules about the people of the population register (人口基础库)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from app.people import store
from app.people.identity import mask_id_number, normalize_id_number
from app.people.models import Identity, Person
from auth.pii import PiiCipher
from db.pool import DB


async def registered_person(db: DB, cipher: PiiCipher, id_number: str, name: str) -> Person | None:
    """The living person the register holds under this number, if it holds them under this name too (as typed,
    spaces aside); None otherwise (已注销 too). One lookup by the number's keyed hash whether the pair is right or
    wrong, so a caller that must not let its timing tell them apart (sign-up) can rely on it."""
    person = await person_by_number(db, cipher, id_number)
    if person is None or person.deceased:  # 已注销: nobody signs up, is received or authorises as them any more
        return None
    return person if person.name == " ".join(name.split()) else None


async def person_by_number(db: DB, cipher: PiiCipher, id_number: str) -> Person | None:
    """The person the register holds under this (well-formed) number, found by its keyed hash."""
    return await store.find_person_by_hash(db, cipher.lookup_hash(normalize_id_number(id_number)))


async def people_by_numbers(db: DB, cipher: PiiCipher, id_numbers: Iterable[str]) -> dict[str, Person]:
    """By number (normalised), the people the register holds under these (well-formed) numbers: one lookup for all."""
    by_hash = {cipher.lookup_hash(normalize_id_number(n)): normalize_id_number(n) for n in id_numbers}
    if not by_hash:
        return {}
    return {by_hash[found]: person for found, person in await store.find_people_by_hashes(db, list(by_hash))}


async def get_person(db: DB, person_id: int) -> Person | None:
    return await store.get_person(db, person_id)


async def person_with_identity(db: DB, cipher: PiiCipher, person_id: int) -> tuple[Person, Identity] | None:
    """The person and their name and full number (decrypted, server-side only), in one read."""
    found = await store.get_person_with_identity(db, person_id)
    if found is None:
        return None
    person, encrypted = found
    return person, Identity(name=encrypted.name, id_number=cipher.decrypt(encrypted.id_number_enc))


async def people_by_id(db: DB, person_ids: list[int]) -> dict[int, Person]:
    """Several people at once (a hall's bookings of a day), by their id."""
    if not person_ids:
        return {}
    return {person.id: person for person in await store.get_people(db, sorted(set(person_ids)))}


async def household_of(db: DB, person: Person) -> list[Person]:
    """Everyone on the person's 户口簿 (the person included), oldest first; just the person when the register
    has no 户号 for them."""
    if person.household_no is None:
        return [person]
    return await store.household_members(db, person.household_no)


async def children_of(db: DB, parent_id: int) -> list[Person]:
    """The people the register names this person as mother or father of, oldest first."""
    return await store.children_of(db, parent_id)


# 未成年人: under 18 (《民法典》第十七条). Their parents act for them (第二十三条: 父母是未成年子女的监护人).
ADULT_AGE = 18


def age_on(person: Person, today: date) -> int:
    """Full years of age on `today`."""
    born = person.birth_date
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def is_minor(person: Person, today: date) -> bool:
    return age_on(person, today) < ADULT_AGE


def is_parent_of(parent_id: int, child: Person) -> bool:
    """Whether the register names this person as the child's mother or father."""
    return parent_id in (child.mother_id, child.father_id)


async def register_newborn(
    db: DB,
    cipher: PiiCipher,
    *,
    id_number: str,
    name: str,
    birth_date: date,
    sex: str,
    region_code: str | None,
    household_no: str | None,
    mother_id: int | None,
    father_id: int | None,
) -> int | None:
    """A newborn enters the register (出生户口登记 completed); None when the number is already registered. The
    number is sealed here like every number of the register (its keyed hash, ciphertext and masked copy)."""
    number = normalize_id_number(id_number)
    return await store.insert_person(
        db,
        id_number_hash=cipher.lookup_hash(number),
        id_number_enc=cipher.encrypt(number),
        id_number_masked=mask_id_number(number),
        name=name,
        region_code=region_code,
        birth_date=birth_date,
        sex=sex,
        household_no=household_no,
        mother_id=mother_id,
        father_id=father_id,
    )


async def record_death(db: DB, person_id: int, died_on: date) -> bool:
    """已注销 (户口注销 completed) with the date of death; False when the person already was."""
    return await store.mark_deceased(db, person_id, died_on)


async def identity_of(db: DB, cipher: PiiCipher, person_id: int) -> Identity | None:
    """The person's name and full ID number, decrypted here for the server's own use."""
    found = await store.encrypted_identity(db, person_id)
    return Identity(name=found.name, id_number=cipher.decrypt(found.id_number_enc)) if found else None


async def phone_of(db: DB, person_id: int) -> str | None:
    """The register's phone of a person, if any."""
    person = await store.get_person(db, person_id)
    return person.phone if person else None


async def set_phone(db: DB, person_id: int, phone: str) -> None:
    """The mobile a resident gave on signing up replaces the one on the register."""
    await store.update_phone(db, person_id, phone)


async def ciphertext_sample(db: DB) -> bytes | None:
    """One encrypted ID number, to tell whether a SECRET_KEY is the one the register was encrypted with."""
    return await store.any_encrypted_id_number(db)
