"""An internal note (and a 征求意见, its question and its answer) never reaches anything a resident, their helper or the
public reads: proved by walking every route the app declares rather than a list of today's pages, so a route added
tomorrow is walked too (and a path parameter this test cannot fill fails it, naming the route).

The scene: two cases of 退休 in the city — one filed by a village helper for 史永生 (who then signs up), one at a
window for 王建国 — every task accepted and in review, an internal note on each by the city's approvers and the window,
a 补正告知 with a note for the resident followed by an internal note, and a 征求意见 asked of 民政 and answered.

Walked, with each body searched for the internal words:
- as 史永生 (resident), as the helper who filed for him, and with no session: every GET route whose rule admits them
  (public, signed in, or a role they hold), each path parameter filled with every value of the scene (case numbers,
  tracking tokens, task ids, inbox entries …) — the case page, /t/{token} and its JSON, /api/v1/cases/…, the inbox,
  the receipts, the 补正告知书, the helper's pages; and the case page as a refused supplement redraws it;
- as the window clerk, the documents staff print for the resident: the window's receipt and 补正告知书;
- as the departments' system (data exchange, a department on the case): every GET route of /api/exchange/v1. Decided:
  department systems get no internal note. They are the platform's staff-to-staff words, kept under the console's
  access rules and audit; a department's system reads its tasks' answers and materials, not the staff's remarks;
- the channels that leave the platform: every push payload as the worker would send it, every stored text message,
  inbox entry, webhook delivery and tracking snapshot — any column of any table but the three that hold the words
  (timeline_events, consultations, consultation_attachments);
- the consultation's files (on its question and its answer: their names and contents are internal words too): every
  GET route with a consultation or a file of one in its path, whatever rule it declares, is refused to the resident,
  the helper and the public (never followed to a page that could carry them).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.exchange.service import API as EXCHANGE
from auth import clients
from auth.access import ACCESS_KEY, PUBLIC, SIGNED_IN, ClientScopes
from config.settings import Settings
from push import store as push_store
from push.delivery import payload_of
from tests.auth_helpers import csrf, new_authenticator, post, sign_up, signed_in_staff, staff_client_sign_up
from tests.case_helpers import PNG_1X1, answers_for, upload_required_materials
from tests.push_helpers import local_push_service, subscribe
from tests.test_delegations_http import ELDER, delegation_body
from tests.window_helpers import file_walk_in, receive_walk_in

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient
MakeClient = Callable[[], httpx.AsyncClient]
CITY = "320400"
VILLAGE = "320481002002"
QUESTION = "问民政：该申请人是否领取过尊老金（内部核查项丁）"
ANSWER = "民政答复：未领取（内部核查项戊）"
# The consultation's files: their names and the words inside them are the staff's as much as the question is.
QUESTION_FILE = ("尊老金台账内部核查项己.pdf", "%PDF-1.4\n% 尊老金发放台账（内部核查项庚）\n%%EOF\n".encode())
ANSWER_FILE = ("民政核查结果内部核查项辛.png", PNG_1X1 + "民政核查结果（内部核查项壬）".encode())
FILE_WORDS = ("内部核查项己", "内部核查项庚", "内部核查项辛", "内部核查项壬")  # in the files' names and contents
FOR_RESIDENT = "请补交近三个月的工资流水"
# Words that must stay with staff: the internal notes' texts, the consultation's, and the titles of internal steps.
INTERNAL_TITLES = ("：内部备注", "征求民政意见", "已答复征求意见")


def _internal(n: int) -> str:
    return f"内部备注第{n}条：申请人档案存疑，暂勿告知（核查项{n}）"


class Scene:
    def __init__(self) -> None:
        self.case_nos: list[str] = []
        self.tokens: list[str] = []
        self.task_ids: list[int] = []
        self.internal_words: list[str] = [QUESTION, ANSWER, *FILE_WORDS]
        self.supplement_tasks: list[tuple[str, int]] = []

    @property
    def secrets(self) -> list[str]:
        return [*self.internal_words, *INTERNAL_TITLES]


async def _helper_files_for_the_elder(helper: Client) -> dict[str, Any]:
    delegated = await post(helper, "/api/v1/delegations", delegation_body(ELDER))
    assert delegated.status_code == 201, delegated.text
    form = (await helper.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": ELDER["id_number"]})).json()
    body = {
        "life_event": "retirement",
        "data": answers_for(form),
        "idempotency_key": "leak-helper-0001",
        "on_behalf_of": ELDER["id_number"],
        "uploads": await upload_required_materials(helper, "retirement", form, ELDER["id_number"]),
    }
    filed = await post(helper, "/api/v1/cases", body)
    assert filed.status_code == 201, filed.text
    return filed.json()


async def _work_the_case(scene: Scene, pool: asyncpg.Pool, case_no: str, staff: dict[str, Client]) -> None:
    """Accept and review every task, an internal note on each (by its approver and by the window), a 补正告知 with a
    note for the resident on the first, and an internal note after it."""
    tasks = await pool.fetch(
        "SELECT t.id, t.department_code FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1 "
        "ORDER BY t.position",
        case_no,
    )
    for task in tasks:
        scene.task_ids.append(task["id"])
        approver = staff[task["department_code"]]
        for actor, action in ((staff["clerk"], "accept"), (approver, "review")):
            moved = await post(actor, f"/api/v1/console/tasks/{task['id']}/transition", {"action": action})
            assert moved.status_code == 200, moved.text
        for writer in (approver, staff["clerk"]):
            words = _internal(len(scene.internal_words))
            scene.internal_words.append(words)
            noted = await post(
                writer, f"/api/v1/console/tasks/{task['id']}/notes", {"text": words, "visibility": "internal"}
            )
            assert noted.status_code == 201, noted.text
    first = tasks[0]
    asked = await post(
        staff[first["department_code"]],
        f"/api/v1/console/tasks/{first['id']}/transition",
        {"action": "request_supplement", "note": FOR_RESIDENT},
    )
    assert asked.status_code == 200, asked.text
    words = _internal(len(scene.internal_words))
    scene.internal_words.append(words)
    after = await post(
        staff["clerk"], f"/api/v1/console/tasks/{first['id']}/notes", {"text": words, "visibility": "internal"}
    )
    assert after.status_code == 201, after.text
    scene.supplement_tasks.append((case_no, first["id"]))


async def _scene(
    client: Client,
    helper: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    another_client: MakeClient,
    elder_device: Any = None,
) -> tuple[Scene, dict[str, Client]]:
    scene = Scene()
    staff = {
        "clerk": await signed_in_staff(
            another_client, pool, settings, name="市窗口", role="clerk", department="hrss", region=CITY
        )
    }
    for department, name in (
        ("hrss", "人社审批"),
        ("housing_fund", "公积金审批"),
        ("medical_insurance", "医保审批"),
        ("civil_affairs", "民政审批"),
    ):
        staff[department] = await signed_in_staff(
            another_client, pool, settings, name=name, role="approver", department=department, region=CITY
        )

    by_helper = await _helper_files_for_the_elder(helper)
    await sign_up(client, new_authenticator(), ELDER)  # the elder signs up later: the case is his to read
    if elder_device is not None:  # and turns reminders on
        assert (await subscribe(client, elder_device)).status_code == 201
    at_window = await file_walk_in(staff["clerk"], await receive_walk_in(staff["clerk"]), "leak-window-0001")
    assert at_window.status_code == 201, at_window.text
    for filed in (by_helper, at_window.json()):
        scene.case_nos.append(filed["case_no"])
        scene.tokens.append(filed["tracking_token"])
        await _work_the_case(scene, pool, filed["case_no"], staff)

    # 征求意见 on the helper's case's 人社 task, asked of 民政 and answered.
    hrss_task = await pool.fetchval(
        "SELECT t.id FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1 AND t.department_code = 'hrss'",
        by_helper["case_no"],
    )
    consultation = await staff["hrss"].post(
        f"/api/v1/console/tasks/{hrss_task}/consultations",
        data={"department": "civil_affairs", "question": QUESTION, "due_in_days": "2"},
        files={"file": QUESTION_FILE},
        headers=await csrf(staff["hrss"]),
    )
    assert consultation.status_code == 201, consultation.text
    answered = await staff["civil_affairs"].post(
        f"/api/v1/console/consultations/{consultation.json()['id']}/answer",
        data={"text": ANSWER},
        files={"file": ANSWER_FILE},
        headers=await csrf(staff["civil_affairs"]),
    )
    assert answered.status_code == 200, answered.text
    assert len(answered.json()["attachments"]) == 2

    # A step for the resident after all that, so every snapshot and inbox is drawn with the internal ones in place.
    for case_no in scene.case_nos:
        task_id = await pool.fetchval(
            "SELECT t.id FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.case_no = $1 ORDER BY t.position DESC",
            case_no,
        )
        noted = await post(
            staff["clerk"], f"/api/v1/console/tasks/{task_id}/notes", {"text": "材料已收到", "visibility": "resident"}
        )
        assert noted.status_code == 201, noted.text

    # The staff do read them: the scene really holds what the walk looks for.
    page = (await staff["clerk"].get(f"/console/cases/{by_helper['case_no']}")).text
    first_note = next(w for w in scene.internal_words if w.startswith("内部备注"))
    assert QUESTION in page and ANSWER in page and first_note in page
    assert QUESTION_FILE[0] in page and ANSWER_FILE[0] in page
    for attachment in answered.json()["attachments"]:
        assert "内部核查项" in (await staff["clerk"].get(attachment["url"])).text
    return scene, staff


# --- walking the routes ---------------------------------------------------------------------------------------


def _path_names(path: str) -> list[str]:
    return re.findall(r"{(\w+):\w+}", path)


def _get_routes(app: Litestar, admits: Callable[[Any], bool]) -> Iterator[str]:
    """Every GET route (a path template) whose declared rule `admits` lets the caller in."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.fn.__module__.startswith("litestar."):
                continue
            if "GET" in getattr(handler, "http_methods", ()) and admits(handler.opt.get(ACCESS_KEY)):
                yield route.path


