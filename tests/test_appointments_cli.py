"""`python -m app hall-capacity`: a hall's places per half-day for an appointment group, changed from now on."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.test_cli import run_cli

pytestmark = pytest.mark.anyio


async def test_hall_capacity_changes_a_halls_places_and_is_audited(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    result = run_cli(database_url, tmp_path, "hall-capacity", "tianning", "id_card", "--am", "8")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "天宁区政务服务中心 id_card: 上午8个 per half-day from now on"
    places = await pool.fetch(
        "SELECT half, places FROM appointment_capacity WHERE hall_id = 'tianning' AND group_code = 'id_card' "
        "ORDER BY half"
    )
    assert [tuple(p) for p in places] == [("am", 8), ("pm", 15)]  # the afternoon as it was
    audited = await pool.fetchrow("SELECT actor, subject, detail FROM audit_log WHERE action = 'hall.capacity'")
    assert audited["actor"] == "cli" and audited["subject"] == "hall:tianning"
    assert audited["detail"] == {"group": "id_card", "am": 8}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nowhere", "id_card", "--am", "5"], "没有找到该办事大厅"),
        (["tianning", "no_group", "--pm", "5"], "没有预约分组 no_group"),
        (["tianning", "id_card", "--pm", "-1"], "每个半天的号源应在0到1000之间"),
        (["tianning", "id_card"], "give --am and/or --pm"),
    ],
)
def test_hall_capacity_refuses_what_does_not_fit(database_url: str, tmp_path: Path, args: list[str], says: str) -> None:
    result = run_cli(database_url, tmp_path, "hall-capacity", *args)
    assert result.returncode == 2 and says in result.stderr, result.stderr
