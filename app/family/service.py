"""家庭成员: the household (the same 户号 in the population register) shown to a resident, and the minor children the
register names them as parent of — the only people a resident files for without a delegation (app.filing)."""

from __future__ import annotations

from app.calendar.service import today_in_china
from app.errors import NotFound
from app.family.models import Family, FamilyMember
from app.filing import service as filing
from app.people import service as people
from app.people.models import Person
from db.pool import DB
from i18n import N_


def _member(person: Person, self_id: int, children: set[int]) -> FamilyMember:
    relation = N_("本人") if person.id == self_id else N_("子女") if person.id in children else N_("家庭成员")
    return FamilyMember(
        id=person.id,
        name=person.name,
        id_number_masked=person.id_number_masked,
        birth_date=person.birth_date,
        relation=relation,
        may_file_for=person.id in children,
        deceased=person.deceased,
    )


async def family_of(db: DB, person_id: int) -> Family:
    me = await people.get_person(db, person_id)
    if me is None:
        return Family(household=[], children=[])
    today = today_in_china()
    minors = [c for c in await people.children_of(db, person_id) if filing.files_for_as_parent(person_id, c, today)]
    ids = {c.id for c in minors}
    return Family(
        household=[_member(p, person_id, ids) for p in await people.household_of(db, me)],
        children=[_member(c, person_id, ids) for c in minors],
    )


async def minor_child(db: DB, parent_id: int, child_id: int) -> Person:
    """A minor child the register names this person as parent of (app.filing's rule); NotFound for anyone else (a
    stranger, an adult child), which looks the same as nobody."""
    child = await people.get_person(db, child_id)
    if child is None or not filing.files_for_as_parent(parent_id, child, today_in_china()):
        raise NotFound(N_("没有找到该家庭成员"))
    return child
