"""撤回申请 over HTTP against PostgreSQL: the applicant's side (the applicant, the helper under a live delegation, the
organisation's legal representative or 经办人) withdraws the tasks of a case not yet decided — all of them or chosen
ones — with an optional reason; each says 申请人撤回申请 on the timeline and in the inbox, leaves the staff's queue
and supervision's overdue list; a decided task stays. A party linked to the case, a stranger, a helper whose
delegation ended and a 经办人 whose authority ended may not (security: each of these tests failed with the guard
taken out of app/cases/withdrawal.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from app.stats import service as stats
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.birth_helpers import birth_answers, born_days_ago
from tests.case_helpers import submission_for, upload_required_materials

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], Client]
CHEN = {"name": "陈晓峰", "id_number": "320411198811021297"}  # no relation of 李娜's or 张伟's
VACCINATION = "CZ-WJ-002"  # 预防接种证办理: 区级, 卫健 of the applicant's district


async def _resident(another_client: MakeClient, person: dict[str, str]) -> Client:
    client = another_client()
    assert (await sign_up(client, new_authenticator(), person)).status_code == 201
    return client


async def _birth_case(client: Client, key: str) -> dict[str, Any]:
    """张伟 (signed in) files 新生儿出生 with every item: the case as his API reads it."""
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", key))
    assert created.status_code == 201, created.text
    return (await client.get(f"/api/v1/cases/{created.json()['case_no']}")).json()


async def _statuses(pool: asyncpg.Pool, case_no: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT DISTINCT t.status FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1 ORDER BY 1",
        case_no,
    )
    return [r["status"] for r in rows]


def _withdraw_path(case_no: str) -> str:
    return f"/api/v1/cases/{case_no}/withdraw"


async def _staff(another_client: MakeClient, pool: asyncpg.Pool, settings: Settings, **who: Any) -> Client:
    client = another_client()
    await staff_client_sign_up(client, pool, settings.secret_key, **who)
    return client


async def _window_clerk(another_client: MakeClient, pool: asyncpg.Pool, settings: Settings) -> Client:
    """天宁's 综合窗口 (its hall receives 张伟's online cases)."""
    return await _staff(
        another_client, pool, settings, name="王窗口", role="clerk", region="320402", department="police"
    )


# --- the applicant --------------------------------------------------------------------------------------------------


async def test_the_applicant_withdraws_the_whole_case_each_task_says_so_and_the_queue_drops_them(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-whole-1")
    case_no, task_ids = case["case_no"], {t["id"] for t in case["tasks"]}
    clerk = await _window_clerk(another_client, pool, settings)
    queued = {t["id"] for t in (await clerk.get("/api/v1/console/tasks")).json() if t["case_no"] == case_no}
    assert queued == task_ids

    words = "孩子户口改在老家办理"
    answer = await post(client, _withdraw_path(case_no), {"reason": "no_longer_needed", "reason_text": words})

    assert answer.status_code == 200, answer.text
    withdrawn = answer.json()
    assert withdrawn["case_no"] == case_no
    assert (withdrawn["status"], withdrawn["status_label"]) == ("withdrawn", "已撤回")
    assert {(t["status"], t["status_label"]) for t in withdrawn["tasks"]} == {("withdrawn", "已撤回")}
    steps = [e for e in withdrawn["timeline"] if e["status"] == "withdrawn"]
    names = {t["id"]: t["item_name"] for t in case["tasks"]}
    assert sorted((e["task_id"], e["title"]) for e in steps) == sorted(
        (task_id, f"{name}：申请人撤回申请") for task_id, name in names.items()
    )
    assert {e["note"] for e in steps} == {f"不再需要办理。{words}"}
    inbox = (await client.get("/api/v1/notifications")).json()["items"]
    assert sum("申请人撤回申请" in entry["body"] for entry in inbox) == len(task_ids)
    # The staff's queue no longer holds them; the case's history on the console says why, the applicant's words too.
    assert not [t for t in (await clerk.get("/api/v1/console/tasks")).json() if t["case_no"] == case_no]
    console = await clerk.get(f"/console/cases/{case_no}")
    assert console.status_code == 200 and "申请人撤回申请" in console.text and words in console.text
    # The public tracking page says 已撤回, never the words.
    tracking = (await client.get(f"/api/v1/track/{withdrawn['tracking_url'].rsplit('/', 1)[1]}")).json()
    assert tracking["status_label"] == "已撤回" and words not in str(tracking)
    audited = await pool.fetchrow(
        "SELECT outcome, detail->>'reason' AS reason, detail->>'acting_as' AS acting_as FROM audit_log "
        "WHERE action = 'case.withdraw'"
    )
    assert audited is not None and dict(audited) == {
        "outcome": "ok",
        "reason": "no_longer_needed",
        "acting_as": "applicant",
    }

    # A repeat (a retried request, a second tap) answers as the first did and changes nothing.
    events = await pool.fetchval("SELECT count(*) FROM timeline_events")
    again = await post(client, _withdraw_path(case_no), {"reason": "no_longer_needed", "reason_text": words})
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "withdrawn"
    assert await pool.fetchval("SELECT count(*) FROM timeline_events") == events
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'case.withdraw'") == 1


async def test_chosen_tasks_are_withdrawn_and_the_others_go_on(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-chosen-1")
    gone = next(t for t in case["tasks"] if t["item_code"] == VACCINATION)

    answer = await post(client, _withdraw_path(case["case_no"]), {"task_ids": [gone["id"]]})

    assert answer.status_code == 200, answer.text
    statuses = {t["id"]: t["status"] for t in answer.json()["tasks"]}
    assert statuses.pop(gone["id"]) == "withdrawn"
    assert set(statuses.values()) == {"submitted"}
    assert answer.json()["status"] == "submitted"  # the case is where its tasks not withdrawn are
    [step] = [e for e in answer.json()["timeline"] if e["status"] == "withdrawn"]
    assert step["task_id"] == gone["id"] and step["note"] is None  # no reason given: none invented


async def test_a_task_already_decided_stays_and_naming_it_is_refused_with_the_reason(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-decided-1")
    case_no = case["case_no"]
    decided = next(t for t in case["tasks"] if t["item_code"] == VACCINATION)
    clerk = await _window_clerk(another_client, pool, settings)
    approver = await _staff(
        another_client, pool, settings, name="刘审批", role="approver", region="320402", department="health"
    )
    for actor, action in [(clerk, "accept"), (approver, "review"), (approver, "approve"), (approver, "complete")]:
        moved = await post(actor, f"/api/v1/console/tasks/{decided['id']}/transition", {"action": action})
        assert moved.status_code == 200, moved.text

    refused = await post(client, _withdraw_path(case_no), {"task_ids": [decided["id"]]})

    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"].startswith(f"“{decided['item_name']}”已办结")
    assert "不能撤回" in refused.json()["detail"]
    assert refused.json()["not_withdrawable"] == [decided["id"]]
    # The whole case: the others are withdrawn, the completed one stays as it is (its certificate too).
    whole = await post(client, _withdraw_path(case_no), {})
    assert whole.status_code == 200, whole.text
    statuses = {t["id"]: t["status"] for t in whole.json()["tasks"]}
    assert statuses.pop(decided["id"]) == "completed"
    assert set(statuses.values()) == {"withdrawn"}
    assert whole.json()["status"] == "completed"
    # Finished and withdrawn: the case as a whole may be rated now.
    assert (await post(client, f"/api/v1/cases/{case_no}/reviews", {"level": 5})).status_code == 201


async def test_a_case_with_nothing_left_to_withdraw_says_why(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-nothing-1")
    clerk = await _window_clerk(another_client, pool, settings)
    for task in case["tasks"]:
        refused = await post(
            clerk, f"/api/v1/console/tasks/{task['id']}/transition", {"action": "reject", "note": "不属于本市办理"}
        )
        assert refused.status_code == 200, refused.text

    answer = await post(client, _withdraw_path(case["case_no"]), {"reason": "other"})

    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"].startswith("该办件没有可以撤回的事项")
    assert "不予受理" in answer.json()["detail"]


async def test_what_is_sent_is_checked_field_by_field(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-fields-1")
    path = _withdraw_path(case["case_no"])

    bad = await post(client, path, {"reason": "bored", "reason_text": "字" * 201})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"reason", "reason_text"}
    assert "不要超过200个字" in bad.json()["errors"]["reason_text"]
    assert (await post(client, path, {"task_ids": []})).json()["errors"] == {"task_ids": "请至少选择一个要撤回的事项"}
    unknown = await post(client, path, {"task_ids": [2**40]})
    assert unknown.status_code == 404
    assert {t["status"] for t in (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["tasks"]} == {
        "submitted"
    }


# --- who may not ------------------------------------------------------------------------------------------------------


async def test_a_party_linked_to_the_case_reads_it_but_may_not_withdraw_it(
    another_client: MakeClient, pool: asyncpg.Pool
) -> None:
    """一事不二办: the father's own filing of the same birth was refused and linked him to the mother's case."""
    mother, father = await _resident(another_client, LI_NA), await _resident(another_client, ZHANG_WEI)
    born = born_days_ago(3)

    async def birth(parent: Client, key: str) -> httpx.Response:
        form = (await parent.get("/api/v1/life-events/birth/form")).json()
        uploads = await upload_required_materials(parent, "birth", form)
        body = {"life_event": "birth", "data": birth_answers(form, born), "idempotency_key": key, "uploads": uploads}
        return await post(parent, "/api/v1/cases", body)

    case_no = (await birth(mother, "withdraw-linked-mother")).json()["case_no"]
    again = await birth(father, "withdraw-linked-father")
    assert again.status_code == 409 and again.json()["case_no"] == case_no
    assert (await father.get(f"/api/v1/cases/{case_no}")).json()["linked_as"] == "父亲"

    refused = await post(father, _withdraw_path(case_no), {})

    assert refused.status_code == 403, refused.text
    assert "撤回申请须由申请人本人办理" in refused.json()["detail"]
    assert {t["status"] for t in (await mother.get(f"/api/v1/cases/{case_no}")).json()["tasks"]} == {"submitted"}
    assert (
        await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'case.withdraw' AND outcome = 'forbidden'")
        == 1
    )
    # His case page reads the case and offers nothing to withdraw; the confirmation is not his either.
    page = await father.get(f"/cases/{case_no}")
    assert page.status_code == 200 and "关联办件" in page.text and "撤回申请" not in page.text
    assert (await father.get(f"/cases/{case_no}/withdraw")).status_code == 403


async def test_someone_elses_case_looks_like_no_case_and_staff_may_not_withdraw_it(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-stranger-1")
    stranger = await _resident(another_client, CHEN)

    assert (await post(stranger, _withdraw_path(case["case_no"]), {})).status_code == 404
    assert (await post(stranger, _withdraw_path("CZ20990101999999"), {})).status_code == 404
    assert (await stranger.get(f"/cases/{case['case_no']}/withdraw")).status_code == 404
    clerk = await _window_clerk(another_client, pool, settings)
    assert (await post(clerk, _withdraw_path(case["case_no"]), {})).status_code == 403
    assert {t["status"] for t in (await client.get(f"/api/v1/cases/{case['case_no']}")).json()["tasks"]} == {
        "submitted"
    }


# --- a helper, an organisation -----------------------------------------------------------------------------------


async def test_the_helper_withdraws_for_their_client_while_the_delegation_lives_and_no_other_helper_may(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    from tests.test_delegations_http import ELDER, VILLAGE, _file_retirement, delegation_body

    helper = await _staff(another_client, pool, settings, name="陈帮办", role="helper", region=VILLAGE)
    delegated = await post(helper, "/api/v1/delegations", delegation_body(ELDER))
    assert delegated.status_code == 201, delegated.text
    first = (await _file_retirement(helper, ELDER, "withdraw-helper-1")).json()["case_no"]
    other_helper = await _staff(another_client, pool, settings, name="李帮办", role="helper", region=VILLAGE)
    assert (await post(other_helper, _withdraw_path(first), {})).status_code == 404
    assert await _statuses(pool, first) == ["submitted"]

    # A withdrawal ends the client's application: the helper says the client is beside them and agreed.
    unconfirmed = await post(helper, _withdraw_path(first), {"reason": "other_channel"})
    assert unconfirmed.status_code == 400 and "本人在场" in unconfirmed.json()["errors"]["client_present"]
    assert await _statuses(pool, first) == ["submitted"]

    answer = await post(helper, _withdraw_path(first), {"reason": "other_channel", "client_present": True})

    assert answer.status_code == 200, answer.text
    assert {t["status"] for t in answer.json()["tasks"]} == {"withdrawn"}
    assert answer.json()["applicant_id_masked"] == "320481********2050"  # the helper's receipt view of it
    acting = await pool.fetchrow(
        "SELECT detail->>'acting_as' AS acting_as, detail->>'client_present' AS present FROM audit_log "
        "WHERE action = 'case.withdraw'"
    )
    assert (acting["acting_as"], acting["present"]) == ("helper", "true")

    # Once the client's delegation is revoked, their next case is no longer the helper's to withdraw.
    second = (await _file_retirement(helper, ELDER, "withdraw-helper-2")).json()["case_no"]
    revoked = await helper.delete(f"/api/v1/delegations/{delegated.json()['id']}", headers=await csrf(helper))
    assert revoked.status_code == 204, revoked.text
    refused = await post(helper, _withdraw_path(second), {"client_present": True})
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"].startswith("没有有效的代办授权")
    assert await _statuses(pool, second) == ["submitted"]


async def test_the_helper_withdraws_from_the_receipt_on_the_tablet_without_javascript(
    pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    from tests.test_delegations_http import ELDER, VILLAGE, _file_retirement, delegation_body

    helper = await _staff(another_client, pool, settings, name="陈帮办", role="helper", region=VILLAGE)
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    case_no = (await _file_retirement(helper, ELDER, "withdraw-helper-page-1")).json()["case_no"]
    receipt = await helper.get(f"/helper/cases/{case_no}/receipt")
    assert f'href="/helper/cases/{case_no}/withdraw"' in receipt.text

    confirm = await helper.get(f"/helper/cases/{case_no}/withdraw")
    assert confirm.status_code == 200, confirm.text
    assert f'action="/helper/cases/{case_no}/withdraw"' in confirm.text and "经其同意后再撤回" in confirm.text
    task_ids = [int(i) for i in re.findall(r'name="task_id" value="(\d+)" checked', confirm.text)]
    assert len(task_ids) == 3  # 退休: 人社, 公积金, 医保
    assert 'name="client_present"' in confirm.text and "本人在场，同意撤回" in confirm.text
    chosen = {"task_id": [str(i) for i in task_ids], "reason": "other_channel"}
    unconfirmed = await helper.post(f"/helper/cases/{case_no}/withdraw", data=chosen, headers=await csrf(helper))
    assert unconfirmed.status_code == 400 and 'href="#withdraw-client_present"' in unconfirmed.text
    assert 'value="other_channel" checked' in unconfirmed.text  # what was chosen is kept
    assert await _statuses(pool, case_no) == ["submitted"]
    done = await helper.post(
        f"/helper/cases/{case_no}/withdraw", data={**chosen, "client_present": "yes"}, headers=await csrf(helper)
    )

    assert done.status_code == 303 and done.headers["location"] == f"/helper/cases/{case_no}/receipt?notice=withdrawn"
    after = await helper.get(done.headers["location"])
    assert "已撤回申请" in after.text and after.text.count("<strong>已撤回</strong>") == len(task_ids)
    assert f'href="/helper/cases/{case_no}/withdraw"' not in after.text
    assert await _statuses(pool, case_no) == ["withdrawn"]


async def test_the_organisations_case_is_withdrawn_by_those_who_act_for_it_now(
    pool: asyncpg.Pool, another_client: MakeClient
) -> None:
    """法人办事: the 经办人 who filed it may withdraw it while authorised; once their authority ends they may not,
    though they filed it; the legal representative may."""
    from tests.auth_helpers import resident
    from tests.org_helpers import HUANG_LEI, LEIDA, authorise, file_for_leida

    huang = await resident(another_client, HUANG_LEI)
    zhang = await resident(another_client, ZHANG_WEI)
    agent_id = await authorise(huang, ZHANG_WEI)
    first = await file_for_leida(zhang, "business", "withdraw-org-1")
    assert first.status_code == 201, first.text
    by_agent = await post(zhang, _withdraw_path(first.json()["case_no"]), {"reason": "refile"})
    assert by_agent.status_code == 200, by_agent.text
    assert {t["status"] for t in by_agent.json()["tasks"]} == {"withdrawn"}
    # Withdrawn to be filed again: the same matter is no duplicate of a withdrawn case (一事不二办).
    second = await file_for_leida(zhang, "business", "withdraw-org-2")
    assert second.status_code == 201, second.text

    revoked = await zhang.delete(f"/api/v1/organisations/{LEIDA}/agents/{agent_id}", headers=await csrf(zhang))
    assert revoked.status_code == 204
    refused = await post(zhang, _withdraw_path(second.json()["case_no"]), {})
    assert refused.status_code == 403, refused.text
    by_legal_rep = await post(huang, _withdraw_path(second.json()["case_no"]), {})
    assert by_legal_rep.status_code == 200, by_legal_rep.text
    acting = await pool.fetch(
        "SELECT detail->>'acting_as' AS a FROM audit_log WHERE action = 'case.withdraw' ORDER BY id"
    )
    assert [r["a"] for r in acting] == ["organisation", "organisation"]


# --- deadlines, supervision, statistics ----------------------------------------------------------------------------


async def test_a_withdrawn_task_is_never_overdue_nor_counted_as_completed(
    client: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-deadline-1")
    case_no = case["case_no"]
    # Its promised dates long past: the district's supervisor sees it overdue.
    await pool.execute(
        "UPDATE tasks SET due_on = $2 WHERE case_id = (SELECT id FROM cases WHERE case_no = $1)",
        case_no,
        date.today() - timedelta(days=30),
    )
    supervisor = await _staff(another_client, pool, settings, name="天宁督查", role="supervisor", region="320402")
    assert case_no in (await supervisor.get("/api/v1/console/supervision")).text

    assert (await post(client, _withdraw_path(case_no), {})).status_code == 200

    assert case_no not in (await supervisor.get("/api/v1/console/supervision")).text
    await stats.fold(pool)
    counted = await pool.fetchrow(
        "SELECT sum(received) AS received, sum(completed) AS completed FROM stats_daily WHERE item_code = ANY($1)",
        [t["item_code"] for t in case["tasks"]],
    )
    # Received when filed (it was an application), never completed: not in 办结量, 按时办结率 nor 平均办理时长.
    assert counted is not None and (counted["received"], counted["completed"]) == (len(case["tasks"]), 0)


# --- the pages ------------------------------------------------------------------------------------------------------


async def test_the_case_page_offers_it_and_the_confirmation_works_without_javascript(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await _birth_case(client, "withdraw-page-1")
    case_no = case["case_no"]
    page = await client.get(f"/cases/{case_no}")
    assert f'href="/cases/{case_no}/withdraw"' in page.text and "撤回后不可恢复" in page.text

    confirm = await client.get(f"/cases/{case_no}/withdraw")
    assert confirm.status_code == 200
    assert "<h1" in confirm.text and "撤回后不可恢复" in confirm.text and "已办结的事项不受影响" in confirm.text
    assert all(f'name="task_id" value="{t["id"]}" checked' in confirm.text for t in case["tasks"])
    fragment = await client.get(f"/cases/{case_no}/withdraw", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "autofocus" in fragment.text

    gone = next(t for t in case["tasks"] if t["item_code"] == VACCINATION)
    too_long = await client.post(
        f"/cases/{case_no}/withdraw",
        data={"task_id": str(gone["id"]), "reason_text": "字" * 201},
        headers=await csrf(client),
    )
    assert too_long.status_code == 400 and 'href="#withdraw-reason_text"' in too_long.text
    none_chosen = await client.post(f"/cases/{case_no}/withdraw", data={"reason": "other"}, headers=await csrf(client))
    assert none_chosen.status_code == 400 and "请至少选择一个要撤回的事项" in none_chosen.text

    done = await client.post(
        f"/cases/{case_no}/withdraw",
        data={"task_id": str(gone["id"]), "reason": "refile", "reason_text": "出生日期填错了"},
        headers=await csrf(client),
    )
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{case_no}?notice=withdrawn"
    after = await client.get(done.headers["location"])
    assert "已撤回申请" in after.text and f"{gone['item_name']}：申请人撤回申请" in after.text
    assert "撤回说明：</span>申请信息有误，准备重新申请。出生日期填错了" in after.text
    statuses = {t["id"]: t["status"] for t in (await client.get(f"/api/v1/cases/{case_no}")).json()["tasks"]}
    assert statuses.pop(gone["id"]) == "withdrawn" and set(statuses.values()) == {"submitted"}
