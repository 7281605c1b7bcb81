"""How a case's pieces are drawn on every page that shows one: a status as a chip, a moment, a day, a promised
date. Template filters (`{{ task.status|chip(task.status_label) }}`, `{{ step.at|when }}`, `{{ task|due }}`,
`{{ value|day }}`), written in Python rather than as Jinja macros: a case page or the tracking page draws them a
few dozen times, and a macro call costs Jinja a new frame and context each time (issue 20)."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Protocol

from markupsafe import Markup, escape

from app.calendar.service import china_time
from i18n import N_, current_language, gettext

# The tone of each status's chip: the label always carries the meaning; colour and the mark only repeat it.
_TONES = {
    "submitted": "neutral",
    "accepted": "active",
    "resubmitted": "active",
    "in_review": "active",
    "in_progress": "active",
    "supplement_requested": "warn",
    "awaiting_consent": "warn",
    "approved": "ok",
    "completed": "ok",
    "delivered": "ok",
    "rejected": "stop",
    "denied": "stop",
    "closed": "stop",
    "withdrawn": "stop",
    "sending": "active",
    "undelivered": "warn",
}
_MARKS = {"neutral": "○", "active": "●", "warn": "!", "ok": "✓", "stop": "✕"}
_DATE = N_("%(year)s年%(month)s月%(day)s日")
_PROVISIONAL = N_("（预计，节假日安排未公布）")
_BY_RULE = N_("按部门规定")


class Promised(Protocol):
    """A task as the pages hold it: its promised date, and whether that date still waits for the holidays."""

    @property
    def due_on(self) -> date | None: ...

    @property
    def due_provisional(self) -> bool: ...


# Each filter's answer depends only on its value and the reader's language, and a page draws the same few values
# again and again (a case's six tasks due on one day, the same statuses, the same steps on every view of a case):
# each is written once per process, value and language, and kept while in use (a few hundred bytes each). None of
# them is personal: statuses, their labels, days and moments.


def chip(status: str, label: str) -> Markup:
    """A status with its label in the reader's language (labels are our own marked texts, drawn as text)."""
    return _chip(status, label, current_language())


@functools.lru_cache(maxsize=256)
def _chip(status: str, label: str, language: str) -> Markup:
    tone = _TONES.get(status, "neutral")
    return Markup(  # noqa: S704 -- our classes and marks; the label escaped
        f'<span class="chip chip-{tone}"><span class="chip-mark" aria-hidden="true">{_MARKS[tone]}</span>'
        f"{escape(gettext(label))}</span>"
    )


def when(moment: datetime) -> Markup:
    """A moment in Beijing time, the reader's way, with its machine-readable instant."""
    return _when(moment, current_language())


@functools.lru_cache(maxsize=4096)
def _when(moment: datetime, language: str) -> Markup:
    return _time(moment.isoformat(), china_time(moment))  # china_time: in `language`, the current one


def day(value: date) -> Markup:
    """A day the reader's way (2026年1月13日, 13 January 2026)."""
    return _day(value, current_language())


@functools.lru_cache(maxsize=1024)
def _day(value: date, language: str) -> Markup:
    written = gettext(_DATE) % {
        "year": value.year,
        "month": value.month,
        "day": value.day,
        "month_name": value.strftime("%B"),
    }
    return _time(value.isoformat(), written)


def due(task: Promised) -> Markup:
    """The promised date; provisional while the State Council has not yet published the holidays it falls in."""
    if task.due_on is None:
        return Markup('<span class="muted">') + gettext(_BY_RULE) + Markup("</span>")
    if task.due_provisional:
        return day(task.due_on) + Markup('<span class="due-provisional">') + gettext(_PROVISIONAL) + Markup("</span>")
    return day(task.due_on)


def _time(instant: str, written: str) -> Markup:
    # An isoformat() holds only digits, "-", ":", "+", "T" and ".": nothing to escape.
    return Markup(f'<time datetime="{instant}">{escape(written)}</time>')  # noqa: S704 -- the words escaped
