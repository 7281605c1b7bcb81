"""一事不二办 over HTTP against PostgreSQL: an exact duplicate is refused (409, duplicate: true) to a party of the
earlier case, who is linked to it and reads it (only reads it) in 我的办件; anyone else learns nothing; near matches are
flagged to the window clerk, who merges or keeps both, on both timelines and in the audit log.

Demo people: 李娜 and 张伟 are married (a 结婚证 in both libraries); 陈晓峰 is a stranger to them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from app.cases import service as cases
from auth.pii import PiiCipher
from config.settings import Settings
from tests.auth_helpers import (
    LI_NA,
    ZHANG_WEI,
    csrf,
    new_authenticator,
    post,
    resident,
    sign_up,
    staff_client_sign_up,
)
from tests.birth_helpers import BirthDesk, birth_answers, born_days_ago
from tests.case_helpers import PNG_1X1, upload_required_materials

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
CHEN = {"name": "陈晓峰", "id_number": "320411198811021297"}  # no relation of 李娜's or 张伟's
HUANG_LEI = {"name": "黄磊", "id_number": "320411198309093113"}


async def _birth_body(
    client: Client, key: str, born: date, items: list[str] | None = None, **answers: Any
) -> dict[str, Any]:
    """新生儿出生 filed by the signed-in resident for 李娜's and 张伟's child; `items`: those chosen (按需组合)."""
    form = (await client.get("/api/v1/life-events/birth/form", params={"items": items} if items else {})).json()
    return {
        "life_event": "birth",
        "data": birth_answers(form, born, **answers),
        "idempotency_key": key,
        "uploads": await upload_required_materials(client, "birth", form),
        **({"items": items} if items else {}),
    }


async def _file_birth(client: Client, key: str, born: date, **answers: Any) -> httpx.Response:
    return await post(client, "/api/v1/cases", await _birth_body(client, key, born, **answers))


async def _my_cases(client: Client) -> dict[str, dict[str, Any]]:
    return {c["case_no"]: c for c in (await client.get("/api/v1/cases")).json()}


# --- exact duplicates ----------------------------------------------------------------------------------------------


async def test_the_other_parent_filing_the_same_birth_is_told_it_is_being_processed_and_finds_it_in_my_cases(
    another_client: Callable[[], Client], pool: asyncpg.Pool
) -> None:
    mother, father = await resident(another_client, LI_NA), await resident(another_client, ZHANG_WEI)
    born = born_days_ago(3)
    first = await _file_birth(mother, "dup-birth-mother", born)
    assert first.status_code == 201, first.text
    case_no = first.json()["case_no"]

    again = await _file_birth(father, "dup-birth-father", born)

    assert again.status_code == 409, again.text
    answer = again.json()
    assert answer["duplicate"] is True and answer["case_no"] == case_no
    assert answer["detail"].startswith("已有人为此事提交申请")
    assert "父亲" in answer["detail"] and "我的办件" in answer["detail"]
    assert await pool.fetchval("SELECT count(*) FROM cases") == 1
    # 张伟 is the father the mother's form names: the case is now in his 我的办件, read only.
    mine = await _my_cases(father)
    assert mine[case_no]["linked_as"] == "父亲"
    page = await father.get(f"/cases/{case_no}")
    assert page.status_code == 200 and "关联办件" in page.text and "您作为申请中的父亲关联了这件办件" in page.text
    assert "提交补正材料" not in page.text and "好差评" not in page.text
    assert (await father.get(f"/api/v1/cases/{case_no}")).json()["linked_as"] == "父亲"
    # The mother's own view is unchanged: her case, not a linked one.
    assert (await _my_cases(mother))[case_no]["linked_as"] is None
    audited = await pool.fetchrow(
        "SELECT outcome, detail->>'party' AS party, detail->>'linked' AS linked FROM audit_log "
        "WHERE action = 'case.duplicate'"
    )
    assert audited is not None and dict(audited) == {"outcome": "refused", "party": "父亲", "linked": "true"}


async def test_filing_the_same_matter_again_oneself_is_refused_with_the_case_to_follow(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    retirement = await _retirement_body(client, "dup-retire-1")
    first = await post(client, "/api/v1/cases", retirement)
    assert first.status_code == 201, first.text

    again = await post(client, "/api/v1/cases", await _retirement_body(client, "dup-retire-2"))

    assert again.status_code == 409, again.text
    assert again.json() == {
        "status_code": 409,
        "detail": f"您已为此事提交过申请（办件编号 {first.json()['case_no']}），正在办理中，无需重复提交。"
        "请在“我的办件”中查看进度。",
        "duplicate": True,
        "case_no": first.json()["case_no"],
    }
    # A retry with the first key is still the first case (idempotency comes before the search).
    retried = await post(client, "/api/v1/cases", retirement)
    assert retried.status_code == 201 and retried.json()["case_no"] == first.json()["case_no"]


async def _retirement_body(client: Client, key: str) -> dict[str, Any]:
    from tests.case_helpers import answers_for

    form = (await client.get("/api/v1/life-events/retirement/form")).json()
    return {
        "life_event": "retirement",
        "data": answers_for(form),
        "idempotency_key": key,
        "uploads": await upload_required_materials(client, "retirement", form),
    }


async def test_a_stranger_filing_a_birth_with_the_mothers_number_learns_nothing_and_the_clerk_is_told(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    """The 409 would tell anyone who types a woman's number and a date that she gave birth then: a stranger's filing is
    answered as any filing is, and the window clerk sees it beside the earlier case."""
    mother, stranger = await resident(another_client, LI_NA), await resident(another_client, CHEN)
    born = born_days_ago(4)
    earlier = (await _file_birth(mother, "dup-stranger-mother", born)).json()["case_no"]
    # A made-up case of his own for comparison: a birth nobody filed.
    control = await _file_birth(stranger, "dup-stranger-control", born - timedelta(days=30), child_name="某某")

    probe = await _file_birth(stranger, "dup-stranger-probe", born)

    assert probe.status_code == control.status_code == 201, probe.text
    assert set(probe.json()) == set(control.json()) == {"case_no", "tracking_token", "tracking_url"}
    assert earlier not in await _my_cases(stranger)
    assert (await stranger.get(f"/api/v1/cases/{earlier}")).status_code == 404
    assert (await stranger.get(f"/cases/{earlier}")).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM case_links") == 0
    flagged = await pool.fetchrow(
        "SELECT f.match, f.reason, e.case_no AS earlier FROM case_duplicates f JOIN cases c ON c.id = f.case_id "
        "JOIN cases e ON e.id = f.earlier_case_id WHERE c.case_no = $1",
        probe.json()["case_no"],
    )
    assert flagged is not None and dict(flagged) == {
        "match": "exact",
        "reason": "出生日期相同；姓名相同",
        "earlier": earlier,
    }
    # The key on the cases holds no number: 32 bytes of HMAC, the same for the same mother, unreadable without it.
    keys = await pool.fetch(
        "SELECT subject_key FROM cases WHERE case_no = ANY($1::text[])", [earlier, probe.json()["case_no"]]
    )
    assert len({bytes(k["subject_key"]) for k in keys}) == 1
    key = bytes(keys[0]["subject_key"])
    assert len(key) == 32 and LI_NA["id_number"].encode() not in key
    assert key == PiiCipher(settings.secret_key).subject_key(f"birth|{LI_NA['id_number']}")


async def test_a_party_linked_to_a_case_reads_it_but_cannot_act_on_it(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    """Read access only: a 补正 answer, the 补正告知书 and a rating stay the applicant's."""
    mother, father = await resident(another_client, LI_NA), await resident(another_client, ZHANG_WEI)
    born = born_days_ago(3)
    case_no = (await _file_birth(mother, "dup-read-mother", born)).json()["case_no"]
    assert (await _file_birth(father, "dup-read-father", born)).status_code == 409
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    task_id = (await desk.tasks(case_no))["CZ-WJ-001"]
    asked = await post(
        desk.clerk,
        f"/api/v1/console/tasks/{task_id}/transition",
        {"action": "request_supplement", "note": "请补传出生证明"},
    )
    assert asked.status_code == 200, asked.text

    notice = await father.get(f"/cases/{case_no}/tasks/{task_id}/notice")
    answer = await father.post(
        f"/cases/{case_no}/tasks/{task_id}/supplement",
        data={"note": "补上"},
        files={"file": ("scan.png", PNG_1X1, "image/png")},
        headers=await csrf(father),
    )
    rating = await post(father, f"/api/v1/cases/{case_no}/reviews", {"level": 5})

    assert notice.status_code == 404
    assert answer.status_code == 403
    assert rating.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM uploads WHERE material_code LIKE 'supplement:%'") == 0
    page = (await father.get(f"/cases/{case_no}")).text
    assert "需要您补正" not in page and "补正告知书" not in page
    # The mother, the applicant, still answers it.
    mine = (await mother.get(f"/cases/{case_no}")).text
    assert "需要您补正" in mine


