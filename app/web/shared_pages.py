"""A page drawn once for every anonymous visitor and sent again while its tag stands (the tracking page, issue 20).

Every page holds the visitor's CSRF token (base.html: htmx's header, and the display and language forms that work
without script), so "the same page for everyone" is the same page but for that token. Such a page is drawn with a
slot where the token goes and each visitor is sent it with their own token put in: byte for byte the page drawn for
them (tests/test_tracking_page_kept_http.py). Nothing of any visitor is kept. The slot is the same in every worker
(a page kept in the database is sent by any of them) and derived from the secret key: nobody can write it into
what a page shows (a step's title) to have a visitor's token put there.

Compressed once too: a browser accepting gzip (every one) is sent the kept deflate parts — the page between the
slots, each ended at a byte boundary (a sync flush) — with its token between them as a stored block, in one gzip
member whose trailer (CRC-32, length) is taken over the visitor's page: what pigz does to compress in parallel, read
by every gzip reader. Each part is compressed as following what comes before it, tokens included (a preset
dictionary): a token stands there as bytes UTF-8 never holds, so no part refers into a token, and every token has
the one length Litestar mints. Compressing the page at level 6 for each answer cost about 0.4 ms, as much again as
sending it; the app's compression middleware leaves such an answer as it is.

A page whose layout is the reader's own (a signed-in resident's: their menu, their device's key, their session's
banners) but whose content is the same for every reader of a kind (a case page) keeps only what its own template's
blocks draw (`draw_keeping_blocks`), slot and all, and draws the layout around them on each view (`draw_around`):
the same template, with those blocks sent as kept, so the page is byte for byte the one drawing it gives
(tests/test_case_page_kept_http.py). That layout is itself drawn once per process for each kind of reader — its
template and context, the language, the display (长辈版, text size), the account's kind and roles — for a stand-in of
the kind (`_ReaderOfKind`: the roles and nothing else of an account, an empty session, a mark for the path), with
marks where the reader's own values go (the path, the device's key, the token's slot) and where the blocks go; each
view puts them in (`_KeptLayout.filled`). Drawing it cost about a quarter of a case page view's CPU (issue 20). A
reader whose layout shows more than their kind (a session holding more than its sign-in: whom a shared device serves,
the organisation acted for; a query in the address) has it drawn for them, as before."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import zlib
from collections.abc import Callable, Hashable, Iterator
from typing import Any, cast

import msgspec
from jinja2.runtime import Context
from litestar import MediaType, Response
from litestar.background_tasks import BackgroundTask
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import escape

from app.web.compression import deflated_part
from app.web.types import AnyRequest
from auth.access import user_of
from auth.models import CurrentUser
from auth.sessions import holds_sign_in_only
from i18n import current_language


@functools.cache
def slot_for(secret_key: str) -> str:
    # Hex, as a token is (escaping leaves it as it is), and shorter than any token Litestar mints (128).
    return hmac.new(secret_key.encode(), b"csrf slot of a page drawn for anyone", hashlib.sha256).hexdigest()[:40]


def _csrf_slot(request: AnyRequest) -> str:
    return slot_for(request.app.state.settings.secret_key)


def drawing_key(request: AnyRequest) -> str:
    """What a page drawn for anyone depends on besides its data, display and release: its slot (part of its tag, so
    a page kept under another secret key, whose slot this one would not fill, is drawn again)."""
    return _csrf_slot(request)


def draw_for_anyone(request: AnyRequest, template_name: str, context: dict[str, Any]) -> bytes:
    """The page as Litestar's Template draws it (the same context: request, csrf_input), with the slot for the
    token: `csrf_token()` and `csrf_input` both read it from the request's scope state."""
    return _drawn(request, template_name, context, lambda blocks: None)


def draw_keeping_blocks(
    request: AnyRequest, template_name: str, context: dict[str, Any]
) -> tuple[bytes, dict[str, str]]:
    """The page as draw_for_anyone draws it, and what each block its own template defines drew in it (the blocks it
    fills in its layout), to be drawn around again (draw_around)."""
    drawn: dict[str, str] = {}

    def keep(blocks: dict[str, list[BlockDrawing]]) -> None:
        for name in blocks:
            blocks[name] = [_keeping(blocks[name][0], name, drawn), *blocks[name][1:]]

    return _drawn(request, template_name, context, keep), drawn


