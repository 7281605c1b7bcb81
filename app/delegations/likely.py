"""Which life events a helper's client is likely to need, by age: the rules are data (likely_ages.json), one range
per event, so a new event needs no code. Nothing is hidden: the unlikely ones are listed after the likely ones (an
elder may still be a newborn's guardian)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path

import msgspec

from app.catalogue.models import LifeEvent

RULES_FILE = Path(__file__).with_name("likely_ages.json")


class AgeRange(msgspec.Struct, frozen=True, kw_only=True):
    min_age: int | None = None
    max_age: int | None = None
    why: str = ""

    def admits(self, age: int) -> bool:
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


class AgeRules(msgspec.Struct, frozen=True, kw_only=True):
    about: str = ""
    events: dict[str, AgeRange] = msgspec.field(default_factory=dict[str, AgeRange])


@cache
def age_rules() -> AgeRules:
    return msgspec.json.decode(RULES_FILE.read_bytes(), type=AgeRules)


def age_on(birth_date: date, today: date) -> int:
    """Whole years, as a person says their age (周岁)."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def by_likelihood(events: Sequence[LifeEvent], age: int | None) -> tuple[list[LifeEvent], list[LifeEvent]]:
    """(likely, unlikely) for a person of this age, each in the catalogue's order; everything is likely when the
    age is unknown."""
    rules = age_rules().events
    likely: list[LifeEvent] = []
    unlikely: list[LifeEvent] = []
    for event in events:
        rule = rules.get(event.code)
        (likely if age is None or rule is None or rule.admits(age) else unlikely).append(event)
    return likely, unlikely
