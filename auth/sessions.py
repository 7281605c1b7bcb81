"""Sessions: Litestar's server-side sessions in PostgreSQL, and the middleware that turns a session
into the current user, enforcing idle time-outs (per role) and the absolute lifetime.

Signing in moves the session to a new id (against session fixation): an id handed out, planted or
seen before sign-in never carries the account. Litestar keeps an id for as long as the browser sends
it back and has no call to change it, hence the backend below."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from typing import Any, TypeVar, cast

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from litestar.utils.dataclass import extract_dataclass_items

from auth.models import CurrentUser

# The sessions' Litestar store, which the composition root registers as "sessions" (session_config's `store`).
from auth.session_store import PostgresSessionStore
from db.pool import DB
from db.request_pool import pool_of_request

SESSION_COOKIE = "ywtb_session"
# Keys in the session dict.
OWNER = "owner"  # random id that WebAuthn challenges are bound to, before and after sign-in
ACCOUNT = "account_id"
SIGNED_IN_AT = "signed_in_at"  # epoch seconds
SEEN_AT = "seen_at"  # epoch seconds
SEEN_AT_GRANULARITY = 60  # idle time-outs are minutes long: a minute's precision is plenty
# Whom a shared device serves now: the resident at a clerk's window (auth.walk_in) and a village helper's current
# client (app.delegations.current). While either is in the session, every answer may name that person.
WALK_IN = "walk_in"
HELPER_CLIENT = "helper_client"
_SERVING_SOMEONE = (WALK_IN, HELPER_CLIENT)
# The organisation a resident acts for now (企业办事, app.organisations.current): every request is still checked.
ACTING_ORG = "acting_org"
# Scope keys for moving the session to a new id within one request, and for what the request read (SessionBackend).
_ROTATE = "ywtb.session.rotate"
_FRESH_ID = "ywtb.session.fresh_id"
_LOADED = "ywtb.session.loaded"
_ACCOUNT_READ = "ywtb.session.account"  # the account the loaded session names, read with it (SessionBackend)
_WRITE_ATTEMPTS = 5
EMPTY_SESSION = b"{}"
_HEX = re.compile(r"[0-9a-f]+")  # one match, not a Python test per character (a page's every request)
T = TypeVar("T", bound=msgspec.Struct)


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


# No session (nor CSRF) for these: static files, health probes and metrics, the public tracking JSON, the public
# statistics' JSON and CSV (the same for everyone, cached by anyone), and the service worker's report of a replaced
# push subscription (it proves itself with the old subscription's secret, not a session), and the data-exchange API with
# its token endpoint: other systems, each call carrying its own bearer token (auth.clients), so no cookie of a person's
# session is ever read there.
SESSIONLESS_PATHS = [
    "^/static/",
    "^/i18n/",  # our scripts' texts: kept by any cache (public, immutable), so never with a cookie
    "^/healthz(/live|/ready)?$",
    "^/metrics$",
    "^/api/v1/track/",
    "^/api/v1/stats$",
    "^/stats\\.csv$",
    "^/api/v1/push/subscriptions/replace$",
    "^/api/exchange/",
    "^/oauth/token$",
]


class SessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend with two changes.

    Rotation: a session marked by `sign_in` is saved under a new id; the row under the id the browser came with
    is deleted and the browser is sent the new id.

    Concurrency: Litestar writes every request's session back when its response starts, so a slow request (a
    draft autosave) that read the session before a faster one changed it (结束接待, switching client, sign-out)
    would put the old value back. Here a request writes only what it changed itself, key by key, onto the row
    as it is now; a session deleted meanwhile (signed out) is not brought back, and nothing is written when
    the request changed nothing (most page views)."""

    def offered_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        """The session id the browser sent, if it is shaped like the ids we make (generate_session_id: hex).
        Anything else (a NUL, which PostgreSQL refuses; a megabyte of junk) was never ours: no session."""
        offered = connection.cookies.get(self.config.key)
        length = 2 * self.config.session_id_bytes
        if offered and len(offered) == length and _HEX.fullmatch(offered):
            return offered
        return None

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        """The session, read with the account it names in one round trip: current_user_middleware takes the account
        from the scope instead of asking the database a second time."""
        session_id = self.offered_id(connection)
        sessions = self._store(connection)
        # On a page view's own connection, which the route's statements then share.
        read = await sessions.get_with_user(session_id, self._db(connection, sessions)) if session_id else None
        data = read.value if read is not None else None
        connection.scope[_LOADED] = data  # type: ignore[literal-required]
        connection.scope[_ACCOUNT_READ] = read.user if read is not None else None  # type: ignore[literal-required]
        return self.deserialize_data(data) if data is not None else {}

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The id made for the session this request stores (store_in_message), else the one the browser offered.
        Litestar asks on every request and makes up a random id for a browser that offered none: an id is made here
        only for a session about to be stored, not for every anonymous page view (two random ids a view)."""
        fresh = _scope_values(connection.scope).get(_FRESH_ID)
        return fresh if isinstance(fresh, str) else self.offered_id(connection) or ""

    def _store(self, connection: ASGIConnection[Any, Any, Any, Any]) -> PostgresSessionStore:
        found = self.config.get_store_from_app(connection.scope["app"])
        assert isinstance(found, PostgresSessionStore)
        return found

    @staticmethod
    def _db(connection: ASGIConnection[Any, Any, Any, Any], sessions: PostgresSessionStore) -> DB:
        """The request's own view of the pool when it has one (db/request_pool.py: a page view's one connection),
        else the pool. The session is read on it and written on it too: a page view holds that connection until its
        answer starts, when the session is written, and a write waiting for a second connection meanwhile could wait
        for ever once every connection is held by such a view (tests/test_one_connection_http.py)."""
        return pool_of_request(connection.scope, sessions.pool)

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        # scope_session: Litestar's ScopeSession, a union with a partially unknown member to pyright.
        scope: dict[str, Any] = connection.scope  # type: ignore[assignment]
        sessions = self._store(connection)
        db = self._db(connection, sessions)
        loaded: bytes | None = scope.get(_LOADED)
        rotated = scope.pop(_ROTATE, False)
        if rotated:
            old_id = self.offered_id(connection)  # never Litestar's "null" of a cleared session
            if old_id:
                await sessions.delete(old_id, db)
            scope[_FRESH_ID] = self.generate_session_id()
            loaded = None
        data = None if scope_session is Empty else self._serialize(scope_session)
        if data is None or data == EMPTY_SESSION:
            # Signed out, or a visitor with nothing to keep: no row (and no write per anonymous page view).
            if loaded is not None:
                await sessions.delete(self.get_session_id(connection), db)
                cookie = self._cookie_attributes()
                MutableScopeHeaders.from_message(message).add(
                    "Set-Cookie", Cookie(value="null", key=self.config.key, expires=0, **cookie).to_header(header="")
                )
            return
        if loaded is None and not rotated:
            # A new session never takes the id the browser offered (planted, or of an expired row): ours only.
            scope[_FRESH_ID] = self.generate_session_id()
        session_id = self.get_session_id(connection)
        if data != loaded and not await self._write(sessions, db, session_id, loaded, data):
            return  # the session was deleted meanwhile (signed out elsewhere): keep it that way
        if loaded is None:
            # Only a new id is sent: a slow request answering after a sign-in must not set the browser back to
            # the id it came with (its row is gone). The cookie's max-age is the session's whole lifetime.
            cookie = self._cookie_attributes()
            MutableScopeHeaders.from_message(message).add(
                "Set-Cookie", Cookie(value=session_id, key=self.config.key, **cookie).to_header(header="")
            )

    def _cookie_attributes(self) -> dict[str, Any]:
        """The session cookie's attributes from the config (read only when a cookie is sent: most answers send none)."""
        return dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))

    async def _write(
        self, sessions: PostgresSessionStore, db: DB, session_id: str, loaded: bytes | None, data: bytes
    ) -> bool:
        """Store this request's changes; False when there is no session to store them in any more."""
        max_age = int(self.config.max_age)
        if loaded is None:
            return await sessions.create(session_id, data, max_age, db)  # under an id we just generated
        if await sessions.replace(session_id, loaded, data, max_age, db):
            return True
        # The row changed since this request read it: apply this request's own changes to it as it is now.
        mine = self.deserialize_data(data)
        before = self.deserialize_data(loaded)
        for _attempt in range(_WRITE_ATTEMPTS):
            current = await sessions.get(session_id, db=db)
            if current is None:
                return False
            merged = _merge(before, mine, self.deserialize_data(current))
            if await sessions.replace(session_id, current, self._serialize(merged), max_age, db):
                return True
        return False  # kept changing under us: the other writers' version stands

    def _serialize(self, data: Any) -> bytes:
        # Litestar's ScopeSession, which this takes, is a union with a partially unknown member to pyright.
        return self.serialize_data(data)  # pyright: ignore[reportUnknownMemberType]


