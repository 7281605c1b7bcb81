"""Materials about the right person (issue 15), through HTTP against PostgreSQL: each material is held only from the
library of the person it is about; another living person's needs their consent (asked at submission, 待授权 until
they answer, an upload when they refuse or let 3 days pass); a deceased person's only for a relative; a number typed
on the form tells a resident nothing about strangers.

Demo people: 张伟 and 李娜 are married (a 结婚证 in both libraries); 王建国 and 刘桂芳 too, and 刘桂芳 has not signed
up; 周丽华 is on her father 周德明's 户口簿.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.cases import consent_flow
from app.people.identity import check_char
from config.settings import Settings
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import PNG_1X1, answers_for
from tests.test_delegations_http import delegation_body
from tests.window_helpers import WANG, clerk_signs_in, file_walk_in

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
ZHOU_LIHUA = {"name": "周丽华", "id_number": "320412196801221647"}
ZHOU_DEMING = "320412194104121430"  # her father, on the same 户口簿
LIU_GUIFANG = "320412196802141227"  # his wife: on the register, no account
MADE_UP = "32040219900101123" + check_char("32040219900101123")  # well-formed, nobody's
WAITING_ITEMS = {"CZ-WJ-001", "CZ-GA-001", "CZ-RS-001", "CZ-YB-002"}  # the items that need the mother's documents


async def _upload(client: Client, life_event: str, code: str, on_behalf_of: str | None = None) -> str:
    extra = {"on_behalf_of": on_behalf_of} if on_behalf_of else {}
    response = await client.post(
        "/api/v1/uploads",
        data={"life_event": life_event, "material_code": code, **extra},
        files={"file": ("scan.png", PNG_1X1, "image/png")},
        headers=await csrf(client),
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def _file(
    client: Client,
    life_event: str,
    key: str,
    data: dict[str, Any],
    *,
    upload_about: frozenset[str] = frozenset({"applicant"}),
    on_behalf_of: str | None = None,
) -> httpx.Response:
    """File a case answering every field (then `data`), uploading only the required materials about `upload_about`."""
    path = f"/api/v1/life-events/{life_event}/form" + (f"?on_behalf_of={on_behalf_of}" if on_behalf_of else "")
    # Every item of the life event, optional ones too (生育津贴 waits for the mother's documents as well).
    every = [item["code"] for item in (await client.get(path)).json()["items"]]
    form = (await client.get(path, params={"items": every})).json()
    uploads = [
        await _upload(client, life_event, m["code"], on_behalf_of)
        for m in form["materials"]["to_upload"]
        if m["required"] and m["about"] in upload_about
    ]
    body: dict[str, Any] = {
        "life_event": life_event,
        "items": every,
        "data": {**answers_for(form), **data},
        "idempotency_key": key,
        "uploads": uploads,
    }
    if on_behalf_of:
        body["on_behalf_of"] = on_behalf_of
    return await post(client, "/api/v1/cases", body)


def _birth_as_father(mother: str) -> dict[str, Any]:
    return {"child.relationship": "father", "mother.name": "李娜", "mother.id_number": mother}


async def _zhang_wei_files_birth(client: Client, mother: str = LI_NA["id_number"]) -> str:
    filed = await _file(client, "birth", "consent-birth-0001", _birth_as_father(mother))
    assert filed.status_code == 201, filed.text
    return filed.json()["case_no"]


async def _case(client: Client, case_no: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/cases/{case_no}")
    assert response.status_code == 200, response.text
    return response.json()


def _statuses(case: dict[str, Any]) -> dict[str, str]:
    return {t["item_code"]: t["status"] for t in case["tasks"]}


async def _every_case_asked_has_its_waiting_step(pool: asyncpg.Pool) -> None:
    """A case's page reads its consent requests only when its steps have a 待授权 (consent_flow.may_have_requests):
    every case that asked anyone has that step, or its page would never show the request."""
    asked = await pool.fetchval("SELECT count(DISTINCT case_id) FROM consents")
    without_step = await pool.fetchval(
        """SELECT count(DISTINCT c.case_id) FROM consents c
           WHERE NOT EXISTS (SELECT 1 FROM timeline_events e
                             WHERE e.case_id = c.case_id AND e.status = 'awaiting_consent')"""
    )
    assert asked > 0 and without_step == 0


@pytest.fixture
async def li_na(another_client: Callable[[], Client]) -> Client:
    client = another_client()
    await sign_up(client, new_authenticator(), LI_NA)
    return client


# --- the applicant's card never stands for another person's -------------------------------------------------------


async def test_the_applicants_card_never_stands_for_the_mothers(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    form = (await client.get("/api/v1/life-events/birth/form")).json()
    held = {m["code"]: m for m in form["materials"]["held"]}
    assert "CZ-WJ-001:mother_id_card" not in held and "CZ-GA-001:marriage" not in held
    # Filed as the father without uploading the mother's documents: the case waits for her consent.
    case = await _case(client, await _zhang_wei_files_birth(client))
    assert case["status"] == "awaiting_consent" and case["status_label"] == "待授权"
    assert {code for code, status in _statuses(case).items() if status == "awaiting_consent"} == WAITING_ITEMS
    assert {c["material_code"]: c["state"] for c in case["consents"]} == {
        "CZ-WJ-001:mother_id_card": "awaiting_consent",
        "CZ-GA-001:marriage": "awaiting_consent",
    }
    assert {c["about"] for c in case["consents"]} == {"mother"}
    # Neither his number nor hers, even masked (an ID number's run of digits and asterisks ending in either tail; a
    # bare "0126" may be in a timestamp's microseconds).
    assert re.search(r"[0-9*X]{10,}(0126|0119)", str(case)) is None
    row = await pool.fetchrow("SELECT requester_name, certificate_titles, state FROM consents")
    assert (row["requester_name"], row["certificate_titles"], row["state"]) == (
        "张伟",
        ["居民身份证", "结婚证"],
        "requested",
    )


async def test_the_applicants_own_documents_stand_for_the_party_they_say_they_are(client: Client) -> None:
    """李娜 filing as the mother: the mother's documents are hers, held, and nobody is asked."""
    await sign_up(client, new_authenticator(), LI_NA)
    filed = await _file(
        client,
        "birth",
        "consent-own-0001",
        {"child.relationship": "mother"},
        upload_about=frozenset({"applicant", "father"}),
    )
    assert filed.status_code == 201, filed.text
    case = await _case(client, filed.json()["case_no"])
    assert "awaiting_consent" not in _statuses(case).values() and case["consents"] == []


