"""The e-certificate library keeps no ID number in clear (issue 13, finding 5): not after seeding, not after a
case issues a certificate, not after an old library written in clear is upgraded; residents see masked numbers."""

from __future__ import annotations

import csv
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from app.certificates import service as certificates
from app.database import migrate_database
from app.main import create_app
from app.people.identity import id_number_problem, mask_id_number
from app.people.register import import_register
from app.seed import SEED_DIR, seed_catalogue, seed_certificates
from auth.pii import PiiCipher
from config.settings import Settings
from db.embedded import with_database
from db.migrate import apply_migrations
from db.pool import create_pool
from tests.auth_helpers import LI_NA, ZHANG_WEI, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for
from tests.database_fixtures import TEST_SECRET_KEY, drop_database, run_sync, settings_for
from tests.migration_helpers import database_before
from tests.test_cli import run_cli

# What a 公民身份号码 looks like in any text (as config/logging.py masks it), and the demo register's own numbers.
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
with (SEED_DIR / "population.csv").open(encoding="utf-8") as _register:
    DEMO_ID_NUMBERS = frozenset(row["id_number"] for row in csv.DictReader(_register))
SEALING_MIGRATION = 12  # 0012_certificates_sealed: every migration before it left e_certificates in clear
SEED_CERTIFICATES = json.loads((SEED_DIR / "certificates.json").read_text(encoding="utf-8"))
# The old library of the upgrade tests: what the seed holds for ZHANG_WEI and LI_NA (id card, 户口簿, 结婚证, 社保卡).
OLD_LIBRARY = [c for c in SEED_CERTIFICATES if c["holder_id_number"] in (ZHANG_WEI["id_number"], LI_NA["id_number"])]


async def id_numbers_in_clear(db: asyncpg.Pool | asyncpg.Connection) -> list[tuple[int, str, str]]:
    """(row id, column, what was found) for every ID number readable in e_certificates without the key: in any
    text or JSON column (a new one included), and the demo numbers' bytes inside any binary column."""
    columns = await db.fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'e_certificates'"
    )
    texts = [c["column_name"] for c in columns if c["data_type"] in ("text", "character varying", "json", "jsonb")]
    binaries = [c["column_name"] for c in columns if c["data_type"] == "bytea"]
    selected = ", ".join([f'"{c}"::text AS "{c}"' for c in texts] + [f'"{c}"' for c in binaries])
    found: list[tuple[int, str, str]] = []
    for row in await db.fetch(f"SELECT id, {selected} FROM e_certificates"):
        for column in texts:
            text = row[column] or ""
            # 18 digits that are no ID number (an organisation's all-digit 统一社会信用代码, public by nature) pass.
            looks_like = {n for n in ID_NUMBER.findall(text) if id_number_problem(n) is None}
            for number in sorted(looks_like | {n for n in DEMO_ID_NUMBERS if n in text}):
                found.append((row["id"], column, number))
        for column in binaries:
            blob = bytes(row[column] or b"")
            found += [(row["id"], column, n) for n in DEMO_ID_NUMBERS if n.encode() in blob]
    return found


# --- a fresh library -------------------------------------------------------------------------------------------


async def test_the_seeded_library_holds_no_id_number_in_clear(pool: asyncpg.Pool) -> None:
    # The people's documents of certificates.json, and a 营业执照 for each organisation still 存续 (organisations.csv).
    assert await pool.fetchval("SELECT count(*) FROM e_certificates WHERE person_id IS NOT NULL") == len(
        SEED_CERTIFICATES
    )
    assert await pool.fetchval("SELECT count(*) FROM e_certificates WHERE person_id IS NULL") == 11
    assert await id_numbers_in_clear(pool) == []