def _roles_admit(*held: str) -> Callable[[Any], bool]:
    def admits(rule: Any) -> bool:
        if rule in (PUBLIC, SIGNED_IN):
            return True
        return isinstance(rule, frozenset) and not isinstance(rule, ClientScopes) and bool(rule & set(held))

    return admits


def _anonymous(rule: Any) -> bool:
    return rule == PUBLIC


def _exchange(rule: Any) -> bool:
    return isinstance(rule, ClientScopes)


def _every_get_route_with(app: Litestar, *names: str) -> Iterator[str]:
    """Every GET route with one of these path parameters, whatever rule it declares (a rule declared too widely is
    what this walk is for)."""
    for path in _get_routes(app, lambda rule: True):
        if set(_path_names(path)) & set(names):
            yield path


async def _refused(reader: Client, paths: Iterator[str], values: dict[str, list[str]], secrets: list[str]) -> int:
    """GET every concrete path, redirects not followed: each is refused (401, 403, 404, or sent to sign in) and
    carries no secret. The number of requests."""
    unfilled: set[str] = set()
    walked = 0
    for template in sorted(set(paths)):
        for path in _concrete(template, values, unfilled):
            answer = await reader.get(path)
            walked += 1
            to_sign_in = answer.status_code == 303 and answer.headers["location"].startswith("/login")
            assert answer.status_code in (401, 403, 404) or to_sign_in, f"{path}: {answer.status_code}"
            leaked = [s for s in secrets if s in answer.text]
            assert leaked == [], f"{path} ({answer.status_code}) shows {leaked}"
    assert unfilled == set(), f"a route this walk cannot fill — give its parameter values here: {sorted(unfilled)}"
    return walked


