"""Who may file for whom: the one rule behind every request made for a person — the merged form's prefill, drafts,
uploads and the submission.

The applicant is decided here in the server, never by the page: the resident themself; the person a window clerk
receives after checking their ID card in person (auth.walk_in); a village helper's client under a live delegation
covering the life event (app.delegations.service.require_delegation); or a parent's minor child, whom the population
register names them as mother or father of (files_for_as_parent: 父母是未成年子女的监护人, no delegation needed).
For an organisation (法人办事): its legal representative or a 经办人 in scope, signed in themself, or received at a
window (their ID card checked, then the organisation's authority: app.organisations.service.acting_at_window). A
life event that acts on an existing organisation (企业变更登记, 企业注销) is filed only for one.

Why a small app package rather than auth/: the rule looks the number up in the population register (app.people)
and answers a malformed number beside its field (app.errors.FieldErrors), and auth/ may import only db/ and
config/. Of the two checks it chooses between, the walk-in's stays in auth/ (it reads only the session), and the
delegation's lives with the delegations it reads; each audits its own refusals.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from app.calendar.service import today_in_china
from app.catalogue import service as catalogue
from app.delegations import service as delegations
from app.delegations.current import CurrentClient
from app.errors import FieldErrors, Forbidden, NotFound
from app.filing.models import Filing, Served, Subject
from app.organisations import service as organisations
from app.people import service as people
from app.people.identity import id_number_problem, normalize_credit_code
from app.people.models import Person
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from auth.walk_in import WalkIn, require_walk_in
from db.pool import DB
from i18n import N_

FOR_ORGANISATIONS_ONLY = N_(
    "这件事须以企业身份办理：请企业的法定代表人或经办人在“我的”中切换为企业办事后办理，或到综合窗口办理"
)
AT_WINDOW_FOR_ORGANISATIONS_ONLY = N_("这件事须为企业办理：请在“窗口收件”中核验来办人的企业授权（为企业办理）后再办理")


def files_for_as_parent(parent_id: int, child: Person, today: date) -> bool:
    """A parent files for a child without a delegation while the child is a minor (under 18) and living, and only
    when the register names them as the child's mother or father: never a stranger, never for an adult child."""
    return not child.deceased and people.is_parent_of(parent_id, child) and people.is_minor(child, today)


async def _require_minor_child(
    db: asyncpg.Pool, cipher: PiiCipher, user: CurrentUser, on_behalf_of: str, conn: Connection | None
) -> Filing:
    """The minor child a resident files for as their registered parent; else Forbidden, audited (a number not in the
    register is refused the same way, so this cannot tell who is registered)."""
    parent_id = own_person_id(user)
    if problem := id_number_problem(on_behalf_of):
        raise FieldErrors({"on_behalf_of": problem})
    child = await people.person_by_number(db, cipher, on_behalf_of)
    if child is not None and files_for_as_parent(parent_id, child, today_in_china()):
        return Filing(person_id=child.id, filed_as="parent", channel="online", person=child)
    await audit(
        db,
        conn,
        "family.check",
        "forbidden",
        subject=f"person:{child.id if child else '-'}",
        reason="not a minor child",
    )
    raise Forbidden(N_("只有人口库中登记的父母可以为未满18周岁的子女申请；为其他人办理请先取得代办授权"))


def own_person_id(user: CurrentUser) -> int:
    """The person a resident files for: themself. Staff have no person of their own; they file only for someone."""
    if user.person_id is None:
        raise Forbidden(N_("工作人员请在办事窗口为群众代为申请"))
    return user.person_id


async def resolve_filing(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    user: CurrentUser,
    on_behalf_of: str | None,
    life_event_code: str,
    conn: Connection | None = None,
    on_behalf_of_org: str | None = None,
) -> Filing:
    """Whose form, draft, upload or case this is, decided here in the server, never by the page: the resident
    themself; the person a clerk receives at the window after checking their ID card in person (auth.walk_in); a
    village helper's client under a live delegation covering this life event; or a resident's minor child. With
    `on_behalf_of_org`, the resident files for an organisation they may act for (its legal representative, or a
    经办人 in scope: app.organisations.service.acting_for), as its 经办人."""
    if on_behalf_of_org:
        return await _for_organisation(db, cipher, user, on_behalf_of, on_behalf_of_org, life_event_code, conn)
    if await catalogue.only_for_organisations(db, life_event_code):
        raise Forbidden(AT_WINDOW_FOR_ORGANISATIONS_ONLY if "clerk" in user.roles else FOR_ORGANISATIONS_ONLY)
    return await _for_person(db, cipher, user, on_behalf_of, life_event_code, conn)


async def _for_person(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    user: CurrentUser,
    on_behalf_of: str | None,
    life_event_code: str,
    conn: Connection | None,
) -> Filing:
    """The person filed for: the resident themself, a walk-in, a helper's client, or a minor child."""
    if on_behalf_of is None:
        return Filing(person_id=own_person_id(user), filed_as="self", channel="online")
    if not user.roles & {"clerk", "helper"}:
        return await _require_minor_child(db, cipher, user, on_behalf_of, conn)
    if problem := id_number_problem(on_behalf_of):
        raise FieldErrors({"on_behalf_of": problem})
    person = await people.person_by_number(db, cipher, on_behalf_of)
    # A number not in the register is refused like any other person the caller may not act for (and audited
    # the same way), so these calls cannot be used to find out who is registered.
    person_id, region = (person.id, person.region_code) if person else (None, None)
    if "clerk" in user.roles:
        await require_walk_in(db, conn, user, person_id, region)
        assert person_id is not None  # require_walk_in refuses anyone but the checked, registered person
        return Filing(person_id=person_id, filed_as="clerk", channel="window", person=person)
    delegation_id = await delegations.require_delegation(db, conn, user, person_id, region, life_event_code)
    assert person_id is not None
    return Filing(person_id=person_id, filed_as="helper", channel="helper", delegation_id=delegation_id, person=person)


