"""The catalogue in both languages (issue 21): every text a resident reads in db/seed/*.json has its English beside it,
pages and the API draw it in the reader's language (Chinese by default, and for any text without English), the form
a case records stays Chinese whatever the language, and times are written the reader's way in Beijing time."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

import i18n
from app.calendar.service import beijing_time, china_time
from app.catalogue import translations
from app.catalogue.models import Retention, TimeLimit
from app.forms import service as forms
from app.forms.models import FormField, FormSection, MergedForm
from tests.auth_helpers import ZHANG_WEI, new_authenticator, sign_up

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def test_every_catalogue_text_has_its_english() -> None:
    missing = translations.missing()
    assert not missing, "add the English beside each (`name` → `name_en`): " + " | ".join(
        f"{file}{where}: {chinese}" for _, file, where, chinese in missing[:40]
    )


def test_the_same_chinese_is_translated_the_same_way_everywhere() -> None:
    assert translations.conflicts() == {}


def test_a_text_missing_its_english_is_named_and_falls_back_to_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in translations.CATALOGUE_FILES:
        (tmp_path / name).write_text("[]", encoding="utf-8")
    events = [{"code": "x", "name": "新事项", "summary": "说明", "summary_en": "About it", "items": ["A"]}]
    (tmp_path / "life_events.json").write_text(json.dumps(events, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(translations, "SEED_DIR", tmp_path)
    translations._tables.cache_clear()  # pyright: ignore[reportPrivateUsage]
    try:
        assert translations.missing() == [("en", "life_events.json", "[0].name", "新事项")]
        with i18n.use_language("en"):
            assert (translations.text("新事项"), translations.text("说明")) == ("新事项", "About it")
    finally:
        translations._tables.cache_clear()  # pyright: ignore[reportPrivateUsage]


def test_the_database_keeps_the_chinese_only() -> None:
    configured = {"name": "退休", "name_en": "Retirement", "process": ["受理"], "process_en": ["Accepted"]}
    assert translations.without_translations([configured]) == [{"name": "退休", "process": ["受理"]}]


async def test_the_home_page_and_a_life_event_page_name_things_in_english_when_asked(client: httpx.AsyncClient) -> None:
    home = await client.get("/", headers=ENGLISH)
    assert "Birth of a child" in home.text and "新生儿出生" not in home.text
    page = await client.get("/life-events/birth", headers=ENGLISH)
    assert page.status_code == 200
    for english in ("Birth of a child", "Issue of a medical birth certificate", "Health", "1 working day"):
        assert english in page.text, english
    for chinese in ("出生医学证明签发", "卫健", "1个工作日"):
        assert chinese not in page.text, chinese


async def test_pages_stay_chinese_by_default(client: httpx.AsyncClient) -> None:
    page = await client.get("/life-events/birth")
    assert "出生医学证明签发" in page.text and "1个工作日" in page.text
    assert "Issue of a medical birth certificate" not in page.text


async def test_an_items_guide_is_in_english_when_asked(client: httpx.AsyncClient) -> None:
    page = await client.get("/items/CZ-WJ-001", headers=ENGLISH)
    for english in (
        "For a baby born in a maternity unit in Changzhou",
        "The hospital sends the birth details",
        "Mother&#39;s identity card",
        "30 years",
    ):
        assert english in page.text, english
    assert "分娩医院推送出生信息" not in page.text


async def test_the_api_answers_the_catalogue_in_the_callers_language(client: httpx.AsyncClient) -> None:
    english = (await client.get("/api/v1/life-events", headers=ENGLISH)).json()
    chinese = (await client.get("/api/v1/life-events")).json()
    assert [e["code"] for e in english] == [e["code"] for e in chinese]  # the same shapes, the same codes
    birth = next(e for e in english if e["code"] == "birth")
    assert (birth["name"], birth["promise"]) == ("Birth of a child", "Completed within 5 working days")
    assert {i["department_name"] for i in birth["items"]} >= {"Health", "Police", "Medical insurance"}
    assert next(e for e in chinese if e["code"] == "birth")["name"] == "新生儿出生"
    districts = (await client.get("/api/v1/regions", params={"parent": "320400"}, headers=ENGLISH)).json()
    assert "Tianning District" in {r["name"] for r in districts}
    hits = (await client.get("/api/v1/items/search", params={"q": "社保"}, headers=ENGLISH)).json()
    assert "Social security card (newborn)" in {h["name"] for h in hits}
    found = (await client.get("/api/v1/items/search", params={"q": "Social Security card"}, headers=ENGLISH)).json()
    assert {"CZ-RS-001", "CZ-RS-005"} <= {h["code"] for h in found}
    assert (await client.get("/api/v1/items/search", params={"q": "social security"})).json() == []  # Chinese


async def test_the_merged_form_is_in_english_and_its_checksum_is_the_same(client: httpx.AsyncClient) -> None:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    english = (await client.get("/api/v1/life-events/birth/form", headers=ENGLISH)).json()
    chinese = (await client.get("/api/v1/life-events/birth/form")).json()
    assert english["checksum"] == chinese["checksum"]  # a draft saved in one language opens in the other
    fields = {f["key"]: f for s in english["sections"] for f in s["fields"]}
    assert fields["child.name"]["label"] == "Baby's name"
    assert {o["label"] for o in fields["child.sex"]["options"]} == {"Male", "Female"}
    assert {o["value"] for o in fields["child.sex"]["options"]} == {
        o["value"] for s in chinese["sections"] for f in s["fields"] if f["key"] == "child.sex" for o in f["options"]
    }
    assert fields["applicant.name"]["prefill"] == {
        "value": "张伟",
        "source": "Population register",
        "about": "applicant",
    }
    assert fields["household.address"]["prefill"]["source"].startswith("Electronic certificate: ")
    assert english["materials"]["held"][0]["certificate_title"] == "Household register (hukou booklet)"
    upload = {m["code"]: m for m in english["materials"]["to_upload"]}
    assert upload["CZ-WJ-001:mother_id_card"]["name"] == "Mother's identity card"
    assert "Issue of a medical birth certificate" in {c["name"] for c in english["items"]}


def _form() -> MergedForm:
    name = FormField(key="child.name", label="新生儿姓名", type="text", section="child", required=True)
    birth = FormField(key="child.birth_date", label="出生日期", type="past_date", section="child", required=True)
    return MergedForm(
        life_event="birth",
        checksum="",
        sections=[FormSection(key="child", title="新生儿", fields=[name, birth])],
        materials=[],
    )


def test_form_messages_name_the_field_in_the_readers_language() -> None:
    today = date(2026, 11, 29)
    _, chinese = forms.validate(_form(), {"child.birth_date": "2030-01-01"}, today)
    assert chinese == {"child.name": "请填写新生儿姓名", "child.birth_date": "出生日期不能晚于今天，请核对"}
    with i18n.use_language("en"):
        _, english = forms.validate(_form(), {"child.birth_date": "2030-01-01"}, today)
    assert english == {
        "child.name": "Fill in “Baby's name”",
        "child.birth_date": "Date of birth cannot be later than today. Check it",
    }


def test_time_limits_and_retention_read_in_each_language() -> None:
    assert (TimeLimit(5, "工作日").text, TimeLimit(1, "工作日").text, Retention(30, "").text) == (
        "5个工作日",
        "1个工作日",
        "30年",
    )
    with i18n.use_language("en"):
        assert TimeLimit(5, "工作日").text == "5 working days"
        assert TimeLimit(1, "工作日").text == "1 working day"
        assert TimeLimit(60, "日历日").text == "60 calendar days"
        assert Retention(30, "").text == "30 years"


MOMENT = datetime(2026, 11, 29, 7, 40, tzinfo=UTC)  # 15:40 in Beijing


def test_chinese_times_are_written_as_before() -> None:
    assert china_time(MOMENT) == "2026-11-29 15:40"
    assert china_time(MOMENT, "%Y-%m-%d") == "2026-11-29"
    assert china_time(MOMENT, "%Y年%m月%d日") == "2026年11月29日"
    assert china_time(MOMENT, "%H:%M") == "15:40"
    assert beijing_time(MOMENT) == "2026-11-29 15:40（北京时间）"


def test_english_times_are_written_the_british_way_in_beijing_time() -> None:
    with i18n.use_language("en"):
        assert china_time(MOMENT) == "29 Nov 2026, 15:40"
        assert china_time(MOMENT, "%Y-%m-%d") == "29 Nov 2026"
        assert china_time(MOMENT, "%Y年%m月%d日") == "29 November 2026"
        assert china_time(MOMENT, "%H:%M") == "15:40"
        assert beijing_time(MOMENT) == "29 Nov 2026, 15:40 (Beijing time)"
