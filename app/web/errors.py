"""Errors answer in Chinese: JSON for the API, a page for a person. Never a bare 500 page.

The one place where a refusal becomes an HTTP status: the domain errors services raise (app/errors.py), Litestar's
own HTTP errors (auth's 401/403/429, routing's 404/405), its decoding errors, and anything unexpected.
"""

from __future__ import annotations

import logging
from typing import Any, cast
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_500_INTERNAL_SERVER_ERROR

import i18n
from app.errors import Conflict, DomainError, FieldErrors, Forbidden, Invalid, NotFound
from i18n import N_

log = logging.getLogger("app.errors")

_DEFAULT_TEXT = {
    400: N_("请求有误，请检查后重试"),
    401: N_("请先登录"),
    403: N_("您没有权限执行此操作"),
    404: N_("页面不存在或已被删除"),
    405: N_("不支持该操作"),
    409: N_("状态已变化，请刷新后重试"),
    413: N_("提交的内容过大：每个文件不能超过10MB，请压缩文件或减少文件数量后重试"),
    429: N_("操作过于频繁，请稍后再试"),
    500: N_("系统繁忙，请稍后再试"),
}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    # /oauth/token answers other systems, as the API does (a 429 there is JSON too).
    path = request.url.path
    return path.startswith(("/api/", "/oauth/")) or "application/json" in request.headers.get("accept", "")


def _problem(
    request: Request[Any, Any, Any],
    status: int,
    message: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    # Texts are translated as the answer leaves (i18n: the Chinese is the key), so a service may raise a marked
    # text (N_) without knowing who reads it; one already translated, or never marked, stays as it is. A marked text
    # with %(name)s in it travels with its `params` (not part of the answer), filled in once translated.
    # A count's text (marked N_plural) names in `plural` the param that counts, so its noun agrees (1 minute).
    params = cast("dict[str, object] | None", (extra or {}).get("params"))
    plural = cast("str | None", (extra or {}).get("plural"))
    if params is not None or plural is not None:
        extra = {k: v for k, v in (extra or {}).items() if k not in ("params", "plural")}
    count = params.get(plural) if params and plural else None
    message, extra = _filled(message, params, count if isinstance(count, int) else None), _translated(extra)
    if _wants_json(request):
        body = {"status_code": status, "detail": message, **(extra or {})}
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)
    return Template("error.html", context={"status": status, "message": message}, status_code=status, headers=headers)


def _filled(message: str, params: dict[str, object] | None, count: int | None = None) -> str:
    translated = i18n.gettext(message) if count is None else i18n.ngettext(message, message, count)
    if not params:
        return translated
    try:
        return translated % params
    except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder: the Chinese, filled in
        log.warning("a translation does not fit its parameters: %r", message)
        return message % params


def _translated(extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """The per-field messages of a 400 (`errors`: field → text) in the reader's language."""
    if not extra or not isinstance(extra.get("errors"), dict):
        return extra
    errors = cast("dict[str, object]", extra["errors"])
    return {**extra, "errors": {k: i18n.gettext(v) if isinstance(v, str) else v for k, v in errors.items()}}


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == 401 and not _wants_json(request) and request.method == "GET":
        # A person opening a page that needs sign-in is taken to sign in, then brought back.
        return Redirect(f"/login?next={quote(request.url.path)}", status_code=303)
    message = exc.detail if exc.detail and not exc.detail.isascii() else _DEFAULT_TEXT.get(status, exc.detail)
    extra = exc.extra if isinstance(exc.extra, dict) else None
    return _problem(request, status, message, extra, exc.headers)


# Each domain error's status; a subclass answers as the first of its bases listed here.
_DOMAIN_STATUS: dict[type[DomainError], int] = {
    FieldErrors: 400,
    Invalid: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
}


def domain_error_handler(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = next((_DOMAIN_STATUS[kind] for kind in type(exc).__mro__ if kind in _DOMAIN_STATUS), 400)
    return _problem(request, status, exc.message, exc.details or None)


def validation_exception_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    # Litestar's own decoding errors (a malformed body, a wrong type): name the field where we can.
    errors = exc.extra if isinstance(exc.extra, list) else []
    fields = {}
    for error in errors:
        if isinstance(error, dict):
            key = str(cast("dict[str, object]", error).get("key") or "body")
            fields[key] = N_("格式不正确")
    return _problem(request, HTTP_400_BAD_REQUEST, N_("提交的内容格式不正确"), {"errors": fields})


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR, _DEFAULT_TEXT[500])
