"""Which residents a member of staff serves, by region code."""

from __future__ import annotations

import pytest

from auth.scope import region_prefix, serves


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("320400", "3204"),  # 常州市: its districts are 3204xx
        ("320000", "32"),  # 江苏省
        ("320402", "320402"),  # 天宁区
        ("320412001", "320412001"),  # a town
        ("320412001001", "320412001001"),  # a village
    ],
)
def test_the_prefix_of_a_region_is_what_every_region_inside_it_starts_with(code: str, prefix: str) -> None:
    assert region_prefix(code) == prefix


@pytest.mark.parametrize(
    ("staff", "resident", "served"),
    [
        ("320400", "320412001001", True),
        ("320412", "320412001001", True),
        ("320412001", "320412001001", True),
        ("320402", "320412001001", False),
        ("320412002", "320412001001", False),
        ("320400", "320500001001", False),  # 苏州
        ("320400", None, False),
        (None, "320412001001", False),
        ("", "320412001001", False),
    ],
)
def test_staff_serve_the_residents_of_their_region_only(staff: str | None, resident: str | None, served: bool) -> None:
    assert serves(staff, resident) is served
