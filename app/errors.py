"""What a rule refuses, in the domain's words. Services raise these; app/web/errors.py answers each one, once, with
its status code (JSON for the API, the error page for a person). Every message is Chinese and says what to do.

Nothing here knows HTTP, so a service reads the same whether a page, the API or the command line calls it, and a
page tells a refusal from a conflict by its class (`except Conflict`), never by a status code.
"""

from __future__ import annotations

from typing import Any

from i18n import N_


class DomainError(Exception):
    """A refusal with a message for the person who asked; `details` travel with it to the API's answer."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """No such thing, or none the caller may know of (someone else's case looks exactly like no case)."""


class Forbidden(DomainError):
    """The caller may not do this (audited where it matters, by the rule that refuses)."""


class Conflict(DomainError):
    """Not now: the thing's state does not allow it (the allowed actions in `details`), or it changed meanwhile."""


class DuplicateCase(Conflict):
    """一事不二办: an application for this very matter is already being processed. The answer carries
    `duplicate: true` (and the case's number, when the caller may know it), so a device shows it as done elsewhere,
    not as an error to fix or retry."""

    def __init__(self, message: str, case_no: str | None = None) -> None:
        super().__init__(message, duplicate=True, **({"case_no": case_no} if case_no else {}))
        self.case_no = case_no


class Invalid(DomainError):
    """What was sent cannot be accepted, as a whole (a refused passkey ceremony): one message, no field to point at."""


class FieldErrors(DomainError):
    """One Chinese message per field of what was sent: {"detail": …, "errors": {field: message}}."""

    def __init__(self, errors: dict[str, str], detail: str = N_("请检查标出的内容")) -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors
