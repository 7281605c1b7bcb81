"""Texts written in a template are translated when it is compiled, once per language (app/web/templates.py): drawing
a page makes no call per text, and each language keeps its own compiled templates."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import DictLoader, Environment
from markupsafe import Markup, escape

import i18n
from app.web.templates import TemplatesPerLanguage

SOURCES = {
    "home.html": '<h1>{{ _("首页") }}</h1><p>{{ _("办件进度 %(case_no)s", case_no=no) }}</p>{{ _(value) }}',
    "split.html": '{{ _("首" "页") }}|{{ obj._("x") }}|{{ _("首页")|upper }}',
    "attr.html": "<a title=\"{{ _('主导航') }}\">{% set label = _('扫码') %}{{ label }}</a>",
}


def _refusing_runtime_gettext(message: str, /, **variables: object) -> str:
    raise AssertionError(f"_({message!r}) translated while drawing: it should have been at compile time")


@pytest.fixture
def engine() -> TemplatesPerLanguage:
    engine = TemplatesPerLanguage(engine_instance=Environment(loader=DictLoader(SOURCES), autoescape=True))
    engine.engine.globals["_"] = _refusing_runtime_gettext
    return engine


def _draw(engine: TemplatesPerLanguage, language: str, name: str, **context: Any) -> str:
    with i18n.use_language(language):
        return engine.get_template(name).render(**context)


def test_a_written_text_is_drawn_in_each_language_without_a_call_per_text(engine: TemplatesPerLanguage) -> None:
    calls: list[str] = []

    def runtime_gettext(message: str, /, **variables: object) -> str:
        calls.append(message)
        return message

    engine.engine.globals["_"] = runtime_gettext
    english = _draw(engine, "en", "home.html", no="CZ1", value="消息")
    assert english.startswith("<h1>Home</h1><p>Case progress CZ1</p>"), english
    chinese = _draw(engine, "zh", "home.html", no="CZ1", value="消息")
    assert chinese.startswith("<h1>首页</h1><p>办件进度 CZ1</p>"), chinese
    # Only the value went through the run-time `_`, once per drawing; the written texts never did.
    assert calls == ["消息", "消息"]
    # And English again: each language's compiled template stays its own.
    assert _draw(engine, "en", "home.html", no="CZ2", value="").startswith("<h1>Home</h1>")


def test_a_variable_in_a_written_text_is_escaped(engine: TemplatesPerLanguage) -> None:
    engine.engine.globals["_"] = lambda message, /, **variables: message
    drawn = _draw(engine, "en", "home.html", no="<script>alert(1)</script>", value="")
    assert "<script>" not in drawn and "&lt;script&gt;alert(1)&lt;/script&gt;" in drawn


def test_strings_written_in_pieces_in_attributes_and_in_set_are_translated(engine: TemplatesPerLanguage) -> None:
    class Other:
        def _(self, message: str) -> str:  # a method named _ is not our gettext: left alone
            return f"method:{message}"

    assert _draw(engine, "en", "split.html", obj=Other()) == "Home|method:x|HOME"
    assert _draw(engine, "en", "attr.html") == '<a title="Main navigation">Scan</a>'


def test_a_written_text_is_drawn_as_ours_html_and_all(engine: TemplatesPerLanguage) -> None:
    """As the run-time `_` draws a text of ours: its markup is HTML (texts hold links), a value's is not."""
    source = "{{ _('本页只显示办理进度。<a href=\"/cases\">我的办件</a>') }}"
    environment = engine.environment_for("zh")
    drawn = environment.from_string(source).render()
    assert drawn == '本页只显示办理进度。<a href="/cases">我的办件</a>'
    module: Any = environment.from_string("{% set t = _('首页') %}").module
    assert isinstance(module.t, Markup)


FOLDED = {
    "page.html": (
        '<html lang="{{ html_lang() }}"><link href="{{ static_url("app.css") }}">'
        "<script>{{ script_messages() }}</script>{{ static_url(file) }}</html>"
    ),
}


