"""Templates compiled once per language: each `{{ _("首页") }}` whose text is written in the template becomes the
translated text itself when the template is compiled, so drawing a page costs nothing per text (issue 20: a page
draws a hundred texts; at run time each was a call, a catalogue lookup and a Markup).

Litestar's Jinja engine keeps one Environment; this one keeps an overlay of it per language (the same loader,
globals and filters, its own compiled templates) and picks the request's language's when a page is drawn. Texts
that are values (`{{ _(item.level) }}`) are still translated as they are drawn, by the `_` global (app/main.py),
which draws as HTML only our own marked texts; a text written in our templates is ours by construction.

Some calls are folded the same way (`TemplatesPerLanguage.fold_when_compiled`): a global whose answer depends only on
the language and on literal arguments, for as long as the process runs — `static_url('app.css')` (files do not
change while it runs), `html_lang()`, `script_messages()` — becomes its answer, drawn exactly as the call's was
(escaped when it is text, as it is when it is our HTML), instead of a call on every page."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, MutableMapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, cast

from jinja2 import (
    BytecodeCache,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    Template,
    TemplateNotFound,
    nodes,
)
from jinja2.bccache import Bucket
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from litestar.exceptions import TemplateNotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup, escape

import i18n

# The global a text with variables is formatted by once it is translated: `_("共%(n)s件", n=3)` compiles to
# `_texts_format(("Total %(n)s"|safe), n=3)`.
FORMAT_GLOBAL = "_texts_format"
# How many compiled templates each language keeps (Jinja's default; we have about 120).
_CACHE_SIZE = 400


# A global folded when templates are compiled: no argument, or one string; its answer is text or our HTML (Markup).
FoldedCall = Callable[..., str]


def format_text(text: Markup, /, **variables: object) -> Markup:
    """A translated text of ours with its variables, each escaped (Markup's % escapes what it formats)."""
    return text % variables


class TextsAtCompileTime(Extension):
    """Rewrites `_("…")` with a string literal (and optional keyword variables) into the translated text, marked
    safe as the run-time `_` marks our texts, before Jinja parses the template: Jinja then folds it into the
    compiled code as a constant."""

    language: ClassVar[str] = i18n.DEFAULT_LANGUAGE
    folded: ClassVar[Mapping[str, FoldedCall]] = {}

    @classmethod
    def in_language(cls, language: str, folded: Mapping[str, FoldedCall] | None = None) -> type[TextsAtCompileTime]:
        attributes = {"language": language, "folded": dict(folded or {})}
        return type(f"TextsAtCompileTime_{language}", (cls,), attributes)

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        tokens = list(stream)
        position = 0
        while position < len(tokens):
            rewritten, position = self._text_at(tokens, position)
            yield from rewritten

    def _text_at(self, tokens: list[Token], position: int) -> tuple[list[Token], int]:
        """The tokens to put in place of the one at `position` (and those it consumes), and where to go on."""
        token = tokens[position]
        if (folded := self._folded_call_at(tokens, position)) is not None:
            return folded
        if not _is_text_call(tokens, position):
            return [token], position + 1
        end = position + 2
        literal = ""
        while end < len(tokens) and tokens[end].type == "string":  # "a" "b" is one string to Jinja
            literal += tokens[end].value
            end += 1
        if end >= len(tokens) or tokens[end].type not in ("rparen", "comma"):
            return [token], position + 1
        line = token.lineno
        safe_text = [
            Token(line, "lparen", "("),
            Token(line, "string", i18n.gettext_in(self.language, literal)),
            Token(line, "pipe", "|"),
            Token(line, "name", "safe"),
            Token(line, "rparen", ")"),
        ]
        if tokens[end].type == "rparen":
            return safe_text, end + 1
        # With variables: formatted once drawn; the comma and the variables follow as written.
        return [Token(line, "name", FORMAT_GLOBAL), Token(line, "lparen", "("), *safe_text], end

    def _folded_call_at(self, tokens: list[Token], position: int) -> tuple[list[Token], int] | None:
        """`name()` or `name("literal")` of a folded global, as its answer in this language; None if it is not one."""
        token = tokens[position]
        function = self.folded.get(token.value) if token.type == "name" else None
        if function is None or not _called_at(tokens, position):
            return None
        end = position + 2
        arguments: list[str] = []
        if tokens[end].type == "string":
            arguments.append("")
            while end < len(tokens) and tokens[end].type == "string":  # "a" "b" is one string to Jinja
                arguments[0] += tokens[end].value
                end += 1
        if end >= len(tokens) or tokens[end].type != "rparen":
            return None  # other arguments: called as it is drawn
        with i18n.use_language(self.language):
            answer = function(*arguments)
        line = token.lineno
        constant = Token(line, "string", str(answer))
        if isinstance(answer, Markup):
            safe = [Token(line, "pipe", "|"), Token(line, "name", "safe")]
            return [Token(line, "lparen", "("), constant, *safe, Token(line, "rparen", ")")], end + 1
        return [Token(line, "lparen", "("), constant, Token(line, "rparen", ")")], end + 1


def _called_at(tokens: list[Token], position: int) -> bool:
    """A global's name called at `position` (not a method or an attribute of the same name)."""
    return (
        (position == 0 or tokens[position - 1].type != "dot")
        and position + 2 < len(tokens)
        and tokens[position + 1].type == "lparen"
    )


def _is_text_call(tokens: list[Token], position: int) -> bool:
    token = tokens[position]
    return (
        token.type == "name"
        and token.value == "_"
        and (position == 0 or tokens[position - 1].type != "dot")
        and position + 2 < len(tokens)
        and tokens[position + 1].type == "lparen"
        and tokens[position + 2].type == "string"
    )


# What markupsafe's escape() replaces in a text: anything else leaves it as it is.
_ESCAPED = re.compile(r"[&<>'\"]")


def drawn_text(value: object) -> str:
    """A value as an autoescaped template draws it: the text of `escape(value)`, which is all a page keeps of it (a
    value's output is joined into the page, a macro's or a block's marked as HTML whole). escape() makes a Markup of
    every value, our HTML and text without a special character too, some 2.5 µs each on a loaded worker: a case page
    draws about eighty. Those two are the text they are; anything else is escaped as before."""
    kind = type(value)
    if kind is Markup:
        return cast("str", value)
    if kind is str and _ESCAPED.search(cast("str", value)) is None:
        return cast("str", value)
    return escape(value)


class OneYieldPerOutput(CodeGenerator):
    """Jinja's code generator, writing each run of a template's text and `{{ … }}` values outside a macro as one
    `yield` of their join rather than a `yield` each.

    A page is drawn as the join of what its templates yield, and a value yielded inside a block passes up through the
    page's layout and the page itself (a generator each) before it is joined: a case page yielded some 140 pieces, three
    generator steps each. Joined where they are written, the page is the same text in a third of the steps. Inside a
    macro, a `{% set %}` block or a `{% call %}` Jinja already collects the pieces in a list: that is left as it is."""

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        if frame.buffer is not None or frame.require_output_check:
            super().visit_Output(node, frame)
            return
        finalize = self._make_finalize()
        pieces = self._pieces(node, frame, finalize)
        if len(pieces) < 2:
            super().visit_Output(node, frame)
            return
        self.writeline("yield str_join((")
        self.indent()
        for piece in pieces:
            if isinstance(piece, list):
                self.writeline(self._output_const_repr(piece) + ",")
                continue
            self.newline(piece)
            self._output_child_pre(piece, frame, finalize)
            self.visit(piece, frame)
            self._output_child_post(piece, frame, finalize)
            self.write(",")
        self.outdent()
        self.writeline("))")

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        """A value drawn in an autoescaped template as `environment.drawn_text(value)` rather than Jinja's
        `escape(value)`: the same text (see drawn_text)."""
        if frame.eval_ctx.autoescape and not frame.eval_ctx.volatile:
            self.write("environment.drawn_text(")
            if finalize.src is not None:
                self.write(finalize.src)
            return
        super()._output_child_pre(node, frame, finalize)

    def _pieces(self, node: nodes.Output, frame: Frame, finalize: Any) -> list[list[Any] | nodes.Expr]:
        """The output's children as Jinja's own visit_Output groups them: each run of what is known when compiling
        (text, a folded constant) as a list of its values, each value drawn at run time as its node."""
        pieces: list[list[Any] | nodes.Expr] = []
        for child in node.nodes:
            try:
                if not (finalize.const or isinstance(child, nodes.TemplateData)):
                    raise nodes.Impossible()
                constant = self._output_child_to_const(child, frame, finalize)
            except (nodes.Impossible, Exception):  # as Jinja's own: evaluated at run time (an error is raised there)
                pieces.append(child)
                continue
            last = pieces[-1] if pieces else None
            if isinstance(last, list):
                last.append(constant)
            else:
                pieces.append([constant])
        return pieces


class GlobalsAsDict(Environment):
    """Jinja's Environment whose templates hold their globals in a plain dict: the environment's globals (all set at
    start-up, app/main.py, before any template is loaded) with the template's own over them.

    Jinja's own is a ChainMap, which Python walks key by key: each `{% import %}` compared the thirty-odd globals
    against it (a ChainMap lookup each) and each template drawn copied them with one lookup each, some 150 Python
    calls a page. A dict does both in C. Jinja asks not to change globals once a template is loaded; we never do.
    Its templates are compiled by OneYieldPerOutput."""

    code_generator_class = OneYieldPerOutput
    drawn_text = staticmethod(drawn_text)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        environment_globals = cast("dict[str, Any]", self.globals)  # pyright: ignore[reportUnknownMemberType]
        return {**environment_globals, **(d or {})}


class TemplatesPerLanguage(JinjaTemplateEngine):
    """Litestar's Jinja engine with one compiled set of templates per language, chosen by the request's."""

    def __init__(self, directory: Path | list[Path] | None = None, engine_instance: Environment | None = None) -> None:
        if directory is not None and engine_instance is None:
            # Litestar's own set-up (its engine for `directory`: autoescaped), with our Environment (an overlay per
            # language is of the same class).
            engine_instance, directory = (
                GlobalsAsDict(loader=FileSystemLoader(searchpath=directory), autoescape=True),
                None,
            )
        super().__init__(directory=directory, engine_instance=engine_instance)
        self._by_language: dict[str, Environment] = {}
        self._folded: dict[str, FoldedCall] = {}
        self._compiled_dir: Path | None = None
        # In the globals every overlay shares.
        self.engine.globals[FORMAT_GLOBAL] = format_text  # pyright: ignore[reportUnknownMemberType]
        self.engine.globals["drawn_once"] = drawn_once  # pyright: ignore[reportUnknownMemberType]

    def get_template(self, template_name: str) -> Template:
        try:
            return self.environment_for(i18n.current_language()).get_template(name=template_name)
        except TemplateNotFound as missing:
            raise TemplateNotFoundException(template_name=template_name) from missing

    def fold_when_compiled(self, **calls: FoldedCall) -> None:
        """Globals whose calls in a template are answered when it is compiled, per language (see the module's
        docstring): each must answer the same for the same language and literal argument while the process runs.
        Called while the app configures the engine, before any template is compiled."""
        if self._by_language:
            raise RuntimeError("fold_when_compiled after templates were compiled: they would not see it")
        self._folded.update(calls)

    def keep_compiled_in(self, directory: Path) -> None:
        """Keep each language's compiled templates in a folder of its own below `directory`, which must be this
        release's (app/main.py: a template compiles to other code when a text, a static file's hash or the code that
        folds them changes, and Jinja checks only the template's own source): a worker then loads what any worker
        compiled before, a code object read back, rather than compiling it again. Compiling a template takes many
        times the memory the compiled template keeps (parser, nodes, generated source, Python's compiler), and a
        worker's peak memory keeps that (issue 20). Called while the app configures the engine."""
        if self._by_language:
            raise RuntimeError("keep_compiled_in after templates were compiled")
        self._compiled_dir = directory

    def _bytecode_cache(self, language: str) -> BytecodeCache | None:
        if self._compiled_dir is None:
            return None
        folder = self._compiled_dir / language
        folder.mkdir(parents=True, exist_ok=True)
        return CompiledCopies(str(folder))

    def environment_for(self, language: str) -> Environment:
        """The overlay drawing `language`, made on first use (after the app configured the engine: an overlay
        shares its globals and filters, and copies the rest)."""
        environment = self._by_language.get(language)
        if environment is None:
            environment = self.engine.overlay(
                extensions=[TextsAtCompileTime.in_language(language, self._folded)],
                cache_size=_CACHE_SIZE,
                bytecode_cache=self._bytecode_cache(language),
            )
            self._by_language[language] = environment
        return environment


_log = logging.getLogger(__name__)


class CompiledCopies(FileSystemBytecodeCache):
    """Jinja's compiled templates in a folder, where a copy that cannot be written is only not kept: its folder
    removed by a newer release's start while this release's workers still serve, a full disk. Jinja's own cache would
    fail the page being drawn; reading back already passes over a missing copy."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as refused:
            _log.warning("compiled template not kept: %s", refused)


# Where a per-request value stands in a macro drawn once (`drawn_once`): a character no text of ours has.
_SLOT_MARK = "\ue000{}\ue000"


def drawn_once(macro: Callable[..., str], /, *fixed: Hashable, **slots: str) -> Markup:
    """A macro's HTML drawn once per process for each set of `fixed` arguments (its first, positional, parameters)
    and this language (the macro is the language's own), with the request's `slots` (its other parameters, by name)
    put in — as `{{ macro(*fixed, **slots) }}` draws it, at the cost of a dictionary lookup and a format rather than
    the macro's hundreds of calls (issue 20: the layout's display and language switches, on every page). The macro
    may only draw each slot (`{{ here }}`, never `{% if here %}`): a text is escaped as drawn, our HTML (Markup, e.g.
    `csrf_input|safe`) put in as it is."""
    pattern = _drawn_pattern(macro, fixed, tuple(slots))
    values = {name: escape(value) for name, value in slots.items()}
    return Markup(pattern.format_map(values))  # noqa: S704 -- our macro's HTML, each value escaped unless ours


# A few KB each: the navigation of each current item, role set and language, the switches of each display (some
# hundred at most).
@lru_cache(maxsize=512)
def _drawn_pattern(macro: Callable[..., str], fixed: tuple[Hashable, ...], names: tuple[str, ...]) -> str:
    """The macro drawn with a mark for each slot, as a `str.format` pattern naming the slots."""
    marks = {name: Markup(_SLOT_MARK.format(name)) for name in names}  # noqa: S704 -- a private-use character
    drawn = macro(*fixed, **marks)
    pattern = str(drawn).replace("{", "{{").replace("}", "}}")
    for name in names:
        pattern = pattern.replace(_SLOT_MARK.format(name), "{" + name + "}")
    return pattern
