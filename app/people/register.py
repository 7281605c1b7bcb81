"""Loading the population register from CSV (`python -m app import-population FILE.csv`).

Bad rows are reported by line number and skipped; good rows are kept; a re-import updates.
"""

from __future__ import annotations

import csv
import io
import re

from app.catalogue import service as catalogue
from app.people import store
from app.people.identity import (
    birth_date_of,
    id_number_problem,
    mask_id_number,
    mobile_problem,
    normalize_id_number,
    sex_of,
)
from app.people.models import ImportProblem, ImportReport, RegisterEntry
from auth.pii import PiiCipher
from db.pool import DB
from i18n import N_, _

COLUMNS = ("id_number", "name", "phone", "region_code")
# Columns a file may add after those (older exports have none): the 户号 of the person's 户口簿.
OPTIONAL_COLUMNS = ("household_no",)
_HOUSEHOLD_NO = re.compile(r"[0-9A-Za-z]{1,20}")


def parse_register_csv(
    text: str, known_regions: set[str]
) -> tuple[list[tuple[int, RegisterEntry]], list[ImportProblem]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(reader.fieldnames or ())
    if header[: len(COLUMNS)] != COLUMNS or header[len(COLUMNS) :] not in _ALLOWED_TAILS:
        return [], [
            ImportProblem(
                1,
                _("表头应为 %(join)s（可再加 %(join2)s）")
                % {"join": ",".join(COLUMNS), "join2": ",".join(OPTIONAL_COLUMNS)},
            )
        ]
    entries: list[tuple[int, RegisterEntry]] = []
    problems: list[ImportProblem] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        checked = _entry(row, known_regions)
        if checked[0] is None:
            problems.append(ImportProblem(line, checked[1]))
        elif (entry := checked[0]).id_number in seen:
            problems.append(ImportProblem(line, _("身份号码与第%(seen)s行重复") % {"seen": seen[entry.id_number]}))
        else:
            seen[entry.id_number] = line
            entries.append((line, entry))
    return entries, problems


_ALLOWED_TAILS = {OPTIONAL_COLUMNS[:n] for n in range(len(OPTIONAL_COLUMNS) + 1)}


def _entry(row: dict[str, str | None], known_regions: set[str]) -> tuple[RegisterEntry, None] | tuple[None, str]:
    raw_number = (row.get("id_number") or "").strip()
    name = (row.get("name") or "").strip()
    phone = (row.get("phone") or "").strip() or None
    region = (row.get("region_code") or "").strip() or None
    household = (row.get("household_no") or "").strip() or None
    if problem := id_number_problem(raw_number):
        return None, _("公民身份号码：%(problem)s") % {"problem": problem}
    if not name or len(name) > 50:
        return None, N_("姓名：不能为空，且不超过50个字")
    if phone and (problem := mobile_problem(phone)):
        return None, _("手机号码：%(problem)s") % {"problem": problem}
    if region and region not in known_regions:
        return None, _("区划代码：%(region)s 不存在") % {"region": region}
    if household and not _HOUSEHOLD_NO.fullmatch(household):
        return None, N_("户号：只能是不超过20位的数字或字母")
    return RegisterEntry(normalize_id_number(raw_number), name, phone, region, household), None


async def import_register(db: DB, cipher: PiiCipher, text: str) -> ImportReport:
    entries, problems = parse_register_csv(text, await catalogue.region_codes(db))
    added = updated = 0
    for _line, entry in entries:
        was_added = await store.upsert_person(
            db,
            id_number_hash=cipher.lookup_hash(entry.id_number),
            id_number_enc=cipher.encrypt(entry.id_number),
            id_number_masked=mask_id_number(entry.id_number),
            name=entry.name,
            phone=entry.phone,
            region_code=entry.region_code,
            birth_date=birth_date_of(entry.id_number),
            sex=sex_of(entry.id_number),
            household_no=entry.household_no,
        )
        if was_added:
            added += 1
        else:
            updated += 1
    return ImportReport(added=added, updated=updated, problems=problems)
