"""Case numbers (CZ + day + the day's number): every one of a day different, from 1 up, however many submissions
take them at once, and a day numbered by the old counter (before migration 0043) goes on above what it handed out."""

from __future__ import annotations

import asyncio
from datetime import date

import asyncpg
import pytest

from app.cases import store

pytestmark = pytest.mark.anyio


async def test_a_new_day_is_numbered_from_one_up(pool: asyncpg.Pool) -> None:
    day = date(2099, 3, 1)
    assert [await store.next_case_sequence(pool, day) for _ in range(3)] == [1, 2, 3]


async def test_many_submissions_at_once_each_get_a_number_of_their_own(pool: asyncpg.Pool) -> None:
    day = date(2099, 3, 2)  # its first numbers are taken at once: the day is opened by whichever comes first
    numbers = await asyncio.gather(*(store.next_case_sequence(pool, day) for _ in range(30)))
    assert sorted(numbers) == list(range(1, 31))


async def test_the_number_of_a_day_another_day_takes_numbers_in_stays_its_own(pool: asyncpg.Pool) -> None:
    before, after = date(2099, 3, 3), date(2099, 3, 4)  # around midnight, requests of both days at once
    first = await store.next_case_sequence(pool, before)
    assert await store.next_case_sequence(pool, after) == 1
    later = await store.next_case_sequence(pool, before)
    assert later > first >= 1


async def test_a_day_counted_before_the_sequence_goes_on_above_its_last_number(pool: asyncpg.Pool) -> None:
    day = date(2099, 3, 5)
    await pool.execute("INSERT INTO case_number_days (day, last_seq) VALUES ($1, 41)", day)
    assert await store.next_case_sequence(pool, day) == 42
    assert await store.next_case_sequence(pool, day) == 43
