"""Messages in the caller's language (issue 21): the API's refusals (detail and each field's message) in English when
the caller asks for it and in Chinese otherwise, and no Chinese text left in Python outside a marked one.

Services raise domain errors with a marked Chinese text (`N_`), or one drawn in the request (`_`); app/web/errors.py
translates detail and field messages as the answer leaves. The second half reads the code: a Chinese string literal in
a module under app/, auth/, push/ or sms/ must stand inside `_()`, `N_()`, `ngettext()` or `pgettext()` (or be a
docstring, a log line, or a line marked `# i18n: data` — Chinese matched against data, never shown)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from config.settings import Settings
from tests.auth_helpers import (
    REGISTER_START,
    ZHANG_WEI,
    csrf,
    new_authenticator,
    sign_out,
    sign_up,
    staff_client_sign_up,
)
from tests.push_helpers import file_case

REPO = Path(__file__).resolve().parent.parent
CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MARKERS = frozenset({"_", "N_", "N_plural", "gettext", "ngettext", "pgettext"})
_LOG_CALLS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical"})
# The OpenAPI description of a route (its decorator's or a parameter's summary and description): written in English
# for the developers who call the API, naming each service by its Chinese term of record (改约, 督办): not a page text.
_API_DOCS = frozenset({"get", "post", "put", "patch", "delete", "route", "websocket", "Parameter"})
_API_DOC_KEYWORDS = frozenset({"summary", "description"})

# Modules whose Chinese is not a text for a person to read in their language: the command line and the operator's
# records (a gateway's error kept for staff, like a log line), the SMS templates approved at the provider (each
# language is its own template kind, sms/texts.py).
NOT_FOR_TRANSLATION = frozenset(
    {
        "app/backup.py",
        "app/cli.py",
        "app/seed.py",
        "push/delivery.py",
        "push/sender.py",
        "sms/backends.py",
        "sms/delivery.py",
        "sms/texts.py",
    }
)


def unmarked_chinese(path: Path) -> list[int]:
    """The lines of `path` with a Chinese string literal outside a marked text, a docstring or a log line."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                allowed.add(id(first.value))
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in _MARKERS or (isinstance(func, ast.Attribute) and name in _LOG_CALLS):
                allowed.update(id(inner) for arg in node.args for inner in ast.walk(arg))
            if name in _API_DOCS:
                docs = (kw.value for kw in node.keywords if kw.arg in _API_DOC_KEYWORDS)
                allowed.update(id(inner) for doc in docs for inner in ast.walk(doc))
    return sorted(
        {
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in allowed
            and CHINESE.search(node.value)
            and "# i18n: data" not in lines[node.lineno - 1]
        }
    )


def _modules() -> list[str]:
    return sorted(
        str(path.relative_to(REPO)) for top in ("app", "auth", "push", "sms") for path in (REPO / top).rglob("*.py")
    )


def test_no_chinese_text_in_python_outside_a_marked_text() -> None:
    found = {m: lines for m in _modules() if m not in NOT_FOR_TRANSLATION and (lines := unmarked_chinese(REPO / m))}
    assert not found, f"Chinese outside _()/N_() (mark it, then `make messages` and write its English): {found}"


def test_the_checker_finds_an_unmarked_text_and_passes_a_marked_one(tmp_path: Path) -> None:
    module = tmp_path / "example.py"
    module.write_text(
        '"""说明。"""\n'
        "from i18n import N_, _\n"
        'A = N_("已受理")\n'
        'B = _("共%(n)s件") % {"n": 2}\n'
        'C = "未标记"\n'
        'D = f"共{A}件"\n'
        'log.warning("日志 %s", A)\n'
        'E = "汉族"  # i18n: data\n'
        '@get("/x", summary="督办 one task")\n'
        "def f(): ...\n"
        'F = Template("x.html", summary="未标记")\n',
        encoding="utf-8",
    )
    assert unmarked_chinese(module) == [5, 6, 11]


# --- over HTTP: real refusals in the caller's language ------------------------------------------------------------

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def _no_chinese(text: str) -> bool:
    return CHINESE.search(text) is None


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post(path, json=body, headers={**await csrf(client), **headers})


async def test_a_bad_id_number_on_sign_up_is_refused_per_field_in_the_callers_language(
    client: httpx.AsyncClient,
) -> None:
    wrong = {"name": "John Smith", "id_number": "320402199403150118"}  # the check digit is wrong
    english = await _post(client, REGISTER_START, wrong, **ENGLISH)
    assert english.status_code == 400
    assert _no_chinese(english.json()["detail"]) and _no_chinese(english.json()["errors"]["id_number"])
    chinese = await _post(client, REGISTER_START, wrong)
    assert chinese.status_code == 400 and CHINESE.search(chinese.json()["errors"]["id_number"])


async def test_a_stale_action_on_a_case_is_a_409_in_the_callers_language(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    case = await file_case(client)
    task = next(t for t in case["tasks"] if t["department"] == "police")
    clerk = another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    path = f"/api/v1/console/tasks/{task['id']}/transition"
    assert (await _post(clerk, path, {"action": "accept"})).status_code == 200
    # The same click again, from a page drawn before the first: the task has moved on.
    english = await _post(clerk, path, {"action": "accept"}, **ENGLISH)
    assert english.status_code == 409
    assert english.json()["detail"] == "This cannot be done while the status is 'Accepted'"
    chinese = await _post(clerk, path, {"action": "accept"})
    assert chinese.status_code == 409 and chinese.json()["detail"] == "当前状态“已受理”下不能执行该操作"


async def test_a_resident_calling_a_staff_route_is_refused_in_their_language(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    english = await _post(client, "/api/v1/console/tasks/1/transition", {"action": "accept"}, **ENGLISH)
    assert english.status_code == 403 and english.json()["detail"] == "Your account may not do this"
    chinese = await _post(client, "/api/v1/console/tasks/1/transition", {"action": "accept"})
    assert chinese.status_code == 403 and chinese.json()["detail"] == "您没有权限执行此操作"


async def test_a_rate_limit_says_how_long_to_wait_in_the_callers_language(client: httpx.AsyncClient) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    answers = []
    for _ in range(7):
        options = (await _post(client, "/api/v1/auth/login/options", {})).json()
        forged = authenticator.forge_signature(authenticator.get(options))
        answers.append(await _post(client, "/api/v1/auth/login/verify", {"credential": forged}, **ENGLISH))
    limited = answers[-1]
    assert limited.status_code == 429
    detail = limited.json()["detail"]
    assert detail.startswith("Too many attempts. Try again in ") and detail.endswith(" minutes"), detail
    assert "params" not in limited.json() and limited.json()["retry_after"] > 0
    chinese = await _post(client, "/api/v1/auth/login/verify", {"credential": forged})
    assert chinese.status_code == 429 and "分钟后再试" in chinese.json()["detail"]
