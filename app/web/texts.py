"""Texts drawn on a page in the reader's language (i18n): a table marked with N_ where it is written, or the field
messages of a FieldErrors a service raised (marked where raised) that a page shows beside its fields, rather than
app/web/errors.py answering them."""

from __future__ import annotations

from collections.abc import Mapping

from i18n import _


def translated(texts: Mapping[str, str]) -> dict[str, str]:
    """Each text of `texts` in the language of this request (untranslated ones stay as they are)."""
    return {key: _(text) for key, text in texts.items()}
