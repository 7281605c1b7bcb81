"""代办授权: recorded with the elder present (identity checked in person, consent by signature or the
elder's own passkey), seen and revoked by the elder, the helper or staff, enforced on every use."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias, TypeVar

import asyncpg
from litestar.di import NamedDependency

from app.accounts import service as accounts
from app.calendar.service import today_in_china
from app.catalogue import service as catalogue
from app.catalogue.models import LifeEvent
from app.delegations import store
from app.delegations.models import Consent, ConsentOptionsRequest, DelegationRequest, DelegationRow, DelegationView
from app.delegations.signature import SignatureProblem, check_drawn, decode_data_url
from app.errors import FieldErrors, Forbidden, NotFound
from app.notifications.service import notify_account
from app.people import service as people
from app.people.identity import id_number_problem
from app.people.models import Person
from app.web.types import Connection
from auth import ceremonies, passkeys
from auth.assertions import check_assertion
from auth.audit import audit
from auth.models import CurrentUser
from auth.passkeys import PasskeyError
from auth.pii import PiiCipher
from auth.scope import serves
from config.settings import Settings
from db.pool import DB, Tx
from i18n import N_, _, use_language

T = TypeVar("T")
MAX_DAYS = 366
# By delegation id, the cases its helper filed for its client within its scope that are still open. A rule of
# app.cases (app.cases.service.open_cases_of: it reads cases, and derives a case's status from its tasks, once);
# app.cases imports this feature, so the composition root (app/main.py) hands the function in as the dependency
# `open_cases` (OpenCasesOf in a route's signature).
OpenCases: TypeAlias = Callable[[DB, Sequence[DelegationRow]], Awaitable[dict[int, list[str]]]]
OpenCasesOf: TypeAlias = NamedDependency[OpenCases]
IDENTITY_CHECKS = {
    "id_card": N_("当面核验居民身份证"),
    "id_card_reader": N_("身份证读卡器核验"),
    "household_register": N_("核验居民户口簿及本人"),
}


async def _client(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, helper: CurrentUser, raw: str, name: str
) -> Person:
    if problem := id_number_problem(raw):
        raise FieldErrors({"client_id_number": problem})
    person = await people.registered_person(db, cipher, raw, name)
    if person is None:
        raise FieldErrors({"client_id_number": N_("姓名与公民身份号码不匹配，或未在人口库中登记")})
    if not helper.region_code or person.region_code != helper.region_code:
        await audit(db, conn, "delegation.create", "forbidden", subject=f"person:{person.id}", reason="outside village")
        raise Forbidden(N_("该居民不在您服务的村（社区），不能为其办理代办授权"))
    return person


def _scope(events: Sequence[LifeEvent], scope: str | list[str]) -> list[str] | None:
    """The life events a delegation covers (None: all matters). An organisation's own (企业变更登记, 企业注销) are never
    an elder's to delegate: they are filed by the organisation's legal representative or its 经办人 (法人办事)."""
    if scope == "all":
        return None
    if not isinstance(scope, list) or not scope or not set(scope) <= {e.code for e in events}:
        raise FieldErrors({"scope": N_("请选择授权范围：全部事项，或具体的事情")})
    if organisations := [e.name for e in events if e.for_organisation and e.code in scope]:
        raise FieldErrors(
            {
                "scope": _(
                    "%(join)s是企业的事情，须由企业的法定代表人或经办人以企业身份办理，不能委托帮办代办员代办：请从授权范围中去掉"
                )
                % {"join": "、".join(organisations)}
            }
        )
    return sorted(set(scope))


def _expiry(expires_on: date | None, today: date) -> date:
    if expires_on is None or not today < expires_on <= today + timedelta(days=MAX_DAYS):
        raise FieldErrors({"expires_on": N_("授权有效期须在今天之后、一年以内")})
    return expires_on


async def _signature(consent: Consent) -> bytes:
    """The PNG drawn on the pad, once app.delegations.signature has found it to be a signature."""
    try:
        png = decode_data_url(consent.signature_png)
        # Decoding the largest pad's image takes a good part of a tenth of a second: not on the event loop.
        await asyncio.to_thread(check_drawn, png)
    except SignatureProblem as exc:
        raise FieldErrors({"consent": exc.words()}) from exc
    return png


async def _collected(errors: dict[str, str], check: Awaitable[T]) -> T | None:
    """What a check gives, or None with its field errors added to `errors` (a Forbidden or other error still stops)."""
    try:
        return await check
    except FieldErrors as exc:
        errors.update(exc.errors)
        return None


async def consent_options(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    settings: Settings,
    conn: Connection,
    owner: str,
    helper: CurrentUser,
    body: ConsentOptionsRequest,
) -> dict[str, Any]:
    """Ask the elder's own passkey (on this tablet or their phone) to confirm the delegation."""
    person = await _client(db, cipher, conn, helper, body.client_id_number, body.client_name)
    account = await accounts.resident_account_of(db, person.id)
    credentials = await ceremonies.passkey_ids_of(db, account.id) if account else []
    if not credentials:
        raise FieldErrors({"consent": N_("该居民没有通行密钥，请改用手写签名确认")})
    return await ceremonies.authentication_options(
        db, rp_id=settings.rp_id, owner=owner, purpose="consent", payload={"person_id": person.id}, allow=credentials
    )


