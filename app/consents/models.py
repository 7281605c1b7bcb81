"""Consent to use one's e-certificates in someone else's case (授权使用证照), as stored and as shown."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from i18n import N_

CONSENT_STATE_LABELS = {
    "requested": N_("待同意"),
    "granted": N_("已同意"),
    "refused": N_("已拒绝"),
    "expired": N_("已过期"),
    "withdrawn": N_("申请人已撤回"),
}


class ConsentRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    case_id: int
    requester_person_id: int
    requester_name: str
    about: str
    life_event_code: str
    life_event_name: str
    certificate_kinds: list[str]
    certificate_titles: list[str]
    material_codes: list[str]
    item_codes: list[str]
    state: str  # requested | granted | refused | expired
    deadline: datetime
    decided_at: datetime | None
    decided_by_person_id: int | None
    created_at: datetime


class ConsentAsked(msgspec.Struct, frozen=True, kw_only=True):
    """What a new request says: who asks, for which case and event, for which of the person's documents."""

    case_id: int
    requester_person_id: int
    requester_name: str
    subject_number: str  # the number the applicant typed, in full: hashed before it is stored, never kept
    about: str
    life_event_code: str
    life_event_name: str
    certificate_kinds: list[str]
    certificate_titles: list[str]
    material_codes: list[str]
    item_codes: list[str]


class ConsentView(msgspec.Struct, frozen=True, kw_only=True):
    """A request as the person asked reads it (GET /api/v1/consents, /consents)."""

    id: int
    requester_name: str
    life_event: str
    life_event_name: str
    documents: list[str]  # the certificates' titles: 居民身份证、结婚证
    text: str  # 张伟申请新生儿出生，需使用您的居民身份证、结婚证
    state: Literal["requested", "granted", "refused", "expired", "withdrawn"]
    state_label: str
    deadline: datetime
    decided_at: datetime | None = None


class ConsentDecision(msgspec.Struct, frozen=True, kw_only=True):
    decision: Literal["grant", "refuse"]


class Preauthorisations(msgspec.Struct, frozen=True, kw_only=True):
    """允许配偶在以下事项中使用我的证照: the life events chosen on /me."""

    life_events: list[str]
