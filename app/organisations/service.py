"""Rules about the legal-person register (法人基础库)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import TypeAlias

import asyncpg

from app.accounts import service as accounts
from app.calendar.service import today_in_china
from app.catalogue import service as catalogue
from app.errors import FieldErrors, Forbidden, NotFound
from app.notifications.service import notify_account
from app.organisations import store
from app.organisations.models import (
    AGENT,
    CHANGE_FIELDS,
    CHANGE_LABELS,
    LEGAL_REP,
    PAPER,
    STATUS_LABELS,
    Acting,
    AgentRequest,
    AgentRow,
    AgentView,
    ChangeRow,
    Organisation,
    OrganisationImportReport,
    OrganisationRegister,
    OrganisationRole,
    RegisterChange,
    Registration,
)
from app.organisations.register import import_organisations
from app.people import service as people
from app.people.identity import id_number_problem, normalize_credit_code
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from db.pool import DB, Tx
from i18n import N_

# An authorisation lasts at most a year (then the legal representative renews it), as a helper's delegation does.
AGENT_MAX_DAYS = 366
# One answer for every organisation the caller may not act for, whether its code exists, is someone else's or the
# caller's authorisation ended: the register's code and name are public, who its agents are is not.
NOT_YOURS = N_("您不是该企业的法定代表人或经办人（或授权已过期、已撤销、超出授权范围），不能以企业身份办理")
AT_WINDOW_NOT_AUTHORISED = N_(
    "来办人不是该企业的法定代表人，也没有在有效期内、覆盖这件事的经办人授权：请查验企业出具的纸质授权委托书后再办理"
)
ENDED = {
    "deregistered": N_("该企业已注销，不能再以企业身份办理"),
    "revoked": N_("该企业营业执照已被吊销，不能再以企业身份办理"),
}


async def import_register(db: DB, cipher: PiiCipher, text: str) -> OrganisationImportReport:
    """Load an import file: every legal representative must already be in the population register."""
    return await import_organisations(db, cipher, text, await catalogue.district_codes(db), today_in_china())


async def by_credit_code(db: DB, credit_code: str) -> Organisation | None:
    return await store.by_credit_code(db, normalize_credit_code(credit_code))


async def register_new(
    db: DB,
    *,
    credit_code: str,
    name: str,
    org_type: str,
    legal_rep_person_id: int,
    address: str,
    region_code: str,
    established_on: date,
    business_scope: str | None,
) -> bool:
    """企业设立登记 completed: the organisation enters the register, active (False: the code is already taken)."""
    return await store.insert_new(
        db,
        credit_code=credit_code,
        name=name,
        org_type=org_type,
        legal_rep_person_id=legal_rep_person_id,
        address=address,
        region_code=region_code,
        established_on=established_on,
        business_scope=business_scope,
    )


async def represented_by(db: DB, person_id: int) -> list[Organisation]:
    """The organisations whose legal representative (by the register) this person is, by name."""
    return await store.represented_by(db, person_id)


# --- acting for an organisation (法人办事) ------------------------------------------------------------------------
#
# Who may act for an organisation: its legal representative by the register, at once; and the people the legal
# representative authorises as 经办人 (a scope of life events or all matters, an expiry within a year, revocable),
# only while the organisation is active (存续). Decided here, from the database, on every request that names the
# organisation (the API's `on_behalf_of_org` / `X-On-Behalf-Of-Org`, and the organisation a page's session acts for).
# Authorisations are given online by the legal representative only: at a window the clerk checks the 经办人's ID card
# and the organisation's written authorisation for that one visit, and nothing is recorded for later visits.


async def _role_in(db: DB, organisation: Organisation, person_id: int, life_event: str | None) -> Acting | None:
    if organisation.legal_rep_person_id == person_id:
        return Acting(organisation=organisation, role=LEGAL_REP)
    agent_id = await store.live_agent(db, organisation.id, person_id, life_event)
    row = await store.agent(db, agent_id) if agent_id is not None else None
    return Acting(organisation=organisation, role=AGENT, agent_id=row.id, scope=row.scope) if row else None


async def acting_for(
    db: DB, conn: Connection | None, user: CurrentUser, credit_code: str, life_event: str | None
) -> Acting:
    """The organisation the caller acts for in this request, for this life event (any matter, when None): its legal
    representative, or a 经办人 authorised in scope and in force, while it is active; else Forbidden, audited."""
    code = normalize_credit_code(credit_code)
    organisation = await store.by_credit_code(db, code) if user.person_id is not None else None
    acting = await _role_in(db, organisation, user.person_id, life_event) if organisation and user.person_id else None
    if acting is not None and organisation is not None and organisation.status == "active":
        return acting
    reason = (
        "not legal rep nor agent in scope" if acting is None else f"organisation {organisation and organisation.status}"
    )
    await audit(
        db, conn, "organisation.act", "forbidden", subject=f"org:{code[:18]}", reason=reason, life_event=life_event
    )
    if acting is not None and organisation is not None:
        raise Forbidden(ENDED.get(organisation.status, NOT_YOURS))
    raise Forbidden(NOT_YOURS)


async def acting_at_window(
    db: DB,
    conn: Connection | None,
    clerk: CurrentUser,
    person_id: int,
    credit_code: str,
    life_event: str | None,
    paper_checked: bool,
) -> Acting:
    """The organisation a resident at a window (their ID card checked by the clerk) files for: they are its legal
    representative by the register, or a 经办人 in scope and in force, or the clerk checked the organisation's paper
    授权委托书 for this visit (`paper_checked`); the organisation active. Else Forbidden, audited with the hall."""
    code = normalize_credit_code(credit_code)
    organisation = await store.by_credit_code(db, code)
    acting = await _role_in(db, organisation, person_id, life_event) if organisation else None
    if acting is None and organisation is not None and paper_checked:
        acting = Acting(organisation=organisation, role=PAPER)
    if acting is not None and organisation is not None and organisation.status == "active":
        return acting
    reason = "no authorisation" if acting is None else f"organisation {organisation and organisation.status}"
    await audit(
        db,
        conn,
        "organisation.act",
        "forbidden",
        subject=f"org:{code[:18]}",
        reason=reason,
        person=person_id,
        life_event=life_event,
        hall=clerk.region_code,
    )
    if organisation is not None and organisation.status != "active":
        raise Forbidden(ENDED.get(organisation.status, NOT_YOURS))
    raise Forbidden(AT_WINDOW_NOT_AUTHORISED)


async def members(db: DB, credit_code: str, life_event: str) -> list[int]:
    """The people who act for the organisation now in this life event (its legal representative, its 经办人 in
    scope and in force), by person id: an organisation's case notifies each of them."""
    organisation = await store.by_credit_code(db, credit_code)
    if organisation is None:
        return []
    agents = await store.live_agent_people(db, organisation.id, life_event)
    return [organisation.legal_rep_person_id, *(p for p in agents if p != organisation.legal_rep_person_id)]