async def _passkey_consent(
    db: asyncpg.Pool, settings: Settings, conn: Connection, owner: str, person: Person, credential: dict[str, Any]
) -> int:
    try:
        challenge = passkeys.challenge_of(credential)
        credential_id = passkeys.credential_id_of(credential)
    except PasskeyError as exc:
        raise FieldErrors({"consent": exc.message}) from exc
    payload = await ceremonies.take_challenge(db, challenge=challenge, owner=owner, purpose="consent")
    stored = await ceremonies.find_passkey(db, credential_id)
    account = await accounts.resident_account_of(db, person.id)
    if (
        payload is None
        or payload.get("person_id") != person.id
        or stored is None
        or account is None
        or stored.account_id != account.id
    ):
        await audit(db, conn, "delegation.consent", "refused", subject=f"person:{person.id}")
        raise FieldErrors({"consent": N_("老人的通行密钥确认无效，请重新确认")})
    try:
        await check_assertion(
            db, stored, credential, challenge=challenge, rp_id=settings.rp_id, origin=settings.public_url
        )
    except PasskeyError as exc:
        await audit(db, conn, "delegation.consent", "refused", subject=f"person:{person.id}", reason=exc.reason)
        raise FieldErrors({"consent": exc.message}) from exc
    return account.id


async def create(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    settings: Settings,
    conn: Connection,
    owner: str,
    helper: CurrentUser,
    body: DelegationRequest,
) -> int:
    # Every problem at once, so the helper corrects them together rather than one per try with the elder waiting.
    errors: dict[str, str] = {}
    person = None
    if not body.client_name.strip():
        errors["client_name"] = N_("请填写老人的姓名（与身份证上一致）")
        if problem := id_number_problem(body.client_id_number):
            errors["client_id_number"] = problem
    else:
        person = await _collected(errors, _client(db, cipher, conn, helper, body.client_id_number, body.client_name))
    scope, expires_on = None, None
    try:
        scope = _scope(await catalogue.life_events(db), body.scope)
    except FieldErrors as exc:
        errors.update(exc.errors)
    try:
        expires_on = _expiry(body.expires_on, today_in_china())
    except FieldErrors as exc:
        errors.update(exc.errors)
    if body.identity_check not in IDENTITY_CHECKS:
        errors["identity_check"] = N_("请选择核验身份的方式")
    signature, consent_account = None, None
    if body.consent.method == "signature":
        signature = await _collected(errors, _signature(body.consent))
    elif body.consent.method != "passkey" or not body.consent.credential:
        errors["consent"] = N_("请选择老人确认的方式：手写签名或本人通行密钥")
    if errors or person is None or expires_on is None:
        raise FieldErrors(errors)
    if body.consent.method == "passkey" and body.consent.credential:
        # The elder's passkey is checked (and its challenge used up) only once everything else is right.
        consent_account = await _passkey_consent(db, settings, conn, owner, person, body.consent.credential)
    assert helper.region_code is not None
    async with db.acquire() as tx, tx.transaction():
        delegation_id = await store.insert(
            tx,
            helper_account_id=helper.account_id,
            client_person_id=person.id,
            scope=scope,
            expires_on=expires_on,
            identity_check=IDENTITY_CHECKS[body.identity_check],
            consent_method=body.consent.method,
            consent_signature=signature,
            consent_account_id=consent_account,
            region_code=helper.region_code,
        )
        await audit(
            tx,
            conn,
            "delegation.create",
            "ok",
            subject=f"person:{person.id}",
            delegation=delegation_id,
            consent=body.consent.method,
        )
        await _tell_the_elder(tx, person.id, helper.name, scope, expires_on)
    return delegation_id


async def _tell_the_elder(tx: Tx, person_id: int, helper_name: str, scope: list[str] | None, expires_on: date) -> None:
    """The elder hears of every delegation recorded in their name (inbox, and push on their devices) if they
    have an account — one recorded against their will is revoked on 我的."""
    account = await accounts.resident_account_of(tx, person_id)
    if account is None:
        return
    # In the elder's language, not the helper's who recorded it (the events' names too).
    with use_language(account.language):
        if scope is None:
            matters = _("全部事项")
        else:
            names = await catalogue.life_event_names(tx)
            matters = _("、").join(names.get(code, code) for code in scope)
        title = _("代办授权：您已授权帮办员代办")
        body = _(
            "您已授权帮办员 %(helper_name)s 为您代办%(matters)s，至 %(isoformat)s；如非本人意愿，可在“我的”中撤销"
        ) % {"helper_name": helper_name, "matters": matters, "isoformat": expires_on.isoformat()}
    await notify_account(tx, account.id, title=title, body=body, url="/me#delegations-heading")


def _status(row: DelegationRow, today: date) -> str:
    return "revoked" if row.revoked_at else "expired" if row.expires_on < today else "active"


