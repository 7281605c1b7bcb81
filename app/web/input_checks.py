"""Input that no route can use is refused before any handler sees it: a 400 naming the field, never a 500.

PostgreSQL refuses a NUL character in text and an integer past bigint, and no form of ours nests JSON more than a few
levels. One hook, run for every route after routing (so path parameters have their names) and before the handler's
arguments are decoded, checks the path and query parameters and the body the route declares, as Litestar decodes it
(the decoded body is cached on the request, so the handler's own decoding reuses it). Narrower limits of a single
column (a 32-bit counter) are declared on the field of its msgspec Struct.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, cast

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import SerializationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg

from app.errors import FieldErrors
from i18n import N_

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Our deepest legitimate body (a WebAuthn credential, a repeating group in a form) is 4 levels deep.
MAX_DEPTH = 32

NUL_MESSAGE = N_("含有不可见的空字符，请删除后重新输入")
RANGE_MESSAGE = N_("数字超出范围，请检查后重新输入")
DEPTH_MESSAGE = N_("内容嵌套层数过多（最多%(max_depth)s层），请检查提交的内容") % {"max_depth": MAX_DEPTH}
BODY = "body"  # the field named when the body as a whole is at fault


class _TooDeep(Exception):
    def __init__(self, field: str) -> None:
        self.field = field


async def refuse_unstorable_input(request: Request[Any, Any, Any]) -> None:
    """Litestar's before_request hook for the whole app: raises FieldErrors when any input cannot be used."""
    errors: dict[str, str] = {}
    for name, value in request.path_params.items():
        _check_scalar(errors, name, value)
    # Most requests have no query: not parsed for nothing (Request.query_params parses and copies it on every call).
    if request.scope["query_string"]:
        for name, value in request.query_params.multi_items():
            _check_named(errors, name, value, where="query")
    if not errors:
        await _check_body(request, errors)
    if errors:
        first, message = next(iter(errors.items()))
        raise FieldErrors(errors, detail=f"{first}：{message}")


def _check_scalar(errors: dict[str, str], field: str, value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            errors.setdefault(field, NUL_MESSAGE)
    elif isinstance(value, int) and not isinstance(value, bool) and not BIGINT_MIN <= value <= BIGINT_MAX:
        errors.setdefault(field, RANGE_MESSAGE)


def _check_named(errors: dict[str, str], name: str, value: Any, *, where: str) -> None:
    """A query parameter or form field: its name (shown back without a NUL it holds), then its value."""
    if "\x00" in name:
        errors.setdefault(name.replace("\x00", "") or where, NUL_MESSAGE)
    else:
        _check_scalar(errors, name, value.filename if isinstance(value, UploadFile) else value)


def _declared_body(handler: HTTPRouteHandler) -> str | None:
    """How the route decodes its body (the media type of its `data` parameter), or None when it takes none."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    return kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON


async def _check_body(request: Request[Any, Any, Any], errors: dict[str, str]) -> None:
    kind = _declared_body(request.route_handler)
    if kind == RequestEncodingType.MULTI_PART and request.content_type[0] == RequestEncodingType.JSON:
        # A route taking files takes the contract's JSON too (app/consultations/routes.py): checked as sent. The
        # empty form kept first is what Litestar hands such a route as its form, the JSON being read once, here.
        await request.form()
        kind = RequestEncodingType.JSON
    if kind in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        # The form as parsed (and kept on the request) by the CSRF check already: its stream is read only once.
        form = await request.form()
        for name, value in form.multi_items():
            _check_named(errors, name, value, where=BODY)
        return
    if kind != RequestEncodingType.JSON or not await request.body():
        return
    try:
        decoded = await request.json()
    except RecursionError:
        # msgspec gives up at Python's recursion limit, at once: thousands of levels.
        errors[BODY] = DEPTH_MESSAGE
        return
    except SerializationException:
        return  # malformed JSON: the handler's own decoding answers its usual 400
    try:
        for field, value in _leaves(decoded):
            _check_scalar(errors, field, value)
    except _TooDeep as exc:
        errors[exc.field] = DEPTH_MESSAGE


def _leaves(value: Any) -> Iterator[tuple[str, Any]]:
    """Every key and scalar of a decoded JSON body with its dotted path (`data.child.name`, `items[0]`), iteratively,
    so that depth costs no recursion; _TooDeep past MAX_DEPTH, naming the top-level field it is under."""
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise _TooDeep(_top_level(path))
            stack.extend(_children(path, cast("dict[str, Any] | list[Any]", node), depth + 1))
        else:
            yield path or BODY, node


def _children(path: str, node: dict[str, Any] | list[Any], depth: int) -> Iterable[tuple[str, Any, int]]:
    if isinstance(node, list):
        return ((f"{path}[{i}]", item, depth) for i, item in enumerate(node))
    # A key with NUL is reported under its parent (the key itself cannot be shown as typed).
    return (
        (f"{path}.{key}" if path else key, value, depth) if "\x00" not in key else (path or BODY, key, depth)
        for key, value in node.items()
    )


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0] or BODY
