"""The legal-person register (法人基础库) as the rest of the app sees it."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from i18n import N_

# The register's statuses, as 市场监管 writes them and as we store them.
STATUS_CODES = {N_("存续"): "active", N_("注销"): "deregistered", N_("吊销"): "revoked"}
STATUS_LABELS = {code: label for label, code in STATUS_CODES.items()}


class OrganisationEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One organisation of an import file, checked (the legal representative still by ID number, in clear)."""

    credit_code: str
    name: str
    org_type: str
    legal_rep_id_number: str
    address: str
    region_code: str
    established_on: date
    status: str
    code_warning: str | None


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    credit_code: str
    name: str
    org_type: str
    legal_rep_person_id: int
    address: str
    region_code: str
    established_on: date
    status: str
    code_warning: str | None
    business_scope: str | None  # 经营范围; None: not known to this register (imported without it)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    """What 企业变更登记 asks the register to hold from now on (any of it may be as before)."""

    name: str
    address: str
    legal_rep_person_id: int
    business_scope: str | None


# The register's fields as a changed one is named to people (the timeline's note, the history).
CHANGE_LABELS = {
    "name": N_("名称"),
    "address": N_("住所"),
    "legal_rep_person_id": N_("法定代表人"),
    "status": N_("登记状态"),
    "business_scope": N_("经营范围"),
}
# ... and as the history's readers (GET /api/v1/organisations/{uscc}/register) name it: the legal representative is a
# person, not the person id the history stores.
CHANGE_FIELDS = {
    "name": "name",
    "address": "address",
    "legal_rep_person_id": "legal_rep",
    "status": "status",
    "business_scope": "business_scope",
}


class ChangeRow(msgspec.Struct, frozen=True, kw_only=True):
    """One change of the register's history as app/organisations/store.py reads it (organisation_changes)."""

    field: str  # name | address | legal_rep_person_id | status
    old_value: str
    new_value: str
    case_id: int | None
    changed_on: date


class RegisterChange(msgspec.Struct, frozen=True, kw_only=True):
    """A change of the register, as its readers see it: the legal representative by name, the status in words."""

    field: str  # name | address | legal_rep | status | business_scope
    label: str  # 名称, 住所, 法定代表人, 登记状态, 经营范围
    before: str
    after: str
    changed_on: date
    case_no: str | None  # the case whose completion made it (None: a change made outside any case)


class OrganisationRegister(msgspec.Struct, frozen=True, kw_only=True):
    """What the legal-person register holds of an organisation (登记信息) and its history (变更记录), newest first:
    for the people acting for it, and the staff handling its case. No ID number, not even masked."""

    uscc: str
    name: str
    type: str
    legal_rep_name: str
    address: str
    business_scope: str | None  # 经营范围 (None: not known to this register)
    district: str  # the registering district (区/县级市)
    established_on: date
    status: str  # active | deregistered | revoked
    status_label: str  # 存续 | 注销 | 吊销
    changes: list[RegisterChange]


class OrganisationImportProblem(msgspec.Struct, frozen=True):
    line: int
    message: str


class OrganisationImportReport(msgspec.Struct, frozen=True):
    added: int
    updated: int
    problems: list[OrganisationImportProblem]
    warnings: list[OrganisationImportProblem]  # kept, but worth a look (an early code failing GB 11714)


# --- acting for an organisation (法人办事) ------------------------------------------------------------------------

LEGAL_REP = "legal_rep"
AGENT = "agent"
# At a window only: the clerk checked the organisation's paper 授权委托书 for this one visit (nothing kept for later).
PAPER = "paper"
ROLE_LABELS = {
    LEGAL_REP: N_("法定代表人"),
    AGENT: N_("经办人（企业已在线授权）"),
    PAPER: N_("经办人（凭纸质授权委托书）"),
}


class OrganisationRole(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation the signed-in person may act for, and as what (GET /api/v1/organisations/mine)."""

    uscc: str
    name: str
    role: str  # legal_rep | agent
    scope: list[str] | None = None  # an agent's life events; None: every matter (always, for the legal rep)
    expires_on: date | None = None  # an agent's authorisation ends after this day


class Acting(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation the caller acts for in this request, checked against the register and its agents."""

    organisation: Organisation
    role: str  # legal_rep | agent | paper (at a window)
    agent_id: int | None = None
    scope: list[str] | None = None  # an agent's life events; None: every matter


class AgentRequest(msgspec.Struct, kw_only=True):
    id_number: str
    name: str
    scope: str | list[str]  # "all" or life-event codes
    expires_on: date | None  # null when the form's date was left empty: refused with the other errors


class AgentCreated(msgspec.Struct, frozen=True, kw_only=True):
    id: int


class AgentRow(msgspec.Struct, frozen=True, kw_only=True):
    """An authorisation as app/organisations/store.py reads it, with the agent's name and masked number."""

    id: int
    organisation_id: int
    person_id: int
    name: str
    id_number_masked: str
    scope: list[str] | None
    expires_on: date
    created_at: datetime
    revoked_at: datetime | None


class AgentView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    id_number_masked: str
    scope: list[str] | None  # None: every matter
    scope_label: str
    expires_on: date
    created_at: datetime
    status: str  # active | expired | revoked
