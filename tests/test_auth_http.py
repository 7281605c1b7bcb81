"""Passkey sign-up and sign-in over HTTP against PostgreSQL, with a software authenticator."""

from __future__ import annotations

import asyncpg
import httpx
import msgspec
import pytest

from auth import enrollment
from auth.pii import PiiCipher
from config.settings import Settings
from tests.auth_helpers import (
    LI_NA,
    ZHANG_WEI,
    creation_options,
    csrf,
    new_authenticator,
    post,
    sign_in,
    sign_out,
    sign_up,
    sms_outbox,
)
from tests.database_fixtures import TEST_SECRET_KEY

Client = httpx.AsyncClient
pytestmark = pytest.mark.anyio


async def _audit(pool: asyncpg.Pool, action: str, outcome: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM audit_log WHERE action = $1 AND outcome = $2", action, outcome)


async def _person_id(pool: asyncpg.Pool, id_number: str) -> int:
    return await pool.fetchval(
        "SELECT id FROM people WHERE id_number_hash = $1", PiiCipher(TEST_SECRET_KEY).lookup_hash(id_number)
    )


async def test_a_resident_signs_up_and_sees_a_masked_id_number(client: Client, pool: asyncpg.Pool) -> None:
    response = await sign_up(client, new_authenticator(), ZHANG_WEI, phone="13900000001")
    assert response.status_code == 201, response.text
    assert response.json() == {
        "name": "张伟",
        "id_number_masked": "320402********0119",
        "roles": ["resident"],
        "region": {"code": "320402001001", "name": response.json()["region"]["name"]},
        "department": None,
    }
    me = await client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["id_number_masked"] == "320402********0119"
    assert ZHANG_WEI["id_number"] not in me.text
    cookie = next(c for c in client.cookies.jar if c.name == "ywtb_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert len(await _audit(pool, "signup", "ok")) == 1


async def test_sign_in_without_typing_anything_after_sign_out(client: Client) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    assert (await client.get("/api/v1/me")).status_code == 401
    response = await sign_in(client, authenticator)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "张伟"
    assert (await client.get("/api/v1/me")).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "id_number": "320402199403150119"}, "name"),
        ({"name": "张伟", "id_number": "320402199403150118"}, "id_number"),  # checksum
        ({"name": "张伟", "id_number": "32040219940315011"}, "id_number"),  # length
        ({"name": "张伟", "id_number": "320402209913150116"}, "id_number"),  # impossible / future date
        ({"name": "张伟", "id_number": "320402199403150119", "sms_code": "12345"}, "sms_code"),
        ({"name": "张伟", "id_number": "320402199403150119", "phone": "12345"}, "phone"),
        ({"name": "张伟"}, "id_number"),
    ],
)
async def test_bad_sign_up_input_is_a_400_naming_the_field_in_chinese(
    client: Client, body: dict[str, str], field: str
) -> None:
    response = await post(client, "/api/v1/auth/register/options", body)
    assert response.status_code == 400, response.text
    message = response.json()["errors"][field]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)


async def test_wrongly_typed_json_is_a_400_not_a_500(client: Client) -> None:
    response = await client.post(
        "/api/v1/auth/register/options", content=b'{"name": 5, "id_number": []}', headers=await csrf(client)
    )
    assert response.status_code == 400
    response = await client.post("/api/v1/auth/register/options", content=b"not json", headers=await csrf(client))
    assert response.status_code == 400


async def test_lower_case_x_is_accepted(client: Client, pool: asyncpg.Pool, settings: Settings) -> None:
    await pool.execute(
        "INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, phone, birth_date, sex) "
        "VALUES ($1, $2, '110105********002X', '测试', '13800009999', '1949-12-31', 'F')",
        PiiCipher(TEST_SECRET_KEY).lookup_hash("11010519491231002X"),
        PiiCipher(TEST_SECRET_KEY).encrypt("11010519491231002X"),
    )
    response = await sign_up(client, new_authenticator(), {"name": "测试", "id_number": "11010519491231002x"})
    assert response.status_code == 201


async def test_unsafe_requests_without_the_csrf_header_are_refused(client: Client) -> None:
    await client.get("/")
    response = await client.post("/api/v1/auth/login/options", json={})
    assert response.status_code == 403