async def test_a_party_linked_to_a_case_hears_of_its_steps_but_is_not_asked_to_act(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    """The linked father follows the case as he reads it: each step the resident sees reaches his inbox (and so his
    devices), a 补正告知 in words that do not ask him to act (the applicant answers it); an internal note does not."""
    mother, father = await resident(another_client, LI_NA), await resident(another_client, ZHANG_WEI)
    born = born_days_ago(3)
    case_no = (await _file_birth(mother, "dup-hears-mother", born)).json()["case_no"]
    assert (await _file_birth(father, "dup-hears-father", born)).status_code == 409
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    task_id = (await desk.tasks(case_no))["CZ-WJ-001"]
    moves = ({"action": "accept"}, {"action": "request_supplement", "note": "请补传出生证明"})
    for move in moves:
        moved = await post(desk.clerk, f"/api/v1/console/tasks/{task_id}/transition", move)
        assert moved.status_code == 200, moved.text
    internal = {"text": "内部：与医院核对中", "visibility": "internal"}
    assert (await post(desk.clerk, f"/api/v1/console/tasks/{task_id}/notes", internal)).status_code == 201

    heard = [e for e in (await father.get("/api/v1/notifications")).json()["items"] if e["case_no"] == case_no]
    assert len(heard) == 2
    supplement, accepted = heard  # newest first
    assert accepted["url"] == f"/cases/{case_no}" and "受理" in accepted["body"]
    assert supplement["needs_action"] is False and "请补正" not in supplement["title"] + supplement["body"]
    assert all("内部" not in e["body"] for e in heard)
    # The applicant is asked, as before.
    asked = next(e for e in (await mother.get("/api/v1/notifications")).json()["items"] if e["needs_action"])
    assert asked["title"].startswith("请补正材料") and asked["case_no"] == case_no


async def test_two_parents_filing_at_once_make_one_case_and_one_refusal(
    another_client: Callable[[], Client], pool: asyncpg.Pool
) -> None:
    mother, father = await resident(another_client, LI_NA), await resident(another_client, ZHANG_WEI)
    born = born_days_ago(2)
    bodies = [await _birth_body(mother, "dup-race-mother", born), await _birth_body(father, "dup-race-father", born)]
    headers = [await csrf(mother), await csrf(father)]
    answers = await asyncio.gather(
        *(c.post("/api/v1/cases", json=b, headers=h) for c, b, h in zip((mother, father), bodies, headers, strict=True))
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert await pool.fetchval("SELECT count(*) FROM cases") == 1


async def test_a_company_name_being_registered_in_the_district_is_taken_for_anyone_else_and_a_duplicate_for_its_filer(
    another_client: Callable[[], Client], pool: asyncpg.Pool
) -> None:
    """Whether a name is taken in a district is public (企业名称自主申报): anyone else is told so beside the name, to
    choose another; the one who filed it is told it is being processed."""
    chen = await resident(another_client, CHEN)  # 新北区
    neighbour = await resident(another_client, HUANG_LEI)  # 新北区 too
    elsewhere = await resident(another_client, ZHANG_WEI)  # 天宁区
    name = "常州晓峰软件有限公司"
    assert (await post(chen, "/api/v1/cases", await _business_body(chen, "dup-company-1", name))).status_code == 201
    # The same name in another district is another company.
    other_district = await post(elsewhere, "/api/v1/cases", await _business_body(elsewhere, "dup-company-2", name))
    assert other_district.status_code == 201

    taken = await post(neighbour, "/api/v1/cases", await _business_body(neighbour, "dup-company-3", name))
    again = await post(chen, "/api/v1/cases", await _business_body(chen, "dup-company-4", " 常州晓峰软件有限公司"))

    assert taken.status_code == 400
    assert taken.json()["errors"] == {
        "company.name": "本区已有同名企业的设立登记申请正在办理，请更换企业名称（可在名称中加字号或行业特点）"
    }
    assert "duplicate" not in taken.json() and "CZ" not in taken.text
    assert again.status_code == 409 and again.json()["duplicate"] is True, again.text
    assert await pool.fetchval("SELECT count(*) FROM cases") == 2


async def _business_body(client: Client, key: str, name: str) -> dict[str, Any]:
    from tests.case_helpers import answers_for

    form = (await client.get("/api/v1/life-events/business/form")).json()
    return {
        "life_event": "business",
        "data": {**answers_for(form), "company.name": name},
        "idempotency_key": key,
        "uploads": await upload_required_materials(client, "business", form),
    }


async def test_the_form_posted_without_javascript_says_the_same(
    another_client: Callable[[], Client],
) -> None:
    mother, father = await resident(another_client, LI_NA), await resident(another_client, ZHANG_WEI)
    born = born_days_ago(3)
    assert (await _file_birth(mother, "dup-nojs-mother", born)).status_code == 201
    form = (await father.get("/api/v1/life-events/birth/form")).json()
    fields = {k: "true" if v is True else str(v) for k, v in birth_answers(form, born).items()}
    fields |= {"idempotency_key": "dup-nojs-father-key", "_csrf_token": father.cookies["csrftoken"]}
    files = [(f"materials.{m['code']}", ("scan.png", PNG_1X1, "image/png")) for m in form["materials"]["to_upload"]]

    page = await father.post("/life-events/birth/apply", data=fields, files=files)

    assert page.status_code == 409
    assert "这件事已在办理中，无需重复提交" in page.text and "已有人为此事提交申请" in page.text
    assert 'href="/cases"' in page.text and "查看我的办件" in page.text


# --- near matches, merge and keep both -----------------------------------------------------------------------------


async def _near_pair(another_client: Callable[[], Client]) -> tuple[Client, Client, str, str]:
    """李娜 files a birth; 张伟 files it with the date a day off: two cases, flagged."""
    mother, father = await resident(another_client, LI_NA), await resident(another_client, ZHANG_WEI)
    born = born_days_ago(5)
    first = await _file_birth(mother, "dup-near-mother", born)
    second = await _file_birth(father, "dup-near-father", born + timedelta(days=1))
    assert first.status_code == second.status_code == 201, second.text
    return mother, father, first.json()["case_no"], second.json()["case_no"]


async def test_a_near_match_is_made_and_flagged_to_the_clerk_with_both_cases_side_by_side(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    _mother, _father, earlier, later = await _near_pair(another_client)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)

    queue = (await desk.clerk.get("/console")).text
    case = (await desk.clerk.get(f"/api/v1/console/cases/{later}")).json()
    page = (await desk.clerk.get(f"/console/cases/{later}")).text

    assert queue.count("疑似重复申请，待核查") == 2
    [pair] = case["duplicates"]
    assert (pair["match"], pair["reason"], pair["state"]) == ("near", "出生日期相差1天；姓名相同", "open")
    assert pair["this"]["case_no"] == later and pair["other"]["case_no"] == earlier
    compared = {row["label"]: row["value"] for row in pair["other"]["compared"]}
    assert compared["母亲公民身份号码"] == "320402********0126"  # masked, as every number on the console
    assert pair["can_decide"] is True
    assert earlier in page and "合并：保留" in page and "保留两件" in page
    # A department's approver gets no flag: it is the window's to check (and would show another case's answers).
    approver = (await desk.health.get(f"/api/v1/console/cases/{later}")).json()
    assert approver["duplicates"] == []


async def test_merging_withdraws_one_moves_its_materials_and_is_on_both_timelines_and_the_audit_log(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    _mother, father, earlier, later = await _near_pair(another_client)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    [pair] = (await desk.clerk.get(f"/api/v1/console/cases/{later}")).json()["duplicates"]
    later_files = await pool.fetchval(
        "SELECT count(*) FROM uploads u JOIN cases c ON c.id = u.case_id WHERE c.case_no = $1", later
    )

    merged = await post(desk.clerk, f"/api/v1/console/duplicates/{pair['id']}/merge", {"keep": earlier})

    assert merged.status_code == 200, merged.text
    assert merged.json()["state"] == "merged" and merged.json()["kept_case_no"] == earlier
    statuses = await pool.fetch(
        "SELECT t.status FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1", later
    )
    assert {s["status"] for s in statuses} == {"withdrawn"}
    moved = await pool.fetchval(
        "SELECT count(*) FROM uploads u JOIN cases c ON c.id = u.case_id WHERE c.case_no = $1", earlier
    )
    assert later_files > 0 and moved >= later_files
    # The father's withdrawn case says so (its step says why: 已撤回 is also what an applicant's own withdrawal reads),
    # and he (the father the kept case names) now reads the kept one.
    his = (await father.get(f"/api/v1/cases/{later}")).json()
    assert his["status"] == "withdrawn" and his["status_label"] == "已撤回"
    assert any(
        e["title"] == "经综合窗口核查为重复申请，本件已撤回" and earlier in (e["note"] or "") for e in his["timeline"]
    )
    assert (await _my_cases(father))[earlier]["linked_as"] == "父亲"
    kept = (await desk.clerk.get(f"/api/v1/console/cases/{earlier}")).json()
    assert any("重复申请已并入本件" in s["title"] for s in kept["case_history"])
    audited = await pool.fetchrow("SELECT subject, outcome FROM audit_log WHERE action = 'case.duplicate_merge'")
    assert audited is not None and dict(audited) == {"subject": f"case:{later}", "outcome": "ok"}
    # Decided once: the second press is told so.
    again = await post(desk.clerk, f"/api/v1/console/duplicates/{pair['id']}/merge", {"keep": earlier})
    assert again.status_code == 409 and "已处理" in again.json()["detail"]
    assert "疑似重复申请，待核查" not in (await desk.clerk.get("/console")).text


async def test_keeping_both_is_on_both_timelines_in_words_that_name_no_other_case(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    mother, father, earlier, later = await _near_pair(another_client)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    [pair] = (await desk.clerk.get(f"/api/v1/console/cases/{earlier}")).json()["duplicates"]

    kept = await post(desk.clerk, f"/api/v1/console/duplicates/{pair['id']}/keep-both", {"note": "双胞胎，已核对"})

    assert kept.status_code == 200 and kept.json()["state"] == "kept"
    for client, case_no, other in ((mother, earlier, later), (father, later, earlier)):
        timeline = (await client.get(f"/api/v1/cases/{case_no}")).json()["timeline"]
        step = next(e for e in timeline if e["status"] == "duplicate_kept")
        assert step["title"] == "综合窗口已核查申请信息，继续办理"
        assert other not in str(timeline) and "双胞胎" not in str(timeline)
    audited = await pool.fetchrow("SELECT subject, outcome FROM audit_log WHERE action = 'case.duplicate_keep'")
    assert audited is not None and dict(audited) == {"subject": f"case:{later}", "outcome": "ok"}
    decided = (await desk.clerk.get(f"/api/v1/console/cases/{later}")).json()["duplicates"][0]
    assert decided["state"] == "kept" and "双胞胎，已核对" in decided["decided"] and not decided["can_decide"]
    assert "withdrawn" not in {s["status"] for s in await pool.fetch("SELECT status FROM tasks")}


async def test_a_merge_that_would_leave_an_item_undone_or_withdraw_a_decided_task_is_refused(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    mother, father = await resident(another_client, LI_NA), await resident(another_client, ZHANG_WEI)
    born = born_days_ago(5)
    # 李娜 files without 生育津贴 (the optional item); 张伟 the whole event, a day off: 张伟's has an item hers lacks.
    form = (await mother.get("/api/v1/life-events/birth/form")).json()
    required = [i["code"] for i in form["items"] if i["code"] != "CZ-YB-002"]
    hers = await post(mother, "/api/v1/cases", await _birth_body(mother, "dup-items-mother", born, required))
    assert hers.status_code == 201, hers.text
    earlier = hers.json()["case_no"]
    every = [i["code"] for i in form["items"]]
    answer = await post(
        father, "/api/v1/cases", await _birth_body(father, "dup-items-father", born + timedelta(days=1), every)
    )
    assert answer.status_code == 201, answer.text
    later = answer.json()["case_no"]
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    [pair] = (await desk.clerk.get(f"/api/v1/console/cases/{later}")).json()["duplicates"]
    assert "生育津贴申领" in pair["this"]["withdraw_problem"]

    refused = await post(desk.clerk, f"/api/v1/console/duplicates/{pair['id']}/merge", {"keep": earlier})

    assert refused.status_code == 409 and "合并会漏办" in refused.json()["detail"]
    # The other way round her case would be withdrawn into his — but a department has already approved one of its
    # items, whose result cannot be taken back by a merge.
    await pool.execute(
        "UPDATE tasks SET status = 'approved' WHERE item_code = 'CZ-WJ-001' "
        "AND case_id = (SELECT id FROM cases WHERE case_no = $1)",
        earlier,
    )
    decided = await post(desk.clerk, f"/api/v1/console/duplicates/{pair['id']}/merge", {"keep": later})
    assert decided.status_code == 409 and "已有事项批准或办结" in decided.json()["detail"]
    assert "withdrawn" not in {s["status"] for s in await pool.fetch("SELECT status FROM tasks")}


async def test_only_a_window_clerk_reaching_both_cases_decides_and_a_refusal_is_audited(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    _mother, _father, earlier, later = await _near_pair(another_client)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    [pair] = (await desk.clerk.get(f"/api/v1/console/cases/{later}")).json()["duplicates"]
    wujin = another_client()
    await staff_client_sign_up(
        wujin, pool, settings.secret_key, name="武进窗口", role="clerk", region="320412", department="police"
    )

    approver = await post(desk.health, f"/api/v1/console/duplicates/{pair['id']}/keep-both", {})
    elsewhere = await post(wujin, f"/api/v1/console/duplicates/{pair['id']}/merge", {"keep": earlier})

    assert approver.status_code == 403
    assert elsewhere.status_code == 403
    audited = await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'case.duplicate_merge' AND outcome = 'forbidden'"
    )
    assert audited == 1
    assert await pool.fetchval("SELECT state FROM case_duplicates") == "open"


async def test_the_clerk_merges_from_the_case_page_without_javascript(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    _mother, _father, earlier, later = await _near_pair(another_client)
    desk = await BirthDesk.open(another_client, pool, settings.secret_key)
    [pair] = (await desk.clerk.get(f"/api/v1/console/cases/{later}")).json()["duplicates"]

    done = await desk.clerk.post(
        f"/console/duplicates/{pair['id']}/merge",
        data={"case_no": later, "keep": earlier},
        headers=await csrf(desk.clerk),
    )

    assert done.status_code == 303 and done.headers["location"] == f"/console/cases/{earlier}?decided=merged#duplicates"
    shown = (await desk.clerk.get(done.headers["location"])).text
    assert "已合并：另一件已撤回" in shown and "已合并，保留" in shown


# --- migration 0032's data step ---------------------------------------------------------------------------------


async def test_the_data_step_keys_cases_made_before_it(
    another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    mother = await resident(another_client, LI_NA)
    case_no = (await _file_birth(mother, "dup-step-mother", born_days_ago(3))).json()["case_no"]
    retirement = (await post(mother, "/api/v1/cases", await _retirement_body(mother, "dup-step-retire"))).json()
    key = await pool.fetchval("SELECT subject_key FROM cases WHERE case_no = $1", case_no)
    await pool.execute("UPDATE cases SET subject_key = NULL")

    async with pool.acquire() as conn:
        keyed = await cases.key_existing_cases(conn, PiiCipher(settings.secret_key))

    assert keyed == 2
    assert await pool.fetchval("SELECT subject_key FROM cases WHERE case_no = $1", case_no) == key
    assert await pool.fetchval("SELECT subject_key FROM cases WHERE case_no = $1", retirement["case_no"]) is not None
