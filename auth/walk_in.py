"""The check behind every request a window clerk makes for a walk-in resident (窗口收件).

A clerk files for someone only after checking their ID card in person. That check is recorded (audited) when the
clerk starts receiving the person (app.console.service.start_walk_in), and kept in the clerk's server session for
WALK_IN_MINUTES: the form, drafts, uploads and the submission for that person are allowed only while it is there,
names the same person, and the person is a resident of Changzhou (全城通办: any hall receives any resident; their
tasks go to the offices competent for them, app.cases.offices). Decided here from the session and the
database, never from what the page says.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException

from auth.audit import audit
from auth.models import CurrentUser
from auth.scope import in_city
from auth.sessions import WALK_IN, drop_from_session, keep_in_session, session_value
from db.pool import DB
from i18n import N_

# Long enough to fill a merged form at the window; short enough that a forgotten session does not serve the next
# person in the queue.
WALK_IN_MINUTES = 30


class WindowOrganisation(msgspec.Struct, frozen=True, kw_only=True):
    """The organisation the resident at the window came to file for (法人办事 at a window), as the clerk checked its
    authorisation when choosing it: by the legal-person register (legal representative, or an online 经办人
    authorisation), or a paper 授权委托书 the clerk checked (`paper`: for this visit only, audited). Every request
    for it is checked again (app.organisations.service.acting_at_window); it ends with the visit."""

    credit_code: str
    name: str
    role: str  # legal_rep | agent | paper, as found when chosen
    paper: bool = False


class WalkIn(msgspec.Struct, frozen=True, kw_only=True):
    """The resident at the window, as the clerk checked them."""

    visit: str  # random: names this visit in what the browser keeps (drafts, the banner)
    person_id: int
    name: str
    id_number_masked: str
    checked_at: float  # when the ID card was checked in person (Unix seconds)
    organisation: WindowOrganisation | None = None  # filing for an organisation, once the clerk checked its authority

    @property
    def expires_at(self) -> float:
        return self.checked_at + WALK_IN_MINUTES * 60

    def live(self) -> bool:
        return now() < self.expires_at


def now() -> float:
    """The clock walk-ins are timed by (Unix seconds); tests move it forward."""
    return time.time()


def in_region(clerk: CurrentUser, person_region: str | None) -> bool:
    """Any hall of Changzhou receives any resident of Changzhou (全城通办), as long as the clerk has a hall."""
    return bool(clerk.region_code) and in_city(person_region)


def peek(conn: ASGIConnection[Any, Any, Any, Any]) -> WalkIn | None:
    """The session's walk-in while it is live; an expired (or unreadable) one is dropped."""
    walk_in = session_value(conn, WALK_IN, WalkIn)
    if walk_in is None or not walk_in.live():
        forget(conn)
        return None
    return walk_in


def remember(conn: ASGIConnection[Any, Any, Any, Any], walk_in: WalkIn) -> None:
    """Receive this person from now on, replacing whoever was at the window before."""
    keep_in_session(conn, WALK_IN, walk_in)


def forget(conn: ASGIConnection[Any, Any, Any, Any]) -> None:
    drop_from_session(conn, WALK_IN)


async def require_walk_in(
    db: DB,
    conn: ASGIConnection[Any, Any, Any, Any] | None,
    clerk: CurrentUser,
    person_id: int | None,
    person_region: str | None,
) -> WalkIn:
    """The live walk-in for this person (None: a number not in the register), or 403 (audited)."""
    walk_in = peek(conn) if conn is not None else None
    if "clerk" not in clerk.roles:
        reason = "not a clerk"
    elif person_id is None:
        reason = "not in the population register"
    elif not in_region(clerk, person_region):
        reason = "resident outside Changzhou"
    elif walk_in is None:
        reason = "no live in-person ID check"
    elif walk_in.person_id != person_id:
        reason = "in-person ID check was for someone else"
    else:
        return walk_in
    await audit(
        db,
        conn,
        "walk_in.check",
        "forbidden",
        subject=f"person:{person_id or '-'}",
        reason=reason,
        hall=clerk.region_code,
    )
    raise PermissionDeniedException(N_("请先在“窗口收件”中当面核验来办人的居民身份证，再为其办理"))