async def test_one_person_typed_for_two_parties_is_asked_once(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    both = {
        "child.relationship": "guardian",
        "mother.id_number": LI_NA["id_number"],
        "father.id_number": LI_NA["id_number"],
    }
    filed = await _file(client, "birth", "consent-two-0001", both)
    assert filed.status_code == 201, filed.text
    assert await pool.fetchval("SELECT about FROM consents") == "father,mother"
    await _every_case_asked_has_its_waiting_step(pool)
    case = await _case(client, filed.json()["case_no"])
    assert {(c["about"], c["about_label"]) for c in case["consents"]} == {("mother", "母亲"), ("father", "父亲")}


# --- a spouse's material is used only after they grant; a refusal or the deadline makes it an upload --------------


async def test_a_spouses_documents_are_used_once_she_grants(client: Client, li_na: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_no = await _zhang_wei_files_birth(client)
    inbox = (await li_na.get("/api/v1/notifications")).json()
    assert any("张伟申请新生儿出生，需使用您的居民身份证、结婚证" in item["body"] for item in inbox["items"])
    [request] = (await li_na.get("/api/v1/consents")).json()
    assert (request["text"], request["state"]) == ("张伟申请新生儿出生，需使用您的居民身份证、结婚证", "requested")
    assert (await _case(client, case_no))["status"] == "awaiting_consent"

    granted = await post(li_na, f"/api/v1/consents/{request['id']}", {"decision": "grant"})
    assert granted.status_code == 200, granted.text
    assert granted.json()["state"] == "granted"
    case = await _case(client, case_no)
    assert "awaiting_consent" not in _statuses(case).values()
    assert {code for code, status in _statuses(case).items() if code in WAITING_ITEMS} == WAITING_ITEMS
    assert set(_statuses(case).values()) == {"submitted"}
    assert {c["state"] for c in case["consents"]} == {"held"}
    assert {c["state_label"] for c in case["consents"]} == {"已关联"}
    # Decided once: a second answer changes nothing.
    again = await post(li_na, f"/api/v1/consents/{request['id']}", {"decision": "refuse"})
    assert again.status_code == 409


async def test_once_every_task_waiting_for_her_is_withdrawn_she_is_asked_no_more(client: Client, li_na: Client) -> None:
    """撤回申请: a request stays while any task still waits for it; once none does, it ends as 申请人已撤回."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_no = await _zhang_wei_files_birth(client)
    waiting = [t for t in (await _case(client, case_no))["tasks"] if t["item_code"] in WAITING_ITEMS]
    some = await post(client, f"/api/v1/cases/{case_no}/withdraw", {"task_ids": [waiting[0]["id"]]})
    assert some.status_code == 200, some.text
    [request] = (await li_na.get("/api/v1/consents")).json()
    assert request["state"] == "requested"

    rest = await post(client, f"/api/v1/cases/{case_no}/withdraw", {"task_ids": [t["id"] for t in waiting[1:]]})

    assert rest.status_code == 200, rest.text
    [request] = (await li_na.get("/api/v1/consents")).json()
    assert (request["state"], request["state_label"]) == ("withdrawn", "申请人已撤回")
    assert (await post(li_na, f"/api/v1/consents/{request['id']}", {"decision": "grant"})).status_code == 409
    case = await _case(client, case_no)
    assert {c["state_label"] for c in case["consents"]} == {"已撤回"}
    assert "申请已撤回，不再请母亲同意" in (await client.get(f"/cases/{case_no}")).text


async def test_staff_cannot_accept_a_task_waiting_for_consent(
    client: Client, another_client: Callable[[], Client], pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_no = await _zhang_wei_files_birth(client)
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    queue = [t for t in (await clerk.get("/api/v1/console/tasks")).json() if t["case_no"] == case_no]
    waiting = [t for t in queue if t["status"] == "awaiting_consent"]
    assert waiting and all(t["status_label"] == "待授权" and t["allowed_actions"] == [] for t in waiting)
    tried = await post(clerk, f"/api/v1/console/tasks/{waiting[0]['id']}/transition", {"action": "accept"})
    assert tried.status_code == 409


async def test_a_refusal_turns_the_material_into_an_upload(client: Client, li_na: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_no = await _zhang_wei_files_birth(client)
    [request] = (await li_na.get("/api/v1/consents")).json()
    refused = await post(li_na, f"/api/v1/consents/{request['id']}", {"decision": "refuse"})
    assert refused.status_code == 200 and refused.json()["state"] == "refused"
    case = await _case(client, case_no)
    assert {code for code, s in _statuses(case).items() if s == "supplement_requested"} == WAITING_ITEMS
    assert case["status"] == "supplement_requested"
    assert {c["state"] for c in case["consents"]} == {"upload"}
    notes = [e["note"] for e in case["timeline"] if e["status"] == "supplement_requested"]
    assert notes and all("母亲未同意使用其证照" in n and "母亲居民身份证" in n for n in notes)
    # The resident answers it as any 补正: the task goes back to the window's queue.
    task = next(t for t in case["tasks"] if t["item_code"] == "CZ-WJ-001")
    answered = await client.post(
        f"/cases/{case_no}/tasks/{task['id']}/supplement",
        data={"note": "已上传母亲身份证"},
        files={"file": ("card.png", PNG_1X1, "image/png")},
        headers=await csrf(client),
    )
    assert answered.status_code in (200, 303), answered.text
    assert _statuses(await _case(client, case_no))["CZ-WJ-001"] == "resubmitted"


async def test_past_the_deadline_the_request_expires_and_the_material_must_be_uploaded(
    client: Client, li_na: Client, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_no = await _zhang_wei_files_birth(client)
    await pool.execute("UPDATE consents SET deadline = now() - interval '1 minute'")
    assert await consent_flow.sweep(pool) == 1  # what `python -m app purge` runs
    case = await _case(client, case_no)
    assert {code for code, s in _statuses(case).items() if s == "supplement_requested"} == WAITING_ITEMS
    assert any("母亲未在3日内同意" in (e["note"] or "") for e in case["timeline"])
    [request] = (await li_na.get("/api/v1/consents")).json()
    assert request["state"] == "expired"
    late = await post(li_na, f"/api/v1/consents/{request['id']}", {"decision": "grant"})
    assert late.status_code == 409


async def test_the_case_page_opened_past_the_deadline_shows_the_tasks_waiting_for_an_upload(
    client: Client, pool: asyncpg.Pool
) -> None:
    """Opened before any sweep, the page settles the lapsed request and shows its tasks as they are now (补正), though
    it reads the tasks with the case, before the requests."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case_no = await _zhang_wei_files_birth(client)
    await pool.execute("UPDATE consents SET deadline = now() - interval '1 minute'")
    page = await client.get(f"/cases/{case_no}")
    assert page.status_code == 200
    assert not re.search(r'class="chip-mark"[^<]*</span>待授权', page.text)  # no task's state says 待授权 any more
    assert page.text.count('<section class="supplement"') == len(WAITING_ITEMS)


async def test_a_lapsed_request_expires_at_its_deadline_with_nobody_reading_anything(
    client: Client, li_na: Client, pool: asyncpg.Pool
) -> None:
    """The web workers' sweeper settles a lapsed request on its own: the applicant hears that the material must be
    uploaded at the deadline, not whenever someone next opens the case; reading the requests writes nothing."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await _zhang_wei_files_birth(client)
    await pool.execute("UPDATE consents SET deadline = now() - interval '1 minute'")
    [listed] = (await li_na.get("/api/v1/consents")).json()
    assert listed["state"] == "expired"  # shown as it is...
    assert await pool.fetchval("SELECT state FROM consents") == "requested"  # ...without a write in a read
    sweeper = asyncio.create_task(consent_flow.sweep_forever(pool, every=0.05))
    try:
        for _ in range(100):
            if await pool.fetchval("SELECT state FROM consents") == "expired":
                break
            await asyncio.sleep(0.05)
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
    assert await pool.fetchval("SELECT state FROM consents") == "expired"
    told = await pool.fetchval(
        "SELECT count(*) FROM inbox_entries i JOIN timeline_events e ON e.id = i.event_id "
        "WHERE e.status = 'supplement_requested' AND i.needs_action"
    )
    assert told >= 1  # the applicant's inbox (and push): upload the material yourself


async def test_a_spouse_without_an_account_is_asked_all_the_same_and_it_expires(
    client: Client, pool: asyncpg.Pool
) -> None:
    """王建国's wife 刘桂芳 has not signed up: his case reads exactly as 张伟's does, and nobody is notified."""
    await sign_up(client, new_authenticator(), WANG)
    filed = await _file(
        client, "birth", "consent-noacct-01", {"child.relationship": "father", "mother.id_number": LIU_GUIFANG}
    )
    assert filed.status_code == 201, filed.text
    case = await _case(client, filed.json()["case_no"])
    assert case["status"] == "awaiting_consent"
    await _every_case_asked_has_its_waiting_step(pool)
    assert await pool.fetchval("SELECT count(*) FROM inbox_entries WHERE body LIKE '%需使用您的%'") == 0
    await pool.execute("UPDATE consents SET deadline = now() - interval '1 minute'")
    assert (await _case(client, filed.json()["case_no"]))["status"] == "supplement_requested"


async def test_a_spouse_may_allow_named_life_events_in_advance(client: Client, li_na: Client) -> None:
    saved = await li_na.post("/me/spouse-consent", data={"life_events": ["birth"]}, headers=await csrf(li_na))
    assert saved.status_code == 303
    assert 'value="birth" checked' in (await li_na.get("/me")).text
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    block = await _materials_block(client, "birth", _birth_as_father(LI_NA["id_number"]))
    assert "母亲的 · 已关联" in block and "待对方同意" not in block
    case = await _case(client, await _zhang_wei_files_birth(client))
    assert "awaiting_consent" not in _statuses(case).values() and case["consents"] == []


# --- only the person asked decides -------------------------------------------------------------------------------


async def test_a_decision_by_anyone_but_the_person_asked_is_a_404(
    client: Client, li_na: Client, another_client: Callable[[], Client], pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await _zhang_wei_files_birth(client)
    consent_id = await pool.fetchval("SELECT id FROM consents")
    stranger = another_client()
    await sign_up(stranger, new_authenticator(), WANG)
    for someone in (client, stranger):  # the applicant himself, and a stranger
        assert (await post(someone, f"/api/v1/consents/{consent_id}", {"decision": "grant"})).status_code == 404
        assert (await someone.get("/api/v1/consents")).json() == []
        page = await someone.post(f"/consents/{consent_id}", data={"decision": "grant"}, headers=await csrf(someone))
        assert page.status_code == 404
    assert (await post(li_na, f"/api/v1/consents/{consent_id + 1}", {"decision": "grant"})).status_code == 404
    no_csrf = await li_na.post(f"/api/v1/consents/{consent_id}", json={"decision": "grant"})
    assert no_csrf.status_code == 403
    assert await pool.fetchval("SELECT state FROM consents") == "requested"
    # The person asked decides on the page linked from the inbox.
    assert "同意" in (await li_na.get("/consents")).text
    done = await li_na.post(f"/consents/{consent_id}", data={"decision": "grant"}, headers=await csrf(li_na))
    assert done.status_code == 303 and await pool.fetchval("SELECT state FROM consents") == "granted"


# --- a number typed on the form tells nothing about strangers ---------------------------------------------------


async def _materials_block(client: Client, life_event: str, data: dict[str, str]) -> str:
    response = await client.post(f"/life-events/{life_event}/materials", data=data, headers=await csrf(client))
    assert response.status_code == 200, response.text
    found = re.search(r'<div id="material-parties".*?</div>', response.text, re.S)
    assert found is not None
    return found.group(0)


async def test_a_typed_number_reveals_nothing_about_strangers(client: Client, li_na: Client) -> None:
    """A resident typing numbers learns nothing: 李娜 (account), 刘桂芳 (registered, no account) and a made-up number
    read alike as a mother; 周德明 (registered) and a made-up number alike as a deceased stranger."""
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    as_mother = {
        number: await _materials_block(client, "birth", _birth_as_father(number))
        for number in (LI_NA["id_number"], LIU_GUIFANG, MADE_UP)
    }
    assert len(set(as_mother.values())) == 1
    assert "待对方同意" in as_mother[MADE_UP] and "0126" not in as_mother[LI_NA["id_number"]]
    as_deceased = {
        number: await _materials_block(client, "death", {"deceased.id_number": number})
        for number in (ZHOU_DEMING, MADE_UP)
    }
    assert len(set(as_deceased.values())) == 1
    assert "已关联" not in as_deceased[MADE_UP]


async def test_number_lookups_are_limited_per_account(client: Client) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    headers = await csrf(client)
    answers = []
    for _ in range(61):
        response = await client.post(
            "/life-events/birth/materials", data={"mother.id_number": MADE_UP}, headers=headers
        )
        answers.append(response.status_code)
    assert answers[:60] == [200] * 60 and answers[60] == 429


# --- a deceased person's documents: only for a relative, audited ------------------------------------------------


async def test_a_deceased_persons_documents_serve_a_relative_on_the_same_hukou(
    client: Client, pool: asyncpg.Pool
) -> None:
    await sign_up(client, new_authenticator(), ZHOU_LIHUA)
    block = await _materials_block(client, "death", {"deceased.id_number": ZHOU_DEMING})
    assert "逝者的 · 已关联" in block and "同一户口簿" in block
    assert "1430" not in block  # his number is not shown, even masked
    filed = await _file(client, "death", "consent-death-001", {"deceased.id_number": ZHOU_DEMING})
    assert filed.status_code == 201, filed.text
    audited = await pool.fetchrow(
        "SELECT subject, outcome, detail FROM audit_log WHERE action = 'certificate.use_deceased'"
    )
    deming = await pool.fetchval("SELECT id FROM people WHERE name = '周德明'")
    assert (audited["subject"], audited["outcome"]) == (f"person:{deming}", "ok")
    assert "同一户口簿" in str(audited["detail"])


async def test_a_deceased_strangers_documents_are_refused(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    filed = await _file(client, "death", "consent-death-002", {"deceased.id_number": ZHOU_DEMING})
    assert filed.status_code == 400
    errors = filed.json()["errors"]
    assert "materials.CZ-WJ-003:deceased_id_card" in errors
    assert "未能核实您与逝者的亲属关系" in errors["materials.CZ-WJ-003:deceased_id_card"]
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'certificate.use_deceased'") == 0


# --- a helper's client's documents: only for that client ---------------------------------------------------------

ELDER = {"name": "史永生", "id_number": "320481194702282050"}
NEIGHBOUR = {"name": "潘玉兰", "id_number": "32048119490821212X"}  # on the elder's 户口簿
ELSEWHERE = "320481195003082345"  # 瞿秀珍: no relative of the elder


@pytest.fixture
async def helper(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Client]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50400))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(
            client, pool, settings.secret_key, name="陈帮办", role="helper", region="320481002002"
        )
        yield client


async def test_a_helpers_client_uses_their_own_relatives_documents_only(helper: Client, pool: asyncpg.Pool) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(NEIGHBOUR))).status_code == 201
    stranger = await _file(
        helper, "death", "helper-death-001", {"deceased.id_number": ELSEWHERE}, on_behalf_of=NEIGHBOUR["id_number"]
    )
    assert stranger.status_code == 400
    assert "materials.CZ-WJ-003:deceased_id_card" in stranger.json()["errors"]
    relative = await _file(
        helper,
        "death",
        "helper-death-002",
        {"deceased.id_number": ELDER["id_number"]},
        on_behalf_of=NEIGHBOUR["id_number"],
    )
    assert relative.status_code == 201, relative.text
    elder = await pool.fetchval("SELECT id FROM people WHERE name = '史永生'")
    assert (
        await pool.fetchval("SELECT subject FROM audit_log WHERE action = 'certificate.use_deceased'")
        == f"person:{elder}"
    )


# --- at the window: the clerk checks the paper originals, nobody is asked -------------------------------------------


async def test_at_the_window_nobody_is_asked_and_nothing_waits(
    another_client: Callable[[], Client], pool: asyncpg.Pool
) -> None:
    """王建国 at a 武进 window files a birth naming 刘桂芳 as the mother: the clerk saw her documents' originals."""
    clerk = another_client()
    await clerk_signs_in(clerk, pool, "http://localhost:8000")
    started = await post(clerk, "/api/v1/console/walk-ins", {**WANG, "identity_checked": True})
    assert started.status_code in (200, 201), started.text
    form = (await clerk.get("/api/v1/life-events/birth/form", params={"on_behalf_of": WANG["id_number"]})).json()
    data = {**answers_for(form), "child.relationship": "father", "mother.id_number": LIU_GUIFANG}
    body = {"life_event": "birth", "data": data, "on_behalf_of": WANG["id_number"]}
    filed = await file_walk_in(clerk, body, "window-birth-0001")
    assert filed.status_code == 201, filed.text
    assert await pool.fetchval("SELECT count(*) FROM consents") == 0
    statuses = await pool.fetch("SELECT DISTINCT status FROM tasks")
    assert [r["status"] for r in statuses] == ["submitted"]
