"""Sessions: Litestar's server-side sessions in PostgreSQL, and the middleware that turns a session
into the current user, enforcing idle time-outs (per role) and the absolute lifetime.

Signing in moves the session to a new id (against session fixation): an id handed out, planted or
seen before sign-in never carries the account. Litestar keeps an id for as long as the browser sends
it back and has no call to change it, hence the backend below."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Message, Receive, Scope, ScopeSession, Send

from auth import store
from auth.models import CurrentUser

SESSION_COOKIE = "ywtb_session"
# Keys in the session dict.
OWNER = "owner"  # random id that WebAuthn challenges are bound to, before and after sign-in
ACCOUNT = "account_id"
SIGNED_IN_AT = "signed_in_at"  # epoch seconds
SEEN_AT = "seen_at"  # epoch seconds
SEEN_AT_GRANULARITY = 60  # idle time-outs are minutes long: a minute's precision is plenty
# Scope keys for moving the session to a new id within one request (see RotatingSessionBackend).
_ROTATE = "ywtb.session.rotate"
_FRESH_ID = "ywtb.session.fresh_id"


class SessionPolicy:
    """Idle minutes per kind of account and the absolute lifetime, from settings."""

    def __init__(self, *, resident_idle: int, staff_idle: int, helper_idle: int, max_hours: int) -> None:
        self.resident_idle = resident_idle * 60
        self.staff_idle = staff_idle * 60
        self.helper_idle = helper_idle * 60
        self.max_age = max_hours * 3600

    def idle_limit(self, user: CurrentUser) -> int:
        if "helper" in user.roles:
            return self.helper_idle  # a shared tablet in a village office
        return self.staff_idle if user.is_staff else self.resident_idle


# No session (nor CSRF) for these: static files, health checks, the public tracking JSON, and the service worker's
# report of a replaced push subscription (it proves itself with the old subscription's secret, not a session).
SESSIONLESS_PATHS = ["^/static/", "^/healthz$", "^/api/v1/track/", "^/api/v1/push/subscriptions/replace$"]


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend, except that a session marked by `sign_in` is saved under a new id:
    the row under the id the browser came with is deleted and the browser is sent the new id."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        fresh = connection.scope.get(_FRESH_ID)
        return fresh if isinstance(fresh, str) else super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        scope: dict[str, Any] = connection.scope  # type: ignore[assignment]
        if scope.pop(_ROTATE, False):
            old_id = connection.cookies.get(self.config.key)
            if old_id and old_id != "null":  # Litestar's value for a cleared session
                await self.delete(old_id, store=self.config.get_store_from_app(scope["app"]))
            scope[_FRESH_ID] = self.generate_session_id()
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(*, secure: bool, max_hours: int) -> ServerSideSessionConfig:
    return RotatingSessionConfig(
        key=SESSION_COOKIE,
        max_age=max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        store="sessions",
        # No session for static files, health checks and the public status JSON (scanned by anyone,
        # read by other systems): nothing there depends on who asks.
        exclude=SESSIONLESS_PATHS,
    )


def ceremony_owner(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The session's ceremony owner id, created on first use (this also makes the session exist)."""
    session = connection.scope.get("session")
    if not isinstance(session, dict):
        raise RuntimeError("session middleware missing")
    owner = session.get(OWNER)
    if not owner:
        owner = secrets.token_urlsafe(24)
        connection.set_session({**session, OWNER: owner})
    return owner


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], account_id: int) -> None:
    """Start a signed-in session under a new id. Nothing of the session before is kept: ceremony state
    and whatever an earlier sign-in was working on. Display preferences are cookies of their own."""
    now = time.time()
    # A fresh owner too: challenges issued before sign-in cannot be used after it.
    connection.set_session({OWNER: secrets.token_urlsafe(24), ACCOUNT: account_id, SIGNED_IN_AT: now, SEEN_AT: now})
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]
    connection.scope["user"] = None


def sign_out(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.clear_session()
    connection.scope["user"] = None


def current_user_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        scope["user"] = None  # type: ignore[typeddict-unknown-key]
        session = scope.get("session")
        if scope["type"] == "http" and isinstance(session, dict) and session.get(ACCOUNT):
            await _load_user(scope, session)
        await app(scope, receive, send)

    return middleware


async def _load_user(scope: Scope, session: dict[str, Any]) -> None:
    state = scope["app"].state
    policy: SessionPolicy = state.session_policy
    now = time.time()
    signed_in_at = float(session.get(SIGNED_IN_AT, 0))
    user = await store.load_user(state.pool, int(session[ACCOUNT]), datetime.fromtimestamp(signed_in_at, UTC))
    expired = (
        user is None
        or now - signed_in_at > policy.max_age
        or now - float(session.get(SEEN_AT, 0)) > policy.idle_limit(user)
    )
    if expired:
        # Keep nothing of the old sign-in; the next page asks to sign in again.
        session.clear()
        return
    if now - float(session.get(SEEN_AT, 0)) > SEEN_AT_GRANULARITY:
        # Touched at most once a minute: an unchanged session is not written back (see the store).
        session[SEEN_AT] = now
    scope["user"] = user  # type: ignore[typeddict-unknown-key]