async def test_second_account_for_same_id_needs_enrollment_code(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await sign_out(client)
    # The page answers as for anyone (no oracle); the phone on the register is told to sign in instead.
    with sms_outbox() as outbox:
        started = await post(client, "/api/v1/auth/register/options", ZHANG_WEI)
    assert started.status_code == 202 and started.json() == {"verification": "sms"}
    assert outbox.last_code() is None and "您已开通账户" in outbox.lines[0]
    assert len(await _audit(pool, "signup.sms_code", "refused")) == 1

    # A clerk checks the ID card and issues a code: the new phone gets a passkey on the same account.
    code, _ = await enrollment.issue(
        pool, settings.secret_key, person_id=await _person_id(pool, ZHANG_WEI["id_number"]), issued_by="test"
    )
    new_phone = new_authenticator()
    response = await sign_up(client, new_phone, ZHANG_WEI, enrollment_code=code.lower().replace("-", ""))
    assert response.status_code == 201, response.text
    assert await pool.fetchval("SELECT count(*) FROM accounts") == 1
    assert await pool.fetchval("SELECT count(*) FROM credentials") == 2
    assert len(await _audit(pool, "enrollment_code.use", "ok")) == 1

    # Single use: the same code again is refused.
    await sign_out(client)
    again = await post(client, "/api/v1/auth/register/options", {**ZHANG_WEI, "enrollment_code": code})
    assert again.status_code == 400 and "enrollment_code" in again.json()["errors"]


async def test_an_expired_enrollment_code_is_refused(client: Client, pool: asyncpg.Pool, settings: Settings) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    await sign_out(client)
    code, _ = await enrollment.issue(
        pool, settings.secret_key, person_id=await _person_id(pool, ZHANG_WEI["id_number"]), issued_by="test"
    )
    await pool.execute("UPDATE enrollment_codes SET expires_at = now() - interval '1 second'")
    response = await post(client, "/api/v1/auth/register/options", {**ZHANG_WEI, "enrollment_code": code})
    assert response.status_code == 400 and "过期" in response.json()["errors"]["enrollment_code"]


async def test_enrollment_codes_are_stored_hashed(pool: asyncpg.Pool, settings: Settings) -> None:
    code, _ = await enrollment.issue(pool, settings.secret_key, person_id=1, issued_by="test")
    stored = await pool.fetchval("SELECT code_hash FROM enrollment_codes")
    assert code.encode() not in stored and code.replace("-", "").encode() not in stored


async def test_a_replayed_assertion_is_refused_and_audited(client: Client, pool: asyncpg.Pool) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    options = (await post(client, "/api/v1/auth/login/options")).json()
    assertion = authenticator.get(options)
    first = await post(client, "/api/v1/auth/login/verify", {"credential": assertion})
    assert first.status_code == 200
    await sign_out(client)
    replay = await post(client, "/api/v1/auth/login/verify", {"credential": assertion})
    assert replay.status_code == 400
    assert (await client.get("/api/v1/me")).status_code == 401
    assert len(await _audit(pool, "signin", "refused")) == 1


async def test_wrong_origin_is_refused(client: Client, pool: asyncpg.Pool) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    response = await sign_in(client, authenticator, origin="https://evil.example")
    assert response.status_code == 400
    refusal = (await _audit(pool, "signin", "refused"))[0]
    assert "origin" in refusal["detail"]["reason"].lower()


async def test_wrong_origin_at_sign_up_is_refused(client: Client) -> None:
    options = await creation_options(client, ZHANG_WEI)
    credential = new_authenticator().create(options.json(), origin="https://evil.example")
    response = await post(client, "/api/v1/auth/register/verify", {"credential": credential})
    assert response.status_code == 400
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_wrong_challenge_is_refused(client: Client) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    response = await sign_in(client, authenticator, challenge_override=b"x" * 32)
    assert response.status_code == 400


async def test_a_challenge_belongs_to_the_session_that_asked(client: Client, app) -> None:  # type: ignore[no-untyped-def]
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    options = (await post(client, "/api/v1/auth/login/options")).json()
    assertion = authenticator.get(options)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as other:
        response = await post(other, "/api/v1/auth/login/verify", {"credential": assertion})
    assert response.status_code == 400


async def test_an_expired_challenge_is_refused(client: Client, pool: asyncpg.Pool) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    options = (await post(client, "/api/v1/auth/login/options")).json()
    await pool.execute("UPDATE webauthn_challenges SET expires_at = now() - interval '1 second'")
    response = await post(client, "/api/v1/auth/login/verify", {"credential": authenticator.get(options)})
    assert response.status_code == 400


async def test_a_sign_counter_going_backwards_is_refused(client: Client, pool: asyncpg.Pool) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    assert (await sign_in(client, authenticator)).status_code == 200
    assert (await sign_in(client, authenticator)).status_code == 200
    await sign_out(client)
    response = await sign_in(client, authenticator, sign_count_override=1)
    assert response.status_code == 400
    reasons = [r["detail"]["reason"] for r in await _audit(pool, "signin", "refused")]
    assert any("sign count" in r for r in reasons)


async def test_an_unknown_credential_is_refused(client: Client, pool: asyncpg.Pool) -> None:
    stranger = new_authenticator()
    options = await creation_options(client, LI_NA)
    stranger.create(options.json())  # made on the device, never sent to the server
    response = await sign_in(client, stranger)
    assert response.status_code == 400
    assert "未在本站登记" in response.json()["detail"]
    assert [r["detail"]["reason"] for r in await _audit(pool, "signin", "refused")] == ["unknown credential"]


async def test_a_forged_signature_is_refused(client: Client) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    options = (await post(client, "/api/v1/auth/login/options")).json()
    forged = authenticator.forge_signature(authenticator.get(options))
    response = await post(client, "/api/v1/auth/login/verify", {"credential": forged})
    assert response.status_code == 400


async def test_repeated_failures_are_limited_with_a_chinese_429(client: Client) -> None:
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    await sign_out(client)
    statuses = []
    for _ in range(7):
        options = (await post(client, "/api/v1/auth/login/options")).json()
        forged = authenticator.forge_signature(authenticator.get(options))
        statuses.append(await post(client, "/api/v1/auth/login/verify", {"credential": forged}))
    assert [r.status_code for r in statuses[:5]] == [400] * 5
    limited = statuses[-1]
    assert limited.status_code == 429
    assert "分钟后再试" in limited.json()["detail"]
    assert int(limited.headers["retry-after"]) > 0
    # The genuine passkey is locked out too while the limit holds.
    assert (await sign_in(client, authenticator)).status_code == 429


async def test_passkeys_can_be_renamed_and_removed_but_never_the_last(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    keys = (await client.get("/api/v1/me/passkeys")).json()
    assert len(keys) == 1
    last = await client.delete(f"/api/v1/me/passkeys/{keys[0]['id']}", headers=await csrf(client))
    assert last.status_code == 409 and "唯一" in last.json()["detail"]

    second = new_authenticator()
    options = await post(client, "/api/v1/auth/passkeys/options")
    added = await post(client, "/api/v1/auth/register/verify", {"credential": second.create(options.json())})
    assert added.status_code == 201, added.text
    keys = (await client.get("/api/v1/me/passkeys")).json()
    assert len(keys) == 2
    renamed = await client.patch(
        f"/api/v1/me/passkeys/{keys[1]['id']}", json={"name": "我的平板"}, headers=await csrf(client)
    )
    assert renamed.status_code == 200
    assert (await client.get("/api/v1/me/passkeys")).json()[1]["name"] == "我的平板"
    removed = await client.delete(f"/api/v1/me/passkeys/{keys[0]['id']}", headers=await csrf(client))
    assert removed.status_code == 204
    assert len(await _audit(pool, "passkey.remove", "ok")) == 1
    assert len(await _audit(pool, "passkey.add", "ok")) == 1


async def test_sign_out_everywhere_ends_other_sessions(client: Client, app) -> None:  # type: ignore[no-untyped-def]
    authenticator = new_authenticator()
    await sign_up(client, authenticator, ZHANG_WEI)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as tablet:
        assert (await sign_in(tablet, authenticator)).status_code == 200
        assert (await tablet.get("/api/v1/me")).status_code == 200
        response = await post(client, "/api/v1/auth/logout-everywhere")
        assert response.status_code == 204
        assert (await tablet.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_an_idle_session_times_out(client: Client, pool: asyncpg.Pool) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    assert (await client.get("/api/v1/me")).status_code == 200
    # Age the session's last activity past the resident's 30 minutes.
    row = await pool.fetchrow(
        "SELECT key, value FROM sessions WHERE convert_from(value, 'UTF8') LIKE '%account_id%' LIMIT 1"
    )
    data = msgspec.json.decode(row["value"])
    data["seen_at"] -= 31 * 60
    await pool.execute("UPDATE sessions SET value = $2 WHERE key = $1", row["key"], msgspec.json.encode(data))
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_pages_needing_sign_in_send_people_to_the_login_page(client: Client) -> None:
    response = await client.get("/me", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/me"


async def test_audit_log_refuses_update_and_delete(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO audit_log (actor, action, outcome) VALUES ('test', 'x', 'ok')")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("UPDATE audit_log SET outcome = 'changed'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("DELETE FROM audit_log")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("TRUNCATE audit_log")


async def test_anonymous_visits_write_no_sessions(client: Client, pool: asyncpg.Pool) -> None:
    for path in ("/", "/life-events/birth", "/api/v1/life-events"):
        assert (await client.get(path)).status_code == 200
    assert await pool.fetchval("SELECT count(*) FROM sessions") == 0
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    assert await pool.fetchval("SELECT count(*) FROM sessions") == 1
    await sign_out(client)
    assert await pool.fetchval("SELECT count(*) FROM sessions") == 0