async def mine(db: DB, user: CurrentUser) -> list[OrganisationRole]:
    """The active organisations the signed-in person may act for now: as legal representative, then as 经办人."""
    if user.person_id is None:
        return []
    roles = [
        OrganisationRole(uscc=o.credit_code, name=o.name, role=LEGAL_REP)
        for o in await store.represented_by(db, user.person_id)
        if o.status == "active"
    ]
    represented = {r.uscc for r in roles}
    roles += [
        OrganisationRole(uscc=o.credit_code, name=o.name, role=AGENT, scope=a.scope, expires_on=a.expires_on)
        for o, a in await store.live_agencies_of(db, user.person_id)
        if o.credit_code not in represented
    ]
    return roles


async def _as_legal_rep(db: DB, conn: Connection | None, user: CurrentUser, credit_code: str) -> Organisation:
    """Only the legal representative manages an organisation's 经办人 (an agent may not authorise others)."""
    acting = await acting_for(db, conn, user, credit_code, None)
    if acting.role != LEGAL_REP:
        await audit(db, conn, "organisation.agents", "forbidden", subject=f"org:{acting.organisation.credit_code}")
        raise Forbidden(N_("只有企业的法定代表人可以管理经办人"))
    return acting.organisation


def _agent_status(row: AgentRow, today: date) -> str:
    return "revoked" if row.revoked_at else "expired" if row.expires_on < today else "active"


async def agents(db: DB, conn: Connection | None, user: CurrentUser, credit_code: str) -> list[AgentView]:
    organisation = await _as_legal_rep(db, conn, user, credit_code)
    rows = await store.agents_of(db, organisation.id)
    names = await catalogue.life_event_names(db) if rows else {}
    today = today_in_china()
    return [
        AgentView(
            id=r.id,
            name=r.name,
            id_number_masked=r.id_number_masked,
            scope=r.scope,
            scope_label=N_("全部事项") if r.scope is None else "、".join(names.get(c, c) for c in r.scope),
            expires_on=r.expires_on,
            created_at=r.created_at,
            status=_agent_status(r, today),
        )
        for r in rows
    ]