async def test_the_library_lists_masked_numbers_only(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    response = await client.get("/api/v1/certificates")
    assert response.status_code == 200
    held = response.json()
    by_kind = {c["kind"]: c for c in held}
    assert by_kind["id_card"]["number_masked"] == "320402********0119"
    assert by_kind["hukou"]["number_masked"] == "*****0001"  # 020010001
    assert by_kind["marriage"]["number_masked"] == "*" * 15 + "0520"  # J320402-2021-000520
    assert by_kind["social_security_card"]["number_masked"] == "*****4000"  # E03204000
    for certificate in held:
        assert set(certificate) == {"id", "kind", "title", "number_masked", "issued_by", "issued_on"}
        assert isinstance(certificate["id"], int)
    assert not ID_NUMBER.search(response.text)
    assert LI_NA["id_number"] not in response.text  # the spouse on his 结婚证


async def test_a_completed_case_issues_its_certificate_sealed(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "sealed-certificate-1"))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    case = (await client.get(f"/api/v1/cases/{case_no}")).json()
    task = next(t for t in case["tasks"] if t["department"] == "health")
    clerk, approver = another_client(), another_client()
    await staff_client_sign_up(
        clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402", department="police"
    )
    await staff_client_sign_up(  # the city's 卫健 office: 出生医学证明签发 is a 市级 item
        approver, pool, settings.secret_key, name="刘审批", role="approver", region="320400", department="health"
    )
    path = f"/api/v1/console/tasks/{task['id']}/transition"
    assert (await post(clerk, path, {"action": "accept"})).status_code == 200
    for action in ("review", "approve", "complete"):
        assert (await post(approver, path, {"action": action})).status_code == 200

    assert await id_numbers_in_clear(pool) == []
    held = (await client.get("/api/v1/certificates")).json()
    [issued] = [c for c in held if c.get("case_no") == case_no]
    assert issued["kind"] == "birth_medical" and issued["title"] == "出生医学证明"
    number = f"{case_no}-{task['item_code']}"  # what 办结 issues: the case's own number, no ID number
    assert issued["number_masked"] == "*" * (len(number) - 4) + number[-4:]


async def test_one_row_per_holder_kind_and_number_on_the_keyed_hash(pool: asyncpg.Pool) -> None:
    cipher = PiiCipher(TEST_SECRET_KEY)
    person_id = await _person_id(pool, cipher, ZHANG_WEI["id_number"])
    before = await pool.fetchval("SELECT count(*) FROM e_certificates")
    issue = {"person_id": person_id, "kind": "vaccination", "title": "预防接种证", "issued_by": "常州市卫健委"}
    for issued_on in ("2025-01-02", "2025-03-04"):  # issued again: the same row, brought up to date
        await certificates.issue_to_person(
            pool, cipher, **issue, number="YM-0001", issued_on=date.fromisoformat(issued_on), data={"child": "张小宝"}
        )
    await certificates.issue_to_person(
        pool, cipher, **issue, number="YM-0002", issued_on=date.fromisoformat("2025-05-06")
    )
    assert await pool.fetchval("SELECT count(*) FROM e_certificates") == before + 2
    rows = await pool.fetch(
        "SELECT number_hash, issued_on FROM e_certificates WHERE person_id = $1 AND kind = 'vaccination' "
        "ORDER BY issued_on",
        person_id,
    )
    assert [r["number_hash"] for r in rows] == [cipher.lookup_hash("YM-0001"), cipher.lookup_hash("YM-0002")]
    assert [r["issued_on"].isoformat() for r in rows] == ["2025-03-04", "2025-05-06"]
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(
            "INSERT INTO e_certificates (person_id, kind, title, number_hash, number_enc, number_masked, issued_by, "
            "issued_on, data_enc) SELECT person_id, kind, title, number_hash, number_enc, number_masked, issued_by, "
            "issued_on, data_enc FROM e_certificates WHERE person_id = $1 AND kind = 'vaccination' LIMIT 1",
            person_id,
        )


# --- a library written in clear, upgraded ------------------------------------------------------------------------


