"""The tracking page a receipt's QR code opens is revalidated, not re-rendered: anonymous visitors get a weak ETag
with `Cache-Control: no-cache`, and a 304 with no body while the case stands still. A department's move, another
display (长辈版) or a signed-in viewer each get the page drawn afresh."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

import app.main
import i18n
from app.catalogue.translations import SEED_DIR
from app.main import RELEASE_CODE, RELEASE_FOLDERS
from app.shell.service import ELDER_COOKIE
from app.web.caching import not_modified, release_fingerprint, weak_etag
from config.settings import Settings
from tests.auth_helpers import ZHANG_WEI, new_authenticator, post, sign_up, staff_client_sign_up
from tests.case_helpers import submission_for

pytestmark = pytest.mark.anyio


async def _filed_case(client: httpx.AsyncClient) -> dict[str, str]:
    await sign_up(client, new_authenticator(), ZHANG_WEI)
    created = await post(client, "/api/v1/cases", await submission_for(client, "birth", "revalidate-key-0001"))
    assert created.status_code == 201, created.text
    return created.json()


async def test_a_second_visit_gets_304_until_a_department_moves_the_case(
    client: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    filed = await _filed_case(client)
    visitor, clerk = another_client(), another_client()
    page = f"/t/{filed['tracking_token']}"

    first = await visitor.get(page)
    assert first.status_code == 200 and "办件进度" in first.text
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and first.headers["cache-control"] == "no-cache"
    again = await visitor.get(page, headers={"If-None-Match": tag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)

    case = (await client.get(f"/api/v1/cases/{filed['case_no']}")).json()
    task = next(t for t in case["tasks"] if t["department"] == "police")
    await staff_client_sign_up(clerk, pool, settings.secret_key, name="王窗口", role="clerk", region="320402")
    moved = await post(clerk, f"/api/v1/console/tasks/{task['id']}/transition", {"action": "accept"})
    assert moved.status_code == 200, moved.text

    after = await visitor.get(page, headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag
    assert "已受理" in after.text


async def test_elder_mode_is_another_page_and_a_signed_in_viewer_is_never_revalidated(
    client: httpx.AsyncClient, another_client: Callable[[], httpx.AsyncClient]
) -> None:
    filed = await _filed_case(client)
    page = f"/t/{filed['tracking_token']}"
    plain = await another_client().get(page)
    elder_device = another_client()
    elder_device.cookies.set(ELDER_COOKIE, "1")
    elder = await elder_device.get(page)
    assert plain.headers["etag"] != elder.headers["etag"]
    assert 'class="elder' in elder.text and 'class="elder' not in plain.text

    # The owner's own visit: the menu is theirs; no tag, and a tag they send is not taken as a match.
    mine = await client.get(page, headers={"If-None-Match": plain.headers["etag"]})
    assert mine.status_code == 200 and "etag" not in mine.headers


async def test_an_unknown_token_is_still_a_404_whatever_tag_is_sent(
    another_client: Callable[[], httpx.AsyncClient],
) -> None:
    missing = await another_client().get("/t/" + "A" * 32, headers={"If-None-Match": "*"})
    assert missing.status_code == 404


def test_weak_comparison_and_lists() -> None:
    tag = weak_etag(b"snapshot", "False:0", "release")
    assert tag != weak_etag(b"snapshot", "True:0", "release") != weak_etag(b"snapshot2", "False:0", "release")
    assert not_modified(tag, tag)
    assert not_modified(tag.removeprefix("W/"), tag)  # a strong form of the same tag: weak comparison matches
    assert not_modified(f'"other", {tag}', tag)
    assert not_modified("*", tag)
    assert not not_modified(None, tag) and not not_modified('"other"', tag) and not not_modified("", tag)


def test_a_changed_translation_or_catalogue_text_is_a_new_release(tmp_path: Path) -> None:
    """A deploy that changes only an English text must not leave browsers a 304 for the page in the old words: the
    catalogues (locale/) and the catalogue's English (db/seed) are part of the release every page tag covers."""
    assert {i18n.LOCALE_DIR, SEED_DIR} <= set(RELEASE_FOLDERS)
    po = tmp_path / "en" / "messages.po"
    po.parent.mkdir()
    po.write_text('msgid "首页"\nmsgstr "Home"\n', encoding="utf-8")
    before = release_fingerprint.__wrapped__((tmp_path,))
    po.write_text('msgid "首页"\nmsgstr "Home page"\n', encoding="utf-8")
    assert release_fingerprint.__wrapped__((tmp_path,)) != before


def test_a_change_to_the_code_that_draws_pages_is_a_new_release(tmp_path: Path) -> None:
    """A page kept in the database (tracking_pages) is drawn by Python too (its filters, its context): a deploy
    changing only that is a new release; the bytecode Python writes beside it as it runs is not."""
    assert Path(app.main.__file__).resolve().parent in RELEASE_CODE
    drawing = tmp_path / "drawing.py"
    drawing.write_text("DATE = '%(year)s年'\n", encoding="utf-8")
    before = release_fingerprint.__wrapped__((), (tmp_path,))
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "drawing.cpython-311.pyc").write_bytes(b"\x00compiled")
    assert release_fingerprint.__wrapped__((), (tmp_path,)) == before
    drawing.write_text("DATE = '%(year)s 年'\n", encoding="utf-8")
    assert release_fingerprint.__wrapped__((), (tmp_path,)) != before
