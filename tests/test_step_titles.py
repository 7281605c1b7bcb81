"""A case's timeline step titles are stored in Chinese as written (the text of record) and drawn in the reader's
language (issue 21): each title template read back from a stored title (app.notifications.titles), on the case page
and the public tracking page in English, in Chinese by default; the JSON API keeps the Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from app.notifications import titles
from app.notifications.service import step_title
from i18n import gettext, use_language
from tests.auth_helpers import LI_NA, new_authenticator, post, sign_up
from tests.case_helpers import submission_for

Client = httpx.AsyncClient
_CHINESE = re.compile(r"[\u3400-\u9fff]")

# Each template's parts as they are stored (Chinese), and as an English reader should read them: a service, a
# certificate and a department by the catalogue's English, a step and a way of delivery by the messages', a count and
# a date as written.
ITEM = ("出生医学证明签发", "Issue of a medical birth certificate")
SAMPLES: dict[str, dict[str, tuple[str, str]]] = {
    titles.SUBMITTED: {"count": ("3", "3")},
    titles.SUBMITTED_AT_WINDOW: {"count": ("3", "3")},
    titles.SUBMITTED_AT_WINDOW_FOR_ORG: {"count": ("2", "2")},
    titles.SUBMITTED_BY_HELPER: {"count": ("4", "4")},
    titles.SUBMITTED_BY_PARENT: {"count": ("3", "3")},
    titles.SUBMITTED_BY_AGENT: {"count": ("1", "1")},
    titles.RATE_TASK_AND_CASE: {"item_name": ITEM},
    titles.RATE_TASK: {"item_name": ITEM},
    titles.URGED: {"item_name": ITEM},
    titles.CORRECTION_APPLIED: {"name": ITEM},
    titles.CORRECTED: {"title": ("出生医学证明", "Medical birth certificate")},
    titles.AWAITING_CONSENT: {"labels": ("母亲", "Mother")},
    titles.CONSULTATION_ASKED: {
        "item_name": ITEM,
        "department_name": ("卫健", "Health"),
        "isoformat": ("2026-12-01", "2026-12-01"),
    },
    titles.CONSULTATION_ANSWERED: {"item_name": ITEM, "department_name": ("公安", "Police")},
    # A notice given by hand carries the notice's own title, read in turn.
    titles.TOLD_BY_PHONE: {"notice": ("出生户口登记：已受理", "Birth registration (hukou): Accepted")},
    titles.TOLD_ON_PAPER: {
        "notice": (
            "申请已提交，共3个事项，已分送各部门",
            "Application submitted and sent to the departments (services: 3)",
        )
    },
    titles.STEP_WITH_DELIVERY: {
        "subject": ITEM,
        "step": ("已办结", "Completed"),
        "delivery": ("电子证照", "Electronic certificate"),
    },
    titles.STEP: {"subject": ITEM, "step": ("已受理", "Accepted")},
}


def test_every_title_template_has_a_sample_here() -> None:
    assert set(SAMPLES) == set(titles.TEMPLATES)


@pytest.mark.parametrize("template", titles.TEMPLATES)
def test_each_stored_title_reads_back_in_english_with_the_same_parts(template: str) -> None:
    stored = template % {name: chinese for name, (chinese, _english) in SAMPLES[template].items()}
    with use_language("en"):
        english = gettext(template) % {name: english for name, (_chinese, english) in SAMPLES[template].items()}
        read = titles.read(stored)
    assert read == english
    assert not _CHINESE.search(read), read  # the template has its English, and so has each part
    with use_language("zh"):
        assert titles.read(stored) == stored  # Chinese, the default, is the title as stored


def test_a_name_with_the_patterns_special_characters_stays_as_written() -> None:
    with use_language("en"):
        assert titles.read("王(小)明.*+?[1]：已受理") == "王(小)明.*+?[1]: Accepted"
        assert titles.read("Ma.*Li：已受理（邮寄）") == "Ma.*Li: Accepted (By post)"


def test_a_title_no_template_reads_stays_as_written() -> None:
    with use_language("en"):
        for title in ("某个以前写下的步骤", "申请已提交，共3个事项", "前缀申请已提交，共3个事项，已分送各部门后缀"):
            assert titles.read(title) == title
        # A whole marked text is still looked up whole (no template needed).
        assert titles.read("综合窗口已核查申请信息，继续办理") == gettext("综合窗口已核查申请信息，继续办理")


def test_a_notice_filled_as_it_is_recorded_names_the_service_in_english() -> None:
    with use_language("en"):
        notice = step_title(titles.RATE_TASK, {"item_name": ITEM[0]})
        assert notice == gettext(titles.RATE_TASK) % {"item_name": ITEM[1]}
        # The same step read back later from the timeline reads the same.
        assert step_title(titles.RATE_TASK % {"item_name": ITEM[0]}) == notice


@pytest.mark.anyio
async def test_the_case_page_and_the_tracking_page_show_the_submission_step_in_english(
    client: Client, another_client: Callable[[], Client]
) -> None:
    signed_up = await sign_up(client, new_authenticator(), LI_NA)
    assert signed_up.status_code == 201, signed_up.text
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "key-step-title-1"))
    assert created.status_code == 201, created.text
    case_no, token = created.json()["case_no"], created.json()["tracking_token"]
    with use_language("en"):
        submitted_en = gettext(titles.SUBMITTED).split("%(")[0]  # "Application submitted and sent to …"
    assert submitted_en.startswith("Application submitted")
    submitted_zh = "申请已提交，共"
    visitor = another_client()

    client.cookies.set("ywtb_lang", "en")
    visitor.cookies.set("ywtb_lang", "en")
    for page in (await client.get(f"/cases/{case_no}"), await visitor.get(f"/t/{token}")):
        assert page.status_code == 200
        assert submitted_en in page.text and submitted_zh not in page.text, page.url

    client.cookies.delete("ywtb_lang")
    visitor.cookies.delete("ywtb_lang")
    for page in (await client.get(f"/cases/{case_no}"), await visitor.get(f"/t/{token}")):
        assert submitted_zh in page.text and submitted_en not in page.text, page.url

    # The API answers the record: the title as stored, in Chinese, whatever the reader's language.
    client.cookies.set("ywtb_lang", "en")
    api = await client.get(f"/api/v1/cases/{case_no}")
    assert api.status_code == 200
    assert any(submitted_zh in str(step.get("title")) for step in api.json()["timeline"])