@pytest.fixture
def clear_library(pg_server_dsn: str, tmp_path: Path) -> Iterator[str]:
    """A database as the code before 0012 left it: migrated up to 0011, ZHANG_WEI's and LI_NA's certificates of
    the demo seed written in clear, exactly as the old store wrote them."""
    name = f"ywtb_clear_{secrets.token_hex(4)}"

    async def build() -> None:
        conn = await database_before(pg_server_dsn, name, SEALING_MIGRATION, tmp_path)
        try:
            cipher = PiiCipher(TEST_SECRET_KEY)
            for person in (ZHANG_WEI, LI_NA):
                number = person["id_number"]
                person_id = await conn.fetchval(
                    "INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, birth_date, sex) "
                    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    cipher.lookup_hash(number),
                    cipher.encrypt(number),
                    mask_id_number(number),
                    person["name"],
                    date.fromisoformat(f"{number[6:10]}-{number[10:12]}-{number[12:14]}"),
                    "M" if int(number[16]) % 2 else "F",
                )
                for cert in (c for c in OLD_LIBRARY if c["holder_id_number"] == number):
                    await conn.execute(
                        "INSERT INTO e_certificates (person_id, kind, title, number, issued_by, issued_on, data) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
                        person_id,
                        cert["kind"],
                        cert["title"],
                        cert["number"],
                        cert["issued_by"],
                        date.fromisoformat(cert["issued_on"]),
                        json.dumps(cert["data"], ensure_ascii=False),
                    )
            assert len(await id_numbers_in_clear(conn)) >= 6  # the old way: id cards, 结婚证, 社保卡 in clear
        finally:
            await conn.close()

    run_sync(build())
    yield with_database(pg_server_dsn, name)
    drop_database(pg_server_dsn, name)


