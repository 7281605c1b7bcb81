"""Valid answers for any merged form, derived from its field definitions (as a careful resident would type)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import httpx

from tests.auth_helpers import csrf

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082"
)

SAMPLE_BY_TYPE = {
    "text": "演示内容",
    "textarea": "演示说明",
    "id_number": "320402199506180126",
    "mobile": "13800000002",
    "date": "2026-11-20",
    "past_date": "2026-11-20",
    "number": "3",
    "bank_account": "6222 0210 0112 3456 789",
    "credit_code": "91350100M000100Y43",
    "checkbox": True,
}


# Each call of answers_for is another matter: a child born on another day, a company of another name (一事不二办
# refuses the same birth or the same company name in a district filed twice). Deaths and retirements are people's:
# a test filing one twice for the same person means to.
_MATTERS = itertools.count(1)  # never SAMPLE_BY_TYPE's own date, which a form filled in the browser takes
_FIRST_BIRTH = date(2026, 11, 20)


def answers_for(form: dict[str, Any]) -> dict[str, Any]:
    """Every field answered; where the applicant could say who they are in the event (申请人与新生儿的关系), they
    choose an option that is no party of it (其他监护人), so every party's field is typed and kept as typed."""
    data: dict[str, Any] = {}
    for section in form["sections"]:
        for field in section["fields"]:
            if field["type"] == "select":
                options = field["options"]
                data[field["key"]] = next((o for o in options if not o.get("applicant_is")), options[0])["value"]
            else:
                data[field["key"]] = SAMPLE_BY_TYPE[field["type"]]
    matter = next(_MATTERS)
    if "child.birth_date" in data:
        data["child.birth_date"] = (_FIRST_BIRTH - timedelta(days=3 * matter)).isoformat()
    if "company.name" in data:
        data["company.name"] = f"演示企业{matter}有限公司"
    return data


async def upload_required_materials(
    client: httpx.AsyncClient, life_event: str, form: dict[str, Any], on_behalf_of: str | None = None
) -> list[str]:
    tokens = []
    extra = {"on_behalf_of": on_behalf_of} if on_behalf_of else {}
    for material in form["materials"]["to_upload"]:
        if not material["required"]:
            continue
        response = await client.post(
            "/api/v1/uploads",
            data={"life_event": life_event, "material_code": material["code"], **extra},
            files={"file": ("scan.png", PNG_1X1, "image/png")},
            headers=await csrf(client),
        )
        assert response.status_code == 201, response.text
        tokens.append(response.json()["token"])
    return tokens


async def submission_for(client: httpx.AsyncClient, life_event: str, key: str) -> dict[str, Any]:
    """A submission of every item of the life event, optional ones too (生育津贴)."""
    path = f"/api/v1/life-events/{life_event}/form"
    every = [item["code"] for item in (await client.get(path)).json()["items"]]
    form = (await client.get(path, params={"items": every})).json()
    return {
        "life_event": life_event,
        "items": every,
        "data": answers_for(form),
        "idempotency_key": key,
        "uploads": await upload_required_materials(client, life_event, form),
    }
