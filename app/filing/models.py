"""Whose case a filing is, and the person a form is filled for when it is not the caller."""

from __future__ import annotations

import msgspec

from app.people.models import Person


class Filing(msgspec.Struct, frozen=True, kw_only=True):
    """Whose case it is and how it came in."""

    person_id: int
    filed_as: str  # self | clerk | helper | parent
    channel: str  # online | window | helper
    delegation_id: int | None = None
    # The organisation the case is for (法人办事): the person is then its legal representative or 经办人, filing online
    # or at a window; `org_role` says how their authority was found (legal_rep | agent | paper: a 授权委托书 the clerk
    # checked at the window).
    org_credit_code: str | None = None
    org_role: str | None = None
    # The register's row of the person, when deciding read it by the number filed for (a walk-in, a helper's client, a
    # minor child): the submission reads it again only for a resident filing for themself.
    person: Person | None = None


class Served(msgspec.Struct, frozen=True, kw_only=True):
    """Whom a shared device serves now, as the session names them (not yet checked): the client a village helper
    chose on the roster (app.delegations.current), or the resident at a clerk's window (auth.walk_in)."""

    person_id: int
    name: str
    key: str  # as Subject.key
    channel: str  # helper | window | parent
    delegation_id: int | None = None  # the helper's delegation from this client


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """The person a form is filled for when it is not the caller: a village helper's client, or the resident a window
    clerk is receiving. The apply page, its drafts, uploads and the submission all carry this person's number as
    `on_behalf_of`, and the server checks each of those requests again (app.filing.service.resolve_filing)."""

    person_id: int
    on_behalf_of: str  # the full number: released to the page only after the server's check, and audited
    name: str
    # Names this person in what the browser keeps (drafts, queued submissions, the banner): the delegation id for
    # a helper's client, "w" + the visit for a walk-in; helper.js drops everything kept under any other key.
    key: str
    channel: str  # helper | window | parent (a resident's minor child)

    @property
    def at_window(self) -> bool:
        return self.channel == "window"
