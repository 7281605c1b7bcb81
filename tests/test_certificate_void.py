"""One way for a certificate to be void (已作废): `voided_at` with its `void_reason`, and the certificate that replaced
it when a correction (更正) did. Migration 0038 folds the two older marks into it (0033's superseded_by/voided_at,
0034's void_on/void_reason) without changing what any library holds; a certificate issued again under its number is in
force again unless a corrected one replaced it. (The flows that void — 更正, 企业注销 — are tested with them:
tests/test_corrections_http.py, tests/test_business_life_events_http.py.)"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import asyncpg
import pytest

from app.calendar.service import CHINA
from app.certificates import service as certificates
from app.database import data_steps, migrate_database
from auth.pii import PiiCipher
from db.embedded import with_database
from tests.database_fixtures import TEST_SECRET_KEY, drop_database, run_sync
from tests.migration_helpers import database_before

ONE_VOID = 38  # 0038_one_void
COMPANY = "91320411MA1T4U5W2G"
CIPHER = PiiCipher(TEST_SECRET_KEY)


async def _certificate(conn: asyncpg.Connection, owner: str, owner_value: object, kind: str, number: str) -> int:
    sealed = certificates.seal(CIPHER, kind, number, {})
    return await conn.fetchval(
        f"INSERT INTO e_certificates ({owner}, kind, title, number_hash, number_enc, number_masked, issued_by, "
        "issued_on, data_enc) VALUES ($1, $2, $3, $4, $5, $6, '常州市测试局', '2024-01-02', $7) RETURNING id",
        owner_value,
        kind,
        certificates.KIND_TITLES[kind],
        sealed.number_hash,
        sealed.number_enc,
        sealed.number_masked,
        sealed.data_enc,
    )


@pytest.fixture
def two_voids(pg_server_dsn: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """A database as the code before 0038 left it: a person's 退休审批表 corrected once (the old one superseded), and an
    organisation 注销 on 2025-03-04 with its 营业执照 void_on that day."""
    name = f"ywtb_voids_{secrets.token_hex(4)}"
    ids: dict[str, int] = {}

    async def build() -> None:
        conn = await database_before(pg_server_dsn, name, ONE_VOID, tmp_path, data_steps(CIPHER))
        try:
            await conn.execute("INSERT INTO regions (code, name, level) VALUES ('320402', '天宁区', 'district')")
            number = "320402196001010011"
            person = await conn.fetchval(
                "INSERT INTO people (id_number_hash, id_number_enc, id_number_masked, name, birth_date, sex, "
                "region_code) VALUES ($1, $2, '320402********0011', '测试人', '1960-01-01', 'M', '320402') "
                "RETURNING id",
                CIPHER.lookup_hash(number),
                CIPHER.encrypt(number),
            )
            ids["person"] = person
            ids["old"] = await _certificate(conn, "person_id", person, "retirement_approval", "T0001")
            ids["new"] = await _certificate(conn, "person_id", person, "retirement_approval", "T0001-GZ1")
            await conn.execute(
                "UPDATE e_certificates SET superseded_by = $2, voided_at = '2025-05-06 10:00+08' WHERE id = $1",
                ids["old"],
                ids["new"],
            )
            await conn.execute(
                "INSERT INTO organisations (credit_code, name, org_type, legal_rep_person_id, address, region_code, "
                "established_on, status) VALUES ($1, '测试公司', '有限责任公司', $2, '常州', '320402', '2020-01-01', "
                "'deregistered')",
                COMPANY,
                person,
            )
            ids["licence"] = await _certificate(conn, "org_credit_code", COMPANY, "business_license", "B0001")
            ids["clearance"] = await _certificate(conn, "org_credit_code", COMPANY, "tax_clearance", "Q0001")
            await conn.execute(
                "UPDATE e_certificates SET void_on = '2025-03-04', void_reason = '企业已注销' WHERE id = $1",
                ids["licence"],
            )
        finally:
            await conn.close()

    run_sync(build())
    yield with_database(pg_server_dsn, name), ids
    drop_database(pg_server_dsn, name)


async def test_0038_keeps_both_kinds_of_void_and_every_library_holds_what_it_held(
    two_voids: tuple[str, dict[str, int]],
) -> None:
    dsn, ids = two_voids
    conn = await asyncpg.connect(dsn)
    try:
        applied = await migrate_database(conn, CIPHER)
        assert applied[0] == "0038_one_void"  # and any later file
        columns = {
            r["column_name"]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'e_certificates'"
            )
        }
        assert "void_on" not in columns and {"voided_at", "void_reason", "superseded_by"} <= columns

        # The corrected one: void since the correction, why, and by which certificate.
        held = await certificates.held_by(conn, ids["person"])
        assert [c.id for c in held] == [ids["new"]]
        found = await certificates.held_certificate(conn, ids["old"])
        assert found is not None
        old = found[1]
        assert old.void and old.superseded_by == ids["new"] and old.void_reason == certificates.CORRECTED
        assert old.voided_at == datetime(2025, 5, 6, 10, tzinfo=CHINA)

        # The organisation's: void from the start of its 注销 day in Beijing, with the reason it had; never held.
        licence = await conn.fetchrow("SELECT voided_at, void_reason FROM e_certificates WHERE id = $1", ids["licence"])
        assert licence is not None
        assert (licence["voided_at"], licence["void_reason"]) == (datetime(2025, 3, 4, tzinfo=CHINA), "企业已注销")
        assert [c.kind for c in await certificates.held_by_organisation(conn, COMPANY)] == ["tax_clearance"]

        # A void certificate always says why.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE e_certificates SET void_reason = NULL WHERE id = $1", ids["licence"])
    finally:
        await conn.close()


async def test_issued_again_a_certificate_is_in_force_again_unless_a_corrected_one_replaced_it(
    two_voids: tuple[str, dict[str, int]],
) -> None:
    dsn, ids = two_voids
    conn = await asyncpg.connect(dsn)
    try:
        await migrate_database(conn, CIPHER)
        issued = {"issued_by": "常州市测试局", "issued_on": date(2025, 7, 1)}
        await certificates.issue_to_organisation(
            conn, CIPHER, credit_code=COMPANY, kind="business_license", title="营业执照", number="B0001", **issued
        )
        assert {c.kind for c in await certificates.held_by_organisation(conn, COMPANY)} == {
            "business_license",
            "tax_clearance",
        }
        await certificates.issue_to_person(
            conn,
            CIPHER,
            person_id=ids["person"],
            kind="retirement_approval",
            title="职工退休审批表",
            number="T0001",
            **issued,
        )
        assert [c.id for c in await certificates.held_by(conn, ids["person"])] == [ids["new"]]
    finally:
        await conn.close()
