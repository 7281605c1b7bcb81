"""The client a helper is working for on a shared tablet, kept in the server session.

Choosing a client (为TA办事) puts the delegation's id, the client's name and masked number in the session: the
banner on every page reads them from there, and the apply page takes the client from there rather than from
the URL. It is a convenience only: every request for the client is still checked against a live delegation
by app.filing.service.subject_person. Signing out, the idle time-out and ending or switching the client all
drop it with the rest of the session value.
"""

from __future__ import annotations

import asyncpg
import msgspec
from litestar.exceptions import NotFoundException, PermissionDeniedException

from app.delegations import service
from app.delegations import store as delegations_store
from app.delegations.models import DelegationView
from app.filing import service as filing
from app.filing.models import Subject
from app.people import store as people_store
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from auth.sessions import drop_from_session, keep_in_session, session_value

SESSION_KEY = "helper_client"


class CurrentClient(msgspec.Struct, frozen=True, kw_only=True):
    delegation_id: int
    name: str
    id_number_masked: str


def peek(conn: Connection) -> CurrentClient | None:
    """The client named in the session, unchecked: for display (the banner, the roster) only."""
    return session_value(conn, SESSION_KEY, CurrentClient)


def forget(conn: Connection) -> None:
    drop_from_session(conn, SESSION_KEY)


async def _own_delegation(db: asyncpg.Pool, helper: CurrentUser, delegation_id: int) -> DelegationView | None:
    return next((d for d in await service.listing(db, helper) if d.id == delegation_id), None)


async def choose(db: asyncpg.Pool, conn: Connection, helper: CurrentUser, delegation_id: int) -> CurrentClient:
    """Work for the client of one of this helper's live delegations from now on (replacing any other)."""
    delegation = await _own_delegation(db, helper, delegation_id)
    if delegation is None:
        raise NotFoundException("没有找到该授权")
    if delegation.status != "active":
        raise PermissionDeniedException("该授权已过期或已撤销，不能再为其办事")
    client = CurrentClient(
        delegation_id=delegation.id, name=delegation.client_name, id_number_masked=delegation.client_id_number_masked
    )
    keep_in_session(conn, SESSION_KEY, client)
    return client


async def live(db: asyncpg.Pool, conn: Connection, helper: CurrentUser) -> tuple[CurrentClient, DelegationView] | None:
    """The session's client and their delegation while it is still live; otherwise the client is dropped."""
    client = peek(conn)
    if client is None:
        return None
    delegation = await _own_delegation(db, helper, client.delegation_id)
    if delegation is None or delegation.status != "active":
        forget(conn)
        return None
    return client, delegation


async def subject_for(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, helper: CurrentUser, client: CurrentClient, life_event: str
) -> Subject:
    """The client of the session's delegation, checked like every request for them (app.filing.service.subject_person:
    live, in scope, in the helper's village; 403 and audited otherwise). The full number the page then holds
    is released to the helper only after that check, and each release is audited."""
    row = await delegations_store.get(db, client.delegation_id)
    encrypted = await people_store.encrypted_id_number(db, row["client_person_id"]) if row else None
    if row is None or row["helper_account_id"] != helper.account_id or encrypted is None:
        raise NotFoundException("没有找到该授权")
    on_behalf_of = cipher.decrypt(encrypted)
    person_id = await filing.subject_person(db, cipher, helper, on_behalf_of, life_event, conn)
    await audit(
        db, conn, "delegation.use", "ok", subject=f"person:{person_id}", delegation=row["id"], life_event=life_event
    )
    return Subject(
        person_id=person_id,
        on_behalf_of=on_behalf_of,
        name=client.name,
        key=str(client.delegation_id),
        channel="helper",
    )