def _merge(before: dict[str, Any], mine: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """`current` with the keys this request changed (from `before` to `mine`) applied. A key it removed stays
    if another request has set it anew meanwhile (a walk-in started while a slow request saw the old one end)."""
    merged = dict(current)
    for key in before.keys() | mine.keys():
        if key not in mine:
            if current.get(key) == before.get(key):
                merged.pop(key, None)
        elif key not in before or before[key] != mine[key]:
            merged[key] = mine[key]
    return merged


class SessionConfig(ServerSideSessionConfig):
    _backend_class = SessionBackend


def session_config(*, secure: bool, max_hours: int) -> ServerSideSessionConfig:
    return SessionConfig(
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


def _scope_values(scope: Scope) -> Mapping[str, object]:
    """The scope as a mapping: Litestar types it with its own keys only, and sessions keep theirs there too."""
    return cast("Mapping[str, object]", scope)


def _session_of(scope: Scope) -> dict[str, Any] | None:
    """The session dict Litestar's middleware put in the scope; None without one (a sessionless path)."""
    session = _scope_values(scope).get("session")
    return cast("dict[str, Any]", session) if isinstance(session, dict) else None


def _set_session(connection: ASGIConnection[Any, Any, Any, Any], value: dict[str, Any]) -> None:
    # Litestar's ScopeSession, which set_session takes, is a union with a partially unknown member to pyright.
    connection.set_session(value)  # pyright: ignore[reportUnknownMemberType]


def ceremony_owner(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The session's ceremony owner id, created on first use (this also makes the session exist)."""
    session = _session_of(connection.scope)
    if session is None:
        raise RuntimeError("session middleware missing")
    owner = session.get(OWNER)
    if not owner:
        owner = secrets.token_urlsafe(24)
        _set_session(connection, {**session, OWNER: owner})
    return owner


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], account_id: int) -> None:
    """Start a signed-in session under a new id. Nothing of the session before is kept: ceremony state
    and whatever an earlier sign-in was working on. Display preferences are cookies of their own."""
    now = time.time()
    # A fresh owner too: challenges issued before sign-in cannot be used after it.
    _set_session(connection, {OWNER: secrets.token_urlsafe(24), ACCOUNT: account_id, SIGNED_IN_AT: now, SEEN_AT: now})
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]
    connection.scope["user"] = None


