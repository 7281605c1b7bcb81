"""The data-exchange API over HTTP (docs/exchange.md): the OAuth 2.0 token endpoint, and /api/exchange/v1 for the
departments' and hospitals' systems. Each route declares the scopes it accepts (auth.access.clients): no session
reaches these routes, and no client token reaches any other."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

from litestar import Controller, Response, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import OAuthFlow, OAuthFlows, SecurityRequirement, SecurityScheme
from litestar.params import Body, FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from app.exchange import service
from app.exchange.models import (
    CertificateRequest,
    DeliveryPage,
    ExchangeTask,
    RecordFiled,
    RecordRequest,
    RecoverAnswer,
    RecoverRequest,
    TaskPage,
    TransitionRequest,
    WebhookCreated,
    WebhookList,
    WebhookRequest,
)
from app.web.params import AppSettings, Cipher, Db
from app.web.types import AnyRequest
from auth import clients
from auth.access import calling_client, public
from auth.access import clients as client_scopes

IdempotencyKey = Annotated[str | None, HeaderParameter(name="idempotency-key", max_length=100)]
Cursor = Annotated[str | None, QueryParameter(max_length=200)]
Limit = Annotated[int | None, QueryParameter(ge=1, le=service.PAGE_MAX)]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# How the OpenAPI document (/schema) describes the API's authentication, for the departments' developers.
_TOKEN_SCHEME = "exchangeToken"  # noqa: S105 -- the scheme's name in the document
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    _TOKEN_SCHEME: SecurityScheme(
        type="oauth2",
        description="OAuth 2.0 client credentials: POST /oauth/token, then Authorization: Bearer (docs/exchange.md)",
        flows=OAuthFlows(
            client_credentials=OAuthFlow(
                token_url="/oauth/token",  # noqa: S106 -- a path, not a secret
                scopes={
                    "tasks:read": "read the department's tasks; webhooks",
                    "tasks:write": "move tasks through the state machine",
                    "materials:read": "download a task's own materials",
                    "certificates:write": "办结 with the department's certificate",  # i18n: data (developers')
                    "records:write": "hospitals: file birth and death records",
                },
            )
        ),
    ),
    "clientCredentials": SecurityScheme(type="http", scheme="basic", description="client_id:client_secret"),
}


def _token(*scopes: str) -> list[SecurityRequirement]:
    return [{_TOKEN_SCHEME: list(scopes)}]


REPLAYED = "Idempotent-Replayed"


def _answer(body: Any, replayed: bool, status: int) -> Response[Any]:
    return Response(body, status_code=status, headers={REPLAYED: "true"} if replayed else None)


def _basic_credentials(header: str | None) -> tuple[str | None, str | None]:
    """client_id and client_secret from HTTP Basic (RFC 6749 §2.3.1: each form-urlencoded first)."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, separator, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if separator else (None, None)


