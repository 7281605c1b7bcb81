"""Which department office handles a task (全城通办: routed by competence, not by the hall that received it).

An item's level decides whose office it is: 市级 the city's, 区级 the applicant's registered district's (the first six
digits of their region), 镇级 their town's (the first nine digits) when the register knows it, else their district's.
An item marked 全城通办 (`citywide` in db/seed/items.json) has no office at first: any office of its department may
take it, and the first staff move on it (受理, as a rule) gives it the acting office (app.cases.workflow, under the
task's row lock). A resident with no region on the register goes to the city's office.
"""

from __future__ import annotations

from auth.scope import CITY, serves
from i18n import N_

_DISTRICT_DIGITS = 6
_TOWN_DIGITS = 9


def office_for(level: str, citywide: bool, applicant_region: str | None) -> str | None:
    """The region of the office that handles an item for this applicant; None for a 全城通办 item (any office)."""
    if citywide:
        return None
    region = applicant_region or ""
    if level == N_("市级") or len(region) < _DISTRICT_DIGITS or not serves(CITY, region):
        return CITY
    if level == N_("镇级") and len(region) >= _TOWN_DIGITS:
        return region[:_TOWN_DIGITS]
    return region[:_DISTRICT_DIGITS]


def works_at(staff_region: str | None, office_region: str | None) -> bool:
    """Whether staff of `staff_region` work for the office of `office_region` (a region serves every office inside
    it: the city's staff every district's). A task no office has taken yet (全城通办) is open to every office."""
    if not staff_region:
        return False
    return office_region is None or serves(staff_region, office_region)


def answering_office(office_region: str | None, applicant_region: str | None) -> str:
    """The office that answers for a task to supervision (督办, 整改, a rating): the one it is routed to, or — a
    全城通办 task no office has taken yet — the applicant's district's, whose hall receives it."""
    if office_region:
        return office_region
    region = applicant_region or ""
    return region[:_DISTRICT_DIGITS] if len(region) >= _DISTRICT_DIGITS and serves(CITY, region) else CITY


def follow_up_region(applicant_region: str | None, received_region: str | None, office_region: str | None) -> str:
    """Whose window clerks phone or post a notice that must arrive when no channel delivered it (未送达): the
    resident's own region's, near them; for a resident the register places nowhere, the hall that received the case at
    its window, else the office the task is routed to (the city's, for them: office_for), which handles it."""
    return applicant_region or received_region or answering_office(office_region, applicant_region)
