"""How long a case's personal data is kept (app/retention/rules.py, applied to a case by app/cases/retention.py), in
dates: the day the case ended plus the longest period its tasks need; a refused or withdrawn item only a year."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app.cases.models import RetentionFacts
from app.cases.retention import ended_on, last_day_kept
from app.retention.rules import WITHOUT_RESULT_YEARS, TaskOutcome, kept_until, past_retention, years_later

ITEMS = Path(__file__).resolve().parent.parent / "db" / "seed" / "items.json"


def delivered(years: int | None) -> TaskOutcome:
    return TaskOutcome(delivered=True, item_years=years)


def refused(years: int | None = 30) -> TaskOutcome:
    return TaskOutcome(delivered=False, item_years=years)


def test_a_case_is_kept_for_its_longest_item_from_the_day_it_ended() -> None:
    # 新生儿出生: 出生户口登记 30 years, 生育津贴 10, 医保参保 5 → 30 years.
    assert kept_until(date(2026, 3, 10), [delivered(5), delivered(30), delivered(10)]) == date(2056, 3, 10)


def test_the_last_day_kept_is_not_yet_past_and_the_day_after_is() -> None:
    last = kept_until(date(2020, 6, 1), [delivered(5)])
    assert last == date(2025, 6, 1)
    assert not past_retention(last, date(2025, 6, 1))
    assert past_retention(last, date(2025, 6, 2))


def test_a_refused_or_withdrawn_case_is_kept_one_year_whatever_its_items_declare() -> None:
    assert WITHOUT_RESULT_YEARS == 1
    assert kept_until(date(2026, 1, 15), [refused(30), refused(10)]) == date(2027, 1, 15)


def test_a_refused_item_does_not_shorten_a_delivered_one_beside_it() -> None:
    assert kept_until(date(2026, 1, 15), [refused(30), delivered(5)]) == date(2031, 1, 15)
    # …and a long item refused does not lengthen a short one delivered.
    assert kept_until(date(2026, 1, 15), [refused(30), delivered(5)]) == kept_until(date(2026, 1, 15), [delivered(5)])


def test_an_item_delivered_without_a_declared_retention_keeps_the_case() -> None:
    last = kept_until(date(2000, 1, 1), [delivered(5), delivered(None)])
    assert last is None and not past_retention(last, date(2100, 1, 1))
    # A refusal needs no declared period: a year.
    assert kept_until(date(2000, 1, 1), [refused(None)]) == date(2001, 1, 1)


def test_29_february_is_kept_until_28_february_of_a_common_year() -> None:
    assert years_later(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert years_later(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert kept_until(date(2024, 2, 29), [refused()]) == date(2025, 2, 28)


@given(
    ended=st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)),
    tasks=st.lists(st.builds(TaskOutcome, delivered=st.booleans(), item_years=st.integers(1, 30)), min_size=1),
    extra=st.builds(TaskOutcome, delivered=st.booleans(), item_years=st.integers(1, 30)),
)
def test_another_item_never_shortens_the_time_a_case_is_kept(
    ended: date, tasks: list[TaskOutcome], extra: TaskOutcome
) -> None:
    alone, more = kept_until(ended, tasks), kept_until(ended, [*tasks, extra])
    assert alone is not None and more is not None
    assert ended + timedelta(days=365) <= alone <= more


def facts(statuses: list[str], last_change: datetime | None, items: list[str] | None = None) -> RetentionFacts:
    return RetentionFacts(
        id=1,
        case_no="CZ20200101000001",
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
        task_statuses=statuses,
        item_codes=items or ["CZ-GA-001", "CZ-YB-002", "CZ-YB-001"][: len(statuses)],
        last_change=last_change,
    )


YEARS = {"CZ-GA-001": 30, "CZ-YB-002": 10, "CZ-YB-001": 5}


def test_a_case_ends_on_the_beijing_day_its_last_task_was_delivered_or_refused() -> None:
    # 17:30 UTC on 31 December is 01:30 on 1 January in Beijing.
    finished = facts(["delivered", "rejected", "delivered"], datetime(2019, 12, 31, 17, 30, tzinfo=UTC))
    assert ended_on(finished) == date(2020, 1, 1)
    assert last_day_kept(finished, YEARS) == date(2050, 1, 1)


def test_an_open_case_is_kept_however_old() -> None:
    for statuses in (["delivered", "completed"], ["delivered", "supplement_requested"], ["submitted"]):
        open_case = facts(statuses, datetime(1990, 1, 1, tzinfo=UTC))
        assert ended_on(open_case) is None and last_day_kept(open_case, YEARS) is None


def test_a_case_with_every_task_refused_is_kept_a_year() -> None:
    refused_case = facts(["rejected", "denied"], datetime(2020, 5, 4, 2, 0, tzinfo=UTC))
    assert last_day_kept(refused_case, YEARS) == date(2021, 5, 4)


def test_every_seeded_item_declares_its_retention_and_says_where_it_comes_from() -> None:
    items = json.loads(ITEMS.read_text(encoding="utf-8"))
    for item in items:
        retention = item["retention"]
        assert isinstance(retention["years"], int) and 1 <= retention["years"] <= 100, item["code"]
        # Honest about its source: a rule it follows, or our own policy choice, said as such.
        assert len(retention["source"]) > 20 and ("《" in retention["source"] or "政策选择" in retention["source"])
    years = {item["code"]: item["retention"]["years"] for item in items}
    assert years["CZ-GA-001"] == 30  # 户籍 (出生户口登记)
    assert years["CZ-SJ-001"] == 30  # 企业设立登记
    assert years["CZ-YB-001"] < years["CZ-GA-001"]  # a social-insurance change is kept far less than 户籍