def test_a_folded_call_is_answered_once_per_language_when_compiled_and_drawn_as_the_call_was() -> None:
    """static_url('app.css'), html_lang(), script_messages(): their answer, drawn as a call's would be (text escaped,
    our HTML as it is), without a call per page; a call with a value is still made as the page is drawn."""
    calls: list[tuple[str, ...]] = []

    def static_url(name: str) -> str:
        calls.append(("static_url", name))
        return f"/static/{name}?v=1&x=<2>"

    def script_messages() -> Markup:
        calls.append(("script_messages", i18n.current_language()))
        return Markup('{"a": "<b>"}')

    engine = TemplatesPerLanguage(engine_instance=Environment(loader=DictLoader(FOLDED), autoescape=True))
    engine.engine.globals.update(static_url=static_url, html_lang=i18n.html_lang, script_messages=script_messages)
    engine.fold_when_compiled(static_url=static_url, html_lang=i18n.html_lang, script_messages=script_messages)
    drawn = {
        language: [_draw(engine, language, "page.html", file=f"{n}.js") for n in (1, 2)] for language in ("en", "zh")
    }
    assert drawn["en"][0] == (
        '<html lang="en"><link href="/static/app.css?v=1&amp;x=&lt;2&gt;">'
        '<script>{"a": "<b>"}</script>/static/1.js?v=1&amp;x=&lt;2&gt;</html>'
    ), drawn["en"][0]
    assert drawn["zh"][1].startswith('<html lang="zh-CN">'), drawn["zh"][1]
    # Compiled once per language (the literal call and script_messages), the call with a value made at each drawing.
    assert calls == [
        ("static_url", "app.css"),
        ("script_messages", "en"),
        ("static_url", "1.js"),
        ("static_url", "2.js"),
        ("static_url", "app.css"),
        ("script_messages", "zh"),
        ("static_url", "1.js"),
        ("static_url", "2.js"),
    ]


def test_folding_after_a_template_was_compiled_is_refused(engine: TemplatesPerLanguage) -> None:
    _draw(engine, "en", "attr.html")
    with pytest.raises(RuntimeError):
        engine.fold_when_compiled(static_url=str)


DRAWN_ONCE = {
    "menu.html": (
        "{% macro menu(size, here, csrf_input) %}{{ drawn.append(size) or '' }}"
        '<form data-size="{{ size }}" data-json=\'{"a": {}}\'>{{ csrf_input|safe }}'
        '<input name="next" value="{{ here }}"><a href="{{ here }}">{{ _("首页") }}</a></form>{% endmacro %}'
    ),
    "page.html": (
        '{% from "menu.html" import menu %}{{ drawn_once(menu, size, here=here, csrf_input=csrf|safe) }}'
        "|{{ menu(size, here, csrf) }}"
    ),
}


def test_a_macro_drawn_once_draws_each_request_s_values_as_the_macro_does() -> None:
    """drawn_once (the layout's display and language switches): the macro is drawn once per language and fixed
    argument, and the page's text (escaped) and HTML (as it is) are put in where the macro draws them."""
    engine = TemplatesPerLanguage(engine_instance=Environment(loader=DictLoader(DRAWN_ONCE), autoescape=True))
    drawn: list[int] = []
    engine.engine.globals["drawn"] = drawn
    csrf = '<input type="hidden" name="_csrf_token" value="t0k&n" />'
    for language, size, here in (("zh", 1, "/a?x=1&y=<b>{0}"), ("zh", 1, '/b"'), ("en", 1, "/c"), ("zh", 2, "/d")):
        once, as_macro = _draw(engine, language, "page.html", size=size, here=here, csrf=csrf).split("|")
        assert once == as_macro, (once, as_macro)
        assert csrf in once and f'value="{escape(here)}"' in once
    # The macro drawn directly each time (4), and once for each of (zh, 1), (en, 1), (zh, 2).
    assert len(drawn) == 4 + 3