@pytest.fixture
async def upgraded_pool(clear_library: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(clear_library, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def test_python_m_app_migrate_seals_a_library_written_in_clear_and_it_reads_the_same(
    clear_library: str, upgraded_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    migrated = run_cli(clear_library, tmp_path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"{SEALING_MIGRATION:04d}_" in migrated.stdout
    pool, cipher = upgraded_pool, PiiCipher(TEST_SECRET_KEY)
    assert await pool.fetchval("SELECT count(*) FROM e_certificates") == len(OLD_LIBRARY)
    assert await id_numbers_in_clear(pool) == []

    # The rest of the demo (catalogue, register), so the resident can sign in and open a form.
    await seed_catalogue(pool)
    await import_register(pool, cipher, (SEED_DIR / "population.csv").read_text(encoding="utf-8"))
    app = create_app(settings_for(clear_library, tmp_path / "data"), pool=pool)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)), base_url="http://localhost:8000"
    ) as client:
        await sign_up(client, new_authenticator(), ZHANG_WEI)
        listed = await client.get("/api/v1/certificates")
        assert {c["kind"]: c["number_masked"] for c in listed.json()} == {
            "id_card": "320402********0119",
            "hukou": "*****0001",
            "marriage": "*" * 15 + "0520",
            "social_security_card": "*****4000",
        }
        form = (await client.get("/api/v1/life-events/birth/form")).json()
    fields = {f["key"]: f for s in form["sections"] for f in s["fields"]}
    assert fields["household.address"]["prefill"] == {
        "value": "江苏省常州市天宁区雕庄街道丽华新村18幢2单元302室",
        "source": "电子证照：居民户口簿",
        "about": "applicant",
    }
    # The sealed contents decrypt to what was written in clear, ID numbers included (for the server's prefill).
    li_na = await _person_id(pool, cipher, LI_NA["id_number"])
    contents = {c.kind: c.data for c in await certificates.held_with_contents(pool, cipher, li_na)}
    assert contents["marriage"]["spouse_id_number"] == ZHANG_WEI["id_number"]
    assert contents["social_security_card"]["social_security_number"] == LI_NA["id_number"]

    # Seeding now finds the converted rows by their keyed hash: nothing is added twice.
    await seed_certificates(pool, cipher)
    zhang_wei = await _person_id(pool, cipher, ZHANG_WEI["id_number"])
    assert len(await certificates.held_by(pool, zhang_wei)) == 4
    again = run_cli(clear_library, tmp_path, "migrate")
    assert again.returncode == 0 and "already up to date" in again.stdout


class PowerCut(Exception):
    pass


class CipherThatDiesAfter(PiiCipher):
    """The real cipher, until the process "dies" part-way through sealing."""

    def __init__(self, secret_key: str, documents: int) -> None:
        super().__init__(secret_key)
        self.left = documents

    def encrypt_document(self, document: dict[str, Any]) -> bytes:
        if self.left == 0:
            raise PowerCut
        self.left -= 1
        return super().encrypt_document(document)


async def test_a_conversion_cut_short_is_finished_by_the_next_run(clear_library: str) -> None:
    conn = await asyncpg.connect(clear_library)
    try:
        dying = CipherThatDiesAfter(TEST_SECRET_KEY, documents=3)
        with pytest.raises(PowerCut):
            await apply_migrations(
                conn,
                data_steps={"seal_certificate_numbers": lambda c: certificates.seal_clear_rows(c, dying, batch_size=2)},
            )
        # The first batch was committed, the second rolled back; nothing after 0012 ran, nothing was marked done.
        assert await conn.fetchval("SELECT count(*) FROM e_certificates WHERE number_enc IS NOT NULL") == 2
        assert await conn.fetchval("SELECT count(*) FROM e_certificates WHERE number IS NOT NULL") == (
            len(OLD_LIBRARY) - 2
        )
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == SEALING_MIGRATION
        assert await conn.fetchval("SELECT count(*) FROM schema_data_steps") == 0

        await migrate_database(conn, PiiCipher(TEST_SECRET_KEY))
        assert await id_numbers_in_clear(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM e_certificates") == len(OLD_LIBRARY)
        zhang_wei = await _person_id(conn, PiiCipher(TEST_SECRET_KEY), ZHANG_WEI["id_number"])
        held = await certificates.held_with_contents(conn, PiiCipher(TEST_SECRET_KEY), zhang_wei)
        assert {c.kind: c.number_masked for c in held}["id_card"] == "320402********0119"
        assert {c.kind: c.data for c in held}["marriage"]["spouse_id_number"] == LI_NA["id_number"]
    finally:
        await conn.close()


async def _schema_of_the_library(db: asyncpg.Pool | asyncpg.Connection) -> dict[str, Any]:
    columns = await db.fetch(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'e_certificates' ORDER BY column_name"
    )
    constraints = await db.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition, convalidated FROM pg_constraint "
        "WHERE conrelid = 'e_certificates'::regclass ORDER BY conname"
    )
    indexes = await db.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'e_certificates' ORDER BY 1")
    steps = await db.fetch("SELECT version, name FROM schema_data_steps ORDER BY version")
    return {
        "columns": [tuple(r) for r in columns],
        "constraints": [tuple(r) for r in constraints],
        "indexes": [tuple(r) for r in indexes],
        "data steps": [tuple(r) for r in steps],
    }


async def test_a_fresh_database_and_an_upgraded_one_end_up_the_same(clear_library: str, pool: asyncpg.Pool) -> None:
    conn = await asyncpg.connect(clear_library)
    try:
        await migrate_database(conn, PiiCipher(TEST_SECRET_KEY))
        upgraded = await _schema_of_the_library(conn)
    finally:
        await conn.close()
    fresh = await _schema_of_the_library(pool)
    assert upgraded == fresh
    assert all(validated for _name, _definition, validated in fresh["constraints"])
    assert not any("(number)" in definition or ", number)" in definition for _name, definition in fresh["indexes"])


# --- helpers ---------------------------------------------------------------------------------------------------


async def _person_id(db: asyncpg.Pool | asyncpg.Connection, cipher: PiiCipher, id_number: str) -> int:
    person_id = await db.fetchval("SELECT id FROM people WHERE id_number_hash = $1", cipher.lookup_hash(id_number))
    assert person_id is not None
    return person_id