async def _for_organisation(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    user: CurrentUser,
    on_behalf_of: str | None,
    credit_code: str,
    life_event_code: str,
    conn: Connection | None,
) -> Filing:
    """The organisation the signed-in resident acts for: they file as its 经办人, in their own name (a helper's client
    or a child cannot be one at the same time). A window clerk files for it for the resident at the window."""
    if "clerk" in user.roles:
        return await _for_organisation_at_window(db, cipher, user, on_behalf_of, credit_code, life_event_code, conn)
    if on_behalf_of is not None or user.person_id is None:
        raise Forbidden(N_("以企业身份办理，请由法定代表人或经办人本人登录后办理"))
    acting = await organisations.acting_for(db, conn, user, credit_code, life_event_code)
    return Filing(
        person_id=user.person_id,
        filed_as="self",
        channel="online",
        org_credit_code=acting.organisation.credit_code,
        org_role=acting.role,
    )


async def _for_organisation_at_window(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    clerk: CurrentUser,
    on_behalf_of: str | None,
    credit_code: str,
    life_event_code: str,
    conn: Connection | None,
) -> Filing:
    """窗口收件 for an organisation: the resident at the window (their ID card checked: the walk-in) is its legal
    representative or a 经办人 in scope and in force — or the clerk checked its paper 授权委托书 for this visit — and
    the clerk chose this organisation for the visit (/console/walk-in). Else Forbidden, audited."""
    if problem := id_number_problem(on_behalf_of or ""):
        raise FieldErrors({"on_behalf_of": problem})
    assert on_behalf_of is not None
    person = await people.person_by_number(db, cipher, on_behalf_of)
    person_id, region = (person.id, person.region_code) if person else (None, None)
    started = await require_walk_in(db, conn, clerk, person_id, region)
    chosen = started.organisation
    if chosen is None or chosen.credit_code != normalize_credit_code(credit_code):
        await audit(
            db,
            conn,
            "organisation.act",
            "forbidden",
            subject=f"org:{normalize_credit_code(credit_code)[:18]}",
            reason="organisation not checked for this visit",
            hall=clerk.region_code,
        )
        raise Forbidden(N_("请先在“窗口收件”中核验来办人的企业授权（为企业办理），再以企业名义办理"))
    acting = await organisations.acting_at_window(
        db, conn, clerk, started.person_id, chosen.credit_code, life_event_code, chosen.paper
    )
    return Filing(
        person_id=started.person_id,
        filed_as="clerk",
        channel="window",
        org_credit_code=acting.organisation.credit_code,
        org_role=acting.role,
        person=person,
    )


async def for_minor_child(db: DB, parent: CurrentUser, child_id: int) -> Served:
    """A minor child of the signed-in resident (the page's ?for=), to be checked like every request for them
    (subject_for) before the page may hold their number; NotFound for anyone else."""
    child = await people.get_person(db, child_id)
    if child is None or not files_for_as_parent(own_person_id(parent), child, today_in_china()):
        raise NotFound(N_("没有找到该家庭成员"))
    return Served(person_id=child.id, name=child.name, key=f"c{child.id}", channel="parent")


def at_window(started: WalkIn) -> Served:
    """The resident a clerk checked in at the window (窗口收件)."""
    return Served(person_id=started.person_id, name=started.name, key=f"w{started.visit}", channel="window")


async def for_client(db: DB, helper: CurrentUser, client: CurrentClient) -> Served:
    """The client of the helper's current delegation (app.delegations.current), to be checked like every request for
    them (subject_for) before the page may hold their number."""
    person_id = await delegations.client_of(db, helper, client.delegation_id)
    if person_id is None:
        raise NotFound(N_("没有找到该授权"))
    return Served(
        person_id=person_id,
        name=client.name,
        key=str(client.delegation_id),
        channel="helper",
        delegation_id=client.delegation_id,
    )


async def subject_for(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, served: Served, life_event: str
) -> Subject:
    """The person a helper's tablet or a clerk's window serves now, checked like every request for them
    (resolve_filing: a live delegation, in scope, in the helper's village; or a live walk-in for this very person,
    in the hall's region; else Forbidden, audited). The full number the page then holds is released to the helper or
    clerk only after that check, and each release is audited."""
    identity = await people.identity_of(db, cipher, served.person_id)
    if identity is None:
        raise NotFound(N_("人口库中没有该居民"))
    on_behalf_of = identity.id_number
    # The person only: a form for an organisation they file for (at a window) is checked with it (resolve_filing).
    person_id = (await _for_person(db, cipher, user, on_behalf_of, life_event, conn)).person_id
    if served.channel == "window":
        await audit(
            db, conn, "walk_in.use", "ok", subject=f"person:{person_id}", life_event=life_event, hall=user.region_code
        )
    elif served.channel == "parent":
        await audit(db, conn, "family.use", "ok", subject=f"person:{person_id}", life_event=life_event)
    else:
        await audit(
            db,
            conn,
            "delegation.use",
            "ok",
            subject=f"person:{person_id}",
            delegation=served.delegation_id,
            life_event=life_event,
        )
    return Subject(
        person_id=person_id, on_behalf_of=on_behalf_of, name=served.name, key=served.key, channel=served.channel
    )