def _concrete(path: str, values: dict[str, list[str]], unfilled: set[str]) -> Iterator[str]:
    names = _path_names(path)
    missing = [n for n in names if n not in values]
    if missing:
        unfilled.add(f"{path}: {missing}")
        return
    for combination in itertools.product(*(values[n] for n in names)):
        concrete = path
        for name, value in zip(names, combination, strict=True):
            concrete = re.sub(r"{" + name + r":\w+}", value, concrete, count=1)
        yield concrete


async def _walk(
    reader: Client, paths: Iterator[str], values: dict[str, list[str]], secrets: list[str], **headers: str
) -> int:
    """GET every concrete path; no answer may carry a secret, nor be a server error. The number of requests."""
    unfilled: set[str] = set()
    walked = 0
    for template in sorted(set(paths)):
        for path in _concrete(template, values, unfilled):
            answer = await reader.get(path, headers=headers, follow_redirects=True)
            walked += 1
            assert answer.status_code < 500, f"{path}: {answer.status_code}"
            leaked = [s for s in secrets if s in answer.text]
            assert leaked == [], f"{path} ({answer.status_code}) shows {leaked}"
    assert unfilled == set(), f"a route this walk cannot fill — give its parameter values here: {sorted(unfilled)}"
    return walked


async def _values(scene: Scene, pool: asyncpg.Pool, account_id: int | None) -> dict[str, list[str]]:
    """Every value each path parameter takes in the scene (several where it matters: every case, task and entry)."""
    entries = await pool.fetch("SELECT id FROM inbox_entries WHERE account_id = $1", account_id) if account_id else []
    uploads = await pool.fetch("SELECT token, material_code FROM uploads WHERE case_id IS NOT NULL")
    certificates = await pool.fetch(
        "SELECT e.id FROM e_certificates e JOIN accounts a ON a.person_id = e.person_id WHERE a.id = $1",
        account_id or 0,
    )
    organisations = await pool.fetch("SELECT credit_code FROM organisations ORDER BY credit_code LIMIT 3")
    halls = await pool.fetch("SELECT id FROM halls ORDER BY id LIMIT 2")
    bookings = await pool.fetch("SELECT id FROM appointments ORDER BY id")
    consultations = await pool.fetch("SELECT id FROM consultations ORDER BY id")
    attachments = await pool.fetch("SELECT id FROM consultation_attachments ORDER BY id")
    return {
        "case_no": scene.case_nos,
        "token": scene.tokens + [u["token"] for u in uploads[:2]],
        "task_id": [str(t) for t in scene.task_ids],
        "entry_id": [str(e["id"]) for e in entries] or ["1"],
        "code": ["retirement", "CZ-RS-003", *sorted({u["material_code"] for u in uploads})],
        "life_event_code": ["retirement"],
        "certificate_id": [str(c["id"]) for c in certificates] or ["1"],
        "child_id": ["1"],
        "subscription_id": ["1"],
        "uscc": [o["credit_code"] for o in organisations] or ["91320400MA1XXXXX0X"],
        "hall_id": [h["id"] for h in halls] or ["city"],
        "appointment_id": [str(b["id"]) for b in bookings] or ["1"],
        "consultation_id": [str(c["id"]) for c in consultations],
        "attachment_id": [str(a["id"]) for a in attachments],
        "name": ["zh.js", "en.js"],  # the scripts' texts per language (/i18n/{name})
    }


