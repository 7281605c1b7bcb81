"""Sign-up proves possession before an account exists (issue 13, finding 1): the sign-up start is no
oracle for whether a name and ID number belong together, and nobody opens an account in another's name.

Tried as an attacker would: every answer a guesser can see is compared for a right pair, a wrong pair, an
existing account and a person with no phone on the register."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.main import create_app
from app.people.identity import check_char
from auth import enrollment
from auth.pii import PiiCipher
from config.settings import Settings
from db.pool import create_pool
from tests.auth_helpers import (
    LI_NA,
    REGISTER_START,
    ZHANG_WEI,
    new_authenticator,
    post,
    sign_out,
    sign_up,
    sms_code_for,
    sms_outbox,
)
from tests.database_fixtures import TEST_SECRET_KEY

Client = httpx.AsyncClient
SENT = {"verification": "sms"}
WRONG_NAME = {"name": "李四", "id_number": ZHANG_WEI["id_number"]}
NOT_IN_REGISTER = {"name": "张伟", "id_number": "11010519491231002X"}
NO_PHONE = {"name": "赵无机", "id_number": "320402195001010019"}


async def _add_person_without_phone(pool: asyncpg.Pool) -> None:
    cipher = PiiCipher(TEST_SECRET_KEY)
    await pool.execute(
        "INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, region_code, birth_date, sex) "
        "VALUES ($1, $2, '320402********0019', $3, '320402001001', '1950-01-01', 'M')",
        cipher.lookup_hash(NO_PHONE["id_number"]),
        cipher.encrypt(NO_PHONE["id_number"]),
        NO_PHONE["name"],
    )


async def _with_li_na_signed_up(app: Litestar) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50300))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as other:
        assert (await sign_up(other, new_authenticator(), LI_NA)).status_code == 201


def _id_number(serial: int) -> str:
    first17 = f"32040219800101{serial:03d}"
    return first17 + check_char(first17)


@pytest.fixture
def from_address(app: Litestar) -> Callable[[int], Client]:
    """A browser at another address (limits per address must not mix into a comparison)."""

    def make(port: int) -> Client:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.2", port)), base_url="http://localhost:8000"
        )

    return make


async def test_every_well_formed_start_gets_the_same_answer(client: Client, app: Litestar, pool: asyncpg.Pool) -> None:
    await _add_person_without_phone(pool)
    await _with_li_na_signed_up(app)
    answers = {}
    for label, body in {
        "right pair": ZHANG_WEI,
        "wrong name": WRONG_NAME,
        "not in the register": NOT_IN_REGISTER,
        "existing account": LI_NA,
        "no phone on the register": NO_PHONE,
    }.items():
        response = await post(client, REGISTER_START, body)
        answers[label] = (response.status_code, response.json())
    assert answers == dict.fromkeys(answers, (202, SENT)), answers


async def test_the_code_is_texted_only_to_the_phone_on_the_register(client: Client) -> None:
    with sms_outbox() as outbox:
        response = await post(client, REGISTER_START, {**ZHANG_WEI, "phone": "13900000009"})
    assert response.status_code == 202
    # 张伟's phone on the population register is 13800000001; the one typed in the form gets nothing.
    assert len(outbox.lines) == 1, outbox.lines
    line = outbox.to("138****0001")[0]
    assert line.startswith("短信 → 138****0001: 【常州一网通办】验证码 ") and line.endswith("，10分钟内有效")
    assert outbox.to("139****0009") == []
    assert "13800000001" not in line


async def test_wrong_pairs_and_missing_phones_are_texted_nothing_and_an_account_holder_is_told_to_sign_in(
    client: Client, app: Litestar, pool: asyncpg.Pool
) -> None:
    await _add_person_without_phone(pool)
    await _with_li_na_signed_up(app)
    with sms_outbox() as outbox:
        for body in (WRONG_NAME, NOT_IN_REGISTER, NO_PHONE):
            assert (await post(client, REGISTER_START, body)).status_code == 202
        assert outbox.lines == []
        assert (await post(client, REGISTER_START, LI_NA)).status_code == 202
    assert len(outbox.lines) == 1
    assert outbox.lines[0].startswith("短信 → 138****0002: 【常州一网通办】您已开通账户，请直接登录")
    assert outbox.last_code() is None


async def test_a_wrong_code_is_refused_alike_for_right_and_wrong_pairs(client: Client) -> None:
    code = await sms_code_for(client, ZHANG_WEI)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    await post(client, REGISTER_START, WRONG_NAME)
    right_pair = await post(client, REGISTER_START, {**ZHANG_WEI, "sms_code": wrong})
    wrong_pair = await post(client, REGISTER_START, {**WRONG_NAME, "sms_code": wrong})
    # Even the genuine code, offered with a wrong name, says nothing more.
    wrong_pair_right_code = await post(client, REGISTER_START, {**WRONG_NAME, "sms_code": code})
    assert right_pair.status_code == wrong_pair.status_code == wrong_pair_right_code.status_code == 400
    assert right_pair.json() == wrong_pair.json() == wrong_pair_right_code.json()
    assert set(right_pair.json()["errors"]) == {"sms_code"}


async def test_a_malformed_code_is_named_beside_its_field(client: Client) -> None:
    response = await post(client, REGISTER_START, {**ZHANG_WEI, "sms_code": "12ab"})
    assert response.status_code == 400
    assert "6位数字" in response.json()["errors"]["sms_code"]


async def test_five_wrong_tries_spend_the_code(client: Client) -> None:
    code = await sms_code_for(client, ZHANG_WEI)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert (await post(client, REGISTER_START, {**ZHANG_WEI, "sms_code": wrong})).status_code == 400
    spent = await post(client, REGISTER_START, {**ZHANG_WEI, "sms_code": code})
    assert spent.status_code == 400 and set(spent.json()["errors"]) == {"sms_code"}


async def test_a_code_lives_ten_minutes(client: Client, pool: asyncpg.Pool) -> None:
    code = await sms_code_for(client, ZHANG_WEI)
    await pool.execute("UPDATE signup_codes SET expires_at = now() - interval '1 second'")
    expired = await post(client, REGISTER_START, {**ZHANG_WEI, "sms_code": code})
    assert expired.status_code == 400 and set(expired.json()["errors"]) == {"sms_code"}


async def test_codes_are_stored_as_keyed_hashes(client: Client, pool: asyncpg.Pool) -> None:
    code = await sms_code_for(client, ZHANG_WEI)
    stored = await pool.fetchval("SELECT code_hash FROM signup_codes")
    assert code.encode() not in stored and len(stored) == 32


async def test_the_right_code_gives_the_passkey_options_once(client: Client, pool: asyncpg.Pool) -> None:
    response = await sign_up(client, new_authenticator(), ZHANG_WEI)
    assert response.status_code == 201, response.text
    assert await pool.fetchval("SELECT count(*) FROM accounts WHERE kind = 'resident'") == 1
    assert await pool.fetchval("SELECT count(*) FROM signup_codes WHERE used_at IS NOT NULL") == 1


async def test_nobody_opens_an_account_in_another_persons_name_without_the_code(
    client: Client, pool: asyncpg.Pool
) -> None:
    # The attacker knows 张伟's name and number, but not the code texted to his phone.
    started = await post(client, REGISTER_START, ZHANG_WEI)
    assert started.status_code == 202 and "challenge" not in started.text
    for guess in ("000000", "123456", "999999"):
        assert (await post(client, REGISTER_START, {**ZHANG_WEI, "sms_code": guess})).status_code in (400, 429)
    credential = new_authenticator().create(
        {
            "challenge": "AAAAAAAAAAAAAAAAAAAAAA",
            "rp": {"id": "localhost", "name": "x"},
            "user": {"id": "AAAA", "name": "x", "displayName": "x"},
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        }
    )
    forged = await post(client, "/api/v1/auth/register/verify", {"credential": credential})
    assert forged.status_code == 400
    assert await pool.fetchval("SELECT count(*) FROM accounts WHERE kind = 'resident'") == 0


async def test_the_per_number_limit_answers_alike_for_right_and_wrong_pairs(
    from_address: Callable[[int], Client],
) -> None:
    answers = []
    for port, body in ((50501, ZHANG_WEI), (50502, {"name": "王五", "id_number": LI_NA["id_number"]})):
        async with from_address(port) as browser:
            statuses = [(await post(browser, REGISTER_START, body)).status_code for _ in range(5)]
            assert statuses == [202] * 5
            refused = await post(browser, REGISTER_START, body)
            answers.append((refused.status_code, refused.json(), refused.headers.get("retry-after")))
    (status, body, retry_after), other = answers
    assert status == 429 and body["detail"].endswith("请60分钟后再试")
    assert answers[0][:2] == other[:2]
    assert retry_after is not None and abs(int(retry_after) - int(other[2] or 0)) <= 2


async def test_the_per_number_limit_counts_wrong_names_too(from_address: Callable[[int], Client]) -> None:
    async with from_address(50503) as browser:
        for name in ("甲", "乙", "丙", "丁", "戊"):
            assert (await post(browser, REGISTER_START, {**ZHANG_WEI, "name": name})).status_code == 202
        assert (await post(browser, REGISTER_START, ZHANG_WEI)).status_code == 429


async def test_one_address_may_start_twenty_sign_ups_an_hour(client: Client) -> None:
    statuses = [
        (await post(client, REGISTER_START, {"name": "某人", "id_number": _id_number(n)})).status_code
        for n in range(21)
    ]
    assert statuses[:20] == [202] * 20
    assert statuses[20] == 429


@pytest.fixture
async def counted(settings: Settings) -> AsyncIterator[tuple[Client, list[str], Litestar]]:
    queries: list[str] = []

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda record: queries.append(record.query))

    assert settings.database_url
    counting_pool = await create_pool(settings.database_url, min_size=1, max_size=4, on_connect=log_queries)
    app = create_app(settings, pool=counting_pool)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50400))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
        yield client, queries, app
    await counting_pool.close()


async def test_every_start_does_the_same_database_work(
    counted: tuple[Client, list[str], Litestar], pool: asyncpg.Pool
) -> None:
    """The time an answer takes tells nothing either: the same statements run for every case, and the text is
    sent after the answer (a slow SMS gateway cannot be timed)."""
    client, queries, app = counted
    await _add_person_without_phone(pool)
    await _with_li_na_signed_up(app)
    await post(client, REGISTER_START, NOT_IN_REGISTER)  # the session and CSRF cookie are made here
    work = {}
    for label, body in {
        "right pair": ZHANG_WEI,
        "wrong name": WRONG_NAME,
        "not in the register": NOT_IN_REGISTER,
        "existing account": LI_NA,
        "no phone on the register": NO_PHONE,
    }.items():
        queries.clear()
        assert (await post(client, REGISTER_START, body)).status_code == 202
        work[label] = list(queries)
    assert all(statements == work["right pair"] for statements in work.values()), work


# --- the enrollment-code path: the code is the proof, and it is no oracle either -----------------------


async def test_every_enrollment_code_mismatch_gets_one_answer(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    person_id = await pool.fetchval(
        "SELECT id FROM people WHERE id_number_hash = $1", PiiCipher(TEST_SECRET_KEY).lookup_hash(LI_NA["id_number"])
    )
    code_for_li_na, _ = await enrollment.issue(pool, settings.secret_key, person_id=person_id, issued_by="test")
    answers = []
    for body in (
        {**ZHANG_WEI, "enrollment_code": "ABCDE-FGHJK"},  # a bad code, right pair
        {**WRONG_NAME, "enrollment_code": "ABCDE-FGHJK"},  # a bad code, wrong pair
        {**ZHANG_WEI, "enrollment_code": code_for_li_na},  # a good code, for someone else
        {**NOT_IN_REGISTER, "enrollment_code": code_for_li_na},
        {**LI_NA, "name": "李四", "enrollment_code": code_for_li_na},  # the right number, a wrong name
    ):
        response = await post(client, REGISTER_START, body)
        answers.append((response.status_code, response.json()))
    assert answers[0][0] == 400 and set(answers[0][1]["errors"]) == {"enrollment_code"}
    assert all(answer == answers[0] for answer in answers), answers


async def test_enrollment_code_failures_are_limited_per_address(client: Client) -> None:
    statuses = [
        (await post(client, REGISTER_START, {**ZHANG_WEI, "enrollment_code": "ABCDE-FGHJK"})).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429


async def test_a_person_with_no_phone_signs_up_with_a_code_from_the_window(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    await _add_person_without_phone(pool)
    person_id = await pool.fetchval("SELECT id FROM people WHERE name = $1", NO_PHONE["name"])
    code, _ = await enrollment.issue(pool, settings.secret_key, person_id=person_id, issued_by="test")
    response = await sign_up(client, new_authenticator(), NO_PHONE, enrollment_code=code)
    assert response.status_code == 201, response.text
    await sign_out(client)
    again = await post(client, REGISTER_START, {**NO_PHONE, "enrollment_code": code})
    assert again.status_code == 400  # single use


async def test_two_app_processes_on_one_database_share_the_limits(
    settings: Settings, from_address: Callable[[int], Client]
) -> None:
    """Another host (its own app and pool on the same database) counts the same asks for the same number."""
    assert settings.database_url
    other_pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    other_host = create_app(settings, pool=other_pool)
    transport = httpx.ASGITransport(app=other_host, client=("127.0.0.3", 50700))
    try:
        async with (
            from_address(50701) as here,
            httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as there,
        ):
            for browser in (here, there, here, there, here):
                assert (await post(browser, REGISTER_START, ZHANG_WEI)).status_code == 202
            assert (await post(there, REGISTER_START, ZHANG_WEI)).status_code == 429
            assert (await post(here, REGISTER_START, ZHANG_WEI)).status_code == 429
    finally:
        await other_pool.close()
