"""好差评 at the boundaries: what a rater sends, what the resident and a supervisor read, and the stored rows."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from i18n import N_

# The national 好差评 scale: 5 = 非常满意 … 1 = 非常不满意. 1 and 2 are 差评 and are followed up.
LEVEL_LABELS: dict[int, str] = {
    5: N_("非常满意"),
    4: N_("满意"),
    3: N_("基本满意"),
    2: N_("不满意"),
    1: N_("非常不满意"),
}
BAD_LEVELS = frozenset({1, 2})
# Why a rating is bad, as the resident picks it (only for 1 and 2).
REASON_TAGS = (N_("材料要求多"), N_("办理时间长"), N_("态度不好"), N_("多次跑动"), N_("系统难用"))
TEXT_MAX = 500
CHANNEL_LABELS = {"online": N_("网上评价"), "window": N_("窗口评价器"), "helper": N_("帮办员协助（本人在场）")}


class ReviewBody(msgspec.Struct, frozen=True, kw_only=True):
    """POST /api/v1/cases/{case_no}/reviews: `task_id` omitted for the case as a whole. `client_present`: a helper
    rating for their client says the client is beside them (required of a helper)."""

    level: int
    task_id: int | None = None
    tags: list[str] = msgspec.field(default_factory=list[str])
    text: str | None = None
    client_present: bool = False


class FollowUpView(msgspec.Struct, frozen=True, kw_only=True):
    """A 整改 item as the resident and the supervisor read it (no resident's identity in it)."""

    id: int
    contact_due_on: date
    result_due_on: date
    contacted_at: datetime | None
    contact_note: str | None
    resolved_at: datetime | None
    result_text: str | None
    overdue: bool
    escalated: bool  # overdue: the city's supervisor sees it too


class ReviewView(msgspec.Struct, frozen=True, kw_only=True):
    task_id: int | None
    level: int
    level_label: str
    tags: list[str]
    text: str | None
    channel: str
    client_present: bool
    created_at: datetime
    updated_at: datetime
    editable_until: datetime
    editable: bool
    follow_up: FollowUpView | None = None


class ReviewRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    case_id: int
    task_id: int | None
    department_code: str | None
    region_code: str
    level: int
    tags: list[str]
    text: str | None
    channel: str
    client_present: bool
    created_at: datetime
    updated_at: datetime
    editable_until: datetime


class RatingRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A rating as a recount of the statistics reads it."""

    id: int
    department_code: str | None
    region_code: str
    item_code: str  # '' for the case as a whole
    channel: str  # how the case was filed
    created_at: datetime
    level: int


class FollowUpRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    review_id: int
    case_id: int
    department_code: str | None
    region_code: str
    opened_at: datetime
    contact_due_on: date
    result_due_on: date
    contacted_at: datetime | None
    contact_note: str | None
    resolved_at: datetime | None
    result_text: str | None


class OpenFollowUp(msgspec.Struct, frozen=True, kw_only=True):
    """An open 整改 item in a supervisor's list: the rating it answers (level, tags, words), its case and office."""

    follow_up: FollowUpView
    case_no: str
    department_code: str | None
    department_name: str | None
    region_code: str
    level: int
    level_label: str
    tags: list[str]
    text: str | None


class FollowUpRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the store gives for a supervisor's list: the follow-up, its rating and its case number."""

    follow_up: FollowUpRow
    case_no: str
    department_name: str | None
    level: int
    tags: list[str]
    text: str | None


class KioskLink(msgspec.Struct, frozen=True, kw_only=True):
    case_id: int
    task_id: int | None
    expires_at: datetime
    used_at: datetime | None


class TaskToRate(msgspec.Struct, frozen=True, kw_only=True):
    """A finished task (or the case as a whole, task_id None) and the rating it has, for the rating screen."""

    task_id: int | None
    name: str
    department_name: str | None
    review: ReviewView | None


class RatingScreen(msgspec.Struct, frozen=True, kw_only=True):
    case_no: str
    life_event_name: str
    targets: list[TaskToRate]