async def _account_of(pool: asyncpg.Pool, name: str) -> int:
    return await pool.fetchval("SELECT id FROM accounts WHERE name = $1", name)


@pytest.fixture
async def helper(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> Any:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50450))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(client, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        yield client


async def test_no_page_or_api_a_resident_helper_or_the_public_reads_shows_an_internal_note(
    app: Litestar, client: Client, helper: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    scene, staff = await _scene(client, helper, pool, settings, another_client)
    secrets = scene.secrets

    resident = await _account_of(pool, ELDER["name"])
    walked = await _walk(
        client, _get_routes(app, _roles_admit("resident")), await _values(scene, pool, resident), secrets
    )
    helper_id = await _account_of(pool, "陈帮办")
    walked += await _walk(
        helper, _get_routes(app, _roles_admit("helper")), await _values(scene, pool, helper_id), secrets
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50460)), base_url="http://localhost:8000"
    ) as anonymous:
        walked += await _walk(anonymous, _get_routes(app, _anonymous), await _values(scene, pool, None), secrets)
    assert walked > 60  # the walk reached the case pages, not only the home page

    # Whatever rule they declare, the consultation's routes (its page, its JSON, its files) refuse all three.
    consultation_routes = list(_every_get_route_with(app, "consultation_id", "attachment_id"))
    assert any("attachment_id" in path for path in consultation_routes)
    refused = await _refused(
        client, iter(consultation_routes), await _values(scene, pool, resident), secrets
    ) + await _refused(helper, iter(consultation_routes), await _values(scene, pool, helper_id), secrets)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50461)), base_url="http://localhost:8000"
    ) as anonymous:
        refused += await _refused(anonymous, iter(consultation_routes), await _values(scene, pool, None), secrets)
    assert refused >= 3 * 4  # the page, the JSON and each of the two files, for each of the three

    # The resident's own views of the case, to be sure they were drawn (not refused): the notes for them are there.
    own = scene.case_nos[0]
    assert FOR_RESIDENT in (await client.get(f"/cases/{own}")).text
    assert FOR_RESIDENT in (await client.get(f"/api/v1/cases/{own}")).text
    # The case page as a refused supplement answer draws it again.
    case_no, task_id = scene.supplement_tasks[0]
    redrawn = await client.post(
        f"/cases/{case_no}/tasks/{task_id}/supplement", data={"note": "字" * 1001}, headers=await csrf(client)
    )
    assert redrawn.status_code == 400 and FOR_RESIDENT in redrawn.text
    assert [s for s in secrets if s in redrawn.text] == []

    # What the window prints for the resident to take home: the receipt and the 补正告知书.
    clerk = staff["clerk"]
    printed = [f"/console/cases/{scene.case_nos[1]}/receipt"]
    printed += [f"/console/cases/{c}/tasks/{t}/notice" for c, t in scene.supplement_tasks]
    for path in printed:
        sheet = await clerk.get(path)
        assert sheet.status_code == 200, f"{path}: {sheet.status_code}"
        assert [s for s in secrets if s in sheet.text] == [], path


