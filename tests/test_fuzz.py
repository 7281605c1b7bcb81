"""schemathesis against our own OpenAPI document (/schema/openapi.json), as three callers: anonymous, a signed-in
resident and a window clerk; and the data-exchange API (/api/exchange/, /oauth/token) also as a department's system
and a hospital's, with their bearer tokens. The check: no answer is a server error (5xx).

The app runs in process in its own event loop (an anyio portal thread), with its own database copied from the
template; schemathesis and Hypothesis drive it from the test thread. Each caller is an httpx client of that app
with its own cookies; unsafe requests carry the CSRF header as our pages send it (double submit of the cookie).

Generated values are sometimes real codes and ids of that database (hooks below), so that requests get past "not
found" into the rules, and sometimes values at the edge of what PostgreSQL stores (a NUL, integers past int4 and
int8): where a missing check becomes a 500.

In `make test` the run is short and derandomized (the same cases every time, about half a minute on two cores).
`make fuzz` sets FUZZ_EXAMPLES (and FUZZ_SEED, else a random one) for a long run; both print the figures.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from litestar.serialization import encode_json
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from urllib3.filepost import encode_multipart_formdata

from app.main import create_app
from auth import clients as api_clients
from config.settings import load_settings
from db.pool import create_pool
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for, upload_required_materials
from tests.database_fixtures import drop_database, make_database, settings_for, with_database

BASE_URL = "http://localhost:8000"
LONG_RUN = "FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("FUZZ_SEED") or (random.randrange(2**32) if LONG_RUN else 20261129))
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Ending the caller's own session would leave the rest of its run anonymous: the anonymous caller covers these.
ENDS_THE_SESSION = r"^/api/v1/auth/logout(-everywhere)?$"
# The API clients call only the data-exchange API (anything else answers them 401, as to the anonymous caller).
SYSTEMS = ("department", "hospital")
EXCHANGE_PATHS = r"^/(api/exchange/|oauth/token$)"
# A long run outlasts a token (10 minutes): a fresh one well before.
TOKEN_REFRESH_SECONDS = 300


@dataclass
class Figures:
    requests: dict[str, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)


FIGURES = Figures()


@dataclass
class Caller:
    """One browser: an httpx client of the app served in the portal's event loop."""

    name: str
    client: httpx.AsyncClient
    portal: anyio.from_thread.BlockingPortal
    # An API client's bearer token (a fresh one each time it is asked for, when the last is getting old).
    token: Callable[[], str] | None = None

    def send(self, case: schemathesis.Case) -> httpx.Response | None:
        request = _httpx_arguments(case.as_transport_kwargs(base_url=BASE_URL))
        if case.method.upper() in UNSAFE and "csrftoken" in self.client.cookies:
            # Our transport's hook for the CSRF double submit (schemathesis' before_call runs only in its own).
            request["headers"] = {**request.get("headers", {}), "X-CSRFToken": self.client.cookies["csrftoken"]}
        if self.token is not None and not case.path.startswith("/oauth/"):
            request["headers"] = {**request.get("headers", {}), "Authorization": f"Bearer {self.token()}"}
        try:
            built = self.client.build_request(**request)
        except (UnicodeEncodeError, httpx.HTTPError, httpx.InvalidURL, TypeError, ValueError):
            return None  # a header or URL no browser could send (negative mode): nothing reaches the server
        FIGURES.requests[self.name] = FIGURES.requests.get(self.name, 0) + 1
        try:
            response = self.portal.call(self.client.send, built)
        except Exception as exc:
            # Escaped every handler: what a real server would turn into a 500.
            FIGURES.server_errors.append(f"{self.name}: {case.method} {case.formatted_path}: {exc!r}")
            raise
        if response.status_code >= 500:
            FIGURES.server_errors.append(f"{self.name}: {case.method} {case.formatted_path} → {response.status_code}")
        return response


