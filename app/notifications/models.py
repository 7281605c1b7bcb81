"""The inbox as the API answers it, and who hears about a case."""

from __future__ import annotations

import msgspec

from push.models import InboxEntry


class CaseAudience(msgspec.Struct, frozen=True, kw_only=True):
    """Who hears about a step of a case (app.cases.timeline decides): the applicant's own account, if they have one,
    and the village helper who filed it while the applicant's delegation to them is still live."""

    case_id: int
    case_no: str
    life_event_name: str
    applicant_account_id: int | None
    helper_account_id: int | None
    # 法人办事: the accounts of the organisation's legal representative and 经办人 in scope, besides the applicant.
    organisation_account_ids: list[int] = msgspec.field(default_factory=list[int])


class Inbox(msgspec.Struct, frozen=True, kw_only=True):
    unread: int
    items: list[InboxEntry]


class MarkRead(msgspec.Struct, frozen=True, kw_only=True):
    """Entries to mark read; without ids, all of them."""

    ids: list[int] | None = None


class Subscribed(msgspec.Struct, frozen=True, kw_only=True):
    id: int


class PublicKey(msgspec.Struct, frozen=True, kw_only=True):
    public_key: str
