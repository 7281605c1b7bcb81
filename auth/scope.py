"""Which residents a member of staff serves: those living in the staff member's region (the hall's area).

Region codes nest by prefix below the county level (320402 天宁区 ⊃ 320402001 ⊃ 320402001001), but a city or
province code ends in zero pairs (320400 常州市, 320000 江苏省) that its districts do not share: 320402 does
not start with 320400. The part that nests is the code without those trailing zero pairs.
"""

from __future__ import annotations

_COUNTY_DIGITS = 6
CITY = "320400"  # 常州市: every hall in it receives every resident of it (全城通办)


def region_prefix(code: str) -> str:
    """The prefix every region inside `code` starts with: 320400 → 3204, 320000 → 32, 320402 → 320402."""
    if len(code) != _COUNTY_DIGITS:
        return code
    prefix = code
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


def serves(staff_region: str | None, person_region: str | None) -> bool:
    """Whether staff of `staff_region` serve a resident of `person_region` (no region: no one)."""
    return bool(staff_region) and (person_region or "").startswith(region_prefix(staff_region or ""))


def in_city(person_region: str | None) -> bool:
    """Whether a resident is registered in Changzhou, so any of its halls receives them (全城通办)."""
    return serves(CITY, person_region)
