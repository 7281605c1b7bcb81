"""The inbox as the API answers it, and who hears about a case."""

from __future__ import annotations

from datetime import datetime

import msgspec

from push.models import InboxEntry


class CaseAudience(msgspec.Struct, frozen=True, kw_only=True):
    """Who hears about a step of a case (app.cases.timeline decides): the applicant's own account, if they have one,
    the village helper who filed it while the applicant's delegation to them is still live, an organisation's people,
    and the parties linked to it (一事不二办), who read it only."""

    case_id: int
    case_no: str
    life_event_name: str
    applicant_account_id: int | None
    helper_account_id: int | None
    # 法人办事: the accounts of the organisation's legal representative and 经办人 in scope, besides the applicant.
    organisation_account_ids: list[int] = msgspec.field(default_factory=list[int])
    # 一事不二办: the accounts of the parties linked to the case (its other parent, say): told of each step, never
    # asked to act on it (a 补正 stays the applicant's).
    linked_account_ids: list[int] = msgspec.field(default_factory=list[int])
    # The language each of these accounts chose (i18n), read with them: its notices are drawn in it (none: Chinese).
    languages: dict[int, str | None] = msgspec.field(default_factory=dict[int, str | None])
    # 短信提醒 as the applicant's account chose it on 我的, read with it (app.sms: whether each step is texted).
    applicant_sms_preference: str = "fallback"

    def language_of(self, account_id: int | None) -> str | None:
        return self.languages.get(account_id) if account_id is not None else None


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


# --- notices that must arrive (必达通知) --------------------------------------------------------------------------


class Reached(msgspec.Struct, frozen=True, kw_only=True):
    """One way a notice reached the resident, and when: 推送, 短信, 电话, 纸质通知, or 站内信 (in 消息 at once)."""

    channel: str  # push | sms | phone | paper | inbox
    label: str
    at: datetime


class NoticeDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A notice that must arrive as the resident's case page and the public tracking page show it: when it went out,
    and when and how it reached them. Nothing about who they are, their number, or why a channel failed."""

    title: str
    issued_at: datetime
    state: str  # sending | delivered | undelivered
    state_label: str
    reached: list[Reached]  # the channels that reached them, the first first; 站内信 last


class StaffNotice(msgspec.Struct, frozen=True, kw_only=True):
    """The same notice as staff follow it up: why it has not arrived, and the clerk's record of a call or letter."""

    id: int
    case_no: str
    task_id: int | None
    delivery: NoticeDelivery
    failure: str | None
    undelivered_at: datetime | None
    by_hand_note: str | None