def sign_out(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.clear_session()
    connection.scope["user"] = None


def serving_someone(scope: Scope) -> bool:
    """Whether the session of this request names a person a shared device is serving (app/web/security.py keeps
    every such answer out of caches)."""
    session = _session_of(scope)
    return session is not None and any(key in session for key in _SERVING_SOMEONE)


# What a signed-in session holds before any feature adds to it (sign_in): whose it is and when.
_SIGN_IN_ONLY = frozenset({OWNER, ACCOUNT, SIGNED_IN_AT, SEEN_AT})


def holds_sign_in_only(scope: Scope) -> bool:
    """Whether this request's session holds nothing but its sign-in (no one a shared device serves, no organisation
    acted for, nor anything a feature adds later): what a page's layout kept for every reader of a kind may be sent
    to (app/web/shared_pages.py), a session holding more having it drawn for itself."""
    session = _session_of(scope)
    return session is not None and session.keys() <= _SIGN_IN_ONLY


def session_value(connection: ASGIConnection[Any, Any, Any, Any], key: str, kind: type[T]) -> T | None:
    """What a feature keeps in the session under `key` (whom a shared device serves now), or None when there is
    nothing there or it no longer reads as `kind`."""
    session = _session_of(connection.scope)
    raw = session.get(key) if session is not None else None
    if not isinstance(raw, dict):
        return None
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError:
        return None


def keep_in_session(connection: ASGIConnection[Any, Any, Any, Any], key: str, value: msgspec.Struct) -> None:
    """Keep `value` under `key`, replacing what was there; the rest of the session stays as it is."""
    session = _session_of(connection.scope)
    kept = {k: v for k, v in session.items() if k != key} if session is not None else {}
    _set_session(connection, {**kept, key: msgspec.to_builtins(value)})


def drop_from_session(connection: ASGIConnection[Any, Any, Any, Any], key: str) -> None:
    session = _session_of(connection.scope)
    if session is not None and key in session:
        _set_session(connection, {k: v for k, v in session.items() if k != key})


def current_user_middleware(app: ASGIApp) -> ASGIApp:
    """The middleware that puts the signed-in account in scope["user"]: the account the session backend read with the
    session (SessionBackend.load_from_connection), unless the sign-in has lapsed."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        scope["user"] = None  # type: ignore[typeddict-unknown-key]
        session = _session_of(scope)
        if scope["type"] == "http" and session is not None and session.get(ACCOUNT):
            _sign_in_lasting(scope, session)
        await app(scope, receive, send)

    return middleware


def _sign_in_lasting(scope: Scope, session: dict[str, Any]) -> None:
    """The session's account in scope["user"] unless it is gone, signed out everywhere, or past its time-outs."""
    policy: SessionPolicy = scope["app"].state.session_policy
    now = time.time()
    signed_in_at = float(session.get(SIGNED_IN_AT, 0))
    user = _scope_values(scope).get(_ACCOUNT_READ)
    expired = (
        not isinstance(user, CurrentUser)
        or user.account_id != int(session[ACCOUNT])
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
