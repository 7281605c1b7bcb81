"""A template's text and values are yielded a run at a time (app/web/templates.py: OneYieldPerOutput): the page is
the same text as Jinja's own code draws it, in fewer generator steps."""

from __future__ import annotations

from typing import Any

import pytest
from jinja2 import DictLoader, Environment
from markupsafe import Markup

from app.web.templates import GlobalsAsDict

SOURCES = {
    "layout.html": "<html>{% block head %}<title>{{ title }}</title>{% endblock %}<body>{% block main %}{% endblock %}"
    "{{ self.head() }}</body></html>",
    "page.html": '{% extends "layout.html" %}{% from "parts.html" import row %}'
    "{% block main %}<h1>{{ title }} · {{ 1 + 2 }}</h1>{{ html }}{{ text }}{% for x in items %}"
    "<p>{{ loop.index }}: {{ x }}</p>{{ row(x) }}{% else %}<p>none</p>{% endfor %}"
    "{% set kept %}<i>{{ text }}</i>{% endset %}{{ kept }}{% filter upper %}<b>{{ text }}</b>{% endfilter %}"
    "{% call row(title) %}<u>{{ text }}</u>{% endcall %}{% include 'parts.html' %}{% endblock %}",
    "parts.html": "{% macro row(x) %}<td>{{ x }}{{ caller() if caller }}</td>{% endmacro %}<em>{{ title }}</em>",
}
CONTEXT: dict[str, Any] = {
    "title": "办件 <1> & 'two'",
    "html": Markup("<strong>ours</strong>"),
    "text": '"quoted" <script>',
    "items": ["a<b", Markup("<br>"), 3],
}


def _environment(kind: type[Environment]) -> Environment:
    return kind(loader=DictLoader(SOURCES), autoescape=True)


@pytest.mark.parametrize("items", [CONTEXT["items"], []])
def test_a_page_is_drawn_as_jinja_draws_it(items: list[object]) -> None:
    context = {**CONTEXT, "items": items}
    ours = _environment(GlobalsAsDict).get_template("page.html").render(context)
    jinjas = _environment(Environment).get_template("page.html").render(context)
    assert ours == jinjas
    assert "&lt;script&gt;" in ours and "<strong>ours</strong>" in ours


def test_text_and_values_between_two_tags_are_yielded_as_one_piece() -> None:
    template = _environment(GlobalsAsDict).from_string("<p>{{ a }} and {{ b }}</p>{% if a %}<i>{{ a }}</i>{% endif %}")
    pieces = list(template.generate(a="<x>", b=Markup("<y>")))
    assert pieces == ["<p>&lt;x&gt; and <y></p>", "<i>&lt;x&gt;</i>"]


@pytest.mark.parametrize(
    "value", ["办件", "a & b", "<script>", "'\"", Markup("<b>ours</b>"), Markup("a &amp; b"), 3, None, 2.5]
)
def test_a_value_is_drawn_as_escape_draws_it(value: object) -> None:
    template = "<p>{{ v }}</p>{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}{{ m(v) }}"
    ours = _environment(GlobalsAsDict).from_string(template).render(v=value)
    assert ours == _environment(Environment).from_string(template).render(v=value)


def test_a_value_drawn_makes_no_markup_when_it_is_plain_text_or_our_html() -> None:
    template = _environment(GlobalsAsDict).from_string("<p>{{ a }}{{ b }}</p>")
    ours = Markup("<b>ours</b>")
    made: list[object] = []
    markup_new = Markup.__new__

    def counted(cls: type[Markup], *args: Any, **kwargs: Any) -> Markup:
        made.append(args)
        return markup_new(cls, *args, **kwargs)

    Markup.__new__ = counted  # type: ignore[method-assign]
    try:
        drawn = template.render(a="新生儿出生", b=ours)
    finally:
        Markup.__new__ = markup_new  # type: ignore[method-assign]
    assert drawn == "<p>新生儿出生<b>ours</b></p>"
    assert made == []