def _httpx_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """schemathesis serializes a case for `requests`; the same request for httpx."""
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params") or None,
    }
    if kwargs.get("cookies"):
        request["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("files"):
        body, content_type = _multipart(kwargs["files"], kwargs.get("data"))
        request["content"] = body
        request["headers"]["Content-Type"] = content_type
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        if isinstance(data, str | bytes):
            request["content"] = data
        else:
            request["data"] = data
    return request


def _multipart(files: Any, data: Any) -> tuple[bytes, str]:
    """Encode `requests`-style files and fields as requests would (generated values need not be bytes)."""
    fields: list[tuple[str, Any]] = [(name, str(value)) for name, value in _pairs(data)]
    for name, value in _pairs(files):
        if isinstance(value, tuple):  # (filename or None for a plain field, content[, content type])
            filename, content, *content_type = value
            content = content if isinstance(content, bytes) else str(content).encode()
            fields.append((name, (filename, content, *content_type[:1])))
        else:
            fields.append((name, value if isinstance(value, str | bytes) else str(value)))
    return encode_multipart_formdata(fields)


def _pairs(value: Any) -> list[tuple[str, Any]]:
    if not isinstance(value, dict | list | tuple):
        return []
    return list(value.items()) if isinstance(value, dict) else list(value)


def _config() -> SchemathesisConfig:
    # Coverage: each parameter's boundary and invalid values, systematically. Stateful needs OpenAPI links (none).
    phases = {"examples": True, "coverage": True, "fuzzing": True, "stateful": False}
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": not LONG_RUN,
                # Now and then a value at the edge of what PostgreSQL stores, where a missing check becomes a 500.
                "dictionaries": {
                    "integer": {"dictionary": "pg-integers", "probability": 0.2},
                    "string": {"dictionary": "pg-strings", "probability": 0.1},
                },
            },
            "dictionaries": {
                "pg-integers": {"values": [2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]},
                "pg-strings": {"values": ["\x00", "a\x00b", "𠀀" * 300, "x" * 10_000]},
            },
            "phases": {name: {"enabled": enabled} for name, enabled in phases.items()},
        }
    )


@pytest.fixture(scope="module")
def served(pg_server_dsn: str, template_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The app on its own database, in an event loop of its own, with the three callers signed in."""
    name = make_database(pg_server_dsn, template_database)
    settings = settings_for(with_database(pg_server_dsn, name), Path(tmp_path_factory.mktemp("fuzz")) / "data")
    with anyio.from_thread.start_blocking_portal() as portal:
        assert settings.database_url is not None
        pool = portal.call(create_pool, settings.database_url)
        app = create_app(settings, pool=pool)

        async def clients() -> dict[str, httpx.AsyncClient]:
            made = {}
            for port, caller in enumerate(("anonymous", "resident", "clerk")):
                transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 51000 + port))
                made[caller] = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
                await csrf(made[caller])
            signed_up = await sign_up(made["resident"], new_authenticator(), ZHANG_WEI)
            assert signed_up.status_code == 201, signed_up.text
            await staff_client_sign_up(
                made["clerk"],
                pool,
                settings.secret_key,
                name="王窗口",
                role="clerk",
                region="320402",
                department="police",
            )
            await _learn_known_values(made)
            for system in SYSTEMS:
                transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 51000 + len(made)))
                made[system] = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
            return made

        made = portal.call(clients)
        credentials = portal.call(_register_systems, pool)
        # The cases below are generated from the app's document before any app runs; it is the one served.
        assert portal.call(made["anonymous"].get, "/schema/openapi.json").json() == DOCUMENT
        yield portal, made, credentials
        for client in made.values():
            portal.call(client.aclose)
        portal.call(pool.close)
    drop_database(pg_server_dsn, name)


async def _learn_known_values(clients: dict[str, httpx.AsyncClient]) -> None:
    """Real codes and ids of this database (a case the resident filed, its tasks and tracking token, an upload), so
    that generated requests reach past "not found" into the rules behind each route."""
    resident = clients["resident"]
    codes = [event["code"] for event in (await resident.get("/api/v1/life-events")).json()]
    filed = await resident.post(
        "/api/v1/cases", json=await submission_for(resident, "birth", "fuzz-known-case-1"), headers=await csrf(resident)
    )
    assert filed.status_code == 201, filed.text
    case = (await resident.get(f"/api/v1/cases/{filed.json()['case_no']}")).json()
    form = (await resident.get("/api/v1/life-events/birth/form")).json()
    uploads = await upload_required_materials(resident, "birth", form)
    passkeys = [p["id"] for p in (await resident.get("/api/v1/me/passkeys")).json()]
    KNOWN.update(
        {
            "x-on-behalf-of": [ZHANG_WEI["id_number"]],
            "code": codes,
            "life_event_code": codes,
            "life_event": codes,
            "case_no": [case["case_no"]],
            "task_id": [task["id"] for task in case["tasks"]],
            "token": [filed.json()["tracking_token"], *uploads],
            "uploads": [uploads],
            "passkey_id": passkeys,
            "on_behalf_of": [ZHANG_WEI["id_number"], LI_NA["id_number"]],
            "parent": ["320400", "320402"],
            # The data-exchange API's writes need a key of this shape, else they stop at 400.
            "idempotency-key": ["fuzz-write-0001", "fuzz-write-0002"],
        }
    )


async def _register_systems(pool: Any) -> dict[str, api_clients.IssuedSecret]:
    """A department's system (health: the resident's case has its tasks) and a hospital's, as client-add makes them."""
    async with pool.acquire() as tx, tx.transaction():
        return {
            "department": await api_clients.register(
                tx,
                name="卫健业务系统",
                department_code="health",
                hospital=None,
                region_code="320402",
                scopes=list(api_clients.DEPARTMENT_SCOPES),
            ),
            "hospital": await api_clients.register(
                tx,
                name="妇幼保健院",
                department_code=None,
                hospital="常州市妇幼保健院",
                region_code="320400",
                scopes=list(api_clients.HOSPITAL_SCOPES),
            ),
        }


