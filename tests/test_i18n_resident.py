"""A foreign resident's filing path in English (issue 21): sign-up, a life event, the form, the receipt, the case and
the public tracking page are drawn in English when asked, keep none of their templates' Chinese, and stay Chinese by
default. Names, numbers and the catalogue's own texts (another part of the catalogue) are data and may stay as they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.auth_helpers import csrf, new_authenticator, post, sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio
Client = httpx.AsyncClient

TEMPLATES = Path(__file__).resolve().parent.parent / "pwa" / "templates"
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
# An invented holder of a 外国人永久居留身份证 (the 2023 card: 9, 江苏 32, Germany 276, born 1990-05-14, a serial and
# the GB 11643 check character), at the end of db/seed/population.csv with a phone of her own.
ANNA = {"name": "Anna Schmidt", "id_number": "932276199005140029"}

_MARKED = re.compile(r"""_\(\s*(?P<q>["'])(?P<text>(?:(?!(?P=q)).)*)(?P=q)""", re.DOTALL)
_PLACEHOLDER = re.compile(r"%\(\w+\)s|<[^>]*>")
_CHINESE = re.compile(r"[\u3400-\u9fff]")

# The templates each page is drawn from (with the partials it includes), whose marked texts must not show in English.
REGISTER = ("register.html", "partials/error_summary.html")
LIFE_EVENT = ("life_event.html",)
APPLY = (
    "apply.html",
    "partials/apply_error_summary.html",
    "partials/apply_field.html",
    "partials/apply_materials.html",
    "partials/duplicate_notice.html",
)
# A birth's services and a department doing them (db/seed/items.json, departments.json), in each language.
NAMED_IN_CHINESE = ("新生儿出生", "出生医学证明签发", "出生户口登记", "卫健", "公安")
NAMED_IN_ENGLISH = ("Issue of a medical birth certificate", "Health", "Police")
RECEIPT = ("receipt.html", "partials/share_button.html")
CASE = ("case.html", "partials/timeline.html", "partials/share_button.html")
TRACK = ("track.html", "partials/timeline.html")


def _marked_chinese(*templates: str) -> tuple[set[str], set[str]]:
    """(whole texts, long pieces): each marked text of these templates that is all words, and the Chinese pieces
    (six characters or more) between the placeholders and tags of the others."""
    whole: set[str] = set()
    pieces: set[str] = set()
    for name in templates:
        for found in _MARKED.finditer((TEMPLATES / name).read_text(encoding="utf-8")):
            text = found.group("text")
            if not _CHINESE.search(text):
                continue
            if _PLACEHOLDER.search(text):
                pieces.update(p for p in _PLACEHOLDER.split(text) if len(p.strip()) >= 6 and _CHINESE.search(p))
            else:
                whole.add(text)
    return whole, pieces


def assert_no_chinese_of(page: httpx.Response, *templates: str) -> None:
    """No marked text of these templates is left in Chinese on the page: a whole text as an element's content or an
    attribute's value, or a long piece of a sentence with placeholders anywhere (data, such as names, may stay)."""
    text = html.unescape(page.text)
    whole, pieces = _marked_chinese(*templates)
    left = sorted(t for t in whole if f">{t}<" in text or f'="{t}"' in text or f">{t} <" in text)
    left += sorted(p for p in pieces if p in text)
    assert not left, f"still in Chinese on {page.url}: {left}"


async def _anna_files_a_birth(client: Client) -> dict[str, str]:
    """Anna signs up with her permanent residence card's number and files 新生儿出生 (every item)."""
    signed_up = await sign_up(client, new_authenticator(), ANNA)
    assert signed_up.status_code == 201, signed_up.text
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "key-anna-0001"))
    assert created.status_code == 201, created.text
    return created.json()


async def test_the_sign_up_page_asks_for_an_id_number_of_either_card_in_english(client: Client) -> None:
    english = await client.get("/register", headers=ENGLISH)
    assert english.status_code == 200 and '<html lang="en"' in english.text
    for words in ("Create an account", "ID number", "foreign permanent resident ID card", "Send me a code"):
        assert words in english.text
    assert_no_chinese_of(english, *REGISTER)
    chinese = (await client.get("/register")).text
    assert "注册账户" in chinese and "身份证件号码" in chinese and "公民身份号码" not in chinese


