"""The legal-person register (法人基础库, issue 18): imported from CSV like the population register — bad rows
reported by line, good rows kept, early codes that fail their check kept with a warning — with the demo
organisations and a 营业执照 in each active one's library."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import asyncpg
import pytest

from app.certificates import service as certificates
from app.organisations import service as organisations
from app.organisations.register import parse_organisations_csv
from app.people.identity import credit_code_check_char
from tests.test_cli import run_cli

HEADER = "credit_code,name,type,legal_rep_id_number,address,region_code,established_on,status\n"
DISTRICTS = {"320402", "320404", "320411", "320412", "320413", "320481"}
TODAY = date(2026, 11, 29)
HUANG_LEI = "320411198309093113"
GOOD = "91350100M000100Y43"  # the standard's own sample
EARLY = "913204121376250519"  # its organisation part fails GB 11714: legal for some early codes


def _row(code: str = GOOD, **cells: str) -> str:
    values = {
        "name": "常州示例科技有限公司",
        "type": "有限责任公司",
        "legal_rep_id_number": HUANG_LEI,
        "address": "江苏省常州市新北区太湖东路9号",
        "region_code": "320411",
        "established_on": "2019-12-02",
        "status": "存续",
        **cells,
    }
    return ",".join([code, *values.values()]) + "\n"


def _wrong_check(code: str) -> str:
    right = credit_code_check_char(code[:17])
    return code[:17] + ("1" if right != "1" else "2")


def test_good_rows_are_kept_and_bad_ones_named_by_line() -> None:
    text = (
        HEADER
        + _row()
        + _row("9135010OM000100Y43")
        + _row("91350100M000100Y4")
        + _row("91110000600037341L", region_code="320400")
        + _row("91110000600037341L", established_on="2027-01-01")
        + _row("91110000600037341L", status="歇业")
    )
    entries, problems = parse_organisations_csv(text, DISTRICTS, TODAY)
    assert [line for line, _ in entries] == [2]
    assert [(p.line, p.message.split("：")[0]) for p in problems] == [
        (3, "统一社会信用代码"),
        (4, "统一社会信用代码"),
        (5, "登记区县"),
        (6, "成立日期"),
        (7, "登记状态"),
    ]
    assert "I、O、S、V、Z" in problems[0].message  # says why, in words a clerk can act on


def test_a_code_failing_only_its_check_is_kept_with_a_warning_not_refused() -> None:
    text = HEADER + _row(_wrong_check(GOOD)) + _row(EARLY, name="常州早期五金厂")
    entries, problems = parse_organisations_csv(text, DISTRICTS, TODAY)
    assert problems == []
    warned = [entry.code_warning for _, entry in entries]
    assert warned[0] is not None and "校验位" in warned[0]
    assert warned[1] is not None and "组织机构代码" in warned[1]


def test_the_same_code_twice_in_a_file_is_reported_once_it_repeats() -> None:
    entries, problems = parse_organisations_csv(HEADER + _row() + _row(GOOD.lower()), DISTRICTS, TODAY)
    assert len(entries) == 1 and [(p.line, p.message) for p in problems] == [(3, "统一社会信用代码与第2行重复")]


@pytest.mark.anyio
async def test_the_demo_register_has_a_dozen_organisations_two_run_by_demo_residents(pool: asyncpg.Pool) -> None:
    assert await pool.fetchval("SELECT count(*) FROM organisations") == 12
    assert await pool.fetchval("SELECT count(DISTINCT region_code) FROM organisations") == 6
    huang = await pool.fetchval("SELECT id FROM people WHERE id_number_masked = '320411********3113'")
    [company] = await organisations.represented_by(pool, huang)
    assert (company.name, company.status_label) == ("常州磊达电子科技有限公司", "存续")
    [licence] = await certificates.held_by_organisation(pool, company.credit_code)
    assert (licence.kind, licence.title, licence.issued_by) == (
        "business_license",
        "营业执照",
        "常州市新北区市场监督管理局",
    )
    assert licence.number_masked.endswith(company.credit_code[-4:]) and company.credit_code not in licence.number_masked
    # A company that is 注销 keeps its entry and no licence.
    closed = await organisations.by_credit_code(pool, "91320411MA1L8M9N7L")
    assert closed is not None and closed.status_label == "注销"
    assert await certificates.held_by_organisation(pool, closed.credit_code) == []
    early = await organisations.by_credit_code(pool, EARLY)
    assert early is not None and early.code_warning is not None


@pytest.mark.anyio
async def test_import_organisations_reports_by_line_keeps_the_good_and_updates_on_reimport(
    database_url: str, tmp_path: Path, pool: asyncpg.Pool
) -> None:
    before = await pool.fetchval("SELECT count(*) FROM organisations")
    csv = tmp_path / "orgs.csv"
    unregistered = "110105194912310029"  # well-formed, not in the register
    csv.write_text(
        HEADER + _row() + _row("91110000600037341L", legal_rep_id_number=unregistered) + _row(EARLY),
        encoding="utf-8",
    )
    result = run_cli(database_url, tmp_path, "import-organisations", str(csv))
    assert result.returncode == 0, result.stderr
    assert "1 added, 1 updated, 1 rows refused, 1 kept with a warning" in result.stdout
    assert result.stderr.splitlines()[0].startswith("line 3: 法定代表人")
    assert unregistered not in result.stdout + result.stderr and HUANG_LEI not in result.stdout + result.stderr
    csv.write_text(HEADER + _row(name="常州示例科技股份有限公司"), encoding="utf-8")
    again = run_cli(database_url, tmp_path, "import-organisations", str(csv))
    assert "0 added, 1 updated" in again.stdout
    assert await pool.fetchval("SELECT count(*) FROM organisations") == before + 1
    renamed = await organisations.by_credit_code(pool, GOOD)
    assert renamed is not None and renamed.name == "常州示例科技股份有限公司"
