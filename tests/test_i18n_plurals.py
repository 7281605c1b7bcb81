"""A count in English agrees with its noun (issue 21): "1 day", "2 days" — ngettext with the catalogue's plural forms,
in Python (`i18n.ngettext`) and in templates (`ngettext(…)`); Chinese, which has one form, reads as before."""

from __future__ import annotations

import re
from datetime import timedelta

import asyncpg
import httpx
import pytest
from litestar import Litestar

import i18n
from app.calendar.service import today_in_china
from config.settings import Settings
from tests.auth_helpers import signed_in_staff
from tests.test_consultations_http import Desk, desk  # noqa: F401  # pyright: ignore[reportPrivateUsage]
from tests.test_i18n_staff import _speaks  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("count", "english", "chinese"),
    [(0, "0 days", "0天"), (1, "1 day", "1天"), (2, "2 days", "2天"), (21, "21 days", "21天")],
)
async def test_a_count_of_days_agrees_with_its_number_in_english_and_reads_as_before_in_chinese(
    app: Litestar, count: int, english: str, chinese: str
) -> None:
    engine = app.template_engine.engine  # type: ignore[union-attr]
    template = engine.from_string('{{ ngettext("%(n)s天", "%(n)s天", n, n=n) }}')
    with i18n.use_language("en"):
        assert template.render(n=count) == english
        assert i18n.ngettext("出生日期相差%(apart)s天", "出生日期相差%(apart)s天", count) % {"apart": count} == (
            f"Dates of birth {english} apart"
        )
    with i18n.use_language("zh"):
        assert template.render(n=count) == chinese


def test_every_count_text_in_the_catalogue_has_both_english_forms() -> None:
    from babel.messages.pofile import read_po

    with (i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale="en")
    assert catalogue.plural_forms == "nplurals=2; plural=(n != 1);"
    plurals = [m for m in catalogue if isinstance(m.id, tuple)]
    assert len(plurals) >= 9
    for message in plurals:
        assert isinstance(message.string, tuple), message.id
        one, other = message.string
        assert one and other and one != other and "fuzzy" not in message.flags, message.id


def test_the_back_offices_counts_agree_with_their_number() -> None:
    """A consultation or task overdue by one working day, one document of another department withheld (console)."""
    late, withheld = "已超期 %(n)s 个工作日", "另有 %(n)s 份材料属于其他部门所办的事项，不向您显示。"
    with i18n.use_language("en"):
        assert i18n.ngettext(late, late, 1) % {"n": 1} == "Overdue by 1 working day"
        assert i18n.ngettext(late, late, 3) % {"n": 3} == "Overdue by 3 working days"
        assert (i18n.ngettext(withheld, withheld, 1) % {"n": 1}).startswith("1 more document belongs")
    with i18n.use_language("zh"):
        assert i18n.ngettext(late, late, 1) % {"n": 1} == "已超期 1 个工作日"


def test_a_chart_names_one_case_in_the_singular() -> None:
    """The statistics' bar labels ("1 case", "3 cases")."""
    from app.stats.page import _count_label  # pyright: ignore[reportPrivateUsage]

    with i18n.use_language("en"):
        assert _count_label(1) == "1 case" and _count_label(3) == "3 cases" and _count_label(1234) == "1,234 cases"
    with i18n.use_language("zh"):
        assert _count_label(1) == "1件"


async def test_supervision_says_a_case_is_one_day_old_and_one_working_day_late(
    desk: Desk,  # noqa: F811 (the fixture imported above)
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    yesterday = today_in_china() - timedelta(days=1)
    await pool.execute("UPDATE cases SET created_at = now() - interval '1 day' WHERE case_no = $1", desk.case_no)
    await pool.execute("UPDATE tasks SET due_on = $2 WHERE id = $1", desk.task["id"], yesterday)
    supervisor = await signed_in_staff(
        desk.make, pool, settings, name="卫健督查", role="supervisor", department="health"
    )
    board = await _speaks(supervisor, "en").get("/console/supervision")
    assert board.status_code == 200 and desk.case_no in board.text, board.text
    assert "<td>1 day</td>" in board.text, board.text
    # Late by however many working days yesterday was (none on a Monday): the noun agrees with the number.
    for number, noun in re.findall(r"\((\d+) (working days?) overdue\)", board.text):
        assert noun == ("working day" if number == "1" else "working days"), (number, noun)
    chinese = await _speaks(supervisor, None).get("/console/supervision")
    assert "<td>1天</td>" in chinese.text


async def test_a_refusal_to_wait_says_one_minute_or_one_second_in_the_singular() -> None:
    """A count's error text (N_plural) is translated as the answer leaves, its noun agreeing with the param it names."""
    from app.web.errors import _filled  # pyright: ignore[reportPrivateUsage]

    attempts = "尝试次数过多，请%(minutes)s分钟后再试"
    with i18n.use_language("en"):
        assert _filled(attempts, {"minutes": 1}, 1) == "Too many attempts. Try again in 1 minute"
        assert _filled(attempts, {"minutes": 15}, 15) == "Too many attempts. Try again in 15 minutes"
    with i18n.use_language("zh"):
        assert _filled(attempts, {"minutes": 1}, 1) == "尝试次数过多，请1分钟后再试"


async def test_public_tracking_limited_says_how_many_seconds_in_english(
    client: httpx.AsyncClient, app: Litestar
) -> None:
    app.state.scan_limiter.per_minute = 1
    assert (await client.get("/api/v1/track/" + "y" * 32)).status_code == 404
    limited = await client.get("/api/v1/track/" + "y" * 32, headers={"Accept-Language": "en"})
    assert limited.status_code == 429, limited.text
    assert re.fullmatch(r"Too many look-ups\. Try again in \d+ seconds?", limited.json()["detail"]), limited.text
    assert "params" not in limited.json() and "plural" not in limited.json()
    chinese = await client.get("/api/v1/track/" + "y" * 32)
    assert re.fullmatch(r"查询过于频繁，请\d+秒后再试", chinese.json()["detail"]), chinese.text