class TokenApi(Controller):
    path = "/oauth"
    tags = ["exchange"]

    @post(
        "/token",
        opt=public(personal=True),
        security=[{"clientCredentials": []}],
        status_code=HTTP_200_OK,
        summary="OAuth 2.0 client credentials (RFC 6749 §4.4): a bearer token for 10 minutes",
    )
    async def token(
        self,
        request: AnyRequest,
        db: Db,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        client_id, secret = _basic_credentials(request.headers.get("authorization"))
        try:
            grant = await clients.grant(
                db,
                request.app.state.api_tokens,
                request,
                grant_type=data.get("grant_type"),
                client_id=client_id or data.get("client_id"),
                client_secret=secret or data.get("client_secret"),
                scope=data.get("scope"),
            )
        except clients.OAuthError as refused:
            headers = dict(_NO_STORE)
            if refused.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="ywtb-exchange"'
            return Response(
                {"error": refused.error, "error_description": refused.description},
                status_code=refused.status,
                headers=headers,
            )
        return Response(grant, headers=_NO_STORE)


class ExchangeApi(Controller):
    path = "/api/exchange/v1"
    tags = ["exchange"]

    @get(
        "/tasks",
        opt=client_scopes("tasks:read"),
        security=_token("tasks:read"),
        summary="The department's tasks within the client's region",
    )
    async def tasks(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        status: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> TaskPage:
        return await service.task_page(
            db, cipher, calling_client(request), status=status, since=since, cursor=cursor, limit=limit
        )

    @get(
        "/tasks/{task_id:int}",
        opt=client_scopes("tasks:read"),
        security=_token("tasks:read"),
        summary="One task: its own item's data only",
    )
    async def task(self, request: AnyRequest, db: Db, cipher: Cipher, task_id: FromPath[int]) -> ExchangeTask:
        return await service.task_for_client(db, cipher, calling_client(request), task_id)

    @get(
        "/tasks/{task_id:int}/materials/{code:str}",
        opt=client_scopes("materials:read"),
        security=_token("materials:read"),
        summary="A file of the task's own item, streamed (PDF, JPEG or PNG)",
    )
    async def material(self, request: AnyRequest, db: Db, task_id: FromPath[int], code: FromPath[str]) -> Stream:
        found = await service.material_file(db, calling_client(request), task_id, code)
        return Stream(
            found.chunks,
            media_type=found.content_type,
            headers={
                "Content-Length": str(found.size),
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename, safe='')}",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @post(
        "/tasks/{task_id:int}/transition",
        opt=client_scopes("tasks:write"),
        security=_token("tasks:write"),
        status_code=HTTP_200_OK,
        summary="Move a task through the console's state machine; 409 names the allowed actions",
    )
    async def transition(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        task_id: FromPath[int],
        data: JSONBody[TransitionRequest],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ExchangeTask]:
        fingerprint = service.request_hash("POST", request.url.path, data)
        moved, replayed = await service.transition(
            db, cipher, calling_client(request), task_id, data, idempotency_key, fingerprint
        )
        return _answer(moved, replayed, HTTP_200_OK)

    @post(
        "/tasks/{task_id:int}/certificates",
        opt=client_scopes("certificates:write"),
        security=_token("certificates:write"),
        status_code=HTTP_201_CREATED,
        summary="办结 with the result certificate as issued: into the applicant's e-certificate library",
    )
    async def certificate(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        task_id: FromPath[int],
        data: JSONBody[CertificateRequest],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ExchangeTask]:
        fingerprint = service.request_hash("POST", request.url.path, data)
        done, replayed = await service.complete_with_certificate(
            db, cipher, calling_client(request), task_id, data, idempotency_key, fingerprint
        )
        return _answer(done, replayed, HTTP_201_CREATED)

    @post(
        "/records",
        opt=client_scopes("records:write"),
        security=_token("records:write"),
        status_code=HTTP_201_CREATED,
        summary="A hospital's 分娩记录, 出生医学证明 or 死亡医学证明 into the person's e-certificate library",
    )
    async def record(
        self,
        request: AnyRequest,
        db: Db,
        cipher: Cipher,
        data: JSONBody[RecordRequest],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RecordFiled]:
        fingerprint = service.request_hash("POST", request.url.path, data)
        filed, replayed = await service.file_record(
            db, cipher, request, calling_client(request), data, idempotency_key, fingerprint
        )
        return _answer(filed, replayed, HTTP_201_CREATED)

    @post(
        "/webhooks",
        opt=client_scopes("tasks:read"),
        security=_token("tasks:read"),
        status_code=HTTP_201_CREATED,
        summary="Subscribe a URL to task events; the answer holds the signing secret, shown once",
    )
    async def subscribe(
        self,
        request: AnyRequest,
        db: Db,
        settings: AppSettings,
        data: JSONBody[WebhookRequest],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[WebhookCreated]:
        fingerprint = service.request_hash("POST", request.url.path, data)
        made, replayed = await service.subscribe(
            db, calling_client(request), settings.webhook_allowed_hosts, data, idempotency_key, fingerprint
        )
        return _answer(made, replayed, HTTP_201_CREATED)

    @get(
        "/webhooks",
        opt=client_scopes("tasks:read"),
        security=_token("tasks:read"),
        summary="The client's webhook subscriptions",
    )
    async def webhooks(self, request: AnyRequest, db: Db) -> WebhookList:
        return await service.webhook_list(db, calling_client(request))

    @delete(
        "/webhooks/{subscription_id:int}",
        opt=client_scopes("tasks:read"),
        security=_token("tasks:read"),
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a subscription (its delivery log stays readable)",
    )
    async def unsubscribe(self, request: AnyRequest, db: Db, subscription_id: FromPath[int]) -> None:
        await service.unsubscribe(db, calling_client(request), subscription_id)

    @post(
        "/webhooks/{subscription_id:int}/recover",
        opt=client_scopes("tasks:read"),
        security=_token("tasks:read"),
        status_code=HTTP_202_ACCEPTED,
        summary="Send the subscription's failed deliveries again (since a time), each from its first try",
    )
    async def recover(
        self,
        request: AnyRequest,
        db: Db,
        subscription_id: FromPath[int],
        data: JSONBody[RecoverRequest],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[RecoverAnswer]:
        fingerprint = service.request_hash("POST", request.url.path, data)
        recovered, replayed = await service.recover_deliveries(
            db, request, calling_client(request), subscription_id, data, idempotency_key, fingerprint
        )
        return _answer(recovered, replayed, HTTP_202_ACCEPTED)

    @get(
        "/webhooks/{subscription_id:int}/deliveries",
        opt=client_scopes("tasks:read"),
        security=_token("tasks:read"),
        summary="The subscription's delivery log, oldest first",
    )
    async def deliveries(
        self,
        request: AnyRequest,
        db: Db,
        subscription_id: FromPath[int],
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> DeliveryPage:
        return await service.delivery_page(db, calling_client(request), subscription_id, cursor, limit)