def draw_around(request: AnyRequest, template_name: str, context: dict[str, Any], kept: dict[str, str]) -> bytes:
    """The page with its blocks as kept (draw_keeping_blocks) and its layout for this request from `context` (what
    the layout reads: the blocks' own context is not needed), with the slot for the token: the layout kept for the
    reader's kind filled in, else drawn now."""
    kind = _layout_kind(request, template_name, context, tuple(kept))
    if kind is None:
        return _drawn(request, template_name, context, _sent_as(kept))
    layouts: dict[Hashable, _KeptLayout | None] = request.app.state.setdefault("kept_layouts", {})
    if kind not in layouts:
        if len(layouts) >= _KEPT_LAYOUTS:
            layouts.clear()
        layouts[kind] = _layout_for_kind(request, template_name, context, tuple(kept))
    layout = layouts[kind]
    if layout is None:  # its template draws a reader's value where no mark can stand: drawn for each reader
        return _drawn(request, template_name, context, _sent_as(kept))
    return layout.filled(_readers_own(request, kept))


def _sent_as(kept: dict[str, str]) -> Callable[[dict[str, list[BlockDrawing]]], None]:
    def sent_as_kept(blocks: dict[str, list[BlockDrawing]]) -> None:
        for name, text in kept.items():
            blocks[name] = [_as_kept(text)]

    return sent_as_kept


# Where a reader's own value (or a kept block) goes in a layout kept for a kind of reader: a private-use character
# no text of ours holds, around the value's name.
_MARK = "\ue001{}\ue001"
_MARKED = re.compile("\ue001([^\ue001]*)\ue001")
_HERE = "here"  # the page's path: where the display and language switches come back to
_LOCAL_KEY = "local_key"  # the name under which the device keeps the account's drafts (base.html)
_BLOCK = "block:"  # and the block's name
# Kinds are few (templates drawn around × languages × displays × role sets: a few hundred at most); more than this
# means something is wrong with the key, and the layouts are drawn afresh rather than grown without end.
_KEPT_LAYOUTS = 512


def _layout_kind(
    request: AnyRequest, template_name: str, context: dict[str, Any], blocks: tuple[str, ...]
) -> Hashable | None:
    """Everything the layout drawn around `blocks` shows of this reader but their path and device key, as a key; None
    when it shows more (someone served, an organisation acted for, a query kept in the switches' address)."""
    user = user_of(request)
    if user is None or request.scope["query_string"] or not holds_sign_in_only(request.scope):
        return None
    display = _template_global(request, "display_for")(request)
    kind = (
        template_name,
        tuple(sorted(context.items())),
        blocks,
        current_language(),
        display,
        user.kind,
        user.roles,
        drawing_key(request),  # the token's slot drawn into it
    )
    try:
        hash(kind)
    except TypeError:  # a context that cannot be a key: drawn for each reader
        return None
    return kind


def _template_global(request: AnyRequest, name: str) -> Callable[..., Any]:
    engine = cast("JinjaTemplateEngine", request.app.template_engine)  # pyright: ignore[reportUnknownMemberType]
    template_globals = cast("dict[str, Callable[..., Any]]", engine.engine.globals)  # pyright: ignore[reportUnknownMemberType]
    return template_globals[name]


class _ReaderOfKind:
    """The request a layout kept for a kind of reader is drawn for: an account with the kind's roles and nothing else
    of one, an empty session, a mark for the path. What else a template might read of a request is not there, so
    nothing of one reader can be kept for another (a page reading it comes out unlike its drawing: the tests)."""

    def __init__(self, user: CurrentUser) -> None:
        self.scope: dict[str, object] = {"user": user, "session": {}}
        self.url = _PathOnly(path=_MARK.format(_HERE), query="")


