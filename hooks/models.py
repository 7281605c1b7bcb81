"""What hooks/ keeps and sends: webhook subscriptions of API clients, their deliveries, and the events they carry."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import msgspec

# The events a client may subscribe to: a case's steps, fired from its timeline (app/cases/timeline.py), its
# applicant's withdrawal (app/cases/withdrawal.py), and a new rating of the department's work (app/reviews/service.py).
EVENTS: Final = {
    "task.created": "新办件的事项已分送本部门",
    "task.resubmitted": "申请人已补正材料",
    "task.updated": "事项状态有变化（受理、审核、办结等，无论由谁办理）",
    "case.withdrawn": "申请人撤回了申请：本部门的哪些事项已撤回、撤回原因的代码",
    "review.created": "申请人对本部门办结的事项作出了评价（好差评）",
}
URL_MAX: Final = 2000


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    url: str
    events: list[str]
    created_at: datetime


class NewSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A subscription as made: with its signing secret, shown this once."""

    id: int
    url: str
    events: list[str]
    created_at: datetime
    secret: str


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event sent (or being sent) to one subscription, as the client reads it in its delivery log."""

    id: int
    message_id: str
    event_type: str
    status: str  # pending, delivered, failed
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    recovered_at: datetime | None  # last asked for again after it had failed (recover)
    payload: dict[str, Any]


class ClaimedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery the worker is about to try: where, with which key, what."""

    id: int
    message_id: str
    url: str
    secret: str
    payload: dict[str, Any]
    attempts: int  # this try included
    disabled: bool  # the subscription was deleted or its client revoked since: nothing is sent


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A step of a case that a department's system may hear of: whose task it is (department, the region of the
    office it is routed to — None while a 全城通办 task waits for any office to take it)
    and what the event says. No personal data: the system reads the task through the API with its own token."""

    type: str
    department_code: str
    office_region: str | None
    data: dict[str, Any]


class Recovered(msgspec.Struct, frozen=True, kw_only=True):
    """Failed deliveries sent again: how many were queued now, and how many failed ones since then still wait for
    another call (a call queues at most RECOVER_MAX)."""

    queued: int
    remaining: int