def _agent_scope(events: set[str], scope: str | list[str]) -> list[str] | None:
    if scope == "all":
        return None
    if isinstance(scope, list) and scope and set(scope) <= events:
        return sorted(set(scope))
    raise FieldErrors({"scope": N_("请选择授权范围：全部事项，或具体的事情")})


async def add_agent(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection | None,
    user: CurrentUser,
    credit_code: str,
    body: AgentRequest,
) -> int:
    """The legal representative authorises a person of the population register (by name and number) as 经办人."""
    organisation = await _as_legal_rep(db, conn, user, credit_code)
    errors: dict[str, str] = {}
    person = None
    if problem := id_number_problem(body.id_number):
        errors["id_number"] = problem
    elif not body.name.strip():
        errors["name"] = N_("请填写经办人的姓名（与身份证上一致）")
    else:
        person = await people.registered_person(db, cipher, body.id_number, body.name.strip())
        if person is None:
            errors["id_number"] = N_("姓名与公民身份号码不匹配，或未在人口库中登记")
        elif person.id == organisation.legal_rep_person_id:
            errors["id_number"] = N_("法定代表人本人无需授权，可直接以企业身份办理")
        elif person.deceased:
            errors["id_number"] = N_("该居民户口已注销，不能授权")
    scope = None
    try:
        scope = _agent_scope(set(await catalogue.life_event_names(db)), body.scope)
    except FieldErrors as exc:
        errors.update(exc.errors)
    today = today_in_china()
    if body.expires_on is None or not today < body.expires_on <= today + timedelta(days=AGENT_MAX_DAYS):
        errors["expires_on"] = N_("授权有效期须在今天之后、一年以内")
    if errors or person is None or body.expires_on is None:
        raise FieldErrors(errors)
    async with db.acquire() as tx, tx.transaction():
        agent_id = await store.insert_agent(
            tx,
            organisation_id=organisation.id,
            person_id=person.id,
            scope=scope,
            expires_on=body.expires_on,
            granted_by=user.account_id,
        )
        await audit(
            tx,
            conn,
            "organisation.agent.add",
            "ok",
            subject=f"person:{person.id}",
            agent=agent_id,
            organisation=organisation.credit_code,
        )
        account = await accounts.resident_account_of(tx, person.id)
        if account is not None:
            await notify_account(
                tx,
                account.id,
                title=N_("企业经办人授权"),
                body=(
                    N_("%(name)s已授权您为经办人，至 %(isoformat)s；可在“我的”中切换为企业办事")
                    % {"name": organisation.name, "isoformat": body.expires_on.isoformat()}
                ),
                url="/me",
            )
    return agent_id


async def revoke_agent(db: DB, conn: Connection | None, user: CurrentUser, credit_code: str, agent_id: int) -> None:
    """The legal representative ends an authorisation (an agent of the organisation may also give up their own)."""
    organisation = await store.by_credit_code(db, normalize_credit_code(credit_code))
    row = await store.agent(db, agent_id)
    own = row is not None and user.person_id is not None and row.person_id == user.person_id
    if not own:  # a stranger learns nothing about the organisation's authorisations, not even whether one exists
        organisation = await _as_legal_rep(db, conn, user, credit_code)
    if organisation is None or row is None or row.organisation_id != organisation.id:
        raise NotFound(N_("没有找到该授权"))
    await store.revoke_agent(db, agent_id, f"account:{user.account_id}")
    await audit(
        db, conn, "organisation.agent.revoke", "ok", subject=f"agent:{agent_id}", organisation=organisation.credit_code
    )


# --- the register as its readers see it: 登记信息 and 变更记录 ------------------------------------------------------

# The case numbers of case ids: app.cases' to answer (it imports this feature), handed in by the caller.
CaseNumbers: TypeAlias = Callable[[DB, list[int]], Awaitable[dict[int, str]]]