class _PathOnly(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    query: str


def _layout_for_kind(
    request: AnyRequest, template_name: str, context: dict[str, Any], blocks: tuple[str, ...]
) -> _KeptLayout | None:
    """The layout drawn for the reader's kind, with marks for their own values and for the blocks; None if a mark
    comes out otherwise than whole (escaped, encoded into an address): that template is drawn for each reader."""
    user = user_of(request)
    assert user is not None
    display = _template_global(request, "display_for")(request)
    stand_in = CurrentUser(
        account_id=0, kind=user.kind, name="", roles=user.roles, person_id=None, department_code=None, region_code=None
    )
    marks = {name: _MARK.format(_BLOCK + name) for name in blocks}
    # What base.html reads of its reader, as the kind's (`display_for` read of this reader: part of the kind).
    for_the_kind: dict[str, Any] = {
        "request": _ReaderOfKind(stand_in),
        "display_for": _always(display),
        "local_key_for": _always(_MARK.format(_LOCAL_KEY)),
        "walk_in_of": _always(None),  # a session holding only its sign-in serves no one
        "csrf_token": _always(_csrf_slot(request)),  # Litestar's reads the request's scope, which the stand-in has not
    }
    drawn = _drawn(request, template_name, context, _sent_as(marks), for_the_kind).decode()
    pieces = _MARKED.split(drawn)
    names = set(pieces[1::2])
    if not names <= {_HERE, _LOCAL_KEY, *(_BLOCK + name for name in blocks)}:
        return None
    if any("\ue001" in text or "%EE%80%81" in text.upper() for text in pieces[0::2]):
        return None
    return _KeptLayout(texts=tuple(text.encode() for text in pieces[0::2]), names=tuple(pieces[1::2]))


def _always(value: object) -> Callable[..., object]:
    def answer(*_: object) -> object:
        return value

    return answer


class _KeptLayout(msgspec.Struct, frozen=True):
    """A layout drawn for a kind of reader: its text, encoded, in the stretches between the marks, and the name of
    what goes at each mark (one fewer)."""

    texts: tuple[bytes, ...]
    names: tuple[str, ...]

    def filled(self, values: dict[str, str]) -> bytes:
        # Joined as bytes: str.format_map parses a pattern on every call (58 µs for a case page's, this 10 µs).
        pieces = [self.texts[0]]
        for name, text in zip(self.names, self.texts[1:], strict=True):
            pieces += (values[name].encode(), text)
        return b"".join(pieces)


def _readers_own(request: AnyRequest, kept: dict[str, str]) -> dict[str, str]:
    """What goes into the marks of a kept layout for this reader, escaped as the template escapes it."""
    user = user_of(request)
    assert user is not None
    return {
        _HERE: str(escape(request.url.path)),
        _LOCAL_KEY: str(escape(_template_global(request, "local_key_for")(user))),
        **{_BLOCK + name: text for name, text in kept.items()},
    }


# How Jinja draws a block: a function of the page's context yielding its text (Template.blocks, Context.blocks).
BlockDrawing = Callable[[Context], Iterator[str]]


def _keeping(block: BlockDrawing, name: str, drawn: dict[str, str]) -> BlockDrawing:
    def draw(context: Context) -> Iterator[str]:
        drawn[name] = "".join(block(context))
        yield drawn[name]

    return draw


def _as_kept(text: str) -> BlockDrawing:
    def draw(context: Context) -> Iterator[str]:
        yield text

    return draw


def _drawn(
    request: AnyRequest,
    template_name: str,
    context: dict[str, Any],
    with_blocks: Callable[[dict[str, list[BlockDrawing]]], None],
    instead: dict[str, Any] | None = None,
) -> bytes:
    """The page drawn as Template.render draws it (a new context, its root drawing joined), the slot in place of the
    token, after `with_blocks` has seen (and may have replaced) how each block is drawn; `instead`: names the
    template reads drawn with other values (the request, a global) than Litestar's context gives."""
    # Litestar types the app's engine with an unbound type argument; it is the Jinja engine app.main configures.
    engine = cast("JinjaTemplateEngine", request.app.template_engine)  # pyright: ignore[reportUnknownMemberType]
    state = ScopeState.from_scope(request.scope)
    token = state.csrf_token
    state.csrf_token = _csrf_slot(request)
    try:
        full_context = Template(template_name, context=context).create_template_context(request)  # pyright: ignore[reportUnknownMemberType]
        full_context.update(instead or {})
        template = engine.get_template(template_name)
        page_context = template.new_context(full_context)
        with_blocks(page_context.blocks)
        try:
            drawn = template.environment.concat(template.root_render_func(page_context))  # type: ignore[attr-defined]
        except Exception:
            template.environment.handle_exception()
    finally:
        state.csrf_token = token
    return drawn.encode()


def visitor_token(request: AnyRequest) -> str | None:
    """This visitor's CSRF token, if a page drawn for anyone can carry it as drawing would: hex, as every token
    Litestar mints. None for anything else (a cookie made up by hand): that page is drawn for the visitor alone."""
    token = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
    return token if token.isalnum() else None


def for_visitor(request: AnyRequest, page: bytes, token: str) -> bytes:
    """The page drawn for anyone, with this visitor's token in its slots."""
    return page.replace(_csrf_slot(request).encode(), token.encode())


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, OS unknown
_LAST_BLOCK = b"\x01\x00\x00\xff\xff"  # an empty stored block marked final
# A token as Litestar mints it: 32 random bytes and their HMAC, in hex (litestar.middleware.csrf).
TOKEN_LENGTH = 128
# Where a token goes, as the parts are compressed: 0xFF is never a byte of UTF-8, so no text matches it.
_TOKEN_STAND_IN = b"\xff" * TOKEN_LENGTH


def compressed_parts(request: AnyRequest, page: bytes) -> bytes:
    """The page drawn for anyone as deflate parts (parts_between its slots)."""
    return parts_between(page, _csrf_slot(request))


def parts_between(page: bytes, slot: str) -> bytes:
    """The page as deflate parts, one per stretch between its slots, each ended at a byte boundary
    (a sync flush, not the final block) and compressed as following what precedes it, with a token's length of
    bytes no text holds where each token goes: nothing in it refers into a token, whatever the token is. Kept as
    4-byte lengths, each followed by its part."""
    kept = bytearray()
    before = b""
    for stretch in page.split(slot.encode()):
        part = deflated_part(stretch, following=before)
        kept += len(part).to_bytes(4, "big") + part
        before += stretch + _TOKEN_STAND_IN
    return bytes(kept)


def sent_gzipped(token: str) -> bool:
    """Whether the kept parts can carry this token: one of the length they were compressed around."""
    return len(token) == TOKEN_LENGTH


def gzipped_for_visitor(parts: bytes, page: bytes, token: str) -> bytes:
    """One gzip member of the visitor's page (`page`, their token in it): the kept parts with the token between them
    as stored blocks, a final empty block, and the trailer over the visitor's page."""
    data = token.encode()
    size = len(data)
    stored = b"\x00" + size.to_bytes(2, "little") + (size ^ 0xFFFF).to_bytes(2, "little") + data
    pieces = [_GZIP_HEADER]
    offset = 0
    while offset < len(parts):
        length = int.from_bytes(parts[offset : offset + 4], "big")
        if offset:
            pieces.append(stored)
        pieces.append(parts[offset + 4 : offset + 4 + length])
        offset += 4 + length
    pieces.append(_LAST_BLOCK)
    pieces.append(zlib.crc32(page).to_bytes(4, "little") + (len(page) & 0xFFFFFFFF).to_bytes(4, "little"))
    return b"".join(pieces)


def answer(
    request: AnyRequest,
    page: bytes,
    parts: bytes,
    token: str,
    headers: dict[str, str],
    background: BackgroundTask | None = None,
) -> Response[bytes]:
    """The page drawn for anyone, for this visitor: gzipped from its kept parts if the browser takes gzip (as the
    app's compression middleware decides: the word in Accept-Encoding), else as it is."""
    body = for_visitor(request, page, token)
    if "gzip" not in request.headers.get("accept-encoding", "") or not sent_gzipped(token):
        # As it is; the compression middleware gzips it for a browser that takes gzip (a token of another length).
        return Response(body, media_type=MediaType.HTML, headers=headers, background=background)
    # Litestar's compression middleware sends an answer marked cached as it is (its response cache's answers are
    # compressed already): this one is.
    ScopeState.from_scope(request.scope).is_cached = True
    gzipped = {**headers, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return Response(
        gzipped_for_visitor(parts, body, token), media_type=MediaType.HTML, headers=gzipped, background=background
    )
