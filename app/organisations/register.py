"""Loading the legal-person register from CSV (`python -m app import-organisations FILE.csv`), as
`import-population` loads the population register: bad rows reported by line and skipped, good rows kept, a
re-import updates.

A code that fails its check is refused for a new registration (企业开办 assigns codes that pass) but kept here
with a warning: some codes assigned early in the reform fail the GB 32100 check character or the GB 11714 check
of their organisation part and are legal all the same.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from app.organisations import store
from app.organisations.models import (
    STATUS_CODES,
    OrganisationEntry,
    OrganisationImportProblem,
    OrganisationImportReport,
)
from app.people import service as people
from app.people.identity import (
    credit_code_fails_only_its_check,
    credit_code_problem,
    credit_code_warning,
    id_number_problem,
    normalize_credit_code,
    normalize_id_number,
)
from auth.pii import PiiCipher
from db.pool import DB
from i18n import N_, _

COLUMNS = (
    "credit_code",
    "name",
    "type",
    "legal_rep_id_number",
    "address",
    "region_code",
    "established_on",
    "status",
)
_EARLY_CODE = N_("统一社会信用代码校验位未通过（早期赋码可能如此），已导入，请对照营业执照核对")


def parse_organisations_csv(
    text: str, districts: set[str], today: date
) -> tuple[list[tuple[int, OrganisationEntry]], list[OrganisationImportProblem]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        return [], [OrganisationImportProblem(1, _("表头应为 %(join)s") % {"join": ",".join(COLUMNS)})]
    entries: list[tuple[int, OrganisationEntry]] = []
    problems: list[OrganisationImportProblem] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        entry, problem = _entry(row, districts, today)
        if entry is None:
            problems.append(OrganisationImportProblem(line, problem or N_("无法读取")))
        elif entry.credit_code in seen:
            problems.append(
                OrganisationImportProblem(
                    line, _("统一社会信用代码与第%(seen)s行重复") % {"seen": seen[entry.credit_code]}
                )
            )
        else:
            seen[entry.credit_code] = line
            entries.append((line, entry))
    return entries, problems


def _entry(row: dict[str, str | None], districts: set[str], today: date) -> tuple[OrganisationEntry | None, str | None]:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    code = normalize_credit_code(cell("credit_code"))
    problem = credit_code_problem(code)
    if problem is not None and not credit_code_fails_only_its_check(code):
        return None, _("统一社会信用代码：%(problem)s") % {"problem": problem}
    warning = _EARLY_CODE if problem is not None else credit_code_warning(code)
    name, org_type, address = cell("name"), cell("type"), cell("address")
    if not name or len(name) > 100:
        return None, N_("名称：不能为空，且不超过100个字")
    if not org_type or len(org_type) > 50:
        return None, N_("类型：不能为空，且不超过50个字")
    if problem := id_number_problem(cell("legal_rep_id_number")):
        return None, _("法定代表人公民身份号码：%(problem)s") % {"problem": problem}
    if not address or len(address) > 200:
        return None, N_("住所：不能为空，且不超过200个字")
    if cell("region_code") not in districts:
        return None, _("登记区县：%(value)s 不是常州的区县代码") % {"value": cell("region_code") or _("（空）")}
    try:
        established = date.fromisoformat(cell("established_on"))
    except ValueError:
        return None, N_("成立日期：应为 YYYY-MM-DD")
    if established > today:
        return None, N_("成立日期：不能晚于今天")
    if cell("status") not in STATUS_CODES:
        return None, _("登记状态：应为 %(join)s 之一") % {"join": "、".join(STATUS_CODES)}
    entry = OrganisationEntry(
        credit_code=code,
        name=name,
        org_type=org_type,
        legal_rep_id_number=normalize_id_number(cell("legal_rep_id_number")),
        address=address,
        region_code=cell("region_code"),
        established_on=established,
        status=STATUS_CODES[cell("status")],
        code_warning=warning,
    )
    return entry, None


async def import_organisations(
    db: DB, cipher: PiiCipher, text: str, districts: set[str], today: date
) -> OrganisationImportReport:
    entries, problems = parse_organisations_csv(text, districts, today)
    added = updated = 0
    warnings: list[OrganisationImportProblem] = []
    for line, entry in entries:
        representative = await people.person_by_number(db, cipher, entry.legal_rep_id_number)
        if representative is None:
            problems.append(
                OrganisationImportProblem(line, N_("法定代表人：人口库中没有这个公民身份号码，请先导入人口库"))
            )
            continue
        was_added = await store.upsert_organisation(
            db,
            credit_code=entry.credit_code,
            name=entry.name,
            org_type=entry.org_type,
            legal_rep_person_id=representative.id,
            address=entry.address,
            region_code=entry.region_code,
            established_on=entry.established_on,
            status=entry.status,
            code_warning=entry.code_warning,
        )
        added, updated = (added + 1, updated) if was_added else (added, updated + 1)
        if entry.code_warning:
            warnings.append(OrganisationImportProblem(line, entry.code_warning))
    problems.sort(key=lambda p: p.line)
    return OrganisationImportReport(added=added, updated=updated, problems=problems, warnings=warnings)
