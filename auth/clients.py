"""The data-exchange API's callers (共享交换平台): a department's or a hospital's system, registered by an admin as an
API client, is a caller of its own kind — never a signed-in account, and never reaching an account's routes.

- Credentials: a client id and a secret shown once (`python -m app client-add`), kept as SHA-256 only. A rotation
  gives the old secret an end instead of ending it at once, so the system switches over without an outage.
- Tokens: OAuth 2.0 client credentials (RFC 6749 §4.4). `POST /oauth/token` answers a bearer token for 10 minutes:
  a JWT signed with HS256 by PyJWT under a key derived from SECRET_KEY, naming the client and the scopes granted.
  Every call loads the client again, so a revoked client's tokens stop working at once, not at their expiry.
- Each call: the token is read by `api_client_middleware` on the routes declared `clients(...)` (auth.access), counted
  against the client's per-minute limit in PostgreSQL (auth.ratelimit: every host shares it) and audited with the
  client's id and the answer's status (`audit_api_calls`).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, Final, cast

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, HTTPResponseStartEvent, HTTPScope, Receive, Scope, Send

from auth import api_clients_store, ratelimit
from auth.access import ClientScopes, client_of, declared_access
from auth.audit import audit, client_ip
from auth.models import ApiClient, CurrentClient
from auth.pii import derive_key
from db.pool import DB
from i18n import N_, gettext

# What a client may be granted. A department's system reads and moves its tasks, reads their materials and issues
# their results; a hospital's files birth and death records.
DEPARTMENT_SCOPES: Final = ("tasks:read", "tasks:write", "materials:read", "certificates:write")
HOSPITAL_SCOPES: Final = ("records:write",)
SCOPES: Final = (*DEPARTMENT_SCOPES, *HOSPITAL_SCOPES)
TOKEN_SECONDS: Final = 600
TOKEN_AUDIENCE: Final = "ywtb-exchange"  # noqa: S105 -- a name, not a secret
# Not "client": ASGI keeps the caller's address there.
CLIENT_SCOPE_KEY: Final = "ywtb.api_client"
# Wrong client secrets from one address within auth.ratelimit.WINDOW before /oauth/token answers 429.
SECRET_FAILURES: Final = "client-secret"  # noqa: S105 -- a rate-limit subject prefix
_ALGORITHM: Final = "HS256"
_CLIENT_ID_PREFIX: Final = "czc_"
_SECRET_PREFIX: Final = "czs_"  # noqa: S105 -- what a secret starts with, to spot one in a leak


class ClientProblem(ValueError):
    """What the command line refuses (an unknown scope, a department and a hospital at once …), in Chinese."""


class IssuedSecret(msgspec.Struct, frozen=True, kw_only=True):
    """A client's id and a new secret: shown once, never stored in clear."""

    client_id: str
    secret: str