async def test_a_life_event_and_its_form_are_in_english(client: Client) -> None:
    event = await client.get("/life-events/birth", headers=ENGLISH)
    assert event.status_code == 200
    assert "Start now" in event.text and "All of these services, done at once" in event.text
    assert_no_chinese_of(event, *LIFE_EVENT)
    assert "开始办理" in (await client.get("/life-events/birth")).text

    await sign_up(client, new_authenticator(), ANNA)
    form = await client.get("/life-events/birth/apply", headers=ENGLISH)
    assert form.status_code == 200
    for words in ("Submit application", "Continue", "Documents", "One form applies for all"):
        assert words in form.text
    assert_no_chinese_of(form, *APPLY)
    assert "提交申请" in (await client.get("/life-events/birth/apply")).text


async def test_the_receipt_the_case_and_the_tracking_page_are_in_english(
    client: Client, another_client: Callable[[], Client]
) -> None:
    created = await _anna_files_a_birth(client)
    case_no = created["case_no"]

    receipt = await client.get(f"/cases/{case_no}/receipt", headers=ENGLISH)
    assert receipt.status_code == 200 and case_no in receipt.text
    for words in ("Receipt", "Case number", "Scan to see progress", "Keep this receipt safe", "Due by"):
        assert words in receipt.text
    assert ANNA["id_number"] not in receipt.text
    assert 'title="QR code to follow this case"' in receipt.text or "<title>QR code to follow this case" in receipt.text
    assert_no_chinese_of(receipt, *RECEIPT)
    # The case's life event, services and departments as the catalogue names them in English (the database keeps them
    # in Chinese, the text of record).
    assert all(words in receipt.text for words in (*NAMED_IN_ENGLISH, "Birth of a child"))
    assert not [chinese for chinese in NAMED_IN_CHINESE if chinese in receipt.text]

    case = await client.get(f"/cases/{case_no}", headers=ENGLISH)
    assert case.status_code == 200
    for words in ("View the receipt", "Case history", "Progress link", "How it was filed", "Online"):
        assert words in case.text
    assert ">Submitted</span>" in case.text  # the status chip
    assert_no_chinese_of(case, *CASE)
    assert all(words in case.text for words in (*NAMED_IN_ENGLISH, "Birth of a child"))
    assert not [chinese for chinese in NAMED_IN_CHINESE if chinese in case.text]

    visitor = another_client()  # family with the link: no account
    tracking = await visitor.get(f"/t/{created['tracking_token']}", headers=ENGLISH)
    assert tracking.status_code == 200 and case_no in tracking.text and "Anna" not in tracking.text
    for words in ("Case progress", "Progress by department", "This page shows progress only"):
        assert words in tracking.text
    assert_no_chinese_of(tracking, *TRACK)
    assert all(words in tracking.text for words in (*NAMED_IN_ENGLISH, "Birth of a child"))
    assert not [chinese for chinese in NAMED_IN_CHINESE if chinese in tracking.text]

    # Chinese stays the default, for the same case.
    assert "受理回执" in (await client.get(f"/cases/{case_no}/receipt")).text
    assert "办理记录" in (await client.get(f"/cases/{case_no}")).text
    assert "各部门办理情况" in (await visitor.get(f"/t/{created['tracking_token']}")).text
    in_chinese = (await client.get(f"/cases/{case_no}/receipt")).text
    assert all(chinese in in_chinese for chinese in NAMED_IN_CHINESE)


async def test_a_withdrawal_is_confirmed_in_english(client: Client) -> None:
    created = await _anna_files_a_birth(client)
    case_no = created["case_no"]
    confirm = await client.get(f"/cases/{case_no}/withdraw", headers=ENGLISH)
    assert confirm.status_code == 200 and "You cannot undo a withdrawal." in confirm.text
    assert "I no longer need it" in confirm.text  # the reasons, marked where the service lists them
    assert_no_chinese_of(confirm, "withdraw.html", "partials/withdraw_form.html")
    task_ids = re.findall(r'name="task_id" value="(\d+)"', confirm.text)
    done = await client.post(
        f"/cases/{case_no}/withdraw",
        data={"task_id": task_ids, "reason": "no_longer_needed"},
        headers={**await csrf(client), **ENGLISH},
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"], headers=ENGLISH)
    assert "Application withdrawn" in page.text and ">Withdrawn</span>" in page.text
