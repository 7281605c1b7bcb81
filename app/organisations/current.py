"""The organisation a resident acts for now (企业办事), kept in the server session.

Switching to it (on /me, or the header's banner) puts its code and name in the session after the server's check
(app.organisations.service.acting_for): the banner on every page reads them from there, and the apply page files
for it. It is a convenience only: every request for the organisation is checked again, and a switch that no longer
holds (an agent revoked or expired, the organisation deregistered) drops it. Signing out drops it with the session.
"""

from __future__ import annotations

import msgspec

from app.organisations import service
from app.organisations.models import Acting
from app.web.types import Connection
from auth.models import CurrentUser
from auth.sessions import ACTING_ORG, drop_from_session, keep_in_session, session_value
from db.pool import DB


class CurrentOrg(msgspec.Struct, frozen=True, kw_only=True):
    uscc: str
    name: str


def peek(conn: Connection) -> CurrentOrg | None:
    """The organisation named in the session, unchecked: for display (the banner) only."""
    return session_value(conn, ACTING_ORG, CurrentOrg)


def forget(conn: Connection) -> None:
    drop_from_session(conn, ACTING_ORG)


async def choose(db: DB, conn: Connection, user: CurrentUser, credit_code: str) -> Acting:
    """Act for the organisation from now on (Forbidden, audited, when the person may not)."""
    acting = await service.acting_for(db, conn, user, credit_code, None)
    keep_in_session(conn, ACTING_ORG, CurrentOrg(uscc=acting.organisation.credit_code, name=acting.organisation.name))
    return acting