def _token_source(
    portal: anyio.from_thread.BlockingPortal, client: httpx.AsyncClient, issued: api_clients.IssuedSecret
) -> Callable[[], str]:
    held: dict[str, Any] = {}

    def token() -> str:
        if not held or time.monotonic() - held["at"] > TOKEN_REFRESH_SECONDS:
            basic = base64.b64encode(f"{issued.client_id}:{issued.secret}".encode()).decode()
            answer = portal.call(
                lambda: client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {basic}"},
                )
            )
            assert answer.status_code == 200, answer.text
            held.update(token=answer.json()["access_token"], at=time.monotonic())
        return held["token"]

    return token


KNOWN: dict[str, list[Any]] = {}  # filled by `served`


def _with_known_values(values: Any) -> st.SearchStrategy[Any]:
    """The generated parameters or body, or the same with some values replaced by real ones of this database."""
    if not isinstance(values, dict) or not any(name in KNOWN for name in values):
        return st.just(values)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *KNOWN[name]]) if name in KNOWN else st.just(value)
            for name, value in values.items()
        }
    )


@pytest.fixture(scope="module", params=["anonymous", "resident", "clerk", *SYSTEMS])
def caller(request: pytest.FixtureRequest, served: Any) -> Caller:
    portal, clients, credentials = served
    name = request.param
    token = _token_source(portal, clients[name], credentials[name]) if name in SYSTEMS else None
    return Caller(name, clients[name], portal, token)


@pytest.fixture(scope="module", autouse=True)
def report_figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    total = sum(FIGURES.requests.values())
    per_caller = ", ".join(f"{name} {count}" for name, count in FIGURES.requests.items())
    line = f"fuzz (seed {SEED}): {total} requests ({per_caller}), {len(FIGURES.server_errors)} server errors"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")
        for error in FIGURES.server_errors[:50]:
            print(f"  {error}")


def _openapi_document() -> dict[str, Any]:
    """What the app serves at /schema/openapi.json (it needs no database to make it)."""
    with tempfile.TemporaryDirectory() as data_dir:
        document = create_app(load_settings({"DATA_DIR": data_dir})).openapi_schema.to_schema()
    # In one order in every process: Litestar lists its own /schema routes in an order that changes with the process's
    # string hashing, and `make test`'s two pytest processes must collect the same tests in the same order.
    return json.loads(json.dumps(json.loads(encode_json(document)), sort_keys=True))


DOCUMENT = _openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=_config())


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: Any) -> st.SearchStrategy[Any]:
    return _with_known_values(path_parameters)


@schema.hook
def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return _with_known_values(query)


@schema.hook
def flatmap_headers(context: Any, headers: Any) -> st.SearchStrategy[Any]:
    return _with_known_values(headers)


@schema.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    return _with_known_values(body)


@schema.parametrize()
@settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_answer_is_a_server_error(case: schemathesis.Case, caller: Caller) -> None:
    if caller.name != "anonymous" and re.match(ENDS_THE_SESSION, case.path):
        return
    if caller.name in SYSTEMS and not re.match(EXCHANGE_PATHS, case.path):
        return
    response = caller.send(case)
    if response is not None:
        case.validate_response(response, checks=[not_a_server_error])