async def test_no_push_text_webhook_snapshot_or_department_system_carries_an_internal_note(
    app: Litestar, client: Client, helper: Client, pool: asyncpg.Pool, settings: Settings, another_client: MakeClient
) -> None:
    async with local_push_service(client) as service:
        # The helper's tablet takes reminders from the start (the elder's account comes later, in the scene).
        assert (await subscribe(helper, service.device("tablet"))).status_code == 201
        scene, _ = await _scene(client, helper, pool, settings, another_client, service.device("phone"))
    secrets = scene.internal_words

    # Every push as the worker would send it (claimed in a transaction that is rolled back).
    notifications = await pool.fetch("SELECT id FROM notifications")
    assert notifications, "the scene sent no push at all"
    async with pool.acquire() as tx:
        transaction = tx.transaction()
        await transaction.start()
        for row in notifications:
            claimed = await push_store.claim(tx, row["id"])
            assert claimed is not None
            payload = payload_of(claimed).decode()
            assert [s for s in (*secrets, *INTERNAL_TITLES) if s in payload] == [], payload
        await transaction.rollback()

    # Any column of any table but the two that hold the words: inbox entries, texts, webhook deliveries, snapshots.
    await _nowhere_but_their_own_tables(pool, secrets)

    # The departments' systems: a department on the case, reaching the whole city.
    async with pool.acquire() as tx, tx.transaction():
        issued = await clients.register(
            tx,
            name="人社系统",
            department_code="hrss",
            hospital=None,
            region_code="320400",
            scopes=list(clients.DEPARTMENT_SCOPES),
        )
    system = another_client()
    token = await _token(system, issued)
    listed = await system.get(f"{EXCHANGE}/tasks", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200 and len(listed.json()["items"]) >= 2
    await _walk(
        system,
        _get_routes(app, _exchange),
        await _values(scene, pool, None),
        [*secrets, *INTERNAL_TITLES],
        Authorization=f"Bearer {token}",
    )


async def _token(system: Client, issued: clients.IssuedSecret) -> str:
    answer = await system.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": issued.client_id, "client_secret": issued.secret},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


async def _nowhere_but_their_own_tables(pool: asyncpg.Pool, secrets: list[str]) -> None:
    columns = await pool.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'json', 'bytea', 'ARRAY') "
        "AND table_name NOT IN ('timeline_events', 'consultations', 'consultation_attachments') "
        "AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE')"
    )
    assert len(columns) > 50
    found = []
    for column in columns:
        table, name = column["table_name"], column["column_name"]
        if column["data_type"] == "bytea":  # a tracking snapshot, a queued job's payload: UTF-8 JSON, searched as bytes
            where = f"position(convert_to($1, 'UTF8') in \"{name}\") > 0"
        else:
            where = f'strpos("{name}"::text, $1) > 0'
        for secret in secrets:
            hit = await pool.fetchval(f'SELECT count(*) FROM "{table}" WHERE {where}', secret)
            if hit:
                found.append(f"{table}.{name}")
    assert found == []
