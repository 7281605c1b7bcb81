"""Whose queue a task is in, now that the queue reads the receiving hall off the task row (migration 0042): the hall
that received a case at its window and the office it is routed to both hold it, a hall of neither does not, and an
online case follows its applicant when the population register moves them (as app.cases.workflow.in_scope does)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for
from tests.test_cli import run_cli
from tests.window_helpers import file_walk_in, receive_walk_in_births

pytestmark = pytest.mark.anyio

Client = httpx.AsyncClient
TIANNING, WUJIN, XINBEI = "320402", "320412", "320411"


async def _clerk(make: Callable[[], Client], pool: asyncpg.Pool, settings: Settings, region: str) -> Client:
    client = make()
    await staff_client_sign_up(
        client, pool, settings.secret_key, name=f"窗口{region}", role="clerk", region=region, department="hrss"
    )
    return client


async def _queue(clerk: Client) -> set[int]:
    """Every task in the clerk's queue, page after page of the API."""
    shown: set[int] = set()
    cursor: str | None = None
    while True:
        answer = await clerk.get("/api/v1/console/tasks", params={"cursor": cursor} if cursor else None)
        assert answer.status_code == 200, answer.text
        shown |= {task["id"] for task in answer.json()}
        if not (cursor := answer.headers.get("x-next-cursor")):
            return shown


async def _routed(pool: asyncpg.Pool, case_no: str) -> dict[int, str | None]:
    """The case's tasks and the office each is routed to (None: 全城通办, no office yet)."""
    rows = await pool.fetch(
        "SELECT t.id, t.office_region FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1", case_no
    )
    return {r["id"]: r["office_region"] for r in rows}


def _routed_to(routed: dict[int, str | None], region: str) -> set[int]:
    return {task for task, office in routed.items() if office is not None and office.startswith(region)}


async def _opens(clerk: Client, case_no: str) -> bool:
    return (await clerk.get(f"/api/v1/console/cases/{case_no}")).status_code == 200


async def test_a_case_received_at_another_districts_hall_is_in_that_halls_queue_and_the_routed_offices(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    # 王建国 lives in 武进; the 天宁 hall receives him at its window (全城通办: any hall) and files a 新生儿出生.
    tianning = await _clerk(lambda: client, pool, settings, TIANNING)
    filed = await file_walk_in(tianning, (await receive_walk_in_births(tianning))(), "scope-walk-in-1")
    assert filed.status_code == 201, filed.text
    case_no = filed.json()["case_no"]
    routed = await _routed(pool, case_no)
    untaken = {task for task, office in routed.items() if office is None}
    wujin, xinbei = [await _clerk(another_client, pool, settings, r) for r in (WUJIN, XINBEI)]

    assert set(routed) <= await _queue(tianning)  # the receiving hall: every task of the case
    assert await _queue(wujin) & set(routed) == _routed_to(routed, WUJIN) | untaken  # the routed office: its own
    assert await _queue(xinbei) & set(routed) == untaken  # neither: only what no office has taken (全城通办)
    assert _routed_to(routed, WUJIN), routed  # (the case has tasks of the applicant's district to show there)
    assert await _opens(tianning, case_no) and await _opens(wujin, case_no)


async def test_an_online_cases_tasks_follow_the_applicant_the_register_moves_to_another_district(
    client: Client,
    another_client: Callable[[], Client],
    pool: asyncpg.Pool,
    settings: Settings,
    database_url: str,
    tmp_path: Path,
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)  # 张伟 lives in 天宁: its hall receives his online case
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "scope-online-1"))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    routed = await _routed(pool, case_no)
    untaken = {task for task, office in routed.items() if office is None}
    tianning, wujin = [await _clerk(another_client, pool, settings, r) for r in (TIANNING, WUJIN)]
    assert set(routed) <= await _queue(tianning)
    assert await _queue(wujin) & set(routed) == _routed_to(routed, WUJIN) | untaken

    # The register moves him to 武进: the 武进 hall receives his case now; 天宁 keeps only what its offices handle.
    register = tmp_path / "moved.csv"
    register.write_text(
        f"id_number,name,phone,region_code\n{ZHANG_WEI['id_number']},{ZHANG_WEI['name']},13800000001,320412001001\n",
        encoding="utf-8",
    )
    imported = run_cli(database_url, tmp_path, "import-population", str(register))
    assert imported.returncode == 0, imported.stderr

    assert set(routed) <= await _queue(wujin)
    assert await _opens(wujin, case_no)
    assert await _queue(tianning) & set(routed) == _routed_to(routed, TIANNING) | untaken
    assert await _opens(tianning, case_no) == bool(_routed_to(routed, TIANNING) | untaken)