async def register_of(db: DB, organisation: Organisation, case_numbers: CaseNumbers) -> OrganisationRegister:
    """The organisation's entry in the register and its history, newest first, each change with the case that made
    it. Who may read it is the caller's to decide first: the people acting for it (`acting_for`), the staff handling
    its case."""
    history = await store.changes_of(db, organisation.id)
    people_ids = {organisation.legal_rep_person_id} | {
        int(value) for c in history if c.field == "legal_rep_person_id" for value in (c.old_value, c.new_value)
    }
    names = {pid: p.name for pid, p in (await people.people_by_id(db, sorted(people_ids))).items()}
    numbers = await case_numbers(db, sorted({c.case_id for c in history if c.case_id is not None}))
    return OrganisationRegister(
        uscc=organisation.credit_code,
        name=organisation.name,
        type=organisation.org_type,
        legal_rep_name=names.get(organisation.legal_rep_person_id, ""),
        address=organisation.address,
        business_scope=organisation.business_scope,
        district=await catalogue.region_name(db, organisation.region_code) or organisation.region_code,
        established_on=organisation.established_on,
        status=organisation.status,
        status_label=organisation.status_label,
        changes=[_change(c, names, numbers) for c in history],
    )


def _change(row: ChangeRow, names: dict[int, str], numbers: dict[int, str]) -> RegisterChange:
    def shown(value: str) -> str:
        if row.field == "legal_rep_person_id":
            return names.get(int(value), "")
        return STATUS_LABELS.get(value, value) if row.field == "status" else value

    return RegisterChange(
        field=CHANGE_FIELDS[row.field],
        label=CHANGE_LABELS[row.field],
        before=shown(row.old_value),
        after=shown(row.new_value),
        changed_on=row.changed_on,
        case_no=numbers.get(row.case_id) if row.case_id is not None else None,
    )


async def register_for(
    db: DB, conn: Connection | None, user: CurrentUser, credit_code: str, case_numbers: CaseNumbers
) -> OrganisationRegister:
    """The register's entry and history, to the people acting for the organisation now (its legal representative, a
    经办人 in force whatever their scope); anyone else: Forbidden, audited, as for any other request for it."""
    acting = await acting_for(db, conn, user, credit_code, None)
    return await register_of(db, acting.organisation, case_numbers)


# --- the register written back: 企业变更登记, 企业注销 ----------------------------------------------------------------
#
# Called by app.registers when 市场监管 completes the task, in the completion's transaction: the organisation locked,
# the change and its history written together, or not at all.


async def change_registration(
    tx: Tx, credit_code: str, wanted: Registration, *, case_id: int, on: date
) -> tuple[Organisation, list[str]] | None:
    """The register takes the changed name, address or legal representative, each change kept in its history (value
    before and after); (the organisation as it was, the fields changed). None: no active organisation by that code."""
    found = await store.by_credit_code(tx, credit_code)
    organisation = await store.lock(tx, found.id) if found else None
    if organisation is None or organisation.status != "active":
        return None
    # The history keeps text: a scope the register did not know before is "" there.
    before = {
        "name": organisation.name,
        "address": organisation.address,
        "legal_rep_person_id": str(organisation.legal_rep_person_id),
        "business_scope": organisation.business_scope or "",
    }
    after = {
        "name": wanted.name,
        "address": wanted.address,
        "legal_rep_person_id": str(wanted.legal_rep_person_id),
        "business_scope": wanted.business_scope or "",
    }
    changes = [(field, before[field], after[field]) for field in before if before[field] != after[field]]
    if changes:
        await store.update_registration(
            tx,
            organisation.id,
            name=wanted.name,
            address=wanted.address,
            legal_rep_person_id=wanted.legal_rep_person_id,
            status=organisation.status,
            business_scope=wanted.business_scope,
        )
        await store.insert_changes(tx, organisation.id, changes, case_id=case_id, changed_on=on)
    return organisation, [field for field, _old, _new in changes]


async def deregister(
    tx: Tx, credit_code: str, *, case_id: int, case_no: str, on: date
) -> tuple[Organisation, int] | None:
    """企业注销: the organisation's status becomes 注销 (kept in its history) and every 经办人 authorisation of it ends
    (revoked by the register, for the case); (the organisation as it was, how many authorisations ended). None: no
    active organisation by that code."""
    found = await store.by_credit_code(tx, credit_code)
    organisation = await store.lock(tx, found.id) if found else None
    if organisation is None or organisation.status != "active":
        return None
    await store.update_registration(
        tx,
        organisation.id,
        name=organisation.name,
        address=organisation.address,
        legal_rep_person_id=organisation.legal_rep_person_id,
        status="deregistered",
        business_scope=organisation.business_scope,
    )
    await store.insert_changes(
        tx, organisation.id, [("status", organisation.status, "deregistered")], case_id=case_id, changed_on=on
    )
    ended = await store.end_agents(tx, organisation.id, f"register:{case_no}", N_("企业已注销"))
    return organisation, ended
