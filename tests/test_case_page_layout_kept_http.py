"""The case page's layout (base.html around the kept blocks: the menu, the display and language switches, the token,
the device's key) kept once per process for each kind of reader — template, language, display, account kind and
roles — and filled with each reader's own path, key and token: byte for byte the page drawing it for them gives,
nothing of one reader in another's page; a reader whose layout shows more than their kind (the organisation they act
for, a query kept in the switches' address) has it drawn for them (issue 20: drawing it was a quarter of a view)."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from app.shell.service import ELDER_COOKIE, TEXT_COOKIE
from app.web.language import LANGUAGE_COOKIE
from tests.auth_helpers import LI_NA, ZHANG_WEI, csrf, new_authenticator, sign_up
from tests.org_helpers import HUANG_LEI, LEIDA
from tests.test_case_page_kept_http import _file, _view

pytestmark = pytest.mark.anyio

MakeClient = Callable[[], httpx.AsyncClient]
# Written into every kept layout by the tests below: seen in an answer, its layout was sent from what is kept.
LAYOUT_MARK = "<!-- layout kept -->"


def _layouts(app: Litestar) -> dict[object, object]:
    return app.state.get("kept_layouts", {})


def _mark_layouts(app: Litestar) -> None:
    layouts = _layouts(app)
    assert layouts and all(layout is not None for layout in layouts.values())
    for kind, layout in layouts.items():
        texts = layout.texts  # type: ignore[attr-defined]
        layouts[kind] = msgspec.structs.replace(layout, texts=(*texts[:-1], texts[-1] + LAYOUT_MARK.encode()))  # type: ignore[arg-type]


def _local_key(page: httpx.Response) -> str:
    return page.text.split('data-local-key="')[1].split('"')[0]


async def _resident_with_a_case(make: MakeClient, person: dict[str, str], key: str) -> tuple[httpx.AsyncClient, str]:
    client = make()
    await sign_up(client, new_authenticator(), person)
    return client, await _file(client, key)


async def _with_layout_kept(
    app: Litestar, make: MakeClient, person: dict[str, str], key: str
) -> tuple[httpx.AsyncClient, str]:
    """A resident with a case whose page they have viewed twice (its blocks kept, then their kind's layout), every
    kept layout marked."""
    client, case_no = await _resident_with_a_case(make, person, key)
    await _view(client, case_no)
    await _view(client, case_no)
    _mark_layouts(app)
    return client, case_no


async def _drawn_in_full(pool: asyncpg.Pool, client: httpx.AsyncClient, case_no: str) -> httpx.Response:
    """The page as drawing it for this reader gives: nothing of it kept, neither its blocks nor (drawn with them, for
    the reader) its layout."""
    await pool.execute("DELETE FROM case_pages")
    return await _view(client, case_no)


async def test_one_residents_layout_is_kept_and_filled_with_the_next_residents_own(
    app: Litestar, another_client: MakeClient, pool: asyncpg.Pool
) -> None:
    zhang, zhang_case = await _resident_with_a_case(another_client, ZHANG_WEI, "layout-kept-0001")
    li, li_case = await _resident_with_a_case(another_client, LI_NA, "layout-kept-0002")
    await _view(zhang, zhang_case)  # drawn, its blocks kept
    zhangs = await _view(zhang, zhang_case)  # the blocks sent as kept, the layout kept for a resident's kind
    assert len(_layouts(app)) == 1

    drawn = await _drawn_in_full(pool, li, li_case)
    _mark_layouts(app)
    sent = await _view(li, li_case)
    assert LAYOUT_MARK in sent.text  # Li's page around Zhang's kind of layout
    assert sent.content.replace(LAYOUT_MARK.encode(), b"") == drawn.content
    assert len(_layouts(app)) == 1
    # Nothing of Zhang: not his device's key, his token, his case's address.
    assert _local_key(sent) == _local_key(drawn) != _local_key(zhangs)
    assert zhang.cookies["csrftoken"] not in sent.text and li.cookies["csrftoken"] in sent.text
    assert zhang_case not in sent.text and f'value="/cases/{li_case}"' in sent.text


@pytest.mark.parametrize(
    "cookies",
    [{ELDER_COOKIE: "1"}, {ELDER_COOKIE: "1", TEXT_COOKIE: "3"}, {LANGUAGE_COOKIE: "en"}],
    ids=["elder", "elder_larger", "english"],
)
async def test_each_display_and_language_has_its_own_kept_layout(
    app: Litestar, another_client: MakeClient, pool: asyncpg.Pool, cookies: dict[str, str]
) -> None:
    zhang, case_no = await _resident_with_a_case(another_client, ZHANG_WEI, "layout-kept-0003")
    await _view(zhang, case_no)
    plain = await _view(zhang, case_no)
    for name, value in cookies.items():
        zhang.cookies.set(name, value)

    drawn = await _drawn_in_full(pool, zhang, case_no)
    assert drawn.content != plain.content
    kept = await _view(zhang, case_no)  # the blocks as kept just now, the layout of this display kept
    assert kept.content == drawn.content
    assert len(_layouts(app)) == 2
    _mark_layouts(app)
    again = await _view(zhang, case_no)
    assert again.content.replace(LAYOUT_MARK.encode(), b"") == drawn.content and LAYOUT_MARK in again.text


async def test_a_resident_acting_for_an_organisation_has_the_layout_drawn_for_them(
    app: Litestar, another_client: MakeClient, pool: asyncpg.Pool
) -> None:
    huang, case_no = await _with_layout_kept(app, another_client, HUANG_LEI, "layout-kept-0004")
    switched = await huang.post("/org/switch", data={"uscc": LEIDA}, headers=await csrf(huang))
    assert switched.status_code in (200, 303), switched.text

    acting = await _view(huang, case_no)
    assert 'id="org-banner"' in acting.text and LAYOUT_MARK not in acting.text
    assert acting.content == (await _drawn_in_full(pool, huang, case_no)).content
    assert len(_layouts(app)) == 1  # nothing kept for a session holding more than its sign-in


async def test_an_address_with_a_query_has_the_layout_drawn_for_it(app: Litestar, another_client: MakeClient) -> None:
    """The display and language switches come back to the page's address, query and all (base.html `here`)."""
    zhang, case_no = await _with_layout_kept(app, another_client, ZHANG_WEI, "layout-kept-0005")
    tapped = await zhang.get(f"/cases/{case_no}?from=push")
    assert tapped.status_code == 200 and LAYOUT_MARK not in tapped.text
    assert f'value="/cases/{case_no}?from=push"' in tapped.text
