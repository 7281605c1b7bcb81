"""一事不二办: which cases are about the same subject, as data — one rule per kind of subject, and the pure functions
that apply them. app/cases/duplicate_flow.py runs them against the database when a case is submitted.

A rule covers the service items that would be done twice for one subject (a birth's 出生医学证明, 户口登记 … ; a death's
户口注销 …), names the answers that identify the subject (the mother's number; the deceased's; the person retiring;
the company's name in the applicant's district), and how two cases about that subject compare:

- **exact**: every item of the rule the new case asks for is already alive (not refused, not withdrawn) in the earlier
  case and, for a birth, the child's birth date and name are the same (a name left out of a single item's form, such
  as 生育津贴's, does not count against it) — the new one is refused (or, for someone who is no party of the earlier
  case, flagged: they are not told);
- **near**: some items overlap and, for a birth, the birth dates are at most `near_days` apart: a similar or different
  name, a date a day off, twins — flagged to the window clerk, who merges or keeps both.

A mother cannot give birth twice within two days except to twins, so any two births of one mother within the window
are at least near; a later sibling is none.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any

import msgspec

from app.people.identity import id_number_problem, normalize_id_number
from i18n import N_, _, ngettext

DISTRICT = "@district"  # a subject part that is not an answer: the applicant's registered district (六位代码)

BIRTH_ITEMS = frozenset({"CZ-WJ-001", "CZ-WJ-002", "CZ-GA-001", "CZ-YB-001", "CZ-RS-001", "CZ-YB-002"})
DEATH_ITEMS = frozenset({"CZ-WJ-003", "CZ-GA-003", "CZ-MZ-001", "CZ-RS-004", "CZ-YB-004", "CZ-RS-005", "CZ-GJJ-003"})
RETIREMENT_ITEMS = frozenset({"CZ-RS-003", "CZ-GJJ-002", "CZ-YB-003"})
COMPANY_REGISTRATION = frozenset({"CZ-SJ-001"})


class SubjectRule(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    items: frozenset[str]
    # The answers whose normalised values name the subject (an `….id_number` is compared as a 公民身份号码); DISTRICT:
    # the applicant's registered district.
    subject: tuple[str, ...]
    # For a birth: the date compared within ±near_days, and the name compared for the same or a similar one.
    date_field: str | None = None
    near_days: int = 0
    name_field: str | None = None
    # Where the subject is public anyway, the answer that tells anyone it is taken, beside this field: whether a
    # company name is taken in a district is what 企业名称自主申报 tells everyone, and the filer's fix is another name.
    # Elsewhere (None) only a party of the earlier case is told; anyone else's filing is made and flagged, so filing
    # with a stranger's number learns nothing.
    taken_field: str | None = None
    taken: str = ""
    # How long a case that has ended still counts (an open one always does).
    recent_days: int = 365


RULES: tuple[SubjectRule, ...] = (
    SubjectRule(
        kind="birth",
        items=BIRTH_ITEMS,
        subject=("mother.id_number",),
        date_field="child.birth_date",
        near_days=2,
        name_field="child.name",
    ),
    SubjectRule(kind="death", items=DEATH_ITEMS, subject=("deceased.id_number",)),
    SubjectRule(kind="retirement", items=RETIREMENT_ITEMS, subject=("applicant.id_number",)),
    SubjectRule(
        kind="company",
        items=COMPANY_REGISTRATION,
        subject=("company.name", DISTRICT),
        taken_field="company.name",
        taken=N_("本区已有同名企业的设立登记申请正在办理，请更换企业名称（可在名称中加字号或行业特点）"),
        recent_days=180,
    ),
)


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    """One side of a comparison: a case's answers, and its items (the new case's asked for; the earlier case's still
    alive)."""

    answers: Mapping[str, Any]
    items: frozenset[str]


class Match(msgspec.Struct, frozen=True, kw_only=True):
    exact: bool
    reason: str  # no personal data: 出生日期相同；姓名相同


def rule_for(items: frozenset[str]) -> SubjectRule | None:
    """The rule whose items the case asks for (at most one applies to any life event or single item)."""
    return next((rule for rule in RULES if rule.items & items), None)


def normalised_text(value: str) -> str:
    """A name as compared: full-width folded (NFKC), no spaces or separating dots, case-insensitive."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "·•‧・.")


def _part(key: str, answers: Mapping[str, Any], district: str | None) -> str | None:
    if key == DISTRICT:
        return district or None
    raw = answers.get(key)
    if not isinstance(raw, str) or not raw.strip():
        return None
    if key.endswith(".id_number"):
        return None if id_number_problem(raw) else normalize_id_number(raw)
    return normalised_text(raw) or None


def subject_text(rule: SubjectRule, answers: Mapping[str, Any], district: str | None) -> str | None:
    """What the subject key is made of (then keyed: never stored as it is); None when an answer naming it is missing
    (the case cannot be compared, and is not refused)."""
    parts = [_part(key, answers, district) for key in rule.subject]
    if any(part is None for part in parts):
        return None
    return "|".join([rule.kind, *(part for part in parts if part is not None)])


def similar_names(a: str, b: str) -> bool:
    """The same name, or one character typed differently, left out or added (张小明 / 张晓明)."""
    a, b = normalised_text(a), normalised_text(b)
    if a == b:
        return True
    if min(len(a), len(b)) < 2 or abs(len(a) - len(b)) > 1:
        return False
    return _edits(a, b) <= 1


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (names are a few characters long)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and normalised_text(value) else None


def classify(rule: SubjectRule, new: Facts, earlier: Facts) -> Match | None:
    """How a new case about the subject of an earlier one compares with it (both already share the subject key); None
    when they are not the same matter (no item in common, or a birth more than near_days apart)."""
    asked = rule.items & new.items
    shared = asked & earlier.items
    if not shared:
        return None
    reasons: list[str] = []
    same = True
    if rule.date_field is not None:
        ours, theirs = _day(new.answers.get(rule.date_field)), _day(earlier.answers.get(rule.date_field))
        apart = abs((ours - theirs).days) if ours and theirs else None
        if apart is None or apart > rule.near_days:
            return None
        if apart == 0:
            reasons.append(N_("出生日期相同"))
        else:
            reasons.append(ngettext("出生日期相差%(apart)s天", "出生日期相差%(apart)s天", apart) % {"apart": apart})
        same = apart == 0
    if rule.name_field is not None:
        ours_name, theirs_name = _name(new.answers.get(rule.name_field)), _name(earlier.answers.get(rule.name_field))
        if ours_name and theirs_name:
            if normalised_text(ours_name) == normalised_text(theirs_name):
                reasons.append(N_("姓名相同"))
            else:
                same = False
                reasons.append(
                    N_("姓名相近") if similar_names(ours_name, theirs_name) else N_("姓名不同（是否为双胞胎？）")
                )
    if shared != asked:
        same = False
        reasons.append(
            _("%(len)s个事项已在另一办件中办理，另有%(len2)s个事项没有")
            % {"len": len(shared), "len2": len(asked - shared)}
        )
    elif not reasons:
        reasons.append(N_("同一对象的同一事项"))
    return Match(exact=same, reason="；".join(reasons))
