"""The legal-person register (法人基础库) as the rest of the app sees it."""

from __future__ import annotations

from datetime import date

import msgspec

# The register's statuses, as 市场监管 writes them and as we store them.
STATUS_CODES = {"存续": "active", "注销": "deregistered", "吊销": "revoked"}
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

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class OrganisationImportProblem(msgspec.Struct, frozen=True):
    line: int
    message: str


class OrganisationImportReport(msgspec.Struct, frozen=True):
    added: int
    updated: int
    problems: list[OrganisationImportProblem]
    warnings: list[OrganisationImportProblem]  # kept, but worth a look (an early code failing GB 11714)
