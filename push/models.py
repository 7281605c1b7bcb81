"""What push reads and writes: browser subscriptions, the message of one event, the inbox, a send's outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from sms.models import CaseText

# The longest push endpoint we accept; real ones are a few hundred characters.
ENDPOINT_MAX = 2048


class SubscriptionKeys(msgspec.Struct, frozen=True):
    p256dh: str
    auth: str


class SubscriptionBody(msgspec.Struct, frozen=True, kw_only=True):
    """A browser's `PushSubscription.toJSON()`."""

    endpoint: str
    keys: SubscriptionKeys
    expirationTime: int | float | None = None


class ReplaceSubscriptionBody(msgspec.Struct, frozen=True, kw_only=True):
    """The service worker's report that the browser replaced this device's subscription.

    The old endpoint and its auth secret are known only to the device and to us, so presenting both is
    what entitles the caller to move that device to `subscription` (no session or CSRF token needed).
    """

    old_endpoint: Annotated[str, msgspec.Meta(min_length=1, max_length=ENDPOINT_MAX)]
    old_auth: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    subscription: SubscriptionBody


class UnsubscribeBody(msgspec.Struct, frozen=True, kw_only=True):
    """`PushSubscription.toJSON()` again, or just its endpoint."""

    endpoint: str
    keys: SubscriptionKeys | None = None
    expirationTime: int | float | None = None


class Device(msgspec.Struct, frozen=True, kw_only=True):
    """A subscribed device as its owner sees it (never the endpoint or keys)."""

    id: int
    push_service: str
    user_agent: str
    created_at: datetime
    last_success_at: datetime | None
    failures: int


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One timeline event as a recipient reads it, in the inbox and on the lock screen."""

    case_id: int
    case_no: str
    event_id: int
    title: str
    body: str
    url: str
    needs_action: bool = False

    @property
    def topic(self) -> str:
        # RFC 8030 Topic (≤ 32 URL-safe characters): a newer step of the same case replaces an older
        # one still waiting on the push service for an offline device.
        return f"case-{self.case_no}"[:32]

    @property
    def urgency(self) -> str:
        return "high" if self.needs_action else "normal"


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """A notice about the account itself (a passkey added, an enrollment code issued, a delegation recorded),
    as the owner reads it in the inbox and on the lock screen: no case, no timeline event."""

    title: str
    body: str
    url: str


class Payload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The JSON the service worker receives (encrypted end to end; kept well under 3 KB): a case step names
    its case and event, an account notice its own id."""

    title: str
    body: str
    url: str
    case_no: str | None = None
    event_id: int | None = None
    notice_id: int | None = None


# --- the inbox (inbox_entries, written with the notifications above) -----------------------------------


class DeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    """How the push to one device went."""

    push_service: str
    status: str
    attempts: int
    delivered_at: datetime | None


class InboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A case step (`kind` "case", with its case and event), a notice about the account itself ("account":
    a passkey added, an enrollment code issued, a delegation recorded) or a reminder ("reminder": an appointment
    tomorrow, or one booked, moved or cancelled for the resident)."""

    id: int
    kind: str
    event_id: int | None
    case_no: str | None
    title: str
    body: str
    url: str
    needs_action: bool
    created_at: datetime
    read: bool
    deliveries: list[DeliveryView]


# --- rows of push/store.py -----------------------------------------------------------------------------------------


class HeldSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """The device at an endpoint, as proving and moving it needs: whose it is and its auth secret."""

    id: int
    account_id: int
    auth: str


class ClaimedNotification(msgspec.Struct, frozen=True, kw_only=True):
    """A notification claimed for sending: the device to send to (None once it was removed) and what to send."""

    id: int
    subscription_id: int | None
    urgency: str
    topic: str
    attempts: int
    endpoint: str | None
    p256dh: str | None
    auth: str | None
    title: str
    body: str
    url: str
    event_id: int | None
    case_no: str | None
    notice_id: int | None  # an account notice's own inbox entry
    followed: bool = False  # a notice that must arrive (notice_arrivals) waits to hear how this push ended


class ScheduledNotice(msgspec.Struct, frozen=True, kw_only=True):
    """A notice released at its time (a reminder): whose it is and what it says."""

    id: int
    account_id: int
    title: str
    body: str
    url: str


class JobCount(msgspec.Struct, frozen=True):
    state: str  # queued (due now), delayed (a retry waiting for its time), sending, failed (held for a person)
    jobs: int
    oldest_due_seconds: float  # how long the oldest job due now has waited (0 when none)


# --- notices that must arrive (notice_arrivals: push/arrival.py) ---------------------------------------------------


class NoticeToFollow(msgspec.Struct, frozen=True, kw_only=True):
    """A notice that must arrive, as the transaction of its timeline event leaves it (app.cases.timeline): which
    step, whose, and what is already on its way to them."""

    event_id: int
    case_id: int
    case_no: str
    task_id: int | None
    region_code: str  # the applicant's: whose clerks follow it up
    title: str  # the public step title
    account_id: int | None  # the applicant's account (its inbox entry's pushes count); None: no account
    text_id: int | None  # a text queued with the step (app.sms: no live device, 每一步都发短信, 补正告知 and 办结)
    fallback: CaseText | None  # else the text to queue once every push has failed; None: no number to text


class Arrival(msgspec.Struct, frozen=True, kw_only=True):
    """How far one notice that must arrive has got."""

    id: int
    event_id: int
    case_id: int
    case_no: str
    task_id: int | None
    region_code: str
    title: str
    issued_at: datetime
    in_inbox: bool  # 站内信: the applicant has an account, and the notice is in their 消息
    state: str  # sending | delivered | undelivered
    pushed_at: datetime | None
    texted_at: datetime | None
    failure: str | None
    undelivered_at: datetime | None
    by_hand: str | None  # phone | paper
    by_hand_at: datetime | None
    by_hand_account_id: int | None
    by_hand_note: str | None


class ArrivalToSettle(msgspec.Struct, frozen=True, kw_only=True):
    """A notice locked to take in how its pushes or its text ended."""

    id: int
    inbox_entry_id: int | None
    sms_message_id: int | None
    fallback_text: CaseText | None
    state: str
    pushed_at: datetime | None
    texted_at: datetime | None
    undelivered_at: datetime | None
    by_hand: str | None


class PushOutcomes(msgspec.Struct, frozen=True, kw_only=True):
    """The pushes of one inbox entry to the devices of its owner, counted by how they stand."""

    total: int
    pending: int  # created, sending, or a retry due
    delivered_at: datetime | None  # the first a push service took
    last_error: str | None  # of the latest that failed for good