class OAuthError(Exception):
    """A refusal at the token endpoint, in RFC 6749 §5.2's words (`error`) with a Chinese description."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class TokenGrant(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 6749 §5.1's answer."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _new_secret() -> str:
    return _SECRET_PREFIX + secrets.token_urlsafe(32)


# --- registering, rotating, revoking (the command line) -------------------------------------------------------------


def _checked_scopes(raw: list[str], *, hospital: bool) -> list[str]:
    scopes = sorted({s.strip() for s in raw if s.strip()})
    allowed = HOSPITAL_SCOPES if hospital else DEPARTMENT_SCOPES
    wrong = [s for s in scopes if s not in allowed]
    if not scopes or wrong:
        kind = N_("医院") if hospital else N_("部门")
        refused = ", ".join(wrong) or N_("（未指定）")
        raise ClientProblem(
            gettext("%(kind)s系统可授予的范围为 %(join)s；不能授予：%(refused)s")
            % {"kind": kind, "join": ", ".join(allowed), "refused": refused}
        )
    return scopes


async def register(
    db: DB,
    *,
    name: str,
    department_code: str | None,
    hospital: str | None,
    region_code: str,
    scopes: list[str],
) -> IssuedSecret:
    """A new client with its first secret. Exactly one of a department (whose tasks it works on) and a hospital (whose
    records it files); the department is known to exist (the caller checked the catalogue)."""
    if (department_code is None) == (hospital is None) or not name.strip():
        raise ClientProblem(N_("请指定名称，以及部门（--department）或医院（--hospital）之一"))
    checked = _checked_scopes(scopes, hospital=hospital is not None)
    issued = IssuedSecret(client_id=_CLIENT_ID_PREFIX + secrets.token_hex(10), secret=_new_secret())
    await api_clients_store.insert_client(
        db,
        client_id=issued.client_id,
        name=name.strip(),
        department_code=department_code,
        hospital=hospital.strip() if hospital else None,
        region_code=region_code,
        scopes=checked,
        secret_hash=_hash(issued.secret),
    )
    return issued


async def rotate(db: DB, client_id: str, overlap: timedelta) -> IssuedSecret:
    """A new secret; the ones valid now stay valid for `overlap` (0: end now). Run inside a transaction."""
    client = await api_clients_store.get_client(db, client_id)
    if client is None or client.revoked_at is not None:
        raise ClientProblem(gettext("没有有效的客户端 %(client_id)s") % {"client_id": client_id})
    await api_clients_store.end_live_secrets(db, client_id, overlap)
    issued = IssuedSecret(client_id=client_id, secret=_new_secret())
    await api_clients_store.insert_secret(db, client_id, _hash(issued.secret))
    return issued


async def revoke(db: DB, client_id: str) -> None:
    """No new token, and every token it holds refused from the next call on."""
    if await api_clients_store.revoke(db, client_id) is None:
        raise ClientProblem(gettext("没有客户端 %(client_id)s") % {"client_id": client_id})


async def all_clients(db: DB) -> list[ApiClient]:
    return await api_clients_store.all_clients(db)


async def live_secret_count(db: DB, client_id: str) -> int:
    return len(await api_clients_store.live_secret_ends(db, client_id))


# --- tokens ---------------------------------------------------------------------------------------------------------


class TokenIssuer:
    """Signs and reads the bearer tokens; one per process, in the app's state as `api_tokens`."""

    def __init__(self, secret_key: str, issuer: str, requests_per_minute: int) -> None:
        self._key = derive_key(secret_key, b"ywtb/exchange/token/v1")
        self.issuer = issuer
        self.requests_per_minute = requests_per_minute

    def issue(self, client: ApiClient, scopes: frozenset[str], now: float | None = None) -> TokenGrant:
        issued_at = int(time.time() if now is None else now)
        granted = " ".join(sorted(scopes))
        claims = {
            "iss": self.issuer,
            "aud": TOKEN_AUDIENCE,
            "sub": client.client_id,
            "scope": granted,
            "iat": issued_at,
            "exp": issued_at + TOKEN_SECONDS,
            "jti": secrets.token_urlsafe(12),
        }
        import jwt  # on first use: see `read`

        token = jwt.encode(claims, self._key, algorithm=_ALGORITHM)
        return TokenGrant(
            access_token=token,
            token_type="Bearer",  # noqa: S106 -- RFC 6750's token type
            expires_in=TOKEN_SECONDS,
            scope=granted,
        )

    def read(self, token: str) -> tuple[str, frozenset[str]] | None:
        """(client id, scopes) of a token this server signed and that has not expired; None for anything else."""
        # PyJWT (with the parts of cryptography it loads, about 0.4 MB of each web worker) is imported by the first
        # call of an API client, not by every worker that never sees one (tests/test_web_worker_imports.py).
        import jwt

        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=TOKEN_AUDIENCE,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError:
            return None
        subject, scope = claims.get("sub"), claims.get("scope")
        if not isinstance(subject, str) or not isinstance(scope, str):
            return None
        return subject, frozenset(scope.split())


