"""A resident answers a 补正告知 with files: every check on the task and case comes before anything is stored.

Uploads live in the database (`uploads.content`): a refused answer must leave no row behind — no file of a
case that is not the caller's, none for a task that is not waiting for a supplement, none from a batch that is
refused as a whole.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx
import pytest

from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import PNG_1X1, submission_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]


async def _file_birth(client: Client, person: dict[str, str], key: str) -> dict[str, int | str]:
    """`person` files 新生儿出生: the case number and its task ids by department."""
    await sign_up(client, new_authenticator(), person)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", key))
    assert created.status_code == 201, created.text
    case = (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()
    return {"case_no": case["case_no"], **{t["department"]: t["id"] for t in reversed(case["tasks"])}}


async def _ask_for_supplement(make: MakeClient, pool: asyncpg.Pool, settings: Settings, task_id: int) -> None:
    clerk = make()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    asked = await post(
        clerk, f"/api/v1/console/tasks/{task_id}/transition", {"action": "request_supplement", "note": "请补交户口簿"}
    )
    assert asked.status_code == 200, asked.text


async def _answer(client: Client, case_no: object, task_id: object, *files: tuple[str, bytes]) -> httpx.Response:
    return await client.post(
        f"/cases/{case_no}/tasks/{task_id}/supplement",
        data={"note": "已补"},
        files=[("file", (name, content, "image/png")) for name, content in files],
        headers=await csrf(client),
        follow_redirects=False,
    )


async def _stored(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM uploads")


async def _status(pool: asyncpg.Pool, task_id: object) -> str:
    return await pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id)


async def test_a_supplement_to_a_task_not_awaiting_one_stores_nothing(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _file_birth(client, ZHANG_WEI, "supplement-01")
    await _ask_for_supplement(another_client, pool, settings, case["police"])
    before = await _stored(pool)
    answer = await _answer(client, case["case_no"], case["health"], ("photo.png", PNG_1X1))
    assert answer.status_code == 409 and "不能执行该操作" in answer.text
    assert await _stored(pool) == before
    assert await _status(pool, case["health"]) == "submitted"


async def test_a_supplement_to_another_persons_case_or_task_stores_nothing(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    zhang = await _file_birth(client, ZHANG_WEI, "supplement-02")
    await _ask_for_supplement(another_client, pool, settings, zhang["police"])
    stranger = another_client()
    li = await _file_birth(stranger, LI_NA, "supplement-03")
    before = await _stored(pool)

    into_his_case = await _answer(stranger, zhang["case_no"], zhang["police"], ("photo.png", PNG_1X1))
    assert into_his_case.status_code == 403
    his_task_in_her_case = await _answer(stranger, li["case_no"], zhang["police"], ("photo.png", PNG_1X1))
    assert his_task_in_her_case.status_code == 403
    assert await _stored(pool) == before
    assert await _status(pool, zhang["police"]) == "supplement_requested"
    audited = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'task.transition' AND outcome = 'forbidden'"
    )
    assert audited == 2

    # His own task, named under another of his cases' numbers, is not that case's task either.
    other_case = await post(client, "/api/v1/cases", await submission_for(client, "retirement", "supplement-04"))
    assert other_case.status_code == 201, other_case.text
    wrong_case = await _answer(client, other_case.json()["case_no"], zhang["police"], ("photo.png", PNG_1X1))
    assert wrong_case.status_code == 404
    assert await _stored(pool) == before + len(await _retirement_uploads(pool, other_case.json()["case_no"]))
    assert await _status(pool, zhang["police"]) == "supplement_requested"


async def _retirement_uploads(pool: asyncpg.Pool, case_no: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT u.token FROM uploads u JOIN cases c ON c.id = u.case_id WHERE c.case_no = $1", case_no
    )
    return [r["token"] for r in rows]


async def test_twenty_one_files_are_refused_with_nothing_stored_and_twenty_are_taken(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _file_birth(client, ZHANG_WEI, "supplement-05")
    await _ask_for_supplement(another_client, pool, settings, case["police"])
    before = await _stored(pool)

    too_many = await _answer(client, case["case_no"], case["police"], *[(f"p{i}.png", PNG_1X1) for i in range(21)])
    assert too_many.status_code == 400 and "最多上传20个文件" in too_many.text
    assert 'id="supplement-file-error-' in too_many.text  # said beside the file field, not only at the top
    assert await _stored(pool) == before
    assert await _status(pool, case["police"]) == "supplement_requested"

    twenty = await _answer(client, case["case_no"], case["police"], *[(f"p{i}.png", PNG_1X1) for i in range(20)])
    assert twenty.status_code == 303
    assert await _stored(pool) == before + 20
    assert await _status(pool, case["police"]) == "resubmitted"


async def test_one_bad_file_among_good_ones_stores_none_of_them(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    case = await _file_birth(client, ZHANG_WEI, "supplement-06")
    await _ask_for_supplement(another_client, pool, settings, case["police"])
    before = await _stored(pool)
    answer = await _answer(
        client, case["case_no"], case["police"], ("good.png", PNG_1X1), ("bad.png", b"not an image at all")
    )
    assert answer.status_code == 400 and "PDF" in answer.text
    assert await _stored(pool) == before
    assert await _status(pool, case["police"]) == "supplement_requested"


async def test_an_answer_with_neither_a_file_nor_a_word_is_refused_and_the_task_keeps_waiting(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    """Pressing 提交补正 on an empty form must not tell the office the resident has answered (已补正)."""
    case = await _file_birth(client, ZHANG_WEI, "supplement-empty-1")
    await _ask_for_supplement(another_client, pool, settings, case["police"])
    empty = await client.post(
        f"/cases/{case['case_no']}/tasks/{case['police']}/supplement",
        data={"note": "   "},
        files=[("file", ("", b"", "application/octet-stream"))],  # a file input left empty
        headers=await csrf(client),
        follow_redirects=False,
    )
    assert empty.status_code == 400
    assert "请上传补正材料" in empty.text
    assert await _status(pool, case["police"]) == "supplement_requested"
    # A note alone is an answer (e.g. 原件已当面交窗口): the task goes back to the queue.
    worded = await client.post(
        f"/cases/{case['case_no']}/tasks/{case['police']}/supplement",
        data={"note": "户口簿原件已于今日交到天宁区政务服务中心窗口"},
        headers=await csrf(client),
        follow_redirects=False,
    )
    assert worded.status_code == 303, worded.text
    assert await _status(pool, case["police"]) == "resubmitted"
