"""代办授权 over HTTP: a helper records it with the elder present, uses it, and every misuse is 403 (audited)."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import httpx
import pytest
from litestar import Litestar
from PIL import Image, ImageDraw

from app.settings import Settings
from tests.auth_helpers import new_authenticator, post, sign_in, sign_out, sign_up, staff_client_sign_up
from tests.case_helpers import answers_for, upload_required_materials

pytestmark = pytest.mark.anyio
ELDER = {"name": "史永生", "id_number": "320481194702282050"}
NEIGHBOUR = {"name": "潘玉兰", "id_number": "32048119490821212X"}
ELSEWHERE = {"name": "瞿秀珍", "id_number": "320481195003082345"}
VILLAGE = "320481002002"


def signature_png() -> str:
    image = Image.new("RGB", (240, 90), "white")
    ImageDraw.Draw(image).line([(10, 60), (80, 20), (150, 70), (230, 30)], fill="black", width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def delegation_body(client: dict[str, str], **overrides: object) -> dict[str, object]:
    return {
        "client_id_number": client["id_number"],
        "client_name": client["name"],
        "scope": "all",
        "expires_on": (date.today() + timedelta(days=180)).isoformat(),
        "identity_check": "id_card",
        "consent": {"method": "signature", "signature_png": signature_png()},
        **overrides,
    }


@pytest.fixture
async def helper(app: Litestar, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50300))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        await staff_client_sign_up(client, pool, settings.secret_key, name="陈帮办", role="helper", region=VILLAGE)
        yield client


async def _file_retirement(helper: httpx.AsyncClient, client: dict[str, str], key: str) -> httpx.Response:
    form = (await helper.get("/api/v1/life-events/retirement/form")).json()
    try:
        uploads = await upload_required_materials(helper, "retirement", form, client["id_number"])
    except AssertionError:
        uploads = []  # refused like the submission itself; the submission's answer is what the test checks
    body = {
        "uploads": uploads,
        "life_event": "retirement",
        "data": answers_for(form),
        "idempotency_key": key,
        "on_behalf_of": client["id_number"],
    }
    return await post(helper, "/api/v1/cases", body)


async def _forbidden_checks(pool: asyncpg.Pool) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'delegation.check' AND outcome = 'forbidden'"
    )


async def test_the_delegation_lifecycle(
    helper: httpx.AsyncClient, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # None yet: refused and audited.
    assert (await _file_retirement(helper, ELDER, "deleg-0001")).status_code == 403
    assert await _forbidden_checks(pool) == 2  # the upload and the submission, each refused

    created = await post(helper, "/api/v1/delegations", delegation_body(ELDER))
    assert created.status_code == 201, created.text
    roster = (await helper.get("/api/v1/delegations")).json()
    assert [(d["client_name"], d["status"], d["client_id_number_masked"]) for d in roster] == [
        ("史永生", "active", "320481********2050")
    ]

    filed = await _file_retirement(helper, ELDER, "deleg-0002")
    assert filed.status_code == 201, filed.text
    row = await pool.fetchrow("SELECT channel, filed_as FROM cases")
    assert (row["channel"], row["filed_as"]) == ("helper", "helper")
    note = await pool.fetchval("SELECT note FROM timeline_events ORDER BY id LIMIT 1")
    assert note == "由帮办员 陈帮办 代办"
    assert (await helper.get("/api/v1/delegations")).json()[0]["open_cases"] == [filed.json()["case_no"]]

    # The elder, signed in on a family member's phone, sees the case and the delegation, and revokes it.
    await sign_up(client, new_authenticator(), ELDER)
    assert [c["case_no"] for c in (await client.get("/api/v1/cases")).json()] == [filed.json()["case_no"]]
    given = (await client.get("/api/v1/delegations")).json()
    assert [d["helper_name"] for d in given] == ["陈帮办"]
    revoked = await client.delete(
        f"/api/v1/delegations/{given[0]['id']}", headers={"X-CSRFToken": client.cookies["csrftoken"]}
    )
    assert revoked.status_code == 204
    assert (await _file_retirement(helper, ELDER, "deleg-0003")).status_code == 403
    assert (await helper.get("/api/v1/delegations")).json()[0]["status"] == "revoked"


async def test_an_expired_delegation_is_refused(helper: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    await pool.execute("UPDATE delegations SET expires_on = current_date - 1")
    assert (await _file_retirement(helper, ELDER, "deleg-exp-1")).status_code == 403
    assert (await helper.get("/api/v1/delegations")).json()[0]["status"] == "expired"


async def test_outside_scope_is_refused(helper: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    body = delegation_body(ELDER, scope=["death"])
    assert (await post(helper, "/api/v1/delegations", body)).status_code == 201
    assert (await _file_retirement(helper, ELDER, "deleg-scope-1")).status_code == 403
    assert await _forbidden_checks(pool) == 2  # the upload and the submission, each refused


async def test_a_client_outside_the_helpers_village_is_refused(helper: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    response = await post(helper, "/api/v1/delegations", delegation_body(ELSEWHERE))
    assert response.status_code == 403
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'delegation.create' AND outcome = 'forbidden'"
        )
        == 1
    )
    assert (await _file_retirement(helper, ELSEWHERE, "deleg-far-1")).status_code == 403


async def test_one_clients_delegation_does_not_cover_another(helper: httpx.AsyncClient) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    assert (await _file_retirement(helper, NEIGHBOUR, "deleg-other-1")).status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"client_name": "张三"}, "client_id_number"),
        ({"client_id_number": "320481194702282051"}, "client_id_number"),
        ({"scope": []}, "scope"),
        ({"scope": ["no-such-event"]}, "scope"),
        ({"expires_on": (date.today() + timedelta(days=400)).isoformat()}, "expires_on"),
        ({"expires_on": date.today().isoformat()}, "expires_on"),
        ({"identity_check": "looked at them"}, "identity_check"),
        ({"consent": {"method": "signature", "signature_png": "bm90IGEgcG5n"}}, "consent"),
        ({"consent": {"method": "nod"}}, "consent"),
    ],
)
async def test_bad_delegations_are_400_per_field(
    helper: httpx.AsyncClient, overrides: dict[str, object], field: str
) -> None:
    response = await post(helper, "/api/v1/delegations", delegation_body(ELDER, **overrides))
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]


async def test_the_elders_own_passkey_can_give_consent(
    helper: httpx.AsyncClient, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    elder_key = new_authenticator()
    await sign_up(client, elder_key, ELDER)
    await sign_out(client)
    options = await post(
        helper,
        "/api/v1/delegations/consent-options",
        {"client_id_number": ELDER["id_number"], "client_name": ELDER["name"]},
    )
    assert options.status_code == 200, options.text
    assert options.json()["allowCredentials"]
    assertion = elder_key.get(options.json())
    body = delegation_body(ELDER, consent={"method": "passkey", "credential": assertion})
    created = await post(helper, "/api/v1/delegations", body)
    assert created.status_code == 201, created.text
    assert await pool.fetchval("SELECT consent_method FROM delegations") == "passkey"
    # The same assertion cannot be replayed for a second delegation.
    assert (await post(helper, "/api/v1/delegations", body)).status_code == 400
    # A passkey consent does not sign the elder in on the helper's tablet.
    assert (await helper.get("/api/v1/me")).json()["roles"] == ["helper"]
    assert (await sign_in(client, elder_key)).status_code == 200


async def test_residents_cannot_record_delegations(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), NEIGHBOUR)
    assert (await post(client, "/api/v1/delegations", delegation_body(ELDER))).status_code == 403


async def test_the_form_is_prefilled_from_the_clients_data_not_the_helpers(
    helper: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert (
        await helper.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": ELDER["id_number"]})
    ).status_code == 403
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    form = (await helper.get("/api/v1/life-events/retirement/form", params={"on_behalf_of": ELDER["id_number"]})).json()
    fields = {f["key"]: f for s in form["sections"] for f in s["fields"]}
    assert fields["applicant.name"]["prefill"]["value"] == "史永生"
    assert "id_card" in {m["certificate_kind"] for m in form["materials"]["held"]}
    draft = await helper.put(
        "/api/v1/drafts/retirement",
        params={"on_behalf_of": ELDER["id_number"]},
        json={"data": {"bank.name": "常州农商行"}, "version": 0, "form_checksum": form["checksum"]},
        headers={"X-CSRFToken": helper.cookies["csrftoken"]},
    )
    assert draft.status_code == 200
    other = await helper.get("/api/v1/drafts/retirement", params={"on_behalf_of": NEIGHBOUR["id_number"]})
    assert other.status_code == 403  # no delegation from the neighbour: no access to anything of theirs
    unknown = await helper.get("/api/v1/drafts/retirement", params={"on_behalf_of": "11010519491231002X"})
    assert unknown.status_code == 403  # not in the register: refused the same way, so no register oracle


async def test_the_elder_sees_and_revokes_delegations_on_the_profile_page(
    helper: httpx.AsyncClient, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER, scope=["retirement"]))).status_code == 201
    await sign_up(client, new_authenticator(), ELDER)
    page = await client.get("/me")
    assert "帮办员 陈帮办" in page.text and "退休" in page.text and "有效" in page.text
    delegation_id = await pool.fetchval("SELECT id FROM delegations")
    revoked = await client.post(
        f"/me/delegations/{delegation_id}/revoke",
        headers={"X-CSRFToken": client.cookies["csrftoken"]},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert await pool.fetchval("SELECT revoked_at IS NOT NULL FROM delegations")
    assert "已撤销" in (await client.get("/me")).text


async def test_the_helper_follows_the_clients_case_in_their_inbox_while_authorised(
    helper: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert (await post(helper, "/api/v1/delegations", delegation_body(ELDER))).status_code == 201
    case_no = (await _file_retirement(helper, ELDER, "deleg-inbox-1")).json()["case_no"]
    inbox = (await helper.get("/api/v1/notifications")).json()
    assert [item["url"] for item in inbox["items"]] == [f"/helper/cases/{case_no}/receipt"]
    await pool.execute("UPDATE delegations SET revoked_at = now()")
    case_id = await pool.fetchval("SELECT id FROM cases")
    async with pool.acquire() as conn, conn.transaction():
        from app.cases.timeline import record_event

        await record_event(conn, case_id=case_id, status="accepted", title="测试步骤")
    assert len((await helper.get("/api/v1/notifications")).json()["items"]) == 1  # no longer told