async def grant(
    db: DB,
    issuer: TokenIssuer,
    connection: ASGIConnection[Any, Any, Any, Any],
    *,
    grant_type: str | None,
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
) -> TokenGrant:
    """The client credentials grant: a token for a live client whose secret is right, with the scopes asked for (all
    of its own when none are named). Wrong secrets count against the caller's address (429 after too many)."""
    subjects = [f"{SECRET_FAILURES}:{client_ip(connection) or 'unknown'}"]
    await ratelimit.refuse_if_limited(db, subjects)
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", N_("仅支持 grant_type=client_credentials"))
    if not client_id or not client_secret:
        raise OAuthError(
            "invalid_client", N_("请用 HTTP Basic 或表单字段 client_id、client_secret 提供客户端凭据"), 401
        )
    client = await api_clients_store.client_by_secret(db, client_id, _hash(client_secret))
    if client is None or client.revoked_at is not None:
        await ratelimit.record_failure(db, subjects)
        await audit(db, connection, "oauth.token", "refused", subject=f"client:{client_id[:40]}")
        raise OAuthError("invalid_client", N_("客户端凭据无效或已停用，请核对 client_id 与 client_secret"), 401)
    held = frozenset(client.scopes)
    asked = frozenset(scope.split()) if scope and scope.strip() else held
    if not asked <= held:
        raise OAuthError(
            "invalid_scope", gettext("该客户端可申请的范围为：%(join)s") % {"join": " ".join(sorted(held))}
        )
    await audit(db, connection, "oauth.token", "ok", subject=f"client:{client.client_id}")
    return issuer.issue(client, asked)


# --- the caller of a request ----------------------------------------------------------------------------------------


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _current_client(db: DB, issuer: TokenIssuer, token: str) -> CurrentClient | None:
    read = issuer.read(token)
    if read is None:
        return None
    client = await api_clients_store.get_client(db, read[0])
    if client is None or client.revoked_at is not None:
        return None
    return CurrentClient(
        client_id=client.client_id,
        name=client.name,
        department_code=client.department_code,
        hospital=client.hospital,
        region_code=client.region_code,
        # A scope taken from the client since the token was issued is not granted any more.
        scopes=read[1] & frozenset(client.scopes),
    )


def _for_clients(scope: Scope) -> bool:
    handler = cast("Mapping[str, object]", scope).get("route_handler")
    return handler is not None and isinstance(declared_access(handler), ClientScopes)  # pyright: ignore[reportArgumentType]


def api_client_middleware(app: ASGIApp) -> ASGIApp:
    """On the routes declared for clients: the client behind the bearer token in scope["ywtb.api_client"] (else None,
    and the guard answers 401), counted against its per-minute limit (429 with Retry-After past it)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _for_clients(scope):
            state = scope["app"].state
            issuer: TokenIssuer = state.api_tokens
            token = _bearer(MutableScopeHeaders(scope))
            client = await _current_client(state.pool, issuer, token) if token else None
            scope[CLIENT_SCOPE_KEY] = client  # type: ignore[literal-required]
            if client is not None:
                await ratelimit.count_attempt(
                    state.pool, {f"api-client:{client.client_id}": issuer.requests_per_minute}, timedelta(minutes=1)
                )
        await app(scope, receive, send)

    return middleware


def audit_api_calls() -> Callable[[HTTPResponseStartEvent, HTTPScope], Awaitable[None]]:
    """Done to every answer as it starts (app/ops/requests.py): every answer of a client route is audited once, with
    the client's id (or anonymous), the method and path, and the status — refusals (401, 403, 404, 409, 429)
    included."""

    async def hook(start: HTTPResponseStartEvent, scope: HTTPScope) -> None:
        if not _for_clients(scope):
            return
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
        client = client_of(connection)
        status = start["status"]
        await audit(
            scope["app"].state.pool,
            connection,
            "exchange.call",
            "ok" if status < 400 else "refused",
            subject=f"{scope['method']} {scope['path']}"[:300],
            actor=f"client:{client.client_id}" if client else "anonymous",
            status=status,
        )

    return hook
