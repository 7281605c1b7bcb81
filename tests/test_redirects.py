"""After sign-in or a form, the browser goes back only to a path of this site (no open redirect)."""

from __future__ import annotations

import re

import httpx
import pytest

from app.web.redirects import local_path
from tests.auth_helpers import csrf

pytestmark = pytest.mark.anyio

HOSTILE = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\x00/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_anything_that_could_leave_the_site_becomes_home(raw: str) -> None:
    assert local_path(raw) == "/"


@pytest.mark.parametrize("raw", ["/", "/cases/CZ2026000001", "/me?tab=passkeys#devices", "/life-events/birth/apply"])
def test_paths_of_this_site_are_kept(raw: str) -> None:
    assert local_path(raw) == raw


def _next_of_login_page(html: str) -> str:
    match = re.search(r'data-next="([^"]*)"', html)
    assert match
    return match.group(1)


@pytest.mark.parametrize("encoded", ["/%5Cevil.example", "/%09/evil.example", "//evil.example", "%2F%2Fevil.example"])
async def test_the_login_page_never_sends_the_browser_elsewhere(client: httpx.AsyncClient, encoded: str) -> None:
    page = await client.get(f"/login?next={encoded}")
    assert page.status_code == 200
    assert _next_of_login_page(page.text) == "/"


async def test_the_login_page_keeps_a_path_of_this_site(client: httpx.AsyncClient) -> None:
    page = await client.get("/login?next=/cases")
    assert _next_of_login_page(page.text) == "/cases"


@pytest.mark.parametrize("hostile", ["/\\evil.example", "/\t/evil.example", "//evil.example"])
async def test_the_display_switch_comes_back_only_to_this_site(client: httpx.AsyncClient, hostile: str) -> None:
    response = await client.post(
        "/preferences", data={"elder_mode": "1", "next": hostile, "_csrf_token": (await csrf(client))["X-CSRFToken"]}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
