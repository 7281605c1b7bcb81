"""The population register's households, parents and status (migration 0016): imported from CSV, read by the
rules of issue 15 (a relative on the same 户口簿, a parent filing for a minor child)."""

from __future__ import annotations

import asyncpg
import pytest

from app.people import service as people
from app.people.register import import_register, parse_register_csv
from auth.pii import PiiCipher
from tests.database_fixtures import TEST_SECRET_KEY

REGIONS = {"320412001002", "320412002001"}
ZHOU_DEMING = "320412194104121430"
ZHOU_LIHUA = "320412196801221647"
WU_XIUYING = "320412194309301507"


def test_a_register_file_may_add_the_household_number_and_older_files_still_load() -> None:
    old = "id_number,name,phone,region_code\n320412194104121430,周德明,,320412002001\n"
    new = "id_number,name,phone,region_code,household_no\n320412194104121430,周德明,,320412002001,120020004\n"
    (entries_old, problems_old), (entries_new, problems_new) = (parse_register_csv(t, REGIONS) for t in (old, new))
    assert problems_old == problems_new == []
    assert entries_old[0][1].household_no is None
    assert entries_new[0][1].household_no == "120020004"


@pytest.mark.parametrize(
    "header",
    ["id_number,name,phone,region_code,household", "id_number,name,phone,household_no,region_code"],
)
def test_an_unknown_or_misplaced_column_is_refused_by_name(header: str) -> None:
    entries, problems = parse_register_csv(f"{header}\n", REGIONS)
    assert entries == []
    assert problems[0].line == 1 and "household_no" in problems[0].message


def test_a_household_number_that_is_not_one_is_reported_by_line() -> None:
    text = "id_number,name,phone,region_code,household_no\n320412194104121430,周德明,,320412002001,12 0020 004\n"
    entries, problems = parse_register_csv(text, REGIONS)
    assert entries == []
    assert (problems[0].line, problems[0].message) == (2, "户号：只能是不超过20位的数字或字母")


@pytest.mark.anyio
async def test_the_demo_register_puts_zhou_lihua_on_her_fathers_household(pool: asyncpg.Pool) -> None:
    cipher = PiiCipher(TEST_SECRET_KEY)
    daughter = await people.person_by_number(pool, cipher, ZHOU_LIHUA)
    assert daughter is not None and daughter.status == "active" and daughter.died_on is None
    household = await people.household_of(pool, daughter)
    assert [p.name for p in household] == ["周德明", "吴秀英", "周丽华"]


@pytest.mark.anyio
async def test_a_reimport_without_the_column_keeps_the_household(pool: asyncpg.Pool) -> None:
    cipher = PiiCipher(TEST_SECRET_KEY)
    report = await import_register(pool, cipher, f"id_number,name,phone,region_code\n{WU_XIUYING},吴秀英,,\n")
    assert (report.added, report.updated, report.problems) == (0, 1, [])
    person = await people.person_by_number(pool, cipher, WU_XIUYING)
    assert person is not None and person.household_no == "120020004"


@pytest.mark.anyio
async def test_a_person_without_a_household_number_is_their_own_household(pool: asyncpg.Pool) -> None:
    cipher = PiiCipher(TEST_SECRET_KEY)
    await pool.execute("UPDATE people SET household_no = NULL WHERE id_number_masked = $1", "320412********1430")
    alone = await people.person_by_number(pool, cipher, ZHOU_DEMING)
    assert alone is not None
    assert await people.household_of(pool, alone) == [alone]
    assert await people.children_of(pool, alone.id) == []
