"""The client a helper is working for on a shared tablet, kept in the server session.

Choosing a client (为TA办事) puts the delegation's id, the client's name and masked number in the session: the
banner on every page reads them from there, and the apply page takes the client from there rather than from
the URL. It is a convenience only: every request for the client is still checked against a live delegation
(app.filing.service.for_client, then resolve_filing). Signing out, the idle time-out and ending or switching the
client all drop it with the rest of the session value.
"""

from __future__ import annotations

import asyncpg
import msgspec

from app.delegations import service
from app.delegations.models import DelegationView
from app.delegations.service import OpenCases
from app.errors import Forbidden, NotFound
from app.web.types import Connection
from auth.models import CurrentUser
from auth.sessions import HELPER_CLIENT, drop_from_session, keep_in_session, session_value
from i18n import N_


class CurrentClient(msgspec.Struct, frozen=True, kw_only=True):
    delegation_id: int
    name: str
    id_number_masked: str


def peek(conn: Connection) -> CurrentClient | None:
    """The client named in the session, unchecked: for display (the banner, the roster) only."""
    return session_value(conn, HELPER_CLIENT, CurrentClient)


def forget(conn: Connection) -> None:
    drop_from_session(conn, HELPER_CLIENT)


async def _own_delegation(
    db: asyncpg.Pool, helper: CurrentUser, delegation_id: int, open_cases: OpenCases
) -> DelegationView | None:
    return next((d for d in await service.listing(db, helper, open_cases) if d.id == delegation_id), None)


async def choose(
    db: asyncpg.Pool, conn: Connection, helper: CurrentUser, delegation_id: int, open_cases: OpenCases
) -> CurrentClient:
    """Work for the client of one of this helper's live delegations from now on (replacing any other)."""
    delegation = await _own_delegation(db, helper, delegation_id, open_cases)
    if delegation is None:
        raise NotFound(N_("没有找到该授权"))
    if delegation.status != "active":
        raise Forbidden(N_("该授权已过期或已撤销，不能再为其办事"))
    client = CurrentClient(
        delegation_id=delegation.id, name=delegation.client_name, id_number_masked=delegation.client_id_number_masked
    )
    keep_in_session(conn, HELPER_CLIENT, client)
    return client


async def live(
    db: asyncpg.Pool, conn: Connection, helper: CurrentUser, open_cases: OpenCases
) -> tuple[CurrentClient, DelegationView] | None:
    """The session's client and their delegation (with its open cases) while it is still live; otherwise the client
    is dropped."""
    client = peek(conn)
    if client is None:
        return None
    delegation = await _own_delegation(db, helper, client.delegation_id, open_cases)
    if delegation is None or delegation.status != "active":
        forget(conn)
        return None
    return client, delegation
