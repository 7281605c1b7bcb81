"""法人办事 in tests: 黄磊 and his company 常州磊达电子科技有限公司 (demo data), signing up, authorising 经办人 and
filing for the company over HTTP as the apply page's JS does (the X-On-Behalf-Of-Org header)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx

from tests.auth_helpers import csrf, post
from tests.case_helpers import PNG_1X1, answers_for

HUANG_LEI = {"name": "黄磊", "id_number": "320411198309093113"}  # lives in 新北区 (320411)
LEIDA = "91320411MA1T4U5W2G"  # 常州磊达电子科技有限公司, 黄磊 its legal representative
LEIDA_NAME = "常州磊达电子科技有限公司"
ORG = "X-On-Behalf-Of-Org"
MakeClient = Callable[[], httpx.AsyncClient]


async def authorise(legal_rep: httpx.AsyncClient, person: dict[str, str], scope: str | list[str] = "all") -> int:
    body = {
        "id_number": person["id_number"],
        "name": person["name"],
        "scope": scope,
        "expires_on": (date.today() + timedelta(days=90)).isoformat(),
    }
    response = await post(legal_rep, f"/api/v1/organisations/{LEIDA}/agents", body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def org_form(client: httpx.AsyncClient, code: str, **params: Any) -> httpx.Response:
    path = f"/api/v1/items/{code}/form" if code.startswith("CZ-") else f"/api/v1/life-events/{code}/form"
    return await client.get(path, params=params, headers={ORG: LEIDA})


async def file_for_leida(
    client: httpx.AsyncClient, code: str, key: str, changes: dict[str, Any] | None = None
) -> httpx.Response:
    """A filing for 磊达 of a life event (or a single item, CZ-…): every field answered, `changes` over them; every
    material to upload uploaded (optional ones too: a typed number would otherwise wait for that person's consent)."""
    form = await org_form(client, code)
    assert form.status_code == 200, form.text
    answers = {**answers_for(form.json()), **(changes or {})}
    uploads = []
    for material in form.json()["materials"]["to_upload"]:
        response = await client.post(
            "/api/v1/uploads",
            data={"life_event": code, "material_code": material["code"], "on_behalf_of_org": LEIDA},
            files={"file": ("scan.png", PNG_1X1, "image/png")},
            headers=await csrf(client),
        )
        assert response.status_code == 201, response.text
        uploads.append(response.json()["token"])
    bundle = {"item": code} if code.startswith("CZ-") else {"life_event": code}
    body = {**bundle, "data": answers, "idempotency_key": key, "uploads": uploads}
    return await client.post("/api/v1/cases", json=body, headers={**await csrf(client), ORG: LEIDA})