def _view(
    row: DelegationRow,
    today: date,
    event_names: dict[str, str],
    helper_names: dict[int, str],
    open_cases: dict[int, list[str]],
) -> DelegationView:
    status = _status(row, today)
    return DelegationView(
        id=row.id,
        helper_name=helper_names.get(row.helper_account_id, ""),
        client_name=row.client_name,
        client_id_number_masked=row.client_id_number_masked,
        scope=row.scope,
        scope_label=N_("全部事项") if row.scope is None else "、".join(event_names.get(c, c) for c in row.scope),
        expires_on=row.expires_on,
        identity_check=row.identity_check,
        consent_method=row.consent_method,
        created_at=row.created_at,
        status=status,
        open_cases=open_cases.get(row.id, []) if status == "active" else [],
    )


async def listing(db: asyncpg.Pool, user: CurrentUser, open_cases: OpenCases) -> list[DelegationView]:
    """A helper's roster, or the delegations a resident has given; the active ones with their open cases."""
    today = today_in_china()
    if "helper" in user.roles:
        rows = await store.of_helper(db, user.account_id)
    elif user.person_id is not None:
        rows = await store.of_client(db, user.person_id)
    else:
        return []
    names = await catalogue.life_event_names(db) if rows else {}
    helpers = await accounts.names_of(db, sorted({r.helper_account_id for r in rows})) if rows else {}
    active = [r for r in rows if _status(r, today) == "active"]
    opened = await open_cases(db, active) if active else {}
    return [_view(r, today, names, helpers, opened) for r in rows]


async def revoke(db: asyncpg.Pool, conn: Connection, user: CurrentUser, delegation_id: int) -> None:
    row = await store.get(db, delegation_id)
    allowed = row is not None and (
        row.helper_account_id == user.account_id
        or (user.person_id is not None and row.client_person_id == user.person_id)
        or (bool(user.roles & {"clerk", "admin"}) and serves(user.region_code, row.region_code))
    )
    if not allowed:
        raise NotFound(N_("没有找到该授权"))
    await store.revoke(db, delegation_id, f"account:{user.account_id}")
    await audit(db, conn, "delegation.revoke", "ok", subject=f"delegation:{delegation_id}")


async def end_for_deceased(db: DB, person_id: int, case_no: str) -> list[int]:
    """户口注销 completed: every delegation the person gave ends, with the reason; their ids."""
    return await store.revoke_all_of_client(
        db, person_id, "system", N_("委托人户口已注销（办件 %(case_no)s）") % {"case_no": case_no}
    )


async def client_of(db: DB, helper: CurrentUser, delegation_id: int) -> int | None:
    """The person who gave one of this helper's delegations (live or not); None for anyone else's."""
    row = await store.get(db, delegation_id)
    return row.client_person_id if row is not None and row.helper_account_id == helper.account_id else None


async def client_birth_date(db: DB, helper: CurrentUser, delegation_id: int) -> date | None:
    """When the client of one of this helper's delegations was born (their age orders the life events offered)."""
    person_id = await client_of(db, helper, delegation_id)
    person = await people.get_person(db, person_id) if person_id is not None else None
    return person.birth_date if person else None


async def given_before(db: DB, helper_account_id: int, client_person_id: int, moment: datetime) -> bool:
    """Whether the client had authorised this helper before `moment` (a case they filed: its receipt is theirs to
    print, even after the delegation ended)."""
    return await store.given_before(db, helper_account_id, client_person_id, moment)


async def is_live(db: DB, helper_account_id: int, client_person_id: int) -> bool:
    """Whether the client has a live delegation to this helper, in any scope."""
    return await store.live_delegation(db, helper_account_id, client_person_id, None) is not None


# --- the check behind every request a helper makes for someone ---------------------------------------------------


async def require_delegation(
    db: DB,
    conn: Connection | None,
    helper: CurrentUser,
    client_person_id: int | None,
    client_region: str | None,
    life_event_code: str | None,
) -> int:
    """The id of the helper's delegation that is live, covers the life event and comes from a client of the helper's
    own village; else Forbidden, audited (`client_person_id` None: a number not in the register). Decided here in
    the server from the database, never from what the page says."""
    reason = None
    if "helper" not in helper.roles:
        reason = "not a helper"
    elif client_person_id is None:
        reason = "not in the population register"
    elif not helper.region_code or client_region != helper.region_code:
        reason = "client outside the helper's village"
    else:
        covering = None if life_event_code is None else await catalogue.scope_codes_covering(db, life_event_code)
        delegation_id = await store.live_delegation(db, helper.account_id, client_person_id, covering)
        if delegation_id is not None:
            return delegation_id
        reason = "no live delegation in scope"
    await audit(
        db,
        conn,
        "delegation.check",
        "forbidden",
        subject=f"person:{client_person_id or '-'}",
        reason=reason,
        life_event=life_event_code,
    )
    raise Forbidden(N_("没有有效的代办授权（未授权、已过期、已撤销或超出授权范围）"))
